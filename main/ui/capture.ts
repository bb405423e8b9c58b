// A stand-in for a ServerResponse that keeps what the relays write (status, headers, the first bytes of the body):
// the window's "Resend to…" sends a logged request again through the proxy and shows the answer beside the original.
import { EventEmitter } from 'node:events';

type Headers = Record<string, string | number | string[] | undefined>;

export class CaptureResponse extends EventEmitter {
  statusCode = 200;
  headersSent = false;
  writableEnded = false;
  writableFinished = false;
  writableNeedDrain = false;
  destroyed = false;
  headers: Record<string, string> = {};
  private chunks: Buffer[] = [];
  private size = 0;
  truncated = false;
  readonly done: Promise<void>;
  private settle!: () => void;

  constructor(private readonly maxBytes: number) {
    super();
    this.done = new Promise((r) => (this.settle = r));
  }

  writeHead(status: number, a?: string | Headers, b?: Headers): this {
    this.statusCode = status;
    const h = (typeof a === 'object' ? a : b) ?? {};
    for (const k in h) if (h[k] !== undefined) this.headers[k.toLowerCase()] = Array.isArray(h[k]) ? (h[k] as string[]).join(', ') : String(h[k]);
    this.headersSent = true;
    return this;
  }

  setHeader(k: string, v: string | number | string[]): this {
    this.headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : String(v);
    return this;
  }

  write(chunk: string | Uint8Array, enc?: BufferEncoding | (() => void), cb?: () => void): boolean {
    if (!this.headersSent) this.writeHead(this.statusCode);
    const b = typeof chunk === 'string' ? Buffer.from(chunk, typeof enc === 'string' ? enc : 'utf8') : Buffer.from(chunk);
    if (this.size < this.maxBytes) {
      const keep = b.subarray(0, this.maxBytes - this.size);
      this.chunks.push(keep);
      this.size += keep.length;
      if (keep.length < b.length) this.truncated = true;
    } else if (b.length) this.truncated = true;
    const done = typeof enc === 'function' ? enc : cb;
    if (done) queueMicrotask(done);
    return true;
  }

  end(chunk?: string | Uint8Array | (() => void), enc?: BufferEncoding | (() => void), cb?: () => void): this {
    if (this.writableEnded) return this;
    if (chunk !== undefined && typeof chunk !== 'function') this.write(chunk, typeof enc === 'string' ? enc : undefined);
    if (!this.headersSent) this.writeHead(this.statusCode);
    this.writableEnded = true;
    this.writableFinished = true;
    const done = typeof chunk === 'function' ? chunk : typeof enc === 'function' ? enc : cb;
    if (done) queueMicrotask(done);
    queueMicrotask(() => {
      this.emit('finish');
      this.emit('close');
      this.settle();
    });
    return this;
  }

  destroy(): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    queueMicrotask(() => {
      this.emit('close');
      this.settle();
    });
    return this;
  }

  body(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}
