// The rows the proxy thread sends the history thread, packed: one Float64Array (the numbers, and the text columns
// as indexes into a table of the batch's distinct values) and the entry ids. A batch of 500 entries is then three
// objects to copy between threads instead of 500 arrays of 21 values: about a tenth of the structured-clone
// work on each side. The history thread unpacks it into the same HistoryRow arrays that were sent before.
// Type imports only: the proxy's side (history.ts) loads this, never the database module.
import type { HistoryRow } from './history-db.js';
import type { LogEntry } from '../ui/types.js';

/** Numbers per entry: ts, app, provider, model, route, dialect (text indexes), status, ok, ttfb, duration, 5 token counts, cost, bytes in/out, attempts, stream. */
export const BATCH_WIDTH = 20;
/** Entries per batch (the proxy's side sends a full batch at once). */
export const BATCH_ROWS = 500;

/** A packed batch (what crosses to the history thread). */
export interface RowBatch {
  rows: number;
  /** BATCH_WIDTH numbers per row; NaN stands for null in the nullable columns (status, ttfb, duration, cost). */
  n: Float64Array;
  /** The entry ids, one per row. */
  ids: unknown[];
  /** The distinct text values the text columns point into. */
  text: unknown[];
}

/** The derived columns, one rule for toRow (history.ts) and the packed batch: answered without an error status? */
export const entryOk = (e: LogEntry): 0 | 1 => (e.state !== 'error' && e.status !== undefined && e.status < 400 ? 1 : 0);
/** The model the row is kept under: the upstream model, else the one asked for. */
export const entryModel = (e: LogEntry): string => e.upstreamModel ?? e.model ?? '';

/** Fills a batch on the proxy's side. */
export class BatchBuilder {
  private n = new Float64Array(BATCH_ROWS * BATCH_WIDTH);
  private ids: unknown[] = [];
  private text: unknown[] = [];
  private index = new Map<unknown, number>();
  rows = 0;

  private textIndex(v: unknown): number {
    let i = this.index.get(v);
    if (i === undefined) {
      i = this.text.push(v) - 1;
      this.index.set(v, i);
    }
    return i;
  }

  /**
   * Adds a finished entry whose start time (ms) is `ts`. The columns are HistoryRow's, from the same fields of the
   * entry as toRow takes them. Reads everything before writing, so an entry that throws leaves no half row.
   */
  add(e: LogEntry, ts: number, cost: number | null): void {
    const ok = entryOk(e);
    const attempts = e.attempts.length;
    const app = e.app ?? '';
    const provider = e.provider ?? '';
    const model = entryModel(e);
    const route = e.route ?? '';
    if (this.rows === BATCH_ROWS) throw new Error('the batch is full');
    const n = this.n;
    let o = this.rows * BATCH_WIDTH;
    n[o++] = ts;
    n[o++] = this.textIndex(app);
    n[o++] = this.textIndex(provider);
    n[o++] = this.textIndex(model);
    n[o++] = this.textIndex(route);
    n[o++] = this.textIndex(e.dialect);
    n[o++] = e.status ?? NaN;
    n[o++] = ok;
    n[o++] = e.ttfbMs ?? NaN;
    n[o++] = e.durationMs ?? NaN;
    n[o++] = e.inputTokens ?? 0;
    n[o++] = e.outputTokens ?? 0;
    n[o++] = e.cacheReadTokens ?? 0;
    n[o++] = e.cacheWriteTokens ?? 0;
    n[o++] = e.reasoningTokens ?? 0;
    n[o++] = cost ?? NaN;
    n[o++] = e.bytesIn;
    n[o++] = e.bytesOut;
    n[o++] = attempts;
    n[o] = e.stream ? 1 : 0;
    this.ids.push(e.id);
    this.rows++;
  }

  /** The batch so far, to send; the builder starts a new one. */
  take(): RowBatch {
    const b: RowBatch = {
      rows: this.rows,
      n: this.rows === BATCH_ROWS ? this.n : this.n.slice(0, this.rows * BATCH_WIDTH),
      ids: this.ids,
      text: this.text,
    };
    this.n = new Float64Array(BATCH_ROWS * BATCH_WIDTH);
    this.ids = [];
    this.text = [];
    this.index = new Map();
    this.rows = 0;
    return b;
  }
}

const orNull = (x: number): number | null => (x === x ? x : null); // NaN: null

/** The rows of a batch, as toRow would have made them. */
export function unpack(b: RowBatch): HistoryRow[] {
  const { n, ids, text } = b;
  const out: HistoryRow[] = new Array(b.rows);
  for (let r = 0, o = 0; r < b.rows; r++, o += BATCH_WIDTH) {
    out[r] = [
      n[o]!,
      ids[r] as string,
      text[n[o + 1]!] as string,
      text[n[o + 2]!] as string,
      text[n[o + 3]!] as string,
      text[n[o + 4]!] as string,
      text[n[o + 5]!] as string,
      orNull(n[o + 6]!),
      n[o + 7] as 0 | 1,
      orNull(n[o + 8]!),
      orNull(n[o + 9]!),
      n[o + 10]!,
      n[o + 11]!,
      n[o + 12]!,
      n[o + 13]!,
      n[o + 14]!,
      orNull(n[o + 15]!),
      n[o + 16]!,
      n[o + 17]!,
      n[o + 18]!,
      n[o + 19] as 0 | 1,
    ];
  }
  return out;
}
