// The usage history's database: SQLite through better-sqlite3 (an optional dependency, loaded on first use).
// Synchronous; the daemon and the app run it on a worker thread (history-worker.ts) so neither inserts nor queries
// ever hold up the proxy's event loop; `router67 usage` and the tests use it directly.
//
// Tables:
//   packed       the finished requests, as the proxy's side packs them (history-batch.ts): one row per written batch
//                and UTC hour, holding the first and last start time in it, its rows' numbers (encodeRows:
//                varints, 35–40 bytes a row), their entry ids and the batch's distinct texts as JSON. One INSERT per
//                batch instead of one per request.
//   requests     one row per request, for rows imported with SQL (rebuildRollups) and databases written before
//                `packed`; read beside it, never written by router67
//   hourly, daily            rollups per (UTC hour or day, app, provider, model, route): counts, tokens, cost
//   series                   per UTC hour, all requests (the chart's line)
//   ttfb_hourly, ttfb_daily  per (UTC hour or day, provider): a log-scale histogram of time to first byte (5 % buckets)
// The rollups are written with the rows, in the same transaction, each batch's deltas summed first (one upsert
// per key and batch). A query over a range reads the daily rollups for the whole UTC days inside it, the hourly
// ones for the whole hours at its ends, and the raw rows for the partial hours left, so its cost follows the
// number of days and hours, not the number of requests — and totals stay exact.
import { chmodSync, closeSync, openSync } from 'node:fs';
import type { Database as Db, Statement } from 'better-sqlite3';
import { BATCH_WIDTH, decodeRows, encodeRows, pack, unpack, type RowBatch } from './history-batch.js';
import type { UsageGroup, UsageLatency, UsagePoint, UsageQuery, UsageReport, UsageTotals } from '../ui/types.js';

export const HOUR = 3_600_000;
const LEVELS = ['hourly', 'daily'] as const;
type Level = (typeof LEVELS)[number];
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

/** Tokens and cost: columns of a request's row and, summed, of the rollups and the series. */
const TOKEN_COLUMNS = ['input_tokens', 'output_tokens', 'cache_read_tokens', 'cache_write_tokens', 'reasoning_tokens', 'cost_usd'] as const;

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
  ...TOKEN_COLUMNS,
  'bytes_in',
  'bytes_out',
  'attempts',
  'stream',
] as const;

/** The counted columns of the rollups and the series, in order (what a batch adds up, see addCounts). */
const COUNT_COLUMNS = ['requests', 'errors', ...TOKEN_COLUMNS, 'costed'] as const;
const COUNTS = COUNT_COLUMNS.map((c) => `${c} ${c === 'cost_usd' ? 'REAL' : 'INTEGER'} NOT NULL`).join(', ');
/** The upsert's update: each counted column adds the new row's value. */
const ADD_COUNTS = COUNT_COLUMNS.map((c) => `${c} = ${c} + excluded.${c}`).join(', ');

/** The rollup tables of one level: counts, tokens and cost per (time, app, provider, model, route), and the ttfb histogram. */
function rollupTables(level: Level): string {
  return `CREATE TABLE IF NOT EXISTS ${level} (
  t INTEGER NOT NULL, app TEXT NOT NULL, provider TEXT NOT NULL, model TEXT NOT NULL, route TEXT NOT NULL,
  ${COUNTS},
  PRIMARY KEY (t, app, provider, model, route)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ttfb_${level} (
  t INTEGER NOT NULL, provider TEXT NOT NULL, bucket INTEGER NOT NULL, n INTEGER NOT NULL,
  PRIMARY KEY (t, provider, bucket)) WITHOUT ROWID;`;
}

/** Adds the packed row at `o` to counts (in COUNT_COLUMNS order; the packed columns: history-batch.ts). */
function addCounts(d: number[], n: Float64Array, o: number): void {
  const cost = n[o + 15]!;
  d[0]! += 1;
  d[1]! += n[o + 7] ? 0 : 1;
  d[2]! += n[o + 10]!;
  d[3]! += n[o + 11]!;
  d[4]! += n[o + 12]!;
  d[5]! += n[o + 13]!;
  d[6]! += n[o + 14]!;
  if (cost === cost) {
    d[7]! += cost;
    d[8]! += 1;
  }
}

const zeros = (): number[] => COUNT_COLUMNS.map(() => 0);

/**
 * The (app, provider, model, route) key of the packed row at `o`, as one number made of its four text indexes
 * (`T`: the number of texts, so at most T^4 < 2^53 for any batch); comboTexts gives the texts back.
 */
const comboKey = (n: Float64Array, o: number, T: number): number => ((n[o + 1]! * T + n[o + 2]!) * T + n[o + 3]!) * T + n[o + 4]!;
const comboTexts = (k: number, text: readonly unknown[]): [string, string, string, string] => {
  const T = text.length;
  return [Math.floor(k / T ** 3), Math.floor(k / T ** 2) % T, Math.floor(k / T) % T, k % T].map((i) => text[i] as string) as [string, string, string, string];
};

/** A stored packed row as the batch it was written from (ids only when read). */
type StoredPacked = { rows: number; n: Buffer; text: string; ids?: string };
const fromStored = (p: StoredPacked): RowBatch => ({
  rows: p.rows,
  n: decodeRows(p.n, p.rows),
  text: JSON.parse(p.text) as unknown[],
  ids: p.ids === undefined ? [] : (JSON.parse(p.ids) as unknown[]),
});

/** What the groups of a query are keyed by: app, provider, model and route together; the app; the UTC hour. */
type GroupKey = 'combo' | 'app' | 't';

/** Sums of packed rows (in COUNT_COLUMNS order) by group key, and the ttfb histograms per provider (bucket → count). */
interface PackedSums {
  combos: Map<string, number[]>;
  apps: Map<string, number[]>;
  hours: Map<number, number[]>;
  ttfb: Map<string, Map<number, number>>;
}
const SEP = '\u001f';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS requests (
  ts INTEGER NOT NULL, entry_id TEXT, app TEXT NOT NULL, provider TEXT NOT NULL, model TEXT NOT NULL, route TEXT NOT NULL,
  dialect TEXT, status INTEGER, ok INTEGER NOT NULL, ttfb_ms INTEGER, duration_ms INTEGER,
  input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL, cache_read_tokens INTEGER NOT NULL,
  cache_write_tokens INTEGER NOT NULL, reasoning_tokens INTEGER NOT NULL, cost_usd REAL,
  bytes_in INTEGER, bytes_out INTEGER, attempts INTEGER, stream INTEGER);
CREATE INDEX IF NOT EXISTS requests_ts ON requests(ts);
CREATE TABLE IF NOT EXISTS packed (
  hour INTEGER NOT NULL, first INTEGER NOT NULL, last INTEGER NOT NULL, rows INTEGER NOT NULL, n BLOB NOT NULL, ids TEXT NOT NULL, text TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS packed_hour ON packed(hour);
${LEVELS.map(rollupTables).join('\n')}
CREATE TABLE IF NOT EXISTS series (
  t INTEGER PRIMARY KEY, ${COUNTS});
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

/**
 * usage.db (what was asked of which provider, by which app) is for its owner only: created 0600, and set back to 0600
 * with its -wal and -shm when an older router67 left them readable. SQLite gives a new -wal/-shm the file's mode.
 */
function keepPrivate(file: string): void {
  closeSync(openSync(file, 'a', 0o600));
  for (const f of [file, `${file}-wal`, `${file}-shm`]) {
    try {
      chmodSync(f, 0o600);
    } catch {
      /* not there (yet), or not ours to change: SQLite reports what matters when it opens the file */
    }
  }
}

export class HistoryDb {
  readonly db: Db;
  private readonly insertPacked: Statement;
  /** Whether the file has the `packed` table. */
  private readonly packed: boolean = true;
  private readonly upsertRoll: Record<Level, Statement> = {} as Record<Level, Statement>;
  private readonly upsertTtfb: Record<Level, Statement> = {} as Record<Level, Statement>;
  private readonly upsertSeries?: Statement;
  private readonly writeTx: (batches: readonly RowBatch[]) => void;

  constructor(
    readonly file: string,
    o: OpenOptions = {},
  ) {
    const Database = loadSqlite();
    if (!o.readonly) keepPrivate(file);
    this.db = new Database(file, { readonly: !!o.readonly, fileMustExist: !!o.readonly, timeout: o.busyMs ?? 1000 });
    try {
      if (!o.readonly) {
        this.db.pragma('journal_mode = WAL');
        this.db.pragma('synchronous = NORMAL');
        this.db.exec(SCHEMA);
      } else this.db.prepare('SELECT count(*) FROM sqlite_master').get(); // a file that is not a database fails here
      // read-only, a database an older router67 wrote may have no packed rows yet (the daemon adds the table)
      this.packed = !o.readonly || !!this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'packed'").get();
    } catch (e) {
      this.db.close();
      throw e;
    }
    this.insertPacked = o.readonly ? (undefined as never) : this.db.prepare('INSERT INTO packed (hour, first, last, rows, n, ids, text) VALUES (?, ?, ?, ?, ?, ?, ?)');
    if (!o.readonly) {
      for (const level of LEVELS) {
        this.upsertRoll[level] = this.db.prepare(
          `INSERT INTO ${level} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (t, app, provider, model, route) DO UPDATE SET ${ADD_COUNTS}`,
        );
        this.upsertTtfb[level] = this.db.prepare(`INSERT INTO ttfb_${level} VALUES (?, ?, ?, ?) ON CONFLICT (t, provider, bucket) DO UPDATE SET n = n + excluded.n`);
      }
    }
    if (!o.readonly) {
      this.upsertSeries = this.db.prepare(
        `INSERT INTO series VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (t) DO UPDATE SET ${ADD_COUNTS}`,
      );
    }
    this.writeTx = this.db.transaction((batches: readonly RowBatch[]) => {
      for (const b of batches) {
        if (!b.rows) continue;
        this.writePacked(b);
        this.addRollups(b);
      }
    });
  }

  /** Stores a batch's rows: as it is when they all started in one UTC hour (the usual case), else split by hour. */
  private writePacked(b: RowBatch): void {
    const { n, rows } = b;
    const W = BATCH_WIDTH;
    const text = JSON.stringify(b.text);
    const hourOf = (o: number) => Math.floor(n[o]! / HOUR) * HOUR;
    const first = hourOf(0);
    let lo = n[0]!;
    let hi = lo;
    let o = W;
    for (; o < rows * W && hourOf(o) === first; o += W) {
      lo = Math.min(lo, n[o]!);
      hi = Math.max(hi, n[o]!);
    }
    if (o >= rows * W) {
      this.insertPacked.run(first, lo, hi, rows, encodeRows(n, rows), JSON.stringify(b.ids), text);
      return;
    }
    const byHour = new Map<number, number[]>();
    for (let r = 0; r < rows; r++) {
      const h = hourOf(r * W);
      const list = byHour.get(h);
      if (list) list.push(r);
      else byHour.set(h, [r]);
    }
    for (const [h, list] of byHour) {
      const times = list.map((r) => n[r * W]!);
      this.insertPacked.run(h, Math.min(...times), Math.max(...times), list.length, encodeRows(n, rows, list), JSON.stringify(list.map((r) => b.ids[r])), text);
    }
  }

  /**
   * Adds a batch's rows to the rollups: its deltas are summed first, one upsert per key. Per row that is a few Map
   * lookups: the hour's and the day's accumulators are found once per run of rows in the same hour, and each
   * (app, provider, model, route) key (a number made of the four text indexes) once per hour, with the day's
   * accumulator for it kept beside the hour's. Every accumulator takes its rows in row order, as one upsert per row
   * would, so the sums are the same.
   */
  private addRollups(b: RowBatch): void {
    const { n, text } = b;
    const T = text.length;
    interface Combo {
      hour: number[];
      day: number[];
      provider: string;
      /** the (hour, provider) and (day, provider) ttfb histograms */
      ttfbHour: Map<number, number>;
      ttfbDay: Map<number, number>;
    }
    interface Day {
      combos: Map<number, number[]>;
      ttfb: Map<string, Map<number, number>>;
    }
    interface Hour {
      day: Day;
      combos: Map<number, Combo>;
      ttfb: Map<string, Map<number, number>>;
      series: number[];
    }
    const hours = new Map<number, Hour>();
    const days = new Map<number, Day>();
    const histogram = (m: Map<string, Map<number, number>>, provider: string) => {
      let h = m.get(provider);
      if (!h) m.set(provider, (h = new Map()));
      return h;
    };
    let lastT = NaN;
    let hour: Hour | undefined;
    for (let r = 0, o = 0; r < b.rows; r++, o += BATCH_WIDTH) {
      const ts = n[o]!;
      const t = Math.floor(ts / HOUR) * HOUR;
      if (t !== lastT || !hour) {
        hour = hours.get(t);
        if (!hour) {
          const dt = Math.floor(ts / DAY) * DAY;
          let day = days.get(dt);
          if (!day) days.set(dt, (day = { combos: new Map(), ttfb: new Map() }));
          hours.set(t, (hour = { day, combos: new Map(), ttfb: new Map(), series: zeros() }));
        }
        lastT = t;
      }
      const key = comboKey(n, o, T);
      let c = hour.combos.get(key);
      if (!c) {
        let d = hour.day.combos.get(key);
        if (!d) hour.day.combos.set(key, (d = zeros()));
        const provider = text[n[o + 2]!] as string;
        c = { hour: zeros(), day: d, provider, ttfbHour: histogram(hour.ttfb, provider), ttfbDay: histogram(hour.day.ttfb, provider) };
        hour.combos.set(key, c);
      }
      addCounts(c.hour, n, o);
      addCounts(hour.series, n, o);
      addCounts(c.day, n, o);
      const ms = n[o + 8]!;
      if (ms === ms && c.provider) {
        const bucket = ttfbBucket(ms);
        c.ttfbHour.set(bucket, (c.ttfbHour.get(bucket) ?? 0) + 1);
        c.ttfbDay.set(bucket, (c.ttfbDay.get(bucket) ?? 0) + 1);
      }
    }
    for (const [t, h] of hours) this.upsertSeries!.run(t, ...h.series);
    const write = (level: Level, t: number, combos: Map<number, number[] | Combo>, ttfb: Map<string, Map<number, number>>) => {
      for (const [k, v] of combos) this.upsertRoll[level].run(t, ...comboTexts(k, text), ...(Array.isArray(v) ? v : v.hour));
      for (const [provider, h] of ttfb) for (const [bucket, count] of h) this.upsertTtfb[level].run(t, provider, bucket, count);
    };
    for (const [t, h] of hours) write('hourly', t, h.combos, h.ttfb);
    for (const [t, d] of days) write('daily', t, d.combos, d.ttfb);
  }

  /** Writes packed batches (and their rollups) in one transaction. */
  insertBatches(batches: readonly RowBatch[]): void {
    if (batches.length) this.writeTx(batches);
  }

  /** Writes rows (and their rollups) in one transaction: packed, as the history thread writes them. */
  insert(rows: readonly HistoryRow[]): void {
    if (rows.length) this.writeTx([pack(rows)]);
  }

  /**
   * The stored packed rows with a start time in [from, to) (by their first and last; rows outside it too: the
   * caller checks `ts`), found by their UTC hour.
   */
  private *packedIn(from: number, to: number): Generator<RowBatch> {
    if (!this.packed) return;
    const st = this.stmt('SELECT rows, n, text FROM packed WHERE hour >= ? AND hour < ? AND last >= ? AND first < ?');
    // decoded one at a time, as the caller gets to it
    for (const p of st.all(Math.floor(from / HOUR) * HOUR, to, from, to) as StoredPacked[]) yield fromStored(p);
  }

  /** Every stored row, as toRow makes them: the `requests` table's in rowid order, then the packed ones in order. */
  allRows(): HistoryRow[] {
    const out = this.db.prepare(`SELECT ${ROW_COLUMNS.join(', ')} FROM requests ORDER BY rowid`).raw().all() as HistoryRow[];
    if (!this.packed) return out;
    for (const p of this.db.prepare('SELECT rows, n, text, ids FROM packed ORDER BY rowid').iterate() as Iterable<StoredPacked>) {
      for (const r of unpack(fromStored(p))) out.push(r);
    }
    return out;
  }

  /**
   * Moves the rows of `requests` (a bulk import, a database written before `packed`) into the packed store, in
   * rowid order, 500 to a packed batch. Their rollups stay as they are (rebuildRollups makes them for an import).
   * One transaction. Returns the rows moved.
   */
  importRequests(): number {
    const page = this.db.prepare(`SELECT rowid, ${ROW_COLUMNS.join(', ')} FROM requests WHERE rowid > ? ORDER BY rowid LIMIT 500`).raw();
    let moved = 0;
    this.db.transaction(() => {
      for (let last = 0, rows: unknown[][]; (rows = page.all(last) as unknown[][]).length; last = rows[rows.length - 1]![0] as number) {
        this.writePacked(pack(rows.map((r) => r.slice(1) as HistoryRow)));
        moved += rows.length;
      }
      this.db.exec('DELETE FROM requests');
    })();
    return moved;
  }

  /**
   * Rows written straight into `requests` (a bulk import) without their rollups: rebuilds the rollups from those
   * rows and the packed ones. One transaction.
   */
  rebuildRollups(): void {
    const SUMS = `count(*), sum(1 - ok), sum(input_tokens), sum(output_tokens), sum(cache_read_tokens), sum(cache_write_tokens),
      sum(reasoning_tokens), coalesce(sum(cost_usd), 0), count(cost_usd)`;
    // the same bucket as ttfbBucket(), in SQL
    const BUCKET = `CASE WHEN ttfb_ms <= 1 THEN 0 ELSE CAST(ln(ttfb_ms) / ln(1.05) AS INTEGER) + 1 END`;
    this.db.transaction(() => {
      for (const [level, size] of [
        ['hourly', HOUR],
        ['daily', DAY],
      ] as const) {
        this.db.exec(`DELETE FROM ${level}; DELETE FROM ttfb_${level};`);
        this.db.exec(`INSERT INTO ${level} SELECT (ts / ${size}) * ${size}, app, provider, model, route, ${SUMS} FROM requests GROUP BY 1, 2, 3, 4, 5`);
        this.db.exec(
          `INSERT INTO ttfb_${level} SELECT (ts / ${size}) * ${size}, provider, ${BUCKET}, count(*) FROM requests
           WHERE ttfb_ms IS NOT NULL AND provider != '' GROUP BY 1, 2, 3`,
        );
      }
      this.db.exec(`DELETE FROM series; INSERT INTO series SELECT (ts / ${HOUR}) * ${HOUR}, ${SUMS} FROM requests GROUP BY 1`);
      // a page at a time: a statement cannot write while another one is still reading
      const page = this.db.prepare('SELECT rowid AS id, rows, n, text FROM packed WHERE rowid > ? ORDER BY rowid LIMIT 200');
      for (let last = 0, ps: (StoredPacked & { id: number })[]; (ps = page.all(last) as typeof ps).length; last = ps[ps.length - 1]!.id) {
        for (const p of ps) this.addRollups(fromStored(p));
      }
    })();
  }

  /**
   * Deletes what is older than `days` days before `now`: rows, and a packed row or a rollup once all of its hour
   * (or day) is past the cut. Returns the requests deleted.
   */
  prune(now: number, days: number): number {
    const cut = now - days * DAY;
    const hour = Math.floor(cut / HOUR) * HOUR;
    let n = this.db.prepare('DELETE FROM requests WHERE ts < ?').run(cut).changes;
    n += (this.db.prepare('SELECT coalesce(sum(rows), 0) AS n FROM packed WHERE hour < ?').get(hour) as { n: number }).n;
    this.db.prepare('DELETE FROM packed WHERE hour < ?').run(hour);
    // a rollup hour or day goes once all of it is past the cut
    for (const [level, size] of [
      ['hourly', HOUR],
      ['daily', DAY],
    ] as const) {
      const t = Math.floor(cut / size) * size;
      this.db.prepare(`DELETE FROM ${level} WHERE t < ?`).run(t);
      this.db.prepare(`DELETE FROM ttfb_${level} WHERE t < ?`).run(t);
      if (level === 'hourly') this.db.prepare('DELETE FROM series WHERE t < ?').run(t);
    }
    return n;
  }

  count(): number {
    const packed = this.packed ? ' + (SELECT coalesce(sum(rows), 0) FROM packed)' : '';
    return (this.db.prepare(`SELECT (SELECT count(*) FROM requests)${packed} AS n`).get() as { n: number }).n;
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

  /**
   * Where [from, to) is read from: whole UTC days from the daily rollups, whole hours from the hourly ones, the
   * partial hours from the raw rows. `days: false` stops at hours (the series folds hours into local days).
   */
  private parts(from: number, to: number, days = true): { daily: [number, number][]; hourly: [number, number][]; raw: [number, number][] } {
    const out = { daily: [] as [number, number][], hourly: [] as [number, number][], raw: [] as [number, number][] };
    const split = (a: number, b: number, size: number): [number, number] | undefined => {
      const x = Math.ceil(a / size) * size;
      const y = Math.floor(b / size) * size;
      return x < y ? [x, y] : undefined;
    };
    const hours = (a: number, b: number) => {
      if (a >= b) return;
      const h = split(a, b, HOUR);
      if (!h) return void out.raw.push([a, b]);
      out.hourly.push(h);
      if (a < h[0]) out.raw.push([a, h[0]]);
      if (h[1] < b) out.raw.push([h[1], b]);
    };
    const d = days ? split(from, to, DAY) : undefined;
    if (!d) hours(from, to);
    else {
      out.daily.push(d);
      hours(from, d[0]);
      hours(d[1], to);
    }
    return out;
  }

  private static readonly SUMS = COUNT_COLUMNS.map((c) => `SUM(${c}) AS ${c}`).join(', ');
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

  /**
   * The packed rows of the partial hours `raw`, summed in one pass: by (app, provider, model, route), by app, by
   * hour, and the ttfb histograms per provider. Within a packed row the keys are numbers (made of its text
   * indexes), so a row costs a few Map lookups and no string; the texts are looked up once per key and packed row.
   * `memo` keeps the sums for the other parts of the same report.
   */
  private packedSums(raw: readonly [number, number][], memo?: Map<string, PackedSums>): PackedSums {
    const id = JSON.stringify(raw);
    const known = memo?.get(id);
    if (known) return known;
    const out: PackedSums = { combos: new Map(), apps: new Map(), hours: new Map(), ttfb: new Map() };
    const into = <K>(m: Map<K, number[]>, k: K, d: number[]) => {
      const cur = m.get(k);
      if (!cur) m.set(k, d.slice());
      else for (let c = 0; c < d.length; c++) cur[c]! += d[c]!;
    };
    for (const [a, b] of raw) {
      for (const { rows, n, text } of this.packedIn(a, b)) {
        const T = text.length;
        const combos = new Map<number, number[]>();
        const hours = new Map<number, number[]>();
        const ttfb = new Map<number, Map<number, number>>(); // provider's text index → bucket → count
        let lastT = NaN;
        let hour: number[] = [];
        for (let r = 0, o = 0; r < rows; r++, o += BATCH_WIDTH) {
          const ts = n[o]!;
          if (ts < a || ts >= b) continue;
          const t = Math.floor(ts / HOUR) * HOUR;
          if (t !== lastT) {
            let h = hours.get(t);
            if (!h) hours.set(t, (h = zeros()));
            hour = h;
            lastT = t;
          }
          addCounts(hour, n, o);
          const k = comboKey(n, o, T);
          let d = combos.get(k);
          if (!d) combos.set(k, (d = zeros()));
          addCounts(d, n, o);
          const ms = n[o + 8]!;
          if (ms === ms) {
            let h = ttfb.get(n[o + 2]!);
            if (!h) ttfb.set(n[o + 2]!, (h = new Map()));
            const bucket = ttfbBucket(ms);
            h.set(bucket, (h.get(bucket) ?? 0) + 1);
          }
        }
        for (const [t, d] of hours) into(out.hours, t, d);
        for (const [k, d] of combos) {
          const texts = comboTexts(k, text);
          into(out.combos, texts.join(SEP), d);
          into(out.apps, texts[0], d);
        }
        for (const [p, h] of ttfb) {
          const provider = text[p] as string;
          if (!provider) continue;
          let all = out.ttfb.get(provider);
          if (!all) out.ttfb.set(provider, (all = new Map()));
          for (const [bucket, count] of h) all.set(bucket, (all.get(bucket) ?? 0) + count);
        }
      }
    }
    memo?.set(id, out);
    return out;
  }

  /**
   * Sums over [from, to) grouped by `group`: the rollups' and the `requests` rows' in SQL, then the packed rows of
   * the partial hours added in.
   */
  private groups(from: number, to: number, group: GroupKey, memo?: Map<string, PackedSums>): Record<string, number | string>[] {
    const hourKey = group === 't';
    const key = group === 'combo' ? `app || '${SEP}' || provider || '${SEP}' || model || '${SEP}' || route` : group;
    const p = this.parts(from, to, !hourKey);
    const branches: string[] = [];
    const args: number[] = [];
    const rawKey = hourKey ? `(ts / ${HOUR}) * ${HOUR}` : key;
    for (const level of LEVELS) {
      for (const [a, b] of p[level]) {
        // the series reads its own per-hour table
        branches.push(`SELECT ${key} AS k, ${HistoryDb.ROLL_COLS} FROM ${hourKey ? 'series' : level} WHERE t >= ? AND t < ?`);
        args.push(a, b);
      }
    }
    for (const [a, b] of p.raw) {
      branches.push(`SELECT ${rawKey} AS k, ${HistoryDb.RAW_COLS} FROM requests WHERE ts >= ? AND ts < ?`);
      args.push(a, b);
    }
    if (!branches.length) return [];
    const out = this.stmt(`SELECT k, ${HistoryDb.SUMS} FROM (${branches.join(' UNION ALL ')}) GROUP BY k`).all(...args) as Record<string, number | string>[];
    if (!p.raw.length) return out;
    const packed = this.packedSums(p.raw, memo);
    const sums: Map<string | number, number[]> = group === 't' ? packed.hours : group === 'combo' ? packed.combos : packed.apps;
    if (!sums.size) return out;
    const byKey = new Map(out.map((r) => [r.k, r]));
    for (const [k, d] of sums) {
      let r = byKey.get(k);
      if (!r) {
        r = { k };
        for (const c of COUNT_COLUMNS) r[c] = 0;
        out.push(r);
        byKey.set(k, r);
      }
      COUNT_COLUMNS.forEach((c, i) => (r[c] = (r[c] as number) + d[i]!));
    }
    return out;
  }

  /** The whole Usage report for [from, to). Day buckets of the series follow this process's local time. */
  query(q: UsageQuery): UsageReport {
    const t0 = performance.now();
    const { from, to } = q;
    const step = q.step ?? (to - from > 2 * DAY ? 'day' : 'hour');
    const memo = new Map<string, PackedSums>();
    const combos = this.groups(from, to, 'combo', memo);
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
    const hours = this.groups(from, to, 't', memo);
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

    // time to first byte per provider: histograms of the whole days and hours, raw values at the ends
    const p = this.parts(from, to);
    const hist = new Map<string, Map<number, number>>();
    const bump = (prov: string, b: number, n: number) => {
      let h = hist.get(prov);
      if (!h) hist.set(prov, (h = new Map()));
      h.set(b, (h.get(b) ?? 0) + n);
    };
    for (const level of LEVELS) {
      for (const [a, b] of p[level]) {
        for (const r of this.stmt(`SELECT provider, bucket, SUM(n) AS n FROM ttfb_${level} WHERE t >= ? AND t < ? GROUP BY provider, bucket`).raw().all(a, b) as [
          string,
          number,
          number,
        ][])
          bump(r[0], r[1], r[2]);
      }
    }
    for (const [a, b] of p.raw) {
      for (const r of this.stmt("SELECT provider, ttfb_ms FROM requests WHERE ts >= ? AND ts < ? AND ttfb_ms IS NOT NULL AND provider != ''").all(a, b) as {
        provider: string;
        ttfb_ms: number;
      }[])
        bump(r.provider, ttfbBucket(r.ttfb_ms), 1);
    }
    for (const [provider, h] of this.packedSums(p.raw, memo).ttfb) for (const [bucket, count] of h) bump(provider, bucket, count);
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
