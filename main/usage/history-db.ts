// The usage history's database: SQLite through better-sqlite3 (an optional dependency, loaded on first use).
// Synchronous; the daemon and the app run it on a worker thread (history-worker.ts) so neither inserts nor queries
// ever hold up the proxy's event loop; `router67 usage` and the tests use it directly.
//
// Tables:
//   requests     one row per finished request (the columns the Usage view and `router67 usage` show), indexed by time
//   hourly       rollup per (UTC hour, app, provider, model, route): counts, tokens, cost — written with each row
//   ttfb_hourly  per (UTC hour, provider): a log-scale histogram of time to first byte (5 % wide buckets)
// A query over a range reads the rollups for the whole hours inside it and the raw rows for the partial hours at
// its ends, so its cost follows the number of hours, not the number of requests, and totals stay exact.
import type { Database as Db, Statement } from 'better-sqlite3';
import type { UsageGroup, UsageLatency, UsagePoint, UsageQuery, UsageReport, UsageTotals } from '../ui/types.js';

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
const RATIO = Math.log(1.05);

/** One finished request as the main thread posts it (column order: ROW_COLUMNS). */
export type HistoryRow = [
  ts: number,
  entryId: string,
  app: string,
  provider: string,
  model: string,
  route: string,
  dialect: string,
  status: number | null,
  ok: 0 | 1,
  ttfbMs: number | null,
  durationMs: number | null,
  inputTokens: number,
  outputTokens: number,
  cacheReadTokens: number,
  cacheWriteTokens: number,
  reasoningTokens: number,
  costUsd: number | null,
  bytesIn: number,
  bytesOut: number,
  attempts: number,
  stream: 0 | 1,
];

/** Column order of a HistoryRow (the compact array the main thread posts). */
export const ROW_COLUMNS = [
  'ts',
  'entry_id',
  'app',
  'provider',
  'model',
  'route',
  'dialect',
  'status',
  'ok',
  'ttfb_ms',
  'duration_ms',
  'input_tokens',
  'output_tokens',
  'cache_read_tokens',
  'cache_write_tokens',
  'reasoning_tokens',
  'cost_usd',
  'bytes_in',
  'bytes_out',
  'attempts',
  'stream',
] as const;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS requests (
  ts INTEGER NOT NULL, entry_id TEXT, app TEXT NOT NULL, provider TEXT NOT NULL, model TEXT NOT NULL, route TEXT NOT NULL,
  dialect TEXT, status INTEGER, ok INTEGER NOT NULL, ttfb_ms INTEGER, duration_ms INTEGER,
  input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL, cache_read_tokens INTEGER NOT NULL,
  cache_write_tokens INTEGER NOT NULL, reasoning_tokens INTEGER NOT NULL, cost_usd REAL,
  bytes_in INTEGER, bytes_out INTEGER, attempts INTEGER, stream INTEGER);
CREATE INDEX IF NOT EXISTS requests_ts ON requests(ts);
CREATE TABLE IF NOT EXISTS hourly (
  hour INTEGER NOT NULL, app TEXT NOT NULL, provider TEXT NOT NULL, model TEXT NOT NULL, route TEXT NOT NULL,
  requests INTEGER NOT NULL, errors INTEGER NOT NULL, input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL,
  cache_read_tokens INTEGER NOT NULL, cache_write_tokens INTEGER NOT NULL, reasoning_tokens INTEGER NOT NULL,
  cost_usd REAL NOT NULL, costed INTEGER NOT NULL,
  PRIMARY KEY (hour, app, provider, model, route)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ttfb_hourly (
  hour INTEGER NOT NULL, provider TEXT NOT NULL, bucket INTEGER NOT NULL, n INTEGER NOT NULL,
  PRIMARY KEY (hour, provider, bucket)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;
`;

/** better-sqlite3, or why it cannot be loaded. */
export function loadSqlite(): typeof import('better-sqlite3') {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('better-sqlite3') as typeof import('better-sqlite3');
  } catch (e) {
    throw new Error(`better-sqlite3 is not available (${(e as Error).message.split('\n')[0]}); run "npm install" to get it`);
  }
}

/** A histogram bucket for a time to first byte (5 % wide; 0 holds ≤ 1 ms). */
export function ttfbBucket(ms: number): number {
  return ms <= 1 ? 0 : Math.floor(Math.log(ms) / RATIO) + 1;
}

/** The middle of a bucket, in ms. */
export function bucketValue(b: number): number {
  return b === 0 ? 1 : Math.exp((b - 0.5) * RATIO);
}

/** Says what went wrong with the database in words for the user. */
export function describeDbError(file: string, e: unknown): string {
  const err = e as { code?: string; message?: string };
  const code = err.code ?? '';
  if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) {
    return `${file} is damaged (${err.message}); move it aside and router67 starts a new one at its next start`;
  }
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return `${file} is locked by another program (${err.message}); entries wait and are written when it is free`;
  }
  if (code === 'SQLITE_READONLY' || code === 'SQLITE_CANTOPEN' || code === 'SQLITE_PERM') return `${file} cannot be written (${err.message})`;
  return `${file}: ${err.message ?? String(e)}`;
}

export interface OpenOptions {
  readonly?: boolean;
  /** How long a write waits for a lock another connection holds (ms). */
  busyMs?: number;
}

export class HistoryDb {
  readonly db: Db;
  private readonly insertRow: Statement;
  private readonly upsertHour: Statement;
  private readonly upsertTtfb: Statement;
  private readonly writeTx: (rows: HistoryRow[]) => void;

  constructor(
    readonly file: string,
    o: OpenOptions = {},
  ) {
    const Database = loadSqlite();
    this.db = new Database(file, { readonly: !!o.readonly, fileMustExist: !!o.readonly, timeout: o.busyMs ?? 1000 });
    try {
      if (!o.readonly) {
        this.db.pragma('journal_mode = WAL');
        this.db.pragma('synchronous = NORMAL');
        this.db.exec(SCHEMA);
      } else this.db.prepare('SELECT count(*) FROM sqlite_master').get(); // a file that is not a database fails here
    } catch (e) {
      this.db.close();
      throw e;
    }
    const cols = ROW_COLUMNS.join(', ');
    this.insertRow = o.readonly ? (undefined as never) : this.db.prepare(`INSERT INTO requests (${cols}) VALUES (${ROW_COLUMNS.map(() => '?').join(', ')})`);
    this.upsertHour = o.readonly
      ? (undefined as never)
      : this.db.prepare(
          `INSERT INTO hourly VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (hour, app, provider, model, route) DO UPDATE SET requests = requests + 1, errors = errors + excluded.errors,
             input_tokens = input_tokens + excluded.input_tokens, output_tokens = output_tokens + excluded.output_tokens,
             cache_read_tokens = cache_read_tokens + excluded.cache_read_tokens, cache_write_tokens = cache_write_tokens + excluded.cache_write_tokens,
             reasoning_tokens = reasoning_tokens + excluded.reasoning_tokens, cost_usd = cost_usd + excluded.cost_usd, costed = costed + excluded.costed`,
        );
    this.upsertTtfb = o.readonly
      ? (undefined as never)
      : this.db.prepare(`INSERT INTO ttfb_hourly VALUES (?, ?, ?, 1) ON CONFLICT (hour, provider, bucket) DO UPDATE SET n = n + 1`);
    this.writeTx = this.db.transaction((rows: HistoryRow[]) => {
      for (const r of rows) this.write(r);
    });
  }

  private write(r: HistoryRow): void {
    this.insertRow.run(r);
    const [ts, , app, provider, model, route, , , ok, ttfb, , inp, out, cr, cw, rs, cost] = r;
    const hour = Math.floor(ts / HOUR) * HOUR;
    this.upsertHour.run(hour, app, provider, model, route, ok ? 0 : 1, inp, out, cr, cw, rs, cost ?? 0, cost === null ? 0 : 1);
    if (ttfb !== null && provider) this.upsertTtfb.run(hour, provider, ttfbBucket(ttfb));
  }

  /** Writes rows in one transaction. */
  insert(rows: HistoryRow[]): void {
    if (rows.length) this.writeTx(rows);
  }

  /** Deletes what is older than `days` days before `now` (rows, rollups). Returns the rows deleted. */
  prune(now: number, days: number): number {
    const cut = now - days * DAY;
    const n = this.db.prepare('DELETE FROM requests WHERE ts < ?').run(cut).changes;
    // a rollup hour goes once all of it is past the cut
    const hourCut = Math.floor(cut / HOUR) * HOUR;
    this.db.prepare('DELETE FROM hourly WHERE hour < ?').run(hourCut);
    this.db.prepare('DELETE FROM ttfb_hourly WHERE hour < ?').run(hourCut);
    return n;
  }

  count(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM requests').get() as { n: number }).n;
  }

  /**
   * Today's requests and cost (from `since`, local midnight) and the busiest app, counting rows before `until`.
   */
  today(since: number, until: number): { requests: number; costUsd: number; costed: number; apps: Record<string, number> } {
    const rows = this.groups(since, until, 'app') as { k: string; requests: number; cost_usd: number; costed: number }[];
    const out = { requests: 0, costUsd: 0, costed: 0, apps: {} as Record<string, number> };
    for (const r of rows) {
      out.requests += r.requests;
      out.costUsd += r.cost_usd;
      out.costed += r.costed;
      if (r.k) out.apps[r.k] = r.requests;
    }
    return out;
  }

  /** The rollup and raw parts of [from, to): whole hours from `hourly`, the partial ends from `requests`. */
  private parts(from: number, to: number): { h0: number; h1: number; raw: [number, number][] } {
    const h0 = Math.ceil(from / HOUR) * HOUR;
    const h1 = Math.floor(to / HOUR) * HOUR;
    if (h0 >= h1) return { h0: 0, h1: 0, raw: [[from, to]] };
    const raw: [number, number][] = [];
    if (from < h0) raw.push([from, h0]);
    if (h1 < to) raw.push([h1, to]);
    return { h0, h1, raw };
  }

  private static readonly SUMS =
    'SUM(requests) AS requests, SUM(errors) AS errors, SUM(input_tokens) AS input_tokens, SUM(output_tokens) AS output_tokens, ' +
    'SUM(cache_read_tokens) AS cache_read_tokens, SUM(cache_write_tokens) AS cache_write_tokens, SUM(reasoning_tokens) AS reasoning_tokens, ' +
    'SUM(cost_usd) AS cost_usd, SUM(costed) AS costed';
  private static readonly RAW_COLS =
    '1 AS requests, 1 - ok AS errors, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, ' +
    'coalesce(cost_usd, 0) AS cost_usd, cost_usd IS NOT NULL AS costed';
  private static readonly ROLL_COLS =
    'requests, errors, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, cost_usd, costed';

  private readonly stmts = new Map<string, Statement>();
  private stmt(sql: string): Statement {
    let s = this.stmts.get(sql);
    if (!s) this.stmts.set(sql, (s = this.db.prepare(sql)));
    return s;
  }

  /** Sums over [from, to) grouped by `key` (an SQL expression over app/provider/model/route, or the hour). */
  private groups(from: number, to: number, key: string): Record<string, number | string>[] {
    const p = this.parts(from, to);
    const branches: string[] = [];
    const args: number[] = [];
    const rawKey = key === 'hour' ? `(ts / ${HOUR}) * ${HOUR}` : key;
    if (p.h1 > p.h0) {
      branches.push(`SELECT ${key} AS k, ${HistoryDb.ROLL_COLS} FROM hourly WHERE hour >= ? AND hour < ?`);
      args.push(p.h0, p.h1);
    }
    for (const [a, b] of p.raw) {
      branches.push(`SELECT ${rawKey} AS k, ${HistoryDb.RAW_COLS} FROM requests WHERE ts >= ? AND ts < ?`);
      args.push(a, b);
    }
    return this.stmt(`SELECT k, ${HistoryDb.SUMS} FROM (${branches.join(' UNION ALL ')}) GROUP BY k`).all(...args) as Record<string, number | string>[];
  }

  /** The whole Usage report for [from, to). Day buckets of the series follow this process's local time. */
  query(q: UsageQuery): UsageReport {
    const t0 = performance.now();
    const { from, to } = q;
    const step = q.step ?? (to - from > 2 * DAY ? 'day' : 'hour');
    const SEP = '\u001f';
    const combos = this.groups(from, to, `app || '${SEP}' || provider || '${SEP}' || model || '${SEP}' || route`);
    const totals = emptyTotals();
    const by = { app: new Map<string, UsageTotals>(), provider: new Map<string, UsageTotals>(), model: new Map<string, UsageTotals>(), route: new Map<string, UsageTotals>() };
    for (const r of combos) {
      const [app, provider, model, route] = String(r.k).split(SEP) as [string, string, string, string];
      const t = toTotals(r);
      add(totals, t);
      for (const [dim, key] of [
        ['app', app],
        ['provider', provider],
        ['model', model],
        ['route', route],
      ] as const) {
        const m = by[dim];
        const cur = m.get(key) ?? emptyTotals();
        add(cur, t);
        m.set(key, cur);
      }
    }
    const list = (m: Map<string, UsageTotals>): UsageGroup[] =>
      [...m].map(([key, t]) => ({ key, ...finish(t) })).sort((a, b) => b.requests - a.requests || a.key.localeCompare(b.key));

    // the series: hourly sums, folded into local days when asked
    const hours = this.groups(from, to, 'hour');
    const points = new Map<number, UsageTotals>();
    for (const r of hours) {
      const h = Number(r.k);
      let t = h;
      if (step === 'day') {
        const d = new Date(h);
        t = new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
      }
      const cur = points.get(t) ?? emptyTotals();
      add(cur, toTotals(r));
      points.set(t, cur);
    }
    const series: UsagePoint[] = [];
    // every bucket of the range, empty ones too (a chart without gaps)
    for (let t = bucketStart(from, step); t < to; t = nextBucket(t, step)) {
      const v = finish(points.get(t) ?? emptyTotals());
      series.push({ t, ...v });
    }

    // time to first byte per provider: histograms of the whole hours, raw values at the ends
    const p = this.parts(from, to);
    const hist = new Map<string, Map<number, number>>();
    const bump = (prov: string, b: number, n: number) => {
      let h = hist.get(prov);
      if (!h) hist.set(prov, (h = new Map()));
      h.set(b, (h.get(b) ?? 0) + n);
    };
    if (p.h1 > p.h0) {
      for (const r of this.stmt('SELECT provider, bucket, SUM(n) AS n FROM ttfb_hourly WHERE hour >= ? AND hour < ? GROUP BY provider, bucket').all(p.h0, p.h1) as {
        provider: string;
        bucket: number;
        n: number;
      }[])
        bump(r.provider, r.bucket, r.n);
    }
    for (const [a, b] of p.raw) {
      for (const r of this.stmt("SELECT provider, ttfb_ms FROM requests WHERE ts >= ? AND ts < ? AND ttfb_ms IS NOT NULL AND provider != ''").all(a, b) as {
        provider: string;
        ttfb_ms: number;
      }[])
        bump(r.provider, ttfbBucket(r.ttfb_ms), 1);
    }
    const latency: UsageLatency[] = [];
    for (const [provider, t] of by.provider) {
      if (!provider) continue;
      const h = hist.get(provider);
      latency.push({
        provider,
        requests: t.requests,
        errors: t.errors,
        errorRate: t.requests ? t.errors / t.requests : 0,
        p50Ms: h ? percentile(h, 0.5) : null,
        p95Ms: h ? percentile(h, 0.95) : null,
      });
    }
    latency.sort((a, b) => b.requests - a.requests);
    return {
      from,
      to,
      step,
      totals: finish(totals),
      byApp: list(by.app),
      byProvider: list(by.provider),
      byModel: list(by.model),
      byRoute: list(by.route),
      latency,
      series,
      queryMs: Math.round((performance.now() - t0) * 10) / 10,
    };
  }

  close(): void {
    this.db.close();
  }
}

function emptyTotals(): UsageTotals {
  return { requests: 0, errors: 0, inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0, costUsd: 0, costed: 0 };
}

function toTotals(r: Record<string, number | string>): UsageTotals {
  return {
    requests: Number(r.requests),
    errors: Number(r.errors),
    inputTokens: Number(r.input_tokens),
    outputTokens: Number(r.output_tokens),
    cacheReadTokens: Number(r.cache_read_tokens),
    cacheWriteTokens: Number(r.cache_write_tokens),
    reasoningTokens: Number(r.reasoning_tokens),
    costUsd: Number(r.cost_usd),
    costed: Number(r.costed),
  };
}

function add(a: UsageTotals, b: UsageTotals): void {
  a.requests += b.requests;
  a.errors += b.errors;
  a.inputTokens += b.inputTokens;
  a.outputTokens += b.outputTokens;
  a.cacheReadTokens += b.cacheReadTokens;
  a.cacheWriteTokens += b.cacheWriteTokens;
  a.reasoningTokens += b.reasoningTokens;
  a.costUsd = (a.costUsd ?? 0) + (b.costUsd ?? 0);
  a.costed += b.costed;
}

/** Cost is null when no request of the group had a known price (shown as "—", never 0). */
function finish(t: UsageTotals): UsageTotals {
  return { ...t, costUsd: t.costed ? Math.round((t.costUsd ?? 0) * 1e6) / 1e6 : null };
}

function percentile(h: Map<number, number>, q: number): number | null {
  const buckets = [...h].sort((a, b) => a[0] - b[0]);
  const n = buckets.reduce((s, [, c]) => s + c, 0);
  if (!n) return null;
  const rank = Math.max(1, Math.ceil(q * n));
  let seen = 0;
  for (const [b, c] of buckets) {
    seen += c;
    if (seen >= rank) return Math.round(bucketValue(b));
  }
  return null;
}

function bucketStart(t: number, step: 'hour' | 'day'): number {
  if (step === 'hour') return Math.floor(t / HOUR) * HOUR;
  const d = new Date(t);
  return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
}

function nextBucket(t: number, step: 'hour' | 'day'): number {
  if (step === 'hour') return t + HOUR;
  const d = new Date(t);
  return new Date(d.getFullYear(), d.getMonth(), d.getDate() + 1).getTime();
}
