// The answer to one request carried by a WebSocket message, written by the same relays as an HTTP answer.
// The relays write to a ServerResponse; this object behaves like the part of it they use (writeHead, write,
// end, destroy, 'drain', 'close', headersSent, writableEnded, writableFinished, destroyed) and turns what
// they write into WebSocket text messages:
//   - an SSE stream: each event's data (its JSON) becomes one message, as soon as the event is complete;
//   - an error answer (status >= 400): one `error` message carrying the status, as OpenAI's WebSocket mode
//     sends it ({"type":"error","status":…,"error":{type,code,message,param}}) and Codex reads it;
//   - a whole Responses object (an upstream that ignored stream: true): replayed as the stream events.
// Backpressure: write() returns false while more than HIGH_WATER bytes wait for the socket; 'drain' follows.
import { StringDecoder } from 'node:string_decoder';
import type { BrotliDecompress, Gunzip } from 'node:zlib';
import { errorTypeFor, parseUpstreamError } from '../formats/errors.js';
import { scrub } from '../proxy/errors.js';
import { decodeWhole } from '../proxy/relay/relay.js';
import { ResponseStandIn, type OutgoingHeaders } from '../proxy/stand-in.js';
import { codecs, zlib } from '../formats/lazy.js';

const HIGH_WATER = 1024 * 1024;
const MAX_WHOLE = 64 * 1024 * 1024;

export interface MessageTarget {
  /** Sends one text message; `sent` is called once it was handed to the socket (or the socket is gone). */
  send(text: string, sent: () => void): void;
}

export type Terminal = 'completed' | 'failed' | 'incomplete' | 'error';

export interface SinkResult {
  status: number;
  /** The last lifecycle event sent, when one was. */
  terminal?: Terminal;
  /** `response.id` seen in the lifecycle events. */
  responseId?: string;
  /** The items of `response.output_item.done`, in order. */
  output: unknown[];
  messages: number;
  /** The WebSocket closed before the answer ended. */
  clientGone: boolean;
}

export class WsResponseSink extends ResponseStandIn {
  readonly result: SinkResult = { status: 0, output: [], messages: 0, clientGone: false };
  /** Resolves once the answer is complete, cut off, or its client gone. */
  readonly done: Promise<SinkResult>;
  private resolveDone!: (r: SinkResult) => void;
  private settled = false;
  private whole?: Buffer[];
  private wholeSize = 0;
  private text = new StringDecoder('utf8');
  private tail = '';
  private inflater?: Gunzip | BrotliDecompress;
  private inflaterFailed = false;
  private pending = 0;
  private needDrain = false;

  constructor(
    private readonly target: MessageTarget,
    private readonly requestedModel: string,
  ) {
    super();
    this.done = new Promise((r) => (this.resolveDone = r));
  }

  // ---- the ServerResponse subset (headers: ResponseStandIn) ----

  writeHead(status: number, a?: string | OutgoingHeaders, b?: OutgoingHeaders): this {
    if (this.headersSent) return this;
    this.takeHead(status, a, b);
    this.result.status = status;
    const ct = this.headers['content-type'] ?? '';
    if (status >= 400 || !/^text\/event-stream/i.test(ct)) this.whole = [];
    else {
      const enc = (this.headers['content-encoding'] ?? '').toLowerCase();
      if (enc && enc !== 'identity') {
        const z = enc === 'br' ? zlib().createBrotliDecompress() : enc === 'deflate' ? zlib().createInflate() : zlib().createGunzip();
        z.on('data', (c: Buffer) => this.events(this.text.write(c)));
        z.on('error', () => {
          this.inflaterFailed = true;
          this.fail('router67 could not decompress the upstream stream');
        });
        this.inflater = z;
      }
    }
    return this;
  }

  write(chunk: string | Uint8Array, a?: BufferEncoding | (() => void), b?: () => void): boolean {
    const cb = typeof a === 'function' ? a : b;
    if (this.writableEnded || this.destroyed) {
      cb?.();
      return false;
    }
    if (!this.headersSent) this.writeHead(this.statusCode);
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, typeof a === 'string' ? a : 'utf8') : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.whole) {
      if (this.wholeSize + buf.length <= MAX_WHOLE) this.whole.push(buf);
      this.wholeSize += buf.length;
    } else if (this.inflater) this.inflater.write(buf);
    else this.events(this.text.write(buf));
    cb?.();
    if (this.pending > HIGH_WATER) this.needDrain = true;
    return !this.needDrain;
  }

  end(a?: string | Uint8Array | (() => void), b?: BufferEncoding | (() => void), c?: () => void): this {
    if (this.writableEnded || this.destroyed) return this;
    const cb = typeof a === 'function' ? a : typeof b === 'function' ? b : c;
    if (a !== undefined && typeof a !== 'function') this.write(a, typeof b === 'string' ? b : undefined);
    if (!this.headersSent) this.writeHead(this.statusCode);
    this.writableEnded = true;
    const finish = () => {
      this.flushTail();
      if (this.whole) this.sendWhole();
      else if (!this.result.terminal) this.sendError(502, 'router67: the upstream stream ended before response.completed', 'server_error', undefined, false);
      this.writableFinished = true;
      cb?.();
      this.emit('finish');
      this.emit('close');
      this.settle();
    };
    const z = this.inflater;
    if (z && !this.inflaterFailed) {
      let once = false;
      const fin = () => {
        if (once) return;
        once = true;
        finish();
      };
      z.once('end', fin);
      z.once('error', fin);
      z.end();
    } else finish();
    return this;
  }

  destroy(_err?: Error): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    if (!this.writableFinished && !this.result.clientGone) {
      // the relay gave up mid-answer (e.g. a compressed stream that failed): the client still hears why
      if (!this.result.terminal) this.sendError(502, 'router67: the answer was cut off', 'server_error', undefined, false);
    }
    this.inflater?.destroy();
    this.emit('close');
    this.settle();
    return this;
  }

  cork(): void {}
  uncork(): void {}

  // ---- the WebSocket side ----

  /** The WebSocket closed: like an HTTP client that went away (the proxy aborts the upstream). */
  clientClosed(): void {
    if (this.writableFinished || this.destroyed) return;
    this.result.clientGone = true;
    this.destroyed = true;
    this.inflater?.destroy();
    this.emit('close');
    this.settle();
  }

  /** Sends a wrapped error message as OpenAI's Responses WebSocket mode does; `status` false leaves it out. */
  sendError(status: number, message: string, type?: string, code?: string | null, withStatus = true): void {
    const error = { type: type || errorTypeFor('responses', status), code: code ?? null, message, param: null };
    const ev = withStatus ? { type: 'error', status, error } : { type: 'error', code: error.code ?? error.type, message, param: null, error };
    this.send(JSON.stringify(ev), 'error');
  }

  private settle(): void {
    if (this.settled) return;
    this.settled = true;
    this.resolveDone(this.result);
  }

  private send(data: string, type?: string): void {
    if (this.result.clientGone) return;
    if (type === 'error' || type === 'response.completed' || type === 'response.failed' || type === 'response.incomplete') {
      this.result.terminal = type === 'error' ? 'error' : (type.slice('response.'.length) as Terminal);
    }
    const n = Buffer.byteLength(data);
    this.pending += n;
    this.result.messages++;
    this.target.send(data, () => {
      this.pending -= n;
      if (this.needDrain && this.pending <= HIGH_WATER / 2) {
        this.needDrain = false;
        this.emit('drain');
      }
    });
  }

  /** Complete SSE events in `s` (plus what was held back) go out; a partial one waits for its end. */
  private events(s: string): void {
    if (!s) return;
    let data = this.tail + s;
    for (;;) {
      const m = /\r?\n\r?\n/.exec(data);
      if (!m) break;
      this.event(data.slice(0, m.index));
      data = data.slice(m.index + m[0].length);
    }
    this.tail = data;
  }

  private flushTail(): void {
    if (this.whole) return;
    const rest = this.tail + this.text.end();
    this.tail = '';
    if (rest.trim()) this.events(rest + '\n\n');
  }

  private event(block: string): void {
    let data: string | undefined;
    for (const line of block.split(/\r?\n/)) {
      if (!line.startsWith('data:')) continue;
      const v = line.slice(line[5] === ' ' ? 6 : 5);
      data = data === undefined ? v : `${data}\n${v}`;
    }
    if (data === undefined || data === '[DONE]') return;
    let type: string | undefined;
    try {
      const ev = JSON.parse(data) as { type?: unknown; response?: { id?: unknown }; item?: unknown };
      type = typeof ev.type === 'string' ? ev.type : undefined;
      if (typeof ev.response?.id === 'string') this.result.responseId = ev.response.id;
      if (type === 'response.output_item.done' && ev.item !== undefined) this.result.output.push(ev.item);
    } catch {
      /* not JSON: passed on as it is (the client decides) */
    }
    this.send(data, type);
  }

  private fail(message: string): void {
    if (this.result.terminal) return;
    this.sendError(502, message, 'server_error', undefined, false);
  }

  /** An answer that was not a stream: an error message, or a whole Responses object replayed as events. */
  private sendWhole(): void {
    let body: Buffer = Buffer.concat(this.whole ?? []);
    this.whole = undefined;
    try {
      body = decodeWhole(body, this.headers['content-encoding'], MAX_WHOLE);
    } catch {
      /* left as it came: the parse below says what it is */
    }
    const status = this.statusCode;
    const ct = this.headers['content-type'];
    if (status >= 400) {
      // the message is taken from the decoded JSON (escapes undone): scrubbed here of the secrets the attempt sent
      const secrets = this.secrets;
      const clean = (s: string) => scrub(s, secrets);
      let err: { type?: string; code?: string | null; message?: string; param?: string | null } | undefined;
      try {
        const j = JSON.parse(body.toString('utf8')) as { error?: unknown };
        if (j && typeof j.error === 'object' && j.error) err = j.error as typeof err;
      } catch {
        /* not JSON */
      }
      const message = typeof err?.message === 'string' ? clean(err.message) : parseUpstreamError(status, body, ct, clean).message;
      const error = { type: err?.type || errorTypeFor('responses', status), code: err?.code ?? null, message, param: err?.param ?? null };
      const ev = JSON.stringify({ type: 'error', status, error });
      this.send(secrets.length ? scrub(ev, secrets) : ev, 'error');
      return;
    }
    try {
      const json = JSON.parse(body.toString('utf8')) as unknown;
      if (json && typeof json === 'object' && (json as { object?: unknown }).object === 'response') {
        this.events(codecs().responseToStream('responses', codecs().decodeResponse('responses', json), { requestedModel: this.requestedModel, clientWantsUsage: true }));
        this.flushTail();
        if (this.result.terminal) return;
      }
    } catch {
      /* not a Responses object */
    }
    this.sendError(502, `router67: the upstream answered ${status} with something that is not a Responses stream`);
  }
}
