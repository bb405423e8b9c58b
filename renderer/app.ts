// The window's shell: a sidebar with the available views and a small live status, and the view area.
import { createApi } from './api.js';
import type { Api, Features, UiStatus } from '../main/ui/types.js';
import { clear, h, toast } from './dom.js';
import { navIcon } from './icons.js';
import { VIEWS, type ViewDef } from './views/registry.js';
import type { View } from './views/view.js';

interface Mounted {
  def: ViewDef;
  view: View;
  el: HTMLElement;
}

async function main(): Promise<void> {
  const api: Api = createApi();
  const root = document.getElementById('app')!;
  document.documentElement.dataset.backing = api.kind;

  let features: Features;
  try {
    features = await api.features();
  } catch (e) {
    clear(root);
    root.append(
      h('div', { class: 'fatal', role: 'alert' }, h('h1', { text: 'router67 is not reachable' }), h('p', { text: (e as Error).message })),
    );
    return;
  }
  const defs = VIEWS.filter((v) => v.available(features));
  const mounted = new Map<string, Mounted>();
  const content = h('main', { id: 'content', class: 'content', tabindex: -1 });
  const nav = h('nav', { class: 'nav', 'aria-label': 'Views' });
  const statusDot = h('span', { class: 'dot', 'aria-hidden': 'true' });
  const statusText = h('span', { class: 'side-status-text', text: '…' });
  const sideStatus = h(
    'button',
    { class: 'side-status', type: 'button', title: 'Open Status', onclick: () => void go('status') },
    statusDot,
    statusText,
  );
  const sidebar = h(
    'aside',
    { class: 'sidebar' },
    h('div', { class: 'brand' }, h('img', { src: 'logo.svg', alt: '', width: 22, height: 22 }), h('span', { text: 'router67' })),
    nav,
    h('div', { class: 'spacer' }),
    sideStatus,
  );
  clear(root);
  root.append(sidebar, content);

  const buttons = new Map<string, HTMLButtonElement>();
  for (const d of defs) {
    const b = h(
      'button',
      {
        class: 'nav-item',
        type: 'button',
        id: `nav-${d.id}`,
        'aria-controls': `view-${d.id}`,
        title: `${d.title} (Alt+${d.key})`,
        onclick: () => void go(d.id),
      },
      navIcon(d),
      h('span', { class: 'nav-label', text: d.title }),
    );
    buttons.set(d.id, b);
    nav.append(b);
  }
  nav.addEventListener('keydown', (e) => {
    if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
    const list = [...buttons.values()];
    const i = list.indexOf(document.activeElement as HTMLButtonElement);
    if (i < 0) return;
    e.preventDefault();
    list[(i + (e.key === 'ArrowDown' ? 1 : list.length - 1)) % list.length]!.focus();
  });

  let current: string | undefined;
  async function go(id: string): Promise<void> {
    const def = defs.find((d) => d.id === id) ?? defs[0]!;
    let m = mounted.get(def.id);
    if (!m) {
      const el = h('section', { id: `view-${def.id}`, class: 'view', 'aria-labelledby': `nav-${def.id}`, hidden: true });
      content.append(el);
      const mod = await def.load();
      const view = mod.default();
      m = { def, view, el };
      mounted.set(def.id, m);
      await view.mount(el, { api, go: (x) => void go(x) });
    }
    for (const x of mounted.values()) x.el.hidden = x !== m;
    for (const [k, b] of buttons) {
      b.classList.toggle('active', k === def.id);
      if (k === def.id) b.setAttribute('aria-current', 'page');
      else b.removeAttribute('aria-current');
    }
    current = def.id;
    document.title = `${def.title} — router67`;
    if (location.hash !== `#${def.id}`) history.replaceState(null, '', `#${def.id}`);
    m.view.shown?.();
  }

  const paint = (s: UiStatus) => {
    const notSetUp = s.setup.needed && s.intercept.state !== 'on' && s.intercept.state !== 'starting';
    const look = (s.intercept.state === 'error' && !notSetUp) || s.configErrors.length ? 'error' : s.intercept.enabled ? 'on' : 'off';
    statusDot.className = `dot dot-${look}`;
    statusText.textContent =
      look === 'error'
        ? s.configErrors.length
          ? `Config has ${s.configErrors.length} error${s.configErrors.length === 1 ? '' : 's'}`
          : 'Interception failed'
        : s.intercept.enabled
          ? 'Intercepting'
          : notSetUp
            ? 'Interception not set up'
            : `Local endpoint only`;
    sideStatus.title = `${statusText.textContent} — open Status`;
  };
  api.status().then(paint, () => {});
  // A budget limit crossed shows once as a toast (the Status view keeps the period's notices); a notice seen twice
  // (two event paths, a reconnect) is shown once.
  const budgetSeen = new Set<string>();
  api.subscribe((e) => {
    if (e.type === 'status') paint(e.status);
    if (e.type === 'budget') {
      const n = e.notice;
      const key = [n.level, n.scope, n.name ?? '', n.period, n.at].join('\u0000');
      if (!budgetSeen.has(key)) {
        budgetSeen.add(key);
        toast(`Budget: ${n.message}`, n.level === 'hard' ? 'error' : 'warn');
      }
    }
    for (const m of mounted.values()) m.view.onEvent?.(e);
  });

  document.addEventListener('keydown', (e) => {
    if (!e.altKey || e.ctrlKey || e.metaKey) return;
    const d = defs.find((x) => x.key === e.key);
    if (d) {
      e.preventDefault();
      void go(d.id).then(() => buttons.get(d.id)?.focus());
    }
  });
  window.addEventListener('hashchange', () => {
    const id = location.hash.slice(1);
    if (id && id !== current && defs.some((d) => d.id === id)) void go(id);
  });
  document.addEventListener('click', (e) => {
    // Links leave through the system browser (the window itself never navigates away).
    const a = (e.target as Element).closest?.('a[href]') as HTMLAnchorElement | null;
    if (!a || a.getAttribute('href')!.startsWith('#') || a.hasAttribute('download')) return; // a download (CSV export) stays here
    e.preventDefault();
    void api.openExternal(a.href);
  });

  // Unsaved edits (a view says it is dirty) are not lost to a reload or a closing tab without a question.
  window.addEventListener('beforeunload', (e) => {
    if (![...mounted.values()].some((m) => m.view.dirty?.())) return;
    e.preventDefault();
    e.returnValue = '';
  });

  await go(location.hash.slice(1) || (features.firstRun ? 'welcome' : 'providers'));
}

void main();
