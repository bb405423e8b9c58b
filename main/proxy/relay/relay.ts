// The one interface between the chain walker (proxy.ts) and the two ways an attempt is sent and its answer
// relayed: passthrough (same dialect, bytes as they are) and translated (another format, via the canonical model).
// The walker knows nothing of formats; a relay knows nothing of the chain, auth or fallback by status.
import { ServerResponse } from 'node:http';
import type { Attempt, LogEntry } from '../../log/request-log.js';
import type { Cancel, UpstreamResponse } from '../upstream.js';
import { zlib } from '../../formats/lazy.js';

/** 'fallback': the client got nothing and the next provider may try; 'aborted': the request was cancelled. */
export type Outcome = 'done' | 'fallback' | 'aborted';

/** One attempt at one provider, planned before auth: where it goes, what it sends, how its answer comes back. */
export interface AttemptRelay {
  readonly origin: string;
  readonly path: string;
  readonly body: Buffer | Buffer[];
  /** What this attempt's body mapped or changed (the answering attempt's become the log entry's translationNotes). */
  readonly notes: readonly string[];
  /** The upstream request headers: the client's, made fit for this attempt, with `set` (provider headers, auth) on top. */
  headers(set: Record<string, string>): Record<string, string | string[]>;
  /** Relays the upstream's answer (any status the walker did not fall back on) to the client. */
  relay(resp: UpstreamResponse, ctx: RelayContext): Promise<Outcome>;
}

/** A provider this request cannot be sent to (the attempt is logged as skipped with this reason). */
export interface SkipAttempt {
  skip: string;
}

/** What a relay needs of the request and attempt in flight; built by the walker, the same for both relays. */
export interface RelayContext {
  res: ServerResponse;
  entry: LogEntry;
  attempt: Attempt;
  cancel: Cancel;
  /** performance.now() when the request began (entry.ttfbMs counts from it). */
  t0: number;
  /** Every form of every secret sent upstream: scrubbed from what the client gets. */
  secrets: readonly string[];
  /** Response headers every answer carries (x-router67-provider, x-router67-model). */
  extra: Record<string, string>;
  logBodies: boolean;
  /** max_buffered_response_bytes. */
  maxBuffered: number;
  /** The request was cancelled because the client went away (nothing more to tell it). */
  clientGone(): boolean;
  /** The entry changed state (streaming began): tells the log's watchers. */
  update(entry: LogEntry): void;
  /** The request's attempts so far as the client may see them (shownAttempts, with the log's scrubbing). */
  attempts(): ShownAttempt[];
}

/** One attempt as an error answer tells the client: the all-failed 502/429 and a stream cut mid-way. */
export interface ShownAttempt {
  provider: string;
  model: string;
  status: number | null;
  error: string | null;
}

/** The attempts as the client may see them: provider, model, status and error, the error through `scrub`. */
export function shownAttempts(attempts: readonly Attempt[], scrub: (text: string) => string): ShownAttempt[] {
  return attempts.map((a) => ({ provider: a.provider, model: a.model, status: a.status, error: a.error && scrub(a.error) }));
}

/**
 * The fields a stream's error event carries when router67 ends a stream that had already reached the client
 * (cut by the upstream, failed, timed out): the attempts so far, this one's error included.
 */
export function cutExtra(ctx: Pick<RelayContext, 'attempts'>): { attempts: ShownAttempt[] } {
  return { attempts: ctx.attempts() };
}

export const MAX_LOGGED_BODY = 1024 * 1024;

export function header(h: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

export function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

/** An answer's content-type says it streams (SSE or NDJSON). */
export function isStreamType(ct: string): boolean {
  return /^text\/event-stream|^application\/x-ndjson/i.test(ct);
}

/**
 * Decompresses a whole body as a client would: each coding of the content-encoding list undone in reverse order
 * (`gzip, gzip` twice), `deflate` zlib-wrapped or raw, `zstd` where node has it. Throws for a coding it does not
 * know or a body that does not decode, and past `max` bytes of output (a small body can inflate enormously).
 */
export function decodeWhole(buf: Buffer, encoding: string | undefined, max: number): Buffer {
  if (!encoding) return buf;
  const codings = encoding.split(',');
  let out = buf;
  for (let i = codings.length - 1; i >= 0; i--) out = decodeOne(out, codings[i]!.trim().toLowerCase(), max);
  return out;
}

function decodeOne(buf: Buffer, coding: string, max: number): Buffer {
  if (coding === '' || coding === 'identity') return buf;
  const z = zlib(); // loaded on the first compressed body
  switch (coding) {
    case 'gzip':
    case 'x-gzip':
      return z.gunzipSync(buf, { maxOutputLength: max });
    case 'br':
      return z.brotliDecompressSync(buf, { maxOutputLength: max });
    case 'deflate':
      try {
        return z.inflateSync(buf, { maxOutputLength: max });
      } catch (e) {
        if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw e;
        return z.inflateRawSync(buf, { maxOutputLength: max }); // servers that send deflate without its zlib wrapper
      }
    case 'zstd': {
      const zstd = (z as { zstdDecompressSync?: (b: Buffer, o: { maxOutputLength: number }) => Buffer }).zstdDecompressSync;
      if (zstd) return zstd(buf, { maxOutputLength: max });
      break;
    }
  }
  throw Object.assign(new Error(`content-encoding ${coding} is not supported`), { code: 'ERR_UNSUPPORTED_ENCODING' });
}

/** A streaming decompressor for a content-encoding (anything not br/deflate counts as gzip when `gzipDefault`). */
export function decompressor(encoding: string, gzipDefault: boolean): NodeJS.ReadWriteStream | undefined {
  const e = encoding.toLowerCase();
  if (e === 'br') return zlib().createBrotliDecompress();
  if (e === 'deflate') return zlib().createInflate();
  return gzipDefault || e.includes('gzip') ? zlib().createGunzip() : undefined;
}

/** A stream's first bytes are written: out to the client at once (flushNow), then the log entry's update. */
export function firstBytesWritten(res: ServerResponse, ctx: RelayContext): void {
  flushNow(res);
  ctx.update(ctx.entry);
}

/**
 * Sends what has been written to `res` now, not at the end of this tick. Node's HTTP/1.1 response corks its socket
 * on each write until the next tick, so all else done in the same callback (the rest of a read that held many
 * events, the log entry's update) would otherwise come before the client's first byte. Only a node:http response
 * (HTTP/1.1) is touched: HTTP/2 streams and the WebSocket sink have no such cork.
 */
export function flushNow(res: ServerResponse): void {
  if (!(res instanceof ServerResponse)) return;
  const socket = res.socket;
  if (socket && socket.writableCorked > 0) socket.uncork();
}

