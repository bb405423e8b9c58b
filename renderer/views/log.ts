// Live log: every request as it starts and as it finishes, newest first. Only the visible rows exist in the DOM
// (fixed row height), and the store keeps at most 10,000 entries.
import type { Api, Attempt, LogDetail, LogRow, ResendResult, UiEvent, UiStatus } from '../../main/ui/types.js';
import { append, clear, fmtInt, fmtMs, fmtTime, h, toast, viewHead } from '../dom.js';
import { LogStore, matches, NO_FILTER, tags, type LogFilter } from '../log-store.js';
import { bodyView, copyButton, curlFor } from './log-detail.js';
import type { View, ViewContext } from './view.js';

const ROW = 30;
const OVERSCAN = 8;
/** Until the main side says how many it keeps (status.logCapacity). */
export const MAX_ENTRIES = 2000;

/** One attempt's outcome in words: "503", "skipped", "no answer". */
function attemptWord(a: Attempt): string {
  if (a.status === null) return a.error?.startsWith('skipped: ') ? 'skipped' : 'no answer';
  return String(a.status);
}

/** An attempt's error as a sentence: "Not tried: environment variable X is not set." */
export function attemptReason(a: Attempt): string | null {
  if (!a.error) return null;
  const e = a.error.startsWith('skipped: ') ? `Not tried: ${a.error.slice('skipped: '.length)}` : a.error;
  return /[.!?)]$/.test(e) ? e : `${e}.`;
}

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
  const cached = r.cacheReadTokens ? ` (${fmtInt(r.cacheReadTokens)} cached)` : '';
  return `${fmtInt(r.inputTokens)}${cached} / ${fmtInt(r.outputTokens)}`;
}

/** A cost in USD: "—" when unknown (no price for the model, or no token counts); small amounts keep 4 decimals. */
export function fmtCost(usd: number | undefined): string {
  if (usd === undefined) return '—';
  if (usd === 0) return '$0';
  return usd < 0.01 ? `$${usd.toFixed(4)}` : `$${usd.toFixed(2)}`;
}

/** Tokens in detail: "1,200 / 300 (cache read 1,000 · cache write 0 · reasoning 120)". */
function tokenDetail(r: LogRow): string {
  const base = tokens(r);
  const parts: string[] = [];
  if (r.cacheReadTokens !== undefined) parts.push(`cache read ${fmtInt(r.cacheReadTokens)}`);
  if (r.cacheWriteTokens !== undefined) parts.push(`cache write ${fmtInt(r.cacheWriteTokens)}`);
  if (r.reasoningTokens !== undefined) parts.push(`reasoning ${fmtInt(r.reasoningTokens)}`);
  return parts.length ? `${base} (${parts.join(' · ')})` : base;
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
  /** Requests since the main side started (status), to say when only the newest are kept. */
  private totalSinceStart = 0;
  private status?: UiStatus;
  private detail?: LogDetail;
  private resent?: { target: string; result: ResendResult };
  private readonly sectionOpen = new Map<string, boolean>();
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
      viewHead('Live log', 'Requests appear as they start and update as they finish.'),
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
              ['Cost', 'Cost in USD from the price table ("—": no known price)'],
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
    // Escape closes the details from anywhere in the pane (a focused button, a body, a select)
    u.detail.addEventListener('keydown', (e) => {
      if (e.key !== 'Escape' || (e.target as HTMLElement).matches?.('select:focus')) return;
      e.preventDefault();
      this.select(undefined);
      u.scroller.focus();
    });
    this.updateProviders();
    try {
      this.applyStatus(await this.api.status());
    } catch {
      /* the count says less */
    }
    this.updateApps();
    await this.resync();
  }

  private applyStatus(s: UiStatus): void {
    this.status = s;
    this.totalSinceStart = s.requests.total;
    if (s.logCapacity && s.logCapacity !== this.store.max) this.store.setMax(s.logCapacity);
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
      this.applyStatus(e.status);
      this.updateProviders(e.status.providers.map((p) => p.name));
      this.schedule();
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
      const rows = await this.api.recentLog(this.store.max);
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
    this.knownProviders = refillFilter(this.ui.provider, this.knownProviders, [...(fromStatus ?? []), ...this.store.providers()], 'Any provider');
  }

  private updateApps(): void {
    this.knownApps = refillFilter(this.ui.app, this.knownApps, this.store.apps(), 'Any app');
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
    const since = Math.max(this.totalSinceStart, total);
    const kept = since > total ? ` (the newest ${fmtInt(total)} of ${fmtInt(since)} since start)` : '';
    u.count.textContent = rows.length === total ? `${fmtInt(total)} request${total === 1 ? '' : 's'}${kept}` : `${fmtInt(rows.length)} of ${fmtInt(total)} requests${kept}`;
    u.count.title = kept ? `router67 keeps the newest ${fmtInt(this.store.max)} requests in memory; requests.jsonl in the logs folder has them all.` : '';
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
    for (let c = 0; c < 10; c++) el.append(h('span'));
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
    // the model, then its marks (streamed, count_tokens, answered locally, resent), which never get cut off
    const model = r.model ?? `${r.method} ${r.path}`;
    const marks = tags(r).filter((t) => t !== 'passthrough');
    const mc = c[2]!;
    const key = `${model}\u0000${marks.join(' ')}`;
    if (mc.dataset.key !== key) {
      mc.dataset.key = key;
      clear(mc);
      mc.append(h('span', { class: 'model-text', text: model }), ...marks.map((t) => h('span', { class: `tag tag-${t}`, text: t === 'count_tokens' ? 'count' : t })));
      mc.title = marks.length ? `${model} · ${marks.join(' · ')}` : model;
    }
    mc.className = 'model';
    set(3, r.cacheMoved ? `${route(r)} · cache moved` : route(r), r.cacheMoved ? 'warn-text' : r.provider ? '' : 'dim');
    set(4, statusText(r), `pill ${statusClass(r)}`);
    set(5, r.attempts.length > 1 ? `${r.attempts.length}` : r.attempts.length ? '1' : '—', r.attempts.length > 1 ? 'num warn-text' : 'num dim');
    set(6, fmtMs(r.ttfbMs), 'num');
    set(7, fmtMs(r.durationMs), 'num');
    set(8, tokens(r), 'num');
    set(9, fmtCost(r.costUsd), r.costUsd === undefined ? 'num dim' : 'num');
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
    if (id !== this.selectedId) this.resent = undefined;
    this.selectedId = id;
    this.schedule();
    this.ui.detail.parentElement?.classList.toggle('with-detail', !!id);
    if (!id) {
      this.ui.detail.hidden = true;
      this.detail = undefined;
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
    this.renderDetail(d ?? (row ? { ...row, dropped: true } : null));
  }

  private renderDetail(d: LogDetail | null): void {
    const box = this.ui.detail;
    // re-rendering (a live update) keeps the reader where they were
    const scroll = box.scrollTop;
    // sections keep the state the reader left them in across live re-renders (headers start closed, bodies open)
    for (const x of box.querySelectorAll('details[data-key]')) this.sectionOpen.set((x as HTMLElement).dataset.key!, (x as HTMLDetailsElement).open);
    const closedSections = new Set(['req-h', 'up-h', 'res-h', 'req-b', 'res-b'].filter((k) => this.sectionOpen.get(k) === false || (!this.sectionOpen.has(k) && k.endsWith('-h'))));
    const focusedKey = (document.activeElement as HTMLElement | null)?.closest?.('[data-focus-key]')?.getAttribute('data-focus-key');
    clear(box);
    box.hidden = false;
    this.detail = d ?? undefined;
    const close = h('button', { type: 'button', class: 'btn icon close', 'aria-label': 'Close details (Escape)', title: 'Close (Escape)', text: '×', 'data-focus-key': 'close', onclick: () => this.select(undefined) });
    if (!d) {
      box.append(h('div', { class: 'detail-head' }, h('h2', { text: 'Request' }), close), h('p', { class: 'hint', text: 'This request is no longer in memory.' }));
      return;
    }
    const kv = (k: string, v: string | undefined, cls = '') => (v === undefined || v === '' ? null : h('div', { class: 'kv' }, h('dt', { text: k }), h('dd', { class: cls, text: v })));
    const marks = tags(d);
    box.append(
      h('div', { class: 'detail-head' }, h('h2', { text: `${d.method} ${d.path}` }), close),
      h(
        'p',
        { class: 'hint' },
        `${new Date(d.startedAt).toLocaleString()} · ${d.dialect}${d.host ? ` via ${d.host}` : ''}`,
        ...marks.map((t) => h('span', { class: `tag tag-${t}`, text: t === 'stream' ? 'streamed' : t === 'local' ? 'answered by router67' : t === 'resend' ? 'resent from the window' : t })),
      ),
    );
    if (d.dropped) {
      box.append(
        h('p', { class: 'banner banner-info dropped', role: 'note', text: `Only the summary of this request is left: router67 keeps the headers${d.requestBody === undefined ? '' : ' and bodies'} of the newest ${fmtInt(this.store.max)} requests, and this one is older.` }),
      );
    }
    box.append(
      h(
        'dl',
        { class: 'kvs' },
        kv('App', d.app),
        kv('Model', d.model),
        kv('Route', d.route !== undefined ? `${d.route}${d.strategy ? ` (${d.strategy})` : ''}` : undefined),
        kv('Provider', d.provider),
        kv('Upstream model', d.upstreamModel),
        kv('Route', d.route ? `${d.route}${d.strategy ? ` (${d.strategy})` : ''}` : undefined),
        kv('Status', `${statusText(d)} (${d.state})`, `pill ${statusClass(d)}`),
        kv('Time to first byte', fmtMs(d.ttfbMs)),
        kv('Total', fmtMs(d.durationMs)),
        kv('Tokens in / out', tokenDetail(d)),
        kv('Cost', fmtCost(d.costUsd)),
        kv('Cache', d.cacheMoved && `moved away from ${d.cacheMoved}, which served this conversation's previous turn (its prompt cache missed)`, 'warn-text'),
        kv('Bytes in / out', `${fmtInt(d.bytesIn)} / ${fmtInt(d.bytesOut)}`),
        kv('Error', d.error, 'error-text'),
        kv('Resent from', d.resendOf, 'mono'),
        kv('Request id', d.id, 'mono'),
      ),
    );
    if (d.attempts.length) {
      box.append(
        h('h3', { text: `Attempts (${d.attempts.length})` }),
        h(
          'ol',
          { class: 'attempts' },
          ...d.attempts.map((a) => {
            const word = attemptWord(a);
            const ok = a.status !== null && a.status < 400 && !a.error;
            return h(
              'li',
              { class: ok ? 'good' : word === 'skipped' ? 'skip' : 'bad' },
              h('div', { class: 'att-line' }, h('strong', { text: a.provider }), h('span', { class: 'mono', text: a.model }), h('span', { class: 'pill ' + (ok ? 'st-ok' : word === 'skipped' ? 'st-active' : 'st-bad'), text: word })),
              word === 'skipped' ? null : h('div', { class: 'hint', text: `${a.formatIn && a.formatOut && a.formatIn !== a.formatOut ? `${a.formatIn} → ${a.formatOut} · ` : ''}first byte ${fmtMs(a.ttfbMs)} · ${fmtMs(a.durationMs)}${a.why ? ` · ${a.why}` : ''}` }),
              attemptReason(a) ? h('div', { class: ok ? 'hint' : 'error-text', text: attemptReason(a)! }) : null,
            );
          }),
        ),
      );
    }
    box.append(this.actions(d));
    if (this.resent) box.append(this.comparison(d, this.resent.target, this.resent.result));
    if (d.translationNotes?.length) {
      box.append(h('h3', { text: 'Translation' }), h('ul', { class: 'notes' }, ...d.translationNotes.map((n) => h('li', { text: n }))));
    }
    const headers = (title: string, key: string, hs: Record<string, string> | undefined, note?: string) => {
      if (!hs || !Object.keys(hs).length) return null;
      const det = h(
        'details',
        { class: 'section', 'data-key': key, open: !closedSections.has(key) },
        h('summary', { text: `${title} (${Object.keys(hs).length})` }),
        note ? h('p', { class: 'hint', text: note }) : null,
        h('dl', { class: 'kvs headers' }, ...Object.entries(hs).map(([k, v]) => kv(k, v, v === '[redacted]' ? 'dim mono' : 'mono'))),
      );
      det.open = !closedSections.has(key);
      return det;
    };
    const cut = (b: string | undefined) => !!b && !!d.maxBody && b.length >= d.maxBody;
    box.append(
      ...[
        headers('Request headers', 'req-h', d.requestHeaders, 'As the client sent them to router67.'),
        headers('Sent upstream', 'up-h', d.upstreamHeaders, 'The headers router67 sent to the provider (credentials redacted).'),
        headers('Response headers', 'res-h', d.responseHeaders, d.provider ? `From ${d.provider}.` : 'From the last provider tried.'),
        d.requestBody !== undefined ? bodyView('Request body', 'req-b', d.requestBody, cut(d.requestBody), closedSections) : null,
        d.responseBody !== undefined ? bodyView('Response body', 'res-b', d.responseBody, cut(d.responseBody), closedSections) : null,
      ].filter((x): x is HTMLElement => !!x),
    );
    if (!d.dropped && d.requestBody === undefined && !d.local) {
      box.append(h('p', { class: 'hint', text: 'Bodies are not logged. Turn on log_bodies under [daemon] in config.toml to see them here and to resend a request.' }));
    }
    box.classList.toggle('comparing', !!this.resent);
    box.scrollTop = scroll;
    if (focusedKey) (box.querySelector(`[data-focus-key="${CSS.escape(focusedKey)}"]`) as HTMLElement | null)?.focus();
  }

  /** Copy as curl and Resend to…. */
  private actions(d: LogDetail): HTMLElement {
    const wrap = h('div', { class: 'detail-actions' });
    const base = this.status ? `http://${this.status.http.address}` : 'http://127.0.0.1:6767';
    wrap.append(copyButton('Copy as curl', () => curlFor(d, base), 'curl'));
    const canResend = d.method === 'POST' && d.requestBody !== undefined && !d.dropped && !cutBody(d);
    const why = d.method !== 'POST' ? 'Only POST requests can be resent.' : d.dropped ? 'The body of this request is no longer kept.' : d.requestBody === undefined ? 'Resend needs the logged body: turn on log_bodies under [daemon] in config.toml.' : cutBody(d) ? 'The logged body was cut, so it cannot be resent as it was.' : '';
    const provSel = h('select', { 'aria-label': 'Resend to provider', 'data-focus-key': 'resend-provider', disabled: !canResend });
    const modelIn = h('input', { type: 'text', 'aria-label': 'Upstream model', placeholder: 'upstream model', spellcheck: false, autocomplete: 'off', 'data-focus-key': 'resend-model', disabled: !canResend, list: 'resend-models' });
    const models = h('datalist', { id: 'resend-models' });
    const providers = this.status?.providers ?? [];
    for (const p of providers) provSel.append(h('option', { value: p.name, text: p.name, selected: p.name === (d.provider ?? d.attempts[0]?.provider) }));
    const fillModels = () => {
      clear(models);
      const p = providers.find((x) => x.name === provSel.value);
      for (const m of p?.models ?? []) models.append(h('option', { value: m }));
      if (!modelIn.value || !(p?.models ?? []).includes(modelIn.value)) modelIn.value = d.upstreamModel && provSel.value === d.provider ? d.upstreamModel : (p?.models[0] ?? d.model ?? '');
    };
    provSel.addEventListener('change', fillModels);
    fillModels();
    const go = h('button', {
      type: 'button',
      class: 'btn small',
      text: 'Resend',
      'data-focus-key': 'resend-go',
      disabled: !canResend || !providers.length,
      onclick: async () => {
        const provider = provSel.value;
        const model = modelIn.value.trim();
        if (!provider || !model) return;
        go.disabled = true;
        go.textContent = 'Sending…';
        let result: ResendResult;
        try {
          result = await this.api.resend({ id: d.id, provider, model });
        } catch (e) {
          result = { ok: false, message: (e as Error).message };
        }
        if (this.selectedId !== d.id) return;
        this.resent = { target: `${provider} · ${model}`, result };
        if (!result.ok) toast(result.message, 'error');
        this.renderDetail(this.detail ?? d);
        (this.ui.detail.querySelector('.compare') as HTMLElement | null)?.scrollIntoView({ block: 'nearest' });
      },
    });
    append(
      wrap,
      h('div', { class: 'resend', role: 'group', 'aria-label': 'Resend to another provider' }, h('span', { class: 'label', text: 'Resend to' }), provSel, modelIn, models, go),
      why ? h('p', { class: 'hint resend-why', text: why }) : null,
    );
    return wrap;
  }

  /** The original answer and the resent one, side by side (stacked when narrow). */
  private comparison(d: LogDetail, target: string, r: ResendResult): HTMLElement {
    const col = (title: string, status: string, cls: string, body: string | undefined, note?: string) =>
      h(
        'div',
        { class: 'compare-col' },
        h('div', { class: 'att-line' }, h('strong', { text: title }), h('span', { class: `pill ${cls}`, text: status })),
        note ? h('p', { class: 'hint', text: note }) : null,
        body !== undefined ? bodyView('Body', `cmp-${title}`, body, false, new Set(), true) : h('p', { class: 'hint', text: 'No body logged.' }),
      );
    const orig = col(`Original · ${d.provider ?? '—'}`, statusText(d), statusClass(d), d.responseBody);
    const again = r.ok
      ? col(`Resent · ${target}`, String(r.status), r.status < 400 ? 'st-ok' : 'st-bad', r.body, `${fmtMs(r.durationMs)}${r.truncated ? ' · answer cut at 1 MB' : ''}${r.entryId ? ` · in the log as ${r.entryId}` : ''}`)
      : h('div', { class: 'compare-col' }, h('strong', { text: `Resent · ${target}` }), h('p', { class: 'error-text', role: 'alert', text: r.message }));
    return h('section', { class: 'compare', 'aria-label': 'Original and resent answers' }, h('h3', { text: 'Original and resent' }), h('div', { class: 'compare-cols' }, orig, again));
  }
}

function cutBody(d: LogDetail): boolean {
  return !!d.requestBody && !!d.maxBody && d.requestBody.length >= d.maxBody;
}

export default function create(): View {
  return new LogView();
}

/** A filter's options: "Any …" and the values known so far with those `found` (sorted), keeping the choice. The list now. */
function refillFilter(sel: HTMLSelectElement, known: string[], found: Iterable<string>, any: string): string[] {
  const all = [...new Set([...known, ...found])].sort();
  if (all.join('\n') === known.join('\n') && sel.options.length) return known;
  const cur = sel.value;
  clear(sel);
  sel.append(h('option', { value: '', text: any }), ...all.map((v) => h('option', { value: v, text: v, selected: v === cur })));
  return all;
}
