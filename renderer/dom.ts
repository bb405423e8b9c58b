// A tiny DOM builder. Text always goes in as text (never as HTML), so nothing from a log or a config can inject markup.

type Child = Node | string | number | null | undefined | false;
type Handler = (e: Event) => void;
export interface Props {
  class?: string;
  id?: string;
  text?: string;
  title?: string;
  role?: string;
  tabindex?: number;
  hidden?: boolean;
  [attr: `aria-${string}`]: string | boolean | number | undefined;
  [data: `data-${string}`]: string | number | undefined;
  [on: `on${string}`]: Handler | undefined;
  [prop: string]: unknown;
}

const PROPS = new Set(['value', 'checked', 'disabled', 'type', 'placeholder', 'htmlFor', 'name', 'selected', 'draggable', 'spellcheck', 'autocomplete', 'readOnly', 'multiple', 'hidden']);

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props?: Props | null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props) {
    for (const [k, v] of Object.entries(props)) {
      if (v === undefined || v === null) continue;
      if (k === 'class') el.className = String(v);
      else if (k === 'text') el.textContent = String(v);
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v as Handler);
      else if (PROPS.has(k)) (el as unknown as Record<string, unknown>)[k] = v;
      else if (typeof v === 'boolean') {
        if (k.startsWith('aria-')) el.setAttribute(k, String(v));
        else if (v) el.setAttribute(k, '');
      } else el.setAttribute(k, String(v));
    }
  }
  append(el, ...children);
  return el;
}

/** A view's header: its title, the line under it, and what stands at its right (actions, controls). */
export function viewHead(title: string, sub: string, ...right: Child[]): HTMLElement {
  return h('header', { class: 'view-head' }, h('div', null, h('h1', { text: title }), h('p', { class: 'sub', text: sub })), ...right);
}

/** Ctrl+S (Cmd+S) inside `root` saves instead of the browser's "save page". */
export function onSaveKey(root: HTMLElement, save: () => void): void {
  root.addEventListener('keydown', (e) => {
    if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 's') {
      e.preventDefault();
      save();
    }
  });
}

export function append(el: Element, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

export function clear(el: Element): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

export function fmtMs(ms: number | undefined): string {
  if (ms === undefined || ms === null) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  return `${Math.floor(ms / 60_000)} m ${Math.round((ms % 60_000) / 1000)} s`;
}

export function fmtInt(n: number | undefined): string {
  return n === undefined || n === null ? '—' : n.toLocaleString('en-US');
}

export function fmtTime(iso: string): string {
  const d = new Date(iso);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

export function debounce<A extends unknown[]>(fn: (...a: A) => void, ms: number): ((...a: A) => void) & { flush(): void; cancel(): void } {
  let t: ReturnType<typeof setTimeout> | undefined;
  let last: A | undefined;
  const d = (...a: A) => {
    last = a;
    clearTimeout(t);
    t = setTimeout(() => {
      t = undefined;
      fn(...(last as A));
    }, ms);
  };
  d.flush = () => {
    if (t !== undefined) {
      clearTimeout(t);
      t = undefined;
      fn(...(last as A));
    }
  };
  d.cancel = () => {
    clearTimeout(t);
    t = undefined;
  };
  return d;
}

/** Announces a message to screen readers and shows it briefly. */
export function toast(text: string, kind: 'ok' | 'warn' | 'error' | 'info' = 'info'): void {
  let host = document.getElementById('toasts');
  if (!host) {
    host = h('div', { id: 'toasts', 'aria-live': 'polite', role: 'status' });
    document.body.append(host);
  }
  const t = h('div', { class: `toast toast-${kind}`, text });
  host.append(t);
  setTimeout(() => t.remove(), kind === 'error' || kind === 'warn' ? 8000 : 3500);
}
