// Every exchange becomes one LogEntry: kept in a bounded in-memory ring for live views (events) and
// appended, once finished, to a rotating JSONL file. Entries never hold secrets: headers are redacted at capture,
// query-string credentials are cut from the path at begin, and every text an entry holds (errors, logged bodies,
// header values) is scrubbed here, on the way out (update, finish, recent, get), of the secrets registered for it
// with addSecrets (the provider key as sent, bare and URL-encoded; the client's own key) and of anything key-shaped.
import { EventEmitter } from 'node:events';
import { closeSync, existsSync, mkdirSync, openSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { holdsAny, scrub, scrubBody, scrubUrl } from '../proxy/errors.js';
import type { LogEntry } from '../ui/types.js';
import { IsoClock } from './iso-clock.js';

// Entries are the UI's wire type too: declared once, with the window's other types, in main/ui/types.d.ts.
export type { Attempt, LogEntry, LogDialect as Dialect } from '../ui/types.js';

export interface RequestLogOptions {
  /** Folder for requests.jsonl; omit for memory only. */
  dir?: string;
  capacity?: number;
  maxFileBytes?: number;
  keepFiles?: number;
}

export class RequestLog extends EventEmitter {
  private readonly ring: (LogEntry | undefined)[];
  private next = 0;
  private count = 0;
  /** Entries are numbered `<prefix>-<seq in base 36>`; entry `seq` sits in ring slot (seq - 1) % capacity. */
  private seq = 0;
  private readonly prefix = Date.now().toString(36);
  /** The open JSONL file; written synchronously, but only once per batch (every 100 ms at most). */
  private fd?: number;
  private fileBytes = 0;
  private readonly filePath?: string;
  total = 0;
  /** Secrets to scrub from an entry, kept beside it (never serialised) until it is finished. */
  private readonly secrets = new WeakMap<LogEntry, readonly string[]>();
  /** The UTC day `today` counts (as [start, end) in ms). */
  private dayStart = 0;
  private dayEnd = 0;
  today = 0;
  private readonly clock = new IsoClock();

  constructor(private readonly opts: RequestLogOptions = {}) {
    super();
    this.ring = new Array(opts.capacity ?? 2000);
    if (opts.dir) {
      mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
      this.filePath = join(opts.dir, 'requests.jsonl');
      this.fileBytes = existsSync(this.filePath) ? statSync(this.filePath).size : 0;
    }
  }

  /** Starts an entry and announces it. */
  begin(init: Omit<LogEntry, 'id' | 'startedAt' | 'state' | 'attempts' | 'bytesIn' | 'bytesOut'> & Partial<Omit<LogEntry, 'id'>>): LogEntry {
    const now = Date.now();
    const e: LogEntry = {
      id: `${this.prefix}-${(++this.seq).toString(36)}`,
      startedAt: this.clock.iso(now),
      state: 'pending',
      attempts: [],
      bytesIn: 0,
      bytesOut: 0,
      ...init,
    };
    if (e.path.includes('=')) e.path = scrubUrl(e.path);
    this.ring[this.next] = e; // the entry it replaces is gone from get() too
    this.next = (this.next + 1) % this.ring.length;
    this.count = Math.min(this.count + 1, this.ring.length);
    this.total++;
    if (now >= this.dayEnd || now < this.dayStart) {
      this.dayStart = now - (now % 86_400_000);
      this.dayEnd = this.dayStart + 86_400_000;
      this.today = 0;
    }
    this.today++;
    this.emit('entry', e);
    return e;
  }

  /**
   * Registers secrets that went out (or came in) with this entry's exchange: they are scrubbed from everything the
   * entry holds before anyone sees it. Strings shorter than `min` characters are ignored (too likely to be words).
   */
  addSecrets(e: LogEntry, list: readonly string[], min = 4): void {
    const had = this.secrets.get(e);
    const all = this.withSecrets(had, list, min);
    if (all !== had) this.secrets.set(e, all!);
  }

  /** The last list withSecrets made, and from what: the same client key and provider come with request after request. */
  private lastMerge?: { had: readonly string[]; list: readonly string[]; min: number; out: readonly string[] };

  /**
   * `had` with the strings of `list` it lacks (`min` characters or more), longest first, so a secret is replaced
   * before a shorter one inside it. Lists are never changed once made: they may be shared (the forms of a key are
   * computed once), so an addition makes a new list.
   */
  private withSecrets(had: readonly string[] | undefined, list: readonly string[], min: number): readonly string[] | undefined {
    if (!had) return ready(list, min) ? (list.length ? list : undefined) : this.merge(undefined, list, min);
    const m = this.lastMerge;
    if (m !== undefined && m.had === had && m.list === list && m.min === min) return m.out;
    const out = this.merge(had, list, min);
    this.lastMerge = { had, list, min, out };
    return out;
  }

  private merge<T extends readonly string[] | undefined>(had: T, list: readonly string[], min: number): readonly string[] | T {
    let out: string[] | undefined;
    for (const x of list) {
      if (x.length < min || had?.includes(x) || out?.includes(x)) continue;
      (out ??= had ? had.slice() : []).push(x);
    }
    if (!out) return had;
    if (out.length > 1) out.sort(longestFirst);
    return out;
  }

  /** Text about this entry bound for a log or a client (e.g. an error body), scrubbed of its secrets. */
  scrubText(e: LogEntry, text: string): string {
    return scrub(text, this.secrets.get(e));
  }

  /** Scrubs, in place, every text the entry holds. Only strings that exist are looked at (errors, logged bodies). */
  private clean(e: LogEntry): void {
    const s = this.secrets.get(e);
    if (e.error) e.error = scrub(e.error, s);
    for (const a of e.attempts) if (a.error) a.error = scrub(a.error, s);
    if (e.requestBody) e.requestBody = scrub(e.requestBody, s);
    // an answer may quote a key JSON-escaped (`\uXXXX`), which only parsing finds
    if (e.responseBody) e.responseBody = scrubBody(e.responseBody, s);
    if (s !== undefined && s.length) {
      const shortest = s[s.length - 1]!.length; // a text shorter than every secret holds none
      if (e.path.length >= shortest && holdsAny(e.path, s)) e.path = scrub(e.path, s);
      scrubHeaders(e.requestHeaders, s, shortest);
      scrubHeaders(e.upstreamHeaders, s, shortest);
      scrubHeaders(e.responseHeaders, s, shortest);
    }
  }

  /** Announces a change to a live entry. */
  update(e: LogEntry): void {
    this.clean(e);
    this.emit('entry', e);
  }

  /** Marks an entry finished, announces it and appends it to the JSONL file. */
  finish(e: LogEntry): void {
    this.clean(e);
    this.secrets.delete(e);
    this.emit('entry', e);
    this.emit('finish', e); // once per entry (metrics count these, the usage history stores them)
    if (this.filePath) {
      // the headers sent upstream and the upstream's answer headers are for the window's detail pane (memory
      // only): on disk they would double the line and its cost
      const { upstreamHeaders, responseHeaders } = e;
      e.upstreamHeaders = e.responseHeaders = undefined;
      try {
        this.append(JSON.stringify(e) + '\n');
      } finally {
        e.upstreamHeaders = upstreamHeaders;
        e.responseHeaders = responseHeaders;
      }
    }
  }

  /** How many entries are kept in memory (the window keeps the same number). */
  get capacity(): number {
    return this.ring.length;
  }

  recent(limit = this.ring.length): LogEntry[] {
    const out: LogEntry[] = [];
    for (let i = 1; i <= this.count && out.length < limit; i++) {
      const e = this.ring[(this.next - i + this.ring.length) % this.ring.length];
      if (e) {
        if (this.secrets.has(e)) this.clean(e); // still in flight: may hold a text set since the last update
        out.push(e);
      }
    }
    return out;
  }

  get(id: string): LogEntry | undefined {
    const dash = id.lastIndexOf('-');
    if (dash < 0 || id.slice(0, dash) !== this.prefix) return undefined;
    const seq = parseInt(id.slice(dash + 1), 36);
    if (!(seq >= 1 && seq <= this.seq)) return undefined;
    const found = this.ring[(seq - 1) % this.ring.length];
    const e = found?.id === id ? found : undefined; // an entry the ring has let go of is gone
    if (e && this.secrets.has(e)) this.clean(e);
    return e;
  }

  /**
   * Lines wait here briefly so a busy router writes the file in batches, not once per request. They wait as bytes,
   * outside the JS heap: a line kept as a string until the flush would be copied by every young-generation
   * collection it lives through, and joined and encoded once more at the flush.
   */
  private pending?: Buffer;
  private pendingBytes = 0;
  private flushTimer?: NodeJS.Timeout;

  private append(line: string): void {
    const room = line.length * 3; // UTF-8 bytes at most for these UTF-16 units
    if (room > PENDING_BYTES) {
      // a line larger than the whole batch (a logged body near its cap) goes out on its own
      this.flush();
      this.writeOut(Buffer.from(line));
      return;
    }
    if (this.pendingBytes + room > PENDING_BYTES) this.flush();
    this.pending ??= Buffer.allocUnsafe(PENDING_BYTES);
    this.pendingBytes += this.pending.write(line, this.pendingBytes);
    this.flushTimer ??= setTimeout(() => this.flush(), 100).unref();
  }

  /** Writes the waiting lines now. */
  flush(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (!this.pendingBytes) return;
    const n = this.pendingBytes;
    this.pendingBytes = 0;
    this.writeOut(this.pending!.subarray(0, n));
  }

  private writeOut(bytes: Buffer): void {
    const max = this.opts.maxFileBytes ?? 20 * 1024 * 1024;
    if (this.fileBytes + bytes.length > max && this.fileBytes > 0) this.rotate();
    try {
      this.fd ??= openSync(this.filePath!, 'a', 0o600);
      writeSync(this.fd, bytes);
      this.fileBytes += bytes.length;
    } catch (err) {
      this.emit('file-error', err);
    }
  }

  private rotate(): void {
    const keep = this.opts.keepFiles ?? 5;
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    const p = this.filePath!;
    try {
      if (existsSync(`${p}.${keep}`)) unlinkSync(`${p}.${keep}`);
      for (let i = keep - 1; i >= 1; i--) if (existsSync(`${p}.${i}`)) renameSync(`${p}.${i}`, `${p}.${i + 1}`);
      renameSync(p, `${p}.1`);
    } catch (err) {
      this.emit('file-error', err);
    }
    this.fileBytes = 0;
  }

  /** Flushes and closes the file. */
  close(): Promise<void> {
    this.flush();
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    return Promise.resolve();
  }
}

/** How many bytes of finished lines wait for the next write at most. */
const PENDING_BYTES = 256 * 1024;

function longestFirst(a: string, b: string): number {
  return b.length - a.length;
}

/** Whether a list (`min` characters or more each, no repeats, longest first) can be kept as it is. */
function ready(list: readonly string[], min: number): boolean {
  for (let i = 0; i < list.length; i++) {
    const x = list[i]!;
    if (x.length < min || (i > 0 && x.length > list[i - 1]!.length)) return false;
    for (let j = 0; j < i; j++) if (list[j] === x) return false;
  }
  return true;
}

/** Scrubs, in place, the header values that hold one of the secrets (none shorter than `shortest` can). */
function scrubHeaders(h: Record<string, string> | undefined, secrets: readonly string[], shortest: number): void {
  if (!h) return;
  for (const k in h) {
    const v = h[k]!;
    if (v.length >= shortest && holdsAny(v, secrets)) h[k] = scrub(v, secrets);
  }
}
