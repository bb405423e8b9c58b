// The rows the proxy thread sends the history thread, packed: one Float64Array (the numbers, and the text columns
// as indexes into a table of the batch's distinct values) and the entry ids. A batch of 500 entries is then three
// objects to copy between threads instead of 500 arrays of 21 values, and the database keeps it as it comes: one
// row per batch and UTC hour (history-db.ts), not one per entry. `unpack` turns it back into HistoryRow arrays
// (the rows as toRow makes them), `pack` does the reverse.
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

// Stored, a batch's numbers are a byte string (encodeRows): row after row, each number a LEB128 varint u:
//   u even   an integer z, zigzagged (u / 2 = 2z, or -2z - 1 below 0), that is the value times its column's SCALE
//            (a start time: the difference to the row before's, 0 for the first);
//   u = 1    NaN (null);  u = 3  eight bytes follow, the value as a little-endian float64 (what fits no integer).
// Typical rows take 40–50 bytes instead of 160; every value reads back exactly (the integer form is used only when
// it gives the same number back).
const FORMAT = 1;
/** Per column: what its values are multiplied by to make integers (durations are kept to 1/100 ms, costs to 1e-8 USD). */
const SCALE = [1, 1, 1, 1, 1, 1, 1, 1, 100, 100, 1, 1, 1, 1, 1, 1e8, 1, 1, 1, 1];
const MAX_Z = 2 ** 50;
/** BATCH_WIDTH for the loops below (an exported const is read as a property of the module's exports in CommonJS). */
const W = BATCH_WIDTH;

/** The numbers of `rows` rows of `n` (or of the rows `pick` names, in that order), encoded for storage. */
export function encodeRows(n: Float64Array, rows: number, pick?: readonly number[]): Buffer {
  const count = pick ? pick.length : rows;
  const out = Buffer.allocUnsafe(1 + count * W * 9);
  out[0] = FORMAT;
  let p = 1;
  let prev = 0;
  for (let i = 0; i < count; i++) {
    let o = (pick ? pick[i]! : i) * W;
    for (let c = 0; c < W; c++, o++) {
      const v = n[o]!;
      let u: number; // what is written (see above); -1: the value as a float64
      if (c === 0) {
        const z = v - prev;
        if (Number.isSafeInteger(v) && z <= MAX_Z && z >= -MAX_Z) {
          u = z >= 0 ? 4 * z : -4 * z - 2;
          prev = v;
        } else u = v === v ? -1 : 1;
      } else if ((v | 0) === v && v >= 0 && SCALE[c] === 1) u = 4 * v; // the usual case: a small count
      else {
        const scale = SCALE[c]!;
        const k = scale === 1 ? v : Math.round(v * scale);
        if (k <= MAX_Z && k >= -MAX_Z && (scale === 1 ? Number.isInteger(k) : k / scale === v)) u = k >= 0 ? 4 * k : -4 * k - 2;
        else u = v === v ? -1 : 1;
      }
      if (u === -1) {
        out[p++] = 3;
        out.writeDoubleLE(v, p);
        p += 8;
      } else if (u < 2 ** 31) {
        while (u > 127) {
          out[p++] = (u & 127) | 128;
          u >>>= 7;
        }
        out[p++] = u;
      } else {
        while (u > 127) {
          out[p++] = (u % 128) | 128;
          u = Math.floor(u / 128);
        }
        out[p++] = u;
      }
    }
  }
  return out.subarray(0, p);
}

/** What encodeRows wrote, as `rows` rows of BATCH_WIDTH numbers. */
export function decodeRows(b: Uint8Array, rows: number): Float64Array {
  if (b[0] !== FORMAT) throw new Error(`usage history: packed rows in an unknown format (${b[0]})`);
  const n = new Float64Array(rows * W);
  const end = b.length;
  let p = 1;
  let prev = 0;
  for (let o = 0; o < n.length; ) {
    for (let c = 0; c < W; c++, o++) {
      let byte = b[p++]!;
      let u = byte & 127;
      if (byte & 128) {
        let shift = 7;
        do {
          byte = b[p++]!;
          u = shift < 28 ? u | ((byte & 127) << shift) : u + (byte & 127) * 2 ** shift;
          shift += 7;
        } while (byte & 128);
      }
      let v: number;
      if (u === 1) v = NaN;
      else if (u === 3) {
        v = new DataView(b.buffer, b.byteOffset + p, 8).getFloat64(0, true);
        p += 8;
      } else {
        const z = (u < 2 ** 31 ? u & 3 : u % 4) === 0 ? u / 4 : -(u + 2) / 4; // & is much the cheaper
        if (c === 0) v = prev += z;
        else {
          const scale = SCALE[c]!;
          v = scale === 1 ? z : z / scale;
        }
      }
      n[o] = v;
    }
    if (p > end) throw new Error('usage history: packed rows cut short');
  }
  return n;
}

const orNull = (x: number): number | null => (x === x ? x : null); // NaN: null
const nullNaN = (x: number | null): number => (x === null ? NaN : x);

/** HistoryRow arrays as one packed batch (any number of rows): the rows a test or an import writes. */
export function pack(rows: readonly HistoryRow[]): RowBatch {
  const n = new Float64Array(rows.length * BATCH_WIDTH);
  const ids: unknown[] = new Array(rows.length);
  const text: unknown[] = [];
  const index = new Map<unknown, number>();
  const textIndex = (v: unknown): number => {
    let i = index.get(v);
    if (i === undefined) index.set(v, (i = text.push(v) - 1));
    return i;
  };
  rows.forEach((r, i) => {
    let o = i * BATCH_WIDTH;
    n[o++] = r[0];
    for (let c = 2; c <= 6; c++) n[o++] = textIndex(r[c]);
    n[o++] = nullNaN(r[7]);
    n[o++] = r[8];
    n[o++] = nullNaN(r[9]);
    n[o++] = nullNaN(r[10]);
    for (let c = 11; c <= 15; c++) n[o++] = r[c] as number;
    n[o++] = nullNaN(r[16]);
    for (let c = 17; c <= 20; c++) n[o++] = r[c] as number;
    ids[i] = r[1];
  });
  return { rows: rows.length, n, ids, text };
}

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
