// Live log: every request as it starts and as it finishes, newest first. Only the visible rows exist in the DOM
// (fixed row height), and the store keeps at most 10,000 entries.
import type { Api, LogDetail, LogRow, UiEvent } from '../../main/ui/types.js';
import { clear, fmtInt, fmtMs, fmtTime, h } from '../dom.js';
import { LogStore, matches, NO_FILTER, type LogFilter } from '../log-store.js';
import type { View, ViewContext } from './view.js';

const ROW = 30;
const OVERSCAN = 8;
export const MAX_ENTRIES = 10_000;

function statusText(r: LogRow): string {
  if (r.state === 'pending') return '…';
  if (r.state === 'streaming') return r.status ? `${r.status} ↯` : 'streaming';
  if (r.status) return String(r.status);
  return r.state === 'error' ? 'failed' : '—';
}

function statusClass(r: LogRow): string {
  if (r.state === 'pending' || r.state === 'streaming') return 'st-active';
  const s = r.status ?? 0;
  if (r.state === 'error' || s >= 500 || s === 0) return 'st-bad';
  if (s >= 400) return 'st-warn';
  return 'st-ok';
}

function route(r: LogRow): string {
  if (r.passthrough) return `${r.host ?? 'upstream'} (passed through)`;
  if (!r.provider) return r.state === 'pending' ? '…' : '—';
  return r.upstreamModel && r.upstreamModel !== r.model ? `${r.provider} · ${r.upstreamModel}` : `${r.provider}${r.upstreamModel ? ` · ${r.upstreamModel}` : ''}`;
}

function tokens(r: LogRow): string {
  if (r.inputTokens === undefined && r.outputTokens === undefined) return '—';
  return `${fmtInt(r.inputTokens)} / ${fmtInt(r.outputTokens)}`;
}

class LogView implements View {
  private api!: Api;
  private readonly store = new LogStore(MAX_ENTRIES);
  private filter: LogFilter = { ...NO_FILTER };
  private selectedId?: string;
  private visible = false;
  private frame = 0;
  private detailTimer?: ReturnType<typeof setTimeout>;
  private knownProviders: string[] = [];
  private knownApps: string[] = [];
  private during?: LogRow[];
  private readonly ui = {
    scroller: h('div', { class: 'vlist', tabindex: 0, role: 'listbox', 'aria-label': 'Requests, newest first' }),
    spacer: h('div', { class: 'vspacer' }),
    rows: h('div', { class: 'vrows' }),
    count: h('span', { class: 'count', 'aria-live': 'off' }),
    provider: h('select', { 'aria-label': 'Filter by provider' }),
    app: h('select', { 'aria-label': 'Filter by app' }),
    status: h(
      'select',
      { 'aria-label': 'Filter by status' },
      h('option', { value: 'all', text: 'Any status' }),
      h('option', { value: 'ok', text: 'Succeeded (2xx)' }),
      h('option', { value: '4xx', text: 'Client errors (4xx)' }),
      h('option', { value: '5xx', text: 'Server errors (5xx)' }),
      h('option', { value: 'failed', text: 'All failures' }),
      h('option', { value: 'active', text: 'In progress' }),
    ),
    text: h('input', { type: 'search', placeholder: 'Filter: model, provider, path, error…', 'aria-label': 'Filter text', spellcheck: false, autocomplete: 'off' }),
    detail: h('aside', { class: 'detail', 'aria-label': 'Request details', hidden: true }),
    empty: h('div', { class: 'vempty', text: 'No requests yet. Point a client at router67 and they appear here as they start.' }),
  };

  async mount(root: HTMLElement, ctx: ViewContext): Promise<void> {
    this.api = ctx.api;
    const u = this.ui;
    u.scroller.append(u.spacer, u.empty);
    u.spacer.append(u.rows);
    root.append(
      h('header', { class: 'view-head' }, h('div', null, h('h1', { text: 'Live log' }), h('p', { class: 'sub', text: 'Requests appear as they start and update as they finish.' }))),
      h('div', { class: 'toolbar' }, u.text, u.app, u.provider, u.status, h('span', { class: 'spacer' }), u.count),
      h(
        'div',
        { class: 'log-layout' },
        h(
          'div',
          { class: 'log-table' },
          h(
            'div',
            { class: 'log-head', 'aria-hidden': 'true' },
            ...[
              ['Time', 'When the request started'],
              ['App', 'The app behind the connection (its process, else its User-Agent)'],
              ['Model', 'The model the client asked for'],
              ['Provider · upstream model', 'Who answered, and under which model name'],
              ['Status', 'HTTP status'],
              ['Tries', 'Providers tried'],
              ['TTFB', 'Time to first byte'],
              ['Total', 'Total time'],
              ['Tokens in/out', 'Input / output tokens'],
            ].map(([t, title]) => h('span', { text: t, title })),
          ),
          u.scroller,
        ),
        u.detail,
      ),
    );
    u.text.addEventListener('input', () => this.setFilter({ text: u.text.value.trim() }));
    u.provider.addEventListener('change', () => this.setFilter({ provider: u.provider.value }));
    u.app.addEventListener('change', () => this.setFilter({ app: u.app.value }));
    u.status.addEventListener('change', () => this.setFilter({ status: u.status.value as LogFilter['status'] }));
    u.scroller.addEventListener('scroll', () => this.schedule());
    // Select on press, not on release: with live traffic the rows move, and a click would land on another one.
    u.scroller.addEventListener('pointerdown', (e) => {
      if (e.button !== 0) return;
      const row = (e.target as Element).closest?.('.vrow') as HTMLElement | null;
      if (row?.dataset.id) this.select(row.dataset.id);
    });
    u.scroller.addEventListener('keydown', (e) => this.onKey(e));
    new ResizeObserver(() => this.schedule()).observe(u.scroller);
    this.updateProviders();
    this.updateApps();
    await this.resync();
  }

  shown(): void {
    this.visible = true;
    this.schedule();
  }

  onEvent(e: UiEvent): void {
    if (e.type === 'log') {
      this.during?.push(e.entry);
      const isNew = this.store.upsert(e.entry);
      // Keep what the user is looking at in place when rows arrive above it.
      if (isNew && this.ui.scroller.scrollTop > 0 && this.passes(e.entry)) this.ui.scroller.scrollTop += ROW;
      if (isNew && e.entry.provider && !this.knownProviders.includes(e.entry.provider)) this.updateProviders();
      if (e.entry.app && !this.knownApps.includes(e.entry.app)) this.updateApps();
      if (e.entry.id === this.selectedId) this.refreshDetailSoon();
      this.schedule();
    } else if (e.type === 'status') {
      this.updateProviders(e.status.providers.map((p) => p.name));
    } else if (e.type === 'config' && e.revision === '') {
      void this.resync(); // reconnected: fetch what was missed
    }
  }

  private passes(r: LogRow): boolean {
    return matches(r, this.filter);
  }

  /** Re-reads the recent entries; live events that arrive meanwhile are applied on top (they are newer). */
  private async resync(): Promise<void> {
    const during: LogRow[] = [];
    this.during = during;
    try {
      const rows = await this.api.recentLog(MAX_ENTRIES);
      this.store.reset(rows);
      for (const r of during) this.store.upsert(r);
      this.updateProviders();
      this.updateApps();
      this.schedule();
    } catch {
      /* the live events still arrive */
    } finally {
      if (this.during === during) this.during = undefined;
    }
  }

  private updateProviders(fromStatus?: string[]): void {
    const all = [...new Set([...(fromStatus ?? []), ...this.knownProviders, ...this.store.providers()])].sort();
    if (all.join('\n') === this.knownProviders.join('\n') && this.ui.provider.options.length) return;
    this.knownProviders = all;
    const sel = this.ui.provider;
    const cur = sel.value;
    clear(sel);
    sel.append(h('option', { value: '', text: 'Any provider' }), ...all.map((p) => h('option', { value: p, text: p, selected: p === cur })));
  }

  private updateApps(): void {
    const all = [...new Set([...this.knownApps, ...this.store.apps()])].sort();
    if (all.join('\n') === this.knownApps.join('\n') && this.ui.app.options.length) return;
    this.knownApps = all;
    const sel = this.ui.app;
    const cur = sel.value;
    clear(sel);
    sel.append(h('option', { value: '', text: 'Any app' }), ...all.map((a) => h('option', { value: a, text: a, selected: a === cur })));
  }

  private setFilter(f: Partial<LogFilter>): void {
    this.filter = { ...this.filter, ...f };
    this.ui.scroller.scrollTop = 0;
    this.schedule();
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  private render(): void {
    const u = this.ui;
    const rows = this.store.view(this.filter);
    const total = this.store.size;
    u.count.textContent = rows.length === total ? `${fmtInt(total)} request${total === 1 ? '' : 's'}` : `${fmtInt(rows.length)} of ${fmtInt(total)} requests`;
    u.empty.hidden = rows.length > 0;
    if (!rows.length) u.empty.textContent = total ? 'No request matches the filter.' : 'No requests yet. Point a client at router67 and they appear here as they start.';
    u.spacer.style.height = `${rows.length * ROW}px`;
    const top = u.scroller.scrollTop;
    const height = u.scroller.clientHeight || 600;
    const first = Math.max(0, Math.floor(top / ROW) - OVERSCAN);
    const last = Math.min(rows.length, Math.ceil((top + height) / ROW) + OVERSCAN);
    // Reuse row elements: only visible rows exist.
    const pool = [...u.rows.children] as HTMLElement[];
    let k = 0;
    for (let i = first; i < last; i++, k++) {
      const r = rows[i]!;
      let el = pool[k];
      if (!el) {
        el = this.makeRow();
        u.rows.append(el);
      }
      this.fillRow(el, r, i);
    }
    for (; k < pool.length; k++) pool[k]!.remove();
    const active = this.selectedId && u.rows.querySelector(`#${CSS.escape(`req-${this.selectedId}`)}`);
    if (active) u.scroller.setAttribute('aria-activedescendant', active.id);
    else u.scroller.removeAttribute('aria-activedescendant');
  }

  private makeRow(): HTMLElement {
    const el = h('div', { class: 'vrow', role: 'option' });
    for (let c = 0; c < 9; c++) el.append(h('span'));
    return el;
  }

  private fillRow(el: HTMLElement, r: LogRow, i: number): void {
    el.style.transform = `translateY(${i * ROW}px)`;
    el.id = `req-${r.id}`;
    el.dataset.id = r.id;
    const sel = r.id === this.selectedId;
    el.classList.toggle('selected', sel);
    el.setAttribute('aria-selected', String(sel));
    el.dataset.state = r.state;
    const c = el.children as HTMLCollectionOf<HTMLElement>;
    const set = (n: number, text: string, cls = '') => {
      if (c[n]!.textContent !== text) c[n]!.textContent = text;
      c[n]!.className = cls;
      c[n]!.title = text;
    };
    set(0, fmtTime(r.startedAt), 'mono dim');
    set(1, r.app ?? '—', r.app ? 'app' : 'dim');
    set(2, r.model ?? `${r.method} ${r.path}`, 'model');
    set(3, route(r), r.provider ? '' : 'dim');
    set(4, statusText(r), `pill ${statusClass(r)}`);
    set(5, r.attempts.length > 1 ? `${r.attempts.length}` : r.attempts.length ? '1' : '—', r.attempts.length > 1 ? 'num warn-text' : 'num dim');
    set(6, fmtMs(r.ttfbMs), 'num');
    set(7, fmtMs(r.durationMs), 'num');
    set(8, tokens(r), 'num');
  }

  private onKey(e: KeyboardEvent): void {
    const rows = this.store.view(this.filter);
    if (!rows.length) return;
    let i = this.selectedId ? rows.findIndex((r) => r.id === this.selectedId) : -1;
    const page = Math.max(1, Math.floor(this.ui.scroller.clientHeight / ROW) - 1);
    switch (e.key) {
      case 'ArrowDown':
        i = Math.min(rows.length - 1, i + 1);
        break;
      case 'ArrowUp':
        i = Math.max(0, i - 1);
        break;
      case 'PageDown':
        i = Math.min(rows.length - 1, i + page);
        break;
      case 'PageUp':
        i = Math.max(0, i - page);
        break;
      case 'Home':
        i = 0;
        break;
      case 'End':
        i = rows.length - 1;
        break;
      case 'Escape':
        this.select(undefined);
        e.preventDefault();
        return;
      default:
        return;
    }
    e.preventDefault();
    this.select(rows[i]!.id);
    const s = this.ui.scroller;
    if (i * ROW < s.scrollTop) s.scrollTop = i * ROW;
    else if ((i + 1) * ROW > s.scrollTop + s.clientHeight) s.scrollTop = (i + 1) * ROW - s.clientHeight;
  }

  private select(id: string | undefined): void {
    this.selectedId = id;
    this.schedule();
    if (!id) {
      this.ui.detail.hidden = true;
      return;
    }
    void this.loadDetail(id);
  }

  private refreshDetailSoon(): void {
    clearTimeout(this.detailTimer);
    this.detailTimer = setTimeout(() => this.selectedId && void this.loadDetail(this.selectedId), 150);
  }

  private async loadDetail(id: string): Promise<void> {
    let d: LogDetail | null = null;
    try {
      d = await this.api.logEntry(id);
    } catch {
      d = null;
    }
    if (id !== this.selectedId) return;
    const row = this.store.get(id);
    this.renderDetail(d ?? (row ? { ...row } : null));
  }

  private renderDetail(d: LogDetail | null): void {
    const box = this.ui.detail;
    clear(box);
    box.hidden = false;
    const close = h('button', { type: 'button', class: 'btn icon close', 'aria-label': 'Close details', text: '×', onclick: () => this.select(undefined) });
    if (!d) {
      box.append(close, h('p', { class: 'hint', text: 'This request is no longer in memory.' }));
      return;
    }
    const kv = (k: string, v: string | undefined, cls = '') => (v === undefined || v === '' ? null : h('div', { class: 'kv' }, h('dt', { text: k }), h('dd', { class: cls, text: v })));
    box.append(
      h('div', { class: 'detail-head' }, h('h2', { text: `${d.method} ${d.path}` }), close),
      h('p', { class: 'hint', text: `${new Date(d.startedAt).toLocaleString()} · ${d.dialect}${d.host ? ` via ${d.host}` : ''}${d.stream ? ' · streamed' : ''}` }),
      h(
        'dl',
        { class: 'kvs' },
        kv('App', d.app),
        kv('Model', d.model),
        kv('Provider', d.provider),
        kv('Upstream model', d.upstreamModel),
        kv('Status', `${statusText(d)} (${d.state})`, `pill ${statusClass(d)}`),
        kv('Time to first byte', fmtMs(d.ttfbMs)),
        kv('Total', fmtMs(d.durationMs)),
        kv('Tokens in / out', tokens(d)),
        kv('Bytes in / out', `${fmtInt(d.bytesIn)} / ${fmtInt(d.bytesOut)}`),
        kv('Error', d.error, 'error-text'),
        kv('Request id', d.id, 'mono'),
      ),
    );
    if (d.attempts.length) {
      box.append(
        h('h3', { text: `Attempts (${d.attempts.length})` }),
        h(
          'ol',
          { class: 'attempts' },
          ...d.attempts.map((a) =>
            h(
              'li',
              { class: a.error || (a.status ?? 0) >= 400 || a.status === null ? 'bad' : 'good' },
              h('div', { class: 'att-line' }, h('strong', { text: a.provider }), h('span', { class: 'mono', text: a.model }), h('span', { class: 'pill ' + (a.status && a.status < 400 ? 'st-ok' : 'st-bad'), text: a.status === null ? 'no answer' : String(a.status) })),
              h('div', { class: 'hint', text: `${a.formatIn && a.formatOut && a.formatIn !== a.formatOut ? `${a.formatIn} → ${a.formatOut} · ` : ''}first byte ${fmtMs(a.ttfbMs)} · ${fmtMs(a.durationMs)}` }),
              a.error ? h('div', { class: 'error-text', text: a.error }) : null,
            ),
          ),
        ),
      );
    }
    if (d.translationNotes?.length) {
      box.append(h('h3', { text: 'Translation' }), h('ul', { class: 'notes' }, ...d.translationNotes.map((n) => h('li', { text: n }))));
    }
    if (d.requestHeaders && Object.keys(d.requestHeaders).length) {
      box.append(
        h('h3', { text: 'Request headers' }),
        h('dl', { class: 'kvs headers' }, ...Object.entries(d.requestHeaders).map(([k, v]) => kv(k, v, v === '[redacted]' ? 'dim mono' : 'mono'))),
      );
    }
    if (d.requestBody) box.append(h('h3', { text: 'Request body' }), h('pre', { class: 'body', text: d.requestBody }));
    if (d.responseBody) box.append(h('h3', { text: 'Response body' }), h('pre', { class: 'body', text: d.responseBody }));
  }
}

export default function create(): View {
  return new LogView();
}
