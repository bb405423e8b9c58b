// Usage: what went through router67 over a range (today, 7 days, 30 days, custom), from the usage history —
// totals, a chart over time (uPlot), breakdowns by app, provider, model and route, error rate and time to first
// byte per provider, the series as a table, and CSV export. Cost shows "—" where no price is known, never 0.
import type { Api, UiEvent, UsageGroup, UsageReport, UsageTotals } from '../../main/ui/types.js';
import { clear, fmtInt, fmtMs, h, viewHead } from '../dom.js';
import type { View, ViewContext } from './view.js';

type RangeKey = 'today' | '7d' | '30d' | 'custom';
const DAY = 86_400_000;

// uPlot (node_modules/uplot, copied next to the page by the build) is loaded when the view first draws.
interface UPlotLike {
  setData(d: (number | null)[][]): void;
  setSize(s: { width: number; height: number }): void;
  destroy(): void;
}
type UPlotCtor = new (opts: unknown, data: (number | null)[][], el: HTMLElement) => UPlotLike;
let uplot: Promise<UPlotCtor> | undefined;
function loadUPlot(): Promise<UPlotCtor> {
  const path = '../vendor/uPlot.esm.js';
  return (uplot ??= (import(/* @vite-ignore */ path) as Promise<{ default: UPlotCtor }>).then((m) => m.default));
}

function midnight(t: number): number {
  const d = new Date(t);
  return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
}

function dateInput(t: number): string {
  const d = new Date(t);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

function parseDate(s: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  return m ? new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3])).getTime() : undefined;
}

export function fmtCost(usd: number | null | undefined): string {
  if (usd === null || usd === undefined) return '—';
  if (usd === 0) return '$0.00';
  if (usd < 0.01) return `$${usd.toFixed(4)}`;
  return `$${usd.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

function fmtTokens(n: number): string {
  if (n < 10_000) return fmtInt(n);
  if (n < 1_000_000) return `${(n / 1000).toFixed(n < 100_000 ? 1 : 0)}k`;
  return `${(n / 1e6).toFixed(n < 10e6 ? 2 : n < 100e6 ? 1 : 0)}M`;
}

function pct(x: number): string {
  return x === 0 ? '0 %' : x < 0.001 ? '<0.1 %' : `${(x * 100).toFixed(x < 0.1 ? 1 : 0)} %`;
}

function csvCell(v: string | number | null): string {
  if (v === null) return '';
  const s = String(v);
  return /[",\n\r]/.test(s) || /^[=+\-@]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The report as CSV: the series, then each breakdown and the latency table, one section after another. */
export function reportCsv(r: UsageReport): string {
  const head = ['requests', 'errors', 'input_tokens', 'output_tokens', 'cache_read_tokens', 'cache_write_tokens', 'reasoning_tokens', 'cost_usd'];
  const vals = (t: UsageTotals) => [t.requests, t.errors, t.inputTokens, t.outputTokens, t.cacheReadTokens, t.cacheWriteTokens, t.reasoningTokens, t.costUsd];
  const lines: string[] = [];
  const row = (cells: (string | number | null)[]) => lines.push(cells.map(csvCell).join(','));
  row(['section', 'key', ...head]);
  row(['total', `${new Date(r.from).toISOString()}/${new Date(r.to).toISOString()}`, ...vals(r.totals)]);
  for (const p of r.series) row([r.step, new Date(p.t).toISOString(), ...vals(p)]);
  for (const [name, list] of [
    ['app', r.byApp],
    ['provider', r.byProvider],
    ['model', r.byModel],
    ['route', r.byRoute],
  ] as const)
    for (const g of list) row([name, g.key, ...vals(g)]);
  lines.push('');
  row(['latency', 'provider', 'requests', 'errors', 'error_rate', 'ttfb_p50_ms', 'ttfb_p95_ms']);
  for (const l of r.latency) row(['latency', l.provider, l.requests, l.errors, Math.round(l.errorRate * 1e4) / 1e4, l.p50Ms, l.p95Ms]);
  return lines.join('\r\n') + '\r\n';
}

class UsageView implements View {
  private api!: Api;
  private range: RangeKey = 'today';
  private customFrom = '';
  private customTo = '';
  private report?: UsageReport;
  private error?: string;
  private loading = false;
  private chart?: UPlotLike;
  private chartEl = h('div', { class: 'usage-chart', id: 'usage-chart', 'aria-label': 'Requests and cost over time', role: 'img' });
  private readonly body = h('div', { class: 'usage-body' });
  private readonly controls = h('div', { class: 'usage-controls', role: 'group', 'aria-label': 'Range' });
  private visible = false;
  private refreshTimer?: ReturnType<typeof setTimeout>;
  private ro?: ResizeObserver;
  private readonly media = window.matchMedia('(prefers-color-scheme: dark)');

  async mount(root: HTMLElement, ctx: ViewContext): Promise<void> {
    this.api = ctx.api;
    const now = Date.now();
    this.customFrom = dateInput(now - 6 * DAY);
    this.customTo = dateInput(now);
    root.append(
      viewHead('Usage', 'Requests, tokens and cost, from the usage history.', this.controls),
      this.body,
    );
    this.ro = new ResizeObserver(() => this.sizeChart());
    this.ro.observe(this.body);
    this.media.addEventListener('change', () => this.drawChart(true));
    this.renderControls();
    await this.load();
  }

  shown(): void {
    this.visible = true;
    void this.load();
  }

  onEvent(e: UiEvent): void {
    // finished requests show up within a few seconds while the view is open on a range that includes now
    if (e.type === 'log' && (e.entry.state === 'done' || e.entry.state === 'error') && this.visible && this.range !== 'custom') {
      this.refreshTimer ??= setTimeout(() => {
        this.refreshTimer = undefined;
        void this.load(true);
      }, 3000);
    }
  }

  private bounds(): { from: number; to: number } | string {
    const now = Date.now();
    if (this.range === 'today') return { from: midnight(now), to: now + 1 };
    if (this.range === '7d') return { from: midnight(now) - 6 * DAY, to: now + 1 };
    if (this.range === '30d') return { from: midnight(now) - 29 * DAY, to: now + 1 };
    const a = parseDate(this.customFrom);
    const b = parseDate(this.customTo);
    if (a === undefined || b === undefined) return 'Pick both dates.';
    if (b < a) return 'The end date is before the start date.';
    const end = new Date(b);
    return { from: a, to: new Date(end.getFullYear(), end.getMonth(), end.getDate() + 1).getTime() };
  }

  private async load(quiet = false): Promise<void> {
    const b = this.bounds();
    if (typeof b === 'string') {
      this.error = b;
      this.render();
      return;
    }
    if (!quiet) {
      this.loading = true;
      this.renderControls();
    }
    try {
      this.report = await this.api.usage(b);
      this.error = undefined;
    } catch (e) {
      this.error = (e as Error).message;
    } finally {
      this.loading = false;
    }
    this.renderControls();
    this.render();
  }

  private renderControls(): void {
    clear(this.controls);
    const btn = (k: RangeKey, label: string) =>
      h('button', {
        type: 'button',
        class: 'btn small seg' + (this.range === k ? ' active' : ''),
        id: `usage-range-${k}`,
        'aria-pressed': this.range === k,
        text: label,
        onclick: () => {
          this.range = k;
          this.renderControls();
          void this.load();
        },
      });
    const seg = h('div', { class: 'segmented' }, btn('today', 'Today'), btn('7d', '7 days'), btn('30d', '30 days'), btn('custom', 'Custom'));
    this.controls.append(seg);
    if (this.range === 'custom') {
      const from = h('input', { type: 'date', id: 'usage-from', value: this.customFrom, 'aria-label': 'From' });
      const to = h('input', { type: 'date', id: 'usage-to', value: this.customTo, 'aria-label': 'To (inclusive)' });
      const apply = () => {
        this.customFrom = from.value;
        this.customTo = to.value;
        void this.load();
      };
      from.addEventListener('change', apply);
      to.addEventListener('change', apply);
      this.controls.append(from, h('span', { class: 'dim', text: '–' }), to);
    }
    this.controls.append(
      h('button', { type: 'button', class: 'btn small', id: 'usage-refresh', text: this.loading ? 'Loading…' : 'Refresh', disabled: this.loading, onclick: () => void this.load() }),
      h('button', { type: 'button', class: 'btn small', id: 'usage-csv', text: 'Export CSV', disabled: !this.report, onclick: () => this.exportCsv() }),
    );
  }

  private exportCsv(): void {
    const r = this.report;
    if (!r) return;
    const blob = new Blob([reportCsv(r)], { type: 'text/csv;charset=utf-8' });
    const a = h('a', { href: URL.createObjectURL(blob), download: `router67-usage-${dateInput(r.from)}-to-${dateInput(r.to - 1)}.csv` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  }

  private render(): void {
    clear(this.body);
    const r = this.report;
    const st = r?.history;
    if (this.error) this.body.append(h('div', { class: 'banner banner-error', role: 'alert', id: 'usage-error', text: this.error }));
    if (st?.state === 'error') this.body.append(h('div', { class: 'banner banner-warn', role: 'status', text: `The usage history has a problem: ${st.message ?? ''}` }));
    if (!r) return;
    const t = r.totals;
    const tile = (id: string, label: string, value: string, sub?: string) =>
      h('div', { class: 'tile', id: `usage-${id}` }, h('div', { class: 'tile-label', text: label }), h('div', { class: 'tile-value', text: value }), sub ? h('div', { class: 'tile-sub', text: sub }) : null);
    this.body.append(
      h(
        'div',
        { class: 'tiles' },
        tile('requests', 'Requests', fmtInt(t.requests), t.errors ? `${fmtInt(t.errors)} failed (${pct(t.errors / Math.max(1, t.requests))})` : 'none failed'),
        tile('input', 'Input tokens', fmtTokens(t.inputTokens), `cache read ${fmtTokens(t.cacheReadTokens)} · write ${fmtTokens(t.cacheWriteTokens)}`),
        tile('output', 'Output tokens', fmtTokens(t.outputTokens), t.reasoningTokens ? `${fmtTokens(t.reasoningTokens)} reasoning` : undefined),
        tile('cost', 'Cost', fmtCost(t.costUsd), t.requests && t.costed < t.requests ? `${fmtInt(t.requests - t.costed)} requests without a known price` : undefined),
      ),
    );
    const chartCard = h('section', { class: 'card usage-chart-card' }, h('h2', { text: r.step === 'hour' ? 'Per hour' : 'Per day' }), this.chartEl);
    this.body.append(chartCard);
    this.drawChart();

    const table = (title: string, id: string, list: UsageGroup[], unknown: string) =>
      h(
        'section',
        { class: 'card usage-table-card' },
        h('h2', { text: title }),
        list.length
          ? h(
              'table',
              { class: 'usage-table', id: `usage-by-${id}` },
              h('thead', null, h('tr', null, h('th', { text: title.replace(/^By /, '') }), ...['Requests', 'Share', 'Input', 'Output', 'Cache', 'Cost'].map((x) => h('th', { class: 'num', text: x })))),
              h(
                'tbody',
                null,
                ...list.map((g) =>
                  h(
                    'tr',
                    null,
                    h('td', { class: g.key ? '' : 'dim', text: g.key || unknown, title: g.key || unknown }),
                    h('td', { class: 'num', text: fmtInt(g.requests) }),
                    h('td', { class: 'num dim', text: pct(g.requests / Math.max(1, t.requests)) }),
                    h('td', { class: 'num', text: fmtTokens(g.inputTokens) }),
                    h('td', { class: 'num', text: fmtTokens(g.outputTokens) }),
                    h('td', { class: 'num', text: fmtTokens(g.cacheReadTokens + g.cacheWriteTokens) }),
                    h('td', { class: 'num', text: fmtCost(g.costUsd) }),
                  ),
                ),
              ),
            )
          : h('p', { class: 'hint', text: 'Nothing in this range.' }),
      );
    const latency = h(
      'section',
      { class: 'card usage-table-card' },
      h('h2', { text: 'Providers: errors and time to first byte' }),
      r.latency.length
        ? h(
            'table',
            { class: 'usage-table', id: 'usage-latency' },
            h('thead', null, h('tr', null, h('th', { text: 'Provider' }), ...['Requests', 'Error rate', 'p50 TTFB', 'p95 TTFB'].map((x) => h('th', { class: 'num', text: x })))),
            h(
              'tbody',
              null,
              ...r.latency.map((l) =>
                h(
                  'tr',
                  null,
                  h('td', { text: l.provider }),
                  h('td', { class: 'num', text: fmtInt(l.requests) }),
                  h('td', { class: 'num' + (l.errorRate >= 0.05 ? ' bad-text' : ''), text: pct(l.errorRate) }),
                  h('td', { class: 'num', text: l.p50Ms === null ? '—' : fmtMs(l.p50Ms) }),
                  h('td', { class: 'num', text: l.p95Ms === null ? '—' : fmtMs(l.p95Ms) }),
                ),
              ),
            ),
          )
        : h('p', { class: 'hint', text: 'No provider answered in this range.' }),
      h('p', { class: 'hint', text: 'Percentiles from 5 % wide histogram buckets.' }),
    );
    this.body.append(
      h(
        'div',
        { class: 'usage-grid' },
        table('By app', 'app', r.byApp, 'unknown app'),
        table('By provider', 'provider', r.byProvider, 'none (not routed)'),
        table('By model', 'model', r.byModel, 'unknown'),
        table('By route', 'route', r.byRoute, 'no route rule'),
        latency,
      ),
    );
    const fmtT = (x: number) => (r.step === 'hour' ? new Date(x).toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' }) : new Date(x).toLocaleDateString());
    this.body.append(
      h(
        'details',
        { class: 'card usage-series' },
        h('summary', { text: `Table (${r.series.length} ${r.step === 'hour' ? 'hours' : 'days'})` }),
        h(
          'table',
          { class: 'usage-table', id: 'usage-series-table' },
          h('thead', null, h('tr', null, h('th', { text: r.step === 'hour' ? 'Hour' : 'Day' }), ...['Requests', 'Errors', 'Input', 'Output', 'Cache', 'Cost'].map((x) => h('th', { class: 'num', text: x })))),
          h(
            'tbody',
            null,
            ...r.series.map((p) =>
              h(
                'tr',
                null,
                h('td', { text: fmtT(p.t) }),
                h('td', { class: 'num', text: fmtInt(p.requests) }),
                h('td', { class: 'num', text: fmtInt(p.errors) }),
                h('td', { class: 'num', text: fmtTokens(p.inputTokens) }),
                h('td', { class: 'num', text: fmtTokens(p.outputTokens) }),
                h('td', { class: 'num', text: fmtTokens(p.cacheReadTokens + p.cacheWriteTokens) }),
                h('td', { class: 'num', text: fmtCost(p.costUsd) }),
              ),
            ),
          ),
        ),
      ),
      h('p', { class: 'hint usage-foot', id: 'usage-foot', text: `Query ${r.queryMs} ms · history: ${st ? `${st.file}, kept ${st.retentionDays} days` : 'unknown'}` }),
    );
  }

  private chartSize(): { width: number; height: number } {
    return { width: Math.max(280, (this.chartEl.parentElement?.clientWidth ?? 600) - 34), height: 220 };
  }

  private sizeChart(): void {
    this.chart?.setSize(this.chartSize());
  }

  private async drawChart(rebuild = false): Promise<void> {
    const r = this.report;
    if (!r) return;
    const data: (number | null)[][] = [r.series.map((p) => p.t / 1000), r.series.map((p) => p.requests), r.series.map((p) => p.costUsd)];
    if (this.chart && !rebuild) {
      this.chart.setData(data);
      return;
    }
    this.chart?.destroy();
    this.chart = undefined;
    let UPlot: UPlotCtor;
    try {
      UPlot = await loadUPlot();
    } catch (e) {
      clear(this.chartEl);
      this.chartEl.append(h('p', { class: 'hint', text: `The chart could not load: ${(e as Error).message}` }));
      return;
    }
    if (this.chart) return;
    const css = getComputedStyle(document.documentElement);
    const v = (name: string) => css.getPropertyValue(name).trim();
    const axis = { stroke: v('--dim'), grid: { stroke: v('--border'), width: 1 }, ticks: { stroke: v('--border'), width: 1 } };
    clear(this.chartEl);
    this.chart = new UPlot(
      {
        ...this.chartSize(),
        legend: { show: true },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: true }, y: { range: (_u: unknown, _min: number, max: number) => [0, Math.max(1, max * 1.05)] }, cost: { range: (_u: unknown, _min: number, max: number) => [0, max > 0 ? max * 1.05 : 1] } },
        series: [
          {},
          { label: 'Requests', stroke: v('--accent'), fill: v('--accent-soft'), width: 1.5, points: { show: false } },
          { label: 'Cost (USD)', scale: 'cost', stroke: v('--ok'), width: 1.5, value: (_u: unknown, x: number | null) => fmtCost(x), points: { show: false } },
        ],
        axes: [{ ...axis }, { ...axis, label: 'requests' }, { ...axis, scale: 'cost', side: 1, grid: { show: false }, values: (_u: unknown, ticks: number[]) => ticks.map((x) => `$${x}`) }],
      },
      data,
      this.chartEl,
    );
  }
}

export default function create(): View {
  return new UsageView();
}
