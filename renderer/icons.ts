// The nav's icons: one stroked SVG path per view (registry `icon`), or the title's initial for a view without one.
import { h } from './dom.js';

const NS = 'http://www.w3.org/2000/svg';

export function navIcon(d: { title: string; icon?: string }): Element {
  if (!d.icon) return h('span', { class: 'nav-icon nav-initial', 'aria-hidden': 'true', text: d.title.slice(0, 1) });
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('class', 'nav-icon');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('fill', 'none');
  svg.setAttribute('stroke', 'currentColor');
  svg.setAttribute('stroke-width', '2');
  svg.setAttribute('stroke-linecap', 'round');
  svg.setAttribute('stroke-linejoin', 'round');
  const path = document.createElementNS(NS, 'path');
  path.setAttribute('d', d.icon);
  svg.append(path);
  return svg;
}
