// `router67 usage`: totals and a breakdown from the usage history. It reads usage.db directly, read-only — the
// same numbers whether the daemon (or the app) runs or not; SQLite's WAL lets it read while the daemon writes.
// Entries the daemon finished in the last quarter second may not be written yet.
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { resolveHome } from '../core/paths.js';
import type { UsageGroup, UsageReport } from '../ui/types.js';
import { History, localMidnight } from '../usage/history.js';
import { EXIT, UsageError, type Command } from './command.js';

const BY = ['app', 'provider', 'model', 'route'] as const;
type By = (typeof BY)[number];

/** `today`, `12h`, `7d`, `4w`, or a local date `2026-11-01`: the start of the range (ms). */
export function parseSince(s: string, now = Date.now()): number {
  if (s === 'today') return localMidnight(now);
  const m = /^(\d+)\s*([mhdw])$/.exec(s);
  if (m) {
    const n = Number(m[1]);
    const unit = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 }[m[2] as 'm' | 'h' | 'd' | 'w'];
    // whole days count from local midnight: "7d" is today and the six days before it
    if (m[2] === 'd' || m[2] === 'w') return localMidnight(now) - (n * unit - 86_400_000);
    return now - n * unit;
  }
  const d = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (d) return new Date(Number(d[1]), Number(d[2]) - 1, Number(d[3])).getTime();
  throw new UsageError(`--since: expected today, a count with m/h/d/w (12h, 7d) or a date (2026-11-01), not "${s}"`);
}

function cost(x: number | null): string {
  return x === null ? '—' : `$${x.toFixed(x < 1 ? 4 : 2)}`;
}

function num(n: number): string {
  return n.toLocaleString('en-US');
}

function csvCell(v: string | number | null): string {
  if (v === null) return '';
  const s = String(v);
  return /[",\n\r]/.test(s) || /^[=+\-@]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function usageCsv(by: By, rows: UsageGroup[]): string {
  const head = [by, 'requests', 'errors', 'input_tokens', 'output_tokens', 'cache_read_tokens', 'cache_write_tokens', 'reasoning_tokens', 'cost_usd'];
  const lines = [head.join(',')];
  for (const g of rows) {
    lines.push([g.key, g.requests, g.errors, g.inputTokens, g.outputTokens, g.cacheReadTokens, g.cacheWriteTokens, g.reasoningTokens, g.costUsd].map(csvCell).join(','));
  }
  return lines.join('\n') + '\n';
}

export function usageText(r: UsageReport, by: By): string {
  const t = r.totals;
  const rows: UsageGroup[] = { app: r.byApp, provider: r.byProvider, model: r.byModel, route: r.byRoute }[by];
  const unknown = { app: '(unknown app)', provider: '(not routed)', model: '(unknown)', route: '(no route rule)' }[by];
  const w = Math.max(by.length, ...rows.map((g) => (g.key || unknown).length));
  const lines = [
    `${new Date(r.from).toLocaleString()} – ${new Date(r.to).toLocaleString()}`,
    `requests ${num(t.requests)} (${num(t.errors)} failed) · tokens in ${num(t.inputTokens)}, out ${num(t.outputTokens)}, cache read ${num(t.cacheReadTokens)}, cache write ${num(t.cacheWriteTokens)} · cost ${cost(t.costUsd)}${t.costUsd !== null && t.costed < t.requests ? ` (${num(t.requests - t.costed)} without a known price)` : ''}`,
    '',
    `${by.padEnd(w)}  ${'requests'.padStart(10)}  ${'input'.padStart(13)}  ${'output'.padStart(12)}  ${'cache'.padStart(13)}  ${'cost'.padStart(11)}`,
    ...rows.map(
      (g) =>
        `${(g.key || unknown).padEnd(w)}  ${num(g.requests).padStart(10)}  ${num(g.inputTokens).padStart(13)}  ${num(g.outputTokens).padStart(12)}  ${num(g.cacheReadTokens + g.cacheWriteTokens).padStart(13)}  ${cost(g.costUsd).padStart(11)}`,
    ),
  ];
  if (!rows.length) lines.push('(no requests in this range)');
  if (by === 'provider' && r.latency.length) {
    lines.push('', `${'provider'.padEnd(w)}  ${'error rate'.padStart(10)}  ${'p50 ttfb'.padStart(10)}  ${'p95 ttfb'.padStart(10)}`);
    for (const l of r.latency) {
      lines.push(
        `${l.provider.padEnd(w)}  ${`${(l.errorRate * 100).toFixed(1)} %`.padStart(10)}  ${(l.p50Ms === null ? '—' : `${l.p50Ms} ms`).padStart(10)}  ${(l.p95Ms === null ? '—' : `${l.p95Ms} ms`).padStart(10)}`,
      );
    }
  }
  return lines.join('\n') + '\n';
}

export const usageCommand: Command = {
  summary: 'requests, tokens and cost from the usage history',
  help: `Usage: router67 usage [--since today|12h|7d|2026-11-01] [--by app|provider|model|route] [--json|--csv]

Totals (requests, tokens in/out/cache, cost) and a breakdown over a range, from
the usage history (usage.db in ~/.router67). Reads the database directly, so it
works whether router67 runs or not. Cost is "—" (empty in CSV, null in JSON)
where no price is known.

Options:
  --since S   start of the range: today (default), 12h, 7d (today and the 6
              days before), 4w, or a local date
  --by D      breakdown by app, provider (default), model or route
  --json      the whole report (totals, every breakdown, latency, series)
  --csv       the breakdown as CSV
  -h, --help  this help`,
  async run(args) {
    const { values } = parseArgs({
      args,
      options: { since: { type: 'string' }, by: { type: 'string' }, json: { type: 'boolean' }, csv: { type: 'boolean' } },
      strict: true,
    });
    const by = (values.by ?? 'provider') as By;
    if (!BY.includes(by)) {
      process.stderr.write(`router67 usage: --by: expected one of ${BY.join(', ')}, not "${values.by}"\n`);
      return EXIT.usage;
    }
    if (values.json && values.csv) {
      process.stderr.write('router67 usage: --json and --csv: pick one\n');
      return EXIT.usage;
    }
    let from: number;
    const now = Date.now();
    try {
      from = parseSince(values.since ?? 'today', now);
    } catch (e) {
      process.stderr.write(`router67 usage: ${(e as Error).message}\n`);
      return EXIT.usage;
    }
    const file = History.fileIn(resolveHome());
    if (!existsSync(file)) {
      process.stderr.write(`router67 usage: no usage history yet (${file} is created when the first request finishes)\n`);
      return EXIT.failure;
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { HistoryDb, describeDbError } = require('../usage/history-db.js') as typeof import('../usage/history-db.js');
    let report: UsageReport;
    try {
      const db = new HistoryDb(file, { readonly: true });
      try {
        report = db.query({ from, to: now + 1 });
      } finally {
        db.close();
      }
    } catch (e) {
      process.stderr.write(`router67 usage: ${describeDbError(file, e)}\n`);
      return EXIT.failure;
    }
    if (values.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    else if (values.csv) process.stdout.write(usageCsv(by, { app: report.byApp, provider: report.byProvider, model: report.byModel, route: report.byRoute }[by]));
    else process.stdout.write(usageText(report, by));
    return EXIT.ok;
  },
};
