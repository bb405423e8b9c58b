// Reading a client's request body: bounded in size (per request, decoded size included, and in total across
// every body buffered at once), in time (an upload that stalls or trickles), and decoded when the client
// compressed it (`content-encoding: gzip` etc.: Claude Code gzips request bodies), so the model can be read.
import type { IncomingMessage } from 'node:http';
import type { Transform } from 'node:stream';
import { zlib } from '../formats/lazy.js';

export interface IntakeLimits {
  /** Largest body, compressed or decoded. */
  maxBody: number;
  /** Longest silence between two chunks of an upload. */
  idleMs: number;
  /** Longest time for a whole upload. */
  totalMs: number;
}

export type IntakeResult =
  | { ok: true; body: Buffer; release(): void; encoding?: string }
  | { ok: false; status: 408 | 413 | 415 | 400 | 503; message: string; retryAfterS?: number; aborted?: boolean };

/** The total bytes of request bodies held at once; a request that would go over it is refused with 503. */
export class BodyBudget {
  used = 0;
  constructor(public limit: number) {}

  take(n: number): boolean {
    if (this.used + n > this.limit) return false;
    this.used += n;
    return true;
  }

  give(n: number): void {
    this.used = Math.max(0, this.used - n);
  }
}

/** How much of a refused upload is read and dropped before its connection is closed. */
const DRAIN_LIMIT = 256 * 1024;

const ENCODINGS = new Set(['gzip', 'x-gzip', 'deflate', 'br', 'zstd']);

function decoderFor(encoding: string): Transform | undefined {
  switch (encoding) {
    case 'gzip':
    case 'x-gzip':
      return zlib().createGunzip();
    case 'deflate':
      return zlib().createInflate();
    case 'br':
      return zlib().createBrotliDecompress();
    case 'zstd': {
      // Node 22.15+ and 23.8+ have zstd; Node 20 does not
      const make = (zlib() as unknown as { createZstdDecompress?: () => Transform }).createZstdDecompress;
      return make?.();
    }
    default:
      return undefined;
  }
}

/** The encodings this process can decode, for a 415's message. */
export function decodableEncodings(): string[] {
  return [...ENCODINGS].filter((e) => e !== 'x-gzip' && decoderFor(e) !== undefined);
}

/**
 * Reads the whole body of `req`. Resolves (never rejects) with the decoded body and a release() for the
 * budget it holds, or with the refusal to send. After a refusal up to 256 KiB more of the upload is read and
 * dropped, so the client can read the answer; the caller closes the connection with it.
 */
export function readBody(req: IncomingMessage, limits: IntakeLimits, budget: BodyBudget): Promise<IntakeResult> {
  return new Promise((resolve) => {
    const rawEncoding = req.headers['content-encoding'];
    const encoding = typeof rawEncoding === 'string' ? rawEncoding.trim().toLowerCase() : '';
    const declared = Number(req.headers['content-length']);
    let held = 0; // bytes taken from the budget
    let settled = false;
    const chunks: Buffer[] = [];
    let size = 0; // decoded bytes kept
    let raw = 0; // bytes received
    let idle: NodeJS.Timeout | undefined;
    let total: NodeJS.Timeout | undefined;
    let decoder: ReturnType<typeof decoderFor>;
    let pre: Buffer | undefined;

    const clearTimers = () => {
      clearTimeout(idle);
      clearTimeout(total);
    };
    const release = () => {
      budget.give(held);
      held = 0;
    };
    const fail = (status: 408 | 413 | 415 | 400 | 503, message: string, retryAfterS?: number) => {
      if (settled) return;
      settled = true;
      clearTimers();
      chunks.length = 0;
      release();
      decoder?.removeAllListeners('data');
      decoder?.destroy();
      req.removeListener('data', onData);
      // read and drop a little more, so the client can read the answer; past that the connection is cut
      let drained = 0;
      req.on('data', (c: Buffer) => {
        drained += c.length;
        if (drained > DRAIN_LIMIT) req.socket.destroy();
      });
      resolve({ ok: false, status, message, retryAfterS });
    };
    const reserve = (n: number): boolean => {
      if (budget.take(n)) {
        held += n;
        return true;
      }
      fail(503, 'router67 is buffering too many request bodies at once; try again shortly', 1);
      return false;
    };
    const keep = (c: Buffer) => {
      if (settled) return;
      size += c.length;
      if (size > limits.maxBody) {
        fail(413, encoding ? `request body exceeds ${limits.maxBody} bytes once decoded (${encoding})` : `request body exceeds ${limits.maxBody} bytes`);
        return;
      }
      if (size > held && !reserve(size - held)) return;
      if (pre) c.copy(pre, size - c.length);
      else chunks.push(c);
    };
    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimers();
      // a declared length was read straight into one buffer: no second copy of a large body
      const body = pre ? pre.subarray(0, size) : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
      chunks.length = 0;
      resolve({ ok: true, body, release, encoding: encoding || undefined });
    };
    const armIdle = () => {
      idle = setTimeout(() => fail(408, `request body stalled: nothing received for ${limits.idleMs} ms`), limits.idleMs);
    };

    if (encoding && encoding !== 'identity') {
      if (encoding.includes(',')) return fail(415, `stacked content-encodings are not supported: "${encoding}"`);
      decoder = decoderFor(encoding);
      if (!decoder) return fail(415, `request content-encoding "${encoding}" is not supported; use one of: ${decodableEncodings().join(', ')}`);
      decoder.on('data', keep);
      decoder.on('error', (err: Error) => fail(400, `request body is not valid ${encoding}: ${err.message}`));
      decoder.on('end', finish);
    }
    if (Number.isFinite(declared) && declared > limits.maxBody) return fail(413, `request body exceeds ${limits.maxBody} bytes`);
    // A declared length is reserved up front, so an over-budget upload is refused before it is read.
    if (Number.isFinite(declared) && declared > 0 && !reserve(declared)) return;
    if (!decoder && Number.isFinite(declared) && declared > 64 * 1024) pre = Buffer.allocUnsafe(declared);

    function onData(c: Buffer): void {
      if (settled) return;
      idle?.refresh();
      raw += c.length;
      if (raw > limits.maxBody) return fail(413, `request body exceeds ${limits.maxBody} bytes`);
      if (decoder) {
        // the compressed bytes count against the budget until the decoded ones replace them
        if (raw > held && !reserve(raw - held)) return;
        decoder.write(c);
      } else keep(c);
    }
    const onEnd = () => {
      if (settled) return;
      if (decoder) decoder.end();
      else finish();
    };
    const listen = () => {
      req.on('data', onData);
      req.on('end', onEnd);
    };
    if (decoder || req.httpVersionMajor !== 1) listen();
    else {
      // HTTP/1.1: a body that came with its headers is complete once the parser has run, which is before this
      // microtask; it is read at once, without the stream's flowing mode (two ticks and an event per chunk)
      queueMicrotask(() => {
        if (settled) return;
        if (!req.complete) return listen();
        for (let c = req.read() as Buffer | null; c !== null && !settled; c = req.read() as Buffer | null) onData(c);
        if (!settled) finish();
      });
    }
    const gone = () => {
      if (settled) return;
      settled = true;
      clearTimers();
      release();
      decoder?.destroy();
      resolve({ ok: false, status: 400, message: 'client went away during the upload', aborted: true });
    };
    req.on('aborted', gone);
    req.on('error', gone);
    // A small body has usually arrived with the headers and is read before the event loop's check phase: the
    // timers are armed only for a body still coming then (two timers set and cleared per request cost more
    // than the rest of the intake).
    setImmediate(() => {
      if (settled) return;
      armIdle();
      total = setTimeout(() => fail(408, `request body not received within ${limits.totalMs} ms`), limits.totalMs);
    });
  });
}
