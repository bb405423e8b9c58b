// The thread that owns the history database (history-db.ts). The main thread (history.ts) posts batches of rows
// and queries; this side writes, answers and reports its state. Rows that cannot be written (the file is locked)
// wait here, bounded, and are written when it is free again. The same handler runs in-process when a worker
// thread is not wanted (tests, `thread: false`).
import type { RowBatch } from './history-batch.js';
import type { UsageQuery } from '../ui/types.js';

export interface WorkerInit {
  file: string;
  busyMs?: number;
}

export type ToWorker =
  | { t: 'insert'; batch: RowBatch }
  | { t: 'query'; id: number; q: UsageQuery }
  | { t: 'today'; id: number; since: number; until: number }
  | { t: 'prune'; id: number; now: number; days: number }
  | { t: 'count'; id: number }
  | { t: 'close'; id: number };

export type FromWorker =
  | { t: 'ready' }
  | { t: 'state'; ok: boolean; message?: string; pending: number; dropped: number; written: number }
  | { t: 'reply'; id: number; value?: unknown; error?: string };

/** Rows kept while the database cannot take them; beyond this the oldest are dropped (and counted). */
export const MAX_PENDING = 100_000;

export function createHandler(init: WorkerInit, post: (m: FromWorker) => void): (m: ToWorker) => void {
  // loaded here, not at the top: the handler module is cheap to import, the database module is not
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { HistoryDb, describeDbError } = require('./history-db.js') as typeof import('./history-db.js');
  let db: InstanceType<typeof HistoryDb> | undefined;
  let openError: string | undefined;
  /** Batches not written yet, and their rows. */
  let pending: RowBatch[] = [];
  let pendingRows = 0;
  let dropped = 0;
  let written = 0;
  let lastOk: boolean | undefined;
  let lastMessage: string | undefined;
  let retry: NodeJS.Timeout | undefined;

  const report = (ok: boolean, message?: string, force = false) => {
    if (!force && ok === lastOk && message === lastMessage) return;
    lastOk = ok;
    lastMessage = message;
    post({ t: 'state', ok, ...(message ? { message } : {}), pending: pendingRows, dropped, written });
  };

  const open = (): boolean => {
    if (db) return true;
    if (openError) return false;
    try {
      db = new HistoryDb(init.file, { busyMs: init.busyMs ?? 1000 });
      return true;
    } catch (e) {
      const code = (e as { code?: string }).code ?? '';
      const message = describeDbError(init.file, e);
      // a lock may go away: try again later; a damaged file or a missing module will not
      if (!code.startsWith('SQLITE_BUSY') && !code.startsWith('SQLITE_LOCKED')) openError = message;
      report(false, message);
      return false;
    }
  };

  const flush = () => {
    clearTimeout(retry);
    retry = undefined;
    if (!pending.length) return;
    if (!open()) {
      if (!openError) retry = setTimeout(flush, 2000);
      return;
    }
    try {
      db!.insertBatches(pending);
      pending = [];
      written += pendingRows;
      pendingRows = 0;
      report(true, undefined, true);
    } catch (e) {
      report(false, describeDbError(init.file, e));
      retry = setTimeout(flush, 2000);
    }
  };

  const reply = (id: number, run: () => unknown) => {
    try {
      if (!open()) return post({ t: 'reply', id, error: openError ?? lastMessage ?? 'the history database is not available' });
      post({ t: 'reply', id, value: run() });
    } catch (e) {
      post({ t: 'reply', id, error: describeDbError(init.file, e) });
    }
  };

  return (m) => {
    switch (m.t) {
      case 'insert':
        if (openError) {
          dropped += m.batch.rows;
          return;
        }
        pending.push(m.batch);
        pendingRows += m.batch.rows;
        // past MAX_PENDING waiting rows, the oldest batches go (whole)
        while (pendingRows > MAX_PENDING && pending.length > 1) {
          const old = pending.shift()!;
          pendingRows -= old.rows;
          dropped += old.rows;
        }
        flush();
        return;
      case 'query':
        return reply(m.id, () => db!.query(m.q));
      case 'today':
        return reply(m.id, () => db!.today(m.since, m.until));
      case 'prune':
        return reply(m.id, () => db!.prune(m.now, m.days));
      case 'count':
        return reply(m.id, () => db!.count());
      case 'close':
        clearTimeout(retry);
        try {
          if (pending.length && db) db.insertBatches(pending);
          pending = [];
          pendingRows = 0;
        } catch {
          /* the file is still locked: those rows are lost, and counted */
          dropped += pendingRows;
        }
        try {
          db?.close();
        } catch {
          /* closing */
        }
        db = undefined;
        post({ t: 'reply', id: m.id, value: { dropped } });
        return;
    }
  };
}

// As a worker thread: one handler for the thread's life.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const wt = require('node:worker_threads') as typeof import('node:worker_threads');
if (!wt.isMainThread && wt.parentPort && (wt.workerData as { historyWorker?: WorkerInit } | undefined)?.historyWorker) {
  const port = wt.parentPort;
  const handle = createHandler((wt.workerData as { historyWorker: WorkerInit }).historyWorker, (m) => port.postMessage(m));
  port.on('message', (m: ToWorker) => handle(m));
  port.postMessage({ t: 'ready' } satisfies FromWorker);
}
