// Usage history: every finished request also goes into an SQLite database in router67's home (usage.db), written
// off the request path. The proxy's side of it is one row added to a packed batch per finished entry
// (history-batch.ts; the start time read without a Date by IsoClock.parse, today's bounds cached); every 250 ms
// (or 500 rows) the batch goes, as one message, to a worker thread that owns the database (history-worker.ts) and
// writes it in one transaction. Queries (the Usage view, the tray's line) run on that thread too, so a query over
// a million rows never holds up a request. Nothing is loaded (thread, better-sqlite3) until the first entry or query.
//
// When the database cannot be used — better-sqlite3 missing, the file damaged or locked by another program — the
// state says so (status warnings, the window, the daemon's log) and routing goes on untouched; rows wait (bounded)
// while the file is locked.
import { join } from 'node:path';
import type { Worker as WorkerType } from 'node:worker_threads';
import { IsoClock } from '../log/iso-clock.js';
import type { Logger } from '../log/logger.js';
import type { HistoryState, LogEntry, UsageQuery, UsageReport, UsageToday } from '../ui/types.js';
import type { HistoryRow } from './history-db.js';
import { BATCH_ROWS, BatchBuilder, entryModel, entryOk } from './history-batch.js';
import type { FromWorker, ToWorker, WorkerInit } from './history-worker.js';

export interface HistoryOptions {
  /** The database file (router67's home/usage.db). */
  file: string;
  /** Rows older than this many days are deleted (at open and every hour). 0: no history at all. */
  retentionDays: number;
  logger?: Logger;
  /** The clock (tests). */
  now?: () => number;
  /** Run the database on a worker thread (default true); false runs it in this thread (tests, tools). */
  thread?: boolean;
  /** How long a batch waits for more rows (ms). */
  flushMs?: number;
  /** How long a write waits for another program's lock before it reports (ms). */
  busyMs?: number;
}

/** A finished entry's cost as the database keeps it (null: no known price). */
const costOf = (e: LogEntry): number | null => (typeof e.costUsd === 'number' && Number.isFinite(e.costUsd) ? e.costUsd : null);

/** The row the database keeps for a finished entry (History.add packs the same columns, see BatchBuilder). */
export function toRow(e: LogEntry): HistoryRow {
  return [
    Date.parse(e.startedAt),
    e.id,
    e.app ?? '',
    e.provider ?? '',
    entryModel(e),
    e.route ?? '',
    e.dialect,
    e.status ?? null,
    entryOk(e),
    e.ttfbMs ?? null,
    e.durationMs ?? null,
    e.inputTokens ?? 0,
    e.outputTokens ?? 0,
    e.cacheReadTokens ?? 0,
    e.cacheWriteTokens ?? 0,
    e.reasoningTokens ?? 0,
    costOf(e),
    e.bytesIn,
    e.bytesOut,
    e.attempts.length,
    e.stream ? 1 : 0,
  ];
}

/** Local midnight before `t`. */
export function localMidnight(t: number): number {
  const d = new Date(t);
  return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
}

/** The local day `t` falls in, as [start, end) in ms (a day is not always 24 h: daylight saving). */
export function localDayBounds(t: number): { start: number; end: number } {
  const d = new Date(t);
  return { start: new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime(), end: new Date(d.getFullYear(), d.getMonth(), d.getDate() + 1).getTime() };
}

interface Port {
  post(m: ToWorker): void;
  close(): Promise<void>;
}

export class History {
  private port?: Port;
  private batch = new BatchBuilder();
  private readonly clock = new IsoClock();
  private timer?: NodeJS.Timeout;
  private pruneTimer?: NodeJS.Timeout;
  private seq = 0;
  private readonly waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private st: HistoryState;
  private closed = false;
  private readonly now: () => number;
  private readonly listeners = new Set<(s: HistoryState) => void>();
  /** Today's tally for the tray: this process's entries plus what the database held when it opened. */
  private day = { start: 0, end: 0, requests: 0, cost: 0, costed: 0, apps: new Map<string, number>() };
  private seeded?: { requests: number; costUsd: number; costed: number; apps: Record<string, number> };
  private readonly started: number;

  constructor(private readonly o: HistoryOptions & { retentionDays: number }) {
    this.now = o.now ?? Date.now;
    this.started = this.now();
    this.st = { state: o.retentionDays > 0 ? 'idle' : 'off', file: o.file, retentionDays: o.retentionDays };
  }

  /** A new retention from a config reload (0 turns recording off; more turns it on again). */
  setRetention(days: number): void {
    if (days === this.o.retentionDays) return;
    this.o.retentionDays = days;
    if (days <= 0) {
      this.batch.take();
      this.setState({ ...this.st, state: 'off', retentionDays: days });
    } else {
      this.setState({ ...this.st, state: this.port ? 'ok' : 'idle', retentionDays: days });
      if (this.port) void this.prune().catch(() => {});
    }
  }

  static fileIn(home: string): string {
    return join(home, 'usage.db');
  }

  get state(): HistoryState {
    return { ...this.st };
  }

  onState(fn: (s: HistoryState) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** A line for status warnings when the database is failing. */
  warning(): string | undefined {
    const s = this.st;
    if (s.state !== 'error') return undefined;
    return `usage history: ${s.message}${s.pending ? ` (${s.pending} entries waiting)` : ''}${s.dropped ? ` (${s.dropped} entries not recorded)` : ''}`;
  }

  /** A finished entry: counted for today and queued for the database. Never throws, never waits. */
  add(e: LogEntry): void {
    if (this.closed) return;
    let ts: number;
    let cost: number | null;
    try {
      ts = this.clock.parse(e.startedAt);
      if (!Number.isFinite(ts)) return; // no start time, no place in the history
      cost = costOf(e);
      if (this.st.state !== 'off') this.batch.add(e, ts, cost);
    } catch {
      return;
    }
    this.tally(ts, cost, e.app ?? '');
    if (this.st.state === 'off') return;
    if (this.batch.rows >= BATCH_ROWS) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.o.flushMs ?? 250);
    this.timer?.unref?.();
  }

  /** Sends the waiting rows to the database now. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.batch.rows) return;
    const batch = this.batch.take();
    this.open()?.post({ t: 'insert', batch });
  }

  query(q: UsageQuery): Promise<UsageReport> {
    this.flush();
    return this.call<UsageReport>((id) => ({ t: 'query', id, q })).then((r) => ({ ...r, history: this.state }));
  }

  /** Rows in the database. */
  count(): Promise<number> {
    this.flush();
    return this.call<number>((id) => ({ t: 'count', id }));
  }

  /** Deletes rows past the retention now (also done at open and hourly). */
  prune(): Promise<number> {
    this.flush();
    return this.call<number>((id) => ({ t: 'prune', id, now: this.now(), days: this.o.retentionDays }));
  }

  /** Today's requests and cost, and the busiest app. Synchronous (the tray asks on every render). */
  today(): UsageToday {
    this.rollDay();
    const apps = new Map(this.day.apps);
    const requests = this.day.requests + (this.seeded?.requests ?? 0);
    const costed = this.day.costed + (this.seeded?.costed ?? 0);
    const cost = this.day.cost + (this.seeded?.costUsd ?? 0);
    for (const [k, n] of Object.entries(this.seeded?.apps ?? {})) apps.set(k, (apps.get(k) ?? 0) + n);
    let busiest: [string, number] | undefined;
    for (const [k, n] of apps) if (k && (!busiest || n > busiest[1])) busiest = [k, n];
    return {
      requests,
      costUsd: costed ? Math.round(cost * 1e6) / 1e6 : null,
      ...(busiest ? { busiestApp: busiest[0], busiestAppRequests: busiest[1] } : {}),
    };
  }

  private rollDay(): void {
    const now = this.now();
    if (now >= this.day.start && now < this.day.end) return; // today's bounds, cached: no Date per entry
    const { start, end } = localDayBounds(now);
    if (start !== this.day.start) {
      const first = this.day.start === 0;
      this.day = { start, end, requests: 0, cost: 0, costed: 0, apps: new Map() };
      if (!first) this.seeded = undefined; // a new day: what the database held for the old one no longer counts
    }
  }

  private tally(ts: number, cost: number | null, app: string): void {
    this.rollDay();
    if (ts < this.day.start) return;
    this.day.requests++;
    if (cost !== null) {
      this.day.cost += cost;
      this.day.costed++;
    }
    if (app) this.day.apps.set(app, (this.day.apps.get(app) ?? 0) + 1);
  }

  /** Opens the database (worker and all); reads today's earlier rows for the tray and prunes. */
  start(): void {
    this.open();
  }

  private open(): Port | undefined {
    if (this.st.state === 'off' || this.closed) return undefined;
    if (this.port) return this.port;
    const init: WorkerInit = { file: this.o.file, busyMs: this.o.busyMs ?? 1000 };
    const onMessage = (m: FromWorker) => this.onMessage(m);
    try {
      this.port = this.o.thread === false ? inlinePort(init, onMessage) : workerPort(init, onMessage, (err) => this.fail(err));
    } catch (e) {
      this.fail(e as Error);
      return undefined;
    }
    this.rollDay();
    const since = this.day.start;
    void this.call<{ requests: number; costUsd: number; costed: number; apps: Record<string, number> }>((id) => ({ t: 'today', id, since, until: this.started })).then(
      (t) => {
        if (this.day.start === since) this.seeded = t;
      },
      () => {},
    );
    void this.prune().then(
      (n) => n && this.o.logger?.info(`usage history: ${n} entries older than ${this.o.retentionDays} days deleted`),
      () => {},
    );
    this.pruneTimer = setInterval(() => void this.prune().catch(() => {}), 3_600_000);
    this.pruneTimer.unref();
    return this.port;
  }

  private fail(err: Error): void {
    this.port = undefined;
    for (const w of this.waiting.values()) w.reject(err);
    this.waiting.clear();
    this.setState({ ...this.st, state: 'error', message: err.message });
  }

  private call<T>(make: (id: number) => ToWorker): Promise<T> {
    if (this.st.state === 'off') return Promise.reject(new Error('usage history is off ([daemon] history_retention_days = 0)'));
    const port = this.open();
    if (!port) return Promise.reject(new Error(this.st.message ?? 'the history database is not available'));
    const id = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      port.post(make(id));
    });
  }

  private onMessage(m: FromWorker): void {
    if (m.t === 'ready') return;
    if (m.t === 'reply') {
      const w = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      if (m.error !== undefined) {
        w?.reject(new Error(m.error));
        if (this.st.state !== 'error') this.setState({ ...this.st, state: 'error', message: m.error });
      } else w?.resolve(m.value);
      return;
    }
    const next: HistoryState = {
      state: m.ok ? 'ok' : 'error',
      file: this.o.file,
      retentionDays: this.o.retentionDays,
      ...(m.message ? { message: m.message } : {}),
      ...(m.pending ? { pending: m.pending } : {}),
      ...(m.dropped ? { dropped: m.dropped } : {}),
    };
    this.setState(next);
  }

  private setState(s: HistoryState): void {
    const before = this.st;
    this.st = s;
    if (before.state !== s.state || before.message !== s.message) {
      if (s.state === 'error') this.o.logger?.warn(`usage history: ${s.message}; routing is not affected`);
      else if (before.state === 'error' && s.state === 'ok') this.o.logger?.info('usage history: writing again');
      for (const fn of this.listeners) fn(this.state);
    }
  }

  /** Writes what waits and closes the database (and its thread). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    clearInterval(this.pruneTimer);
    const port = this.port;
    if (!port) return;
    const id = ++this.seq;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 5000);
      this.waiting.set(id, {
        resolve: () => {
          clearTimeout(t);
          resolve();
        },
        reject: () => {
          clearTimeout(t);
          resolve();
        },
      });
      port.post({ t: 'close', id });
    });
    await port.close();
    this.port = undefined;
  }
}

function inlinePort(init: WorkerInit, onMessage: (m: FromWorker) => void): Port {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { createHandler } = require('./history-worker.js') as typeof import('./history-worker.js');
  // replies arrive asynchronously, as from a thread
  const handle = createHandler(init, (m) => queueMicrotask(() => onMessage(m)));
  return {
    post: (m) => setImmediate(() => handle(m)),
    close: () => Promise.resolve(),
  };
}

/**
 * The database on a worker thread. Messages wait until the thread says it is ready; a thread that cannot start
 * (e.g. its file cannot be loaded from a packaged app's archive) falls back to this thread, with nothing lost.
 */
function workerPort(init: WorkerInit, onMessage: (m: FromWorker) => void, onError: (e: Error) => void): Port {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Worker } = require('node:worker_threads') as typeof import('node:worker_threads');
  let queue: ToWorker[] | undefined = [];
  let fallback: Port | undefined;
  let closing = false;
  const w: WorkerType = new Worker(join(__dirname, 'history-worker.js'), { workerData: { historyWorker: init } });
  w.unref();
  const startFailed = () => {
    if (!queue) return false;
    fallback = inlinePort(init, onMessage);
    for (const m of queue) fallback.post(m);
    queue = undefined;
    return true;
  };
  w.on('message', (m: FromWorker) => {
    if (m.t === 'ready' && queue) {
      for (const q of queue) w.postMessage(q);
      queue = undefined;
    }
    onMessage(m);
  });
  w.on('error', (e) => {
    if (!startFailed()) onError(new Error(`the history thread failed: ${e.message}`));
  });
  w.on('exit', (code) => {
    if (!closing && !fallback && !startFailed()) onError(new Error(`the history thread stopped (exit code ${code})`));
  });
  return {
    post: (m) => (fallback ? fallback.post(m) : queue ? queue.push(m) : w.postMessage(m)),
    close: async () => {
      closing = true;
      await w.terminate();
      await fallback?.close();
    },
  };
}
