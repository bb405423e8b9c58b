// A stand-in for a ServerResponse that keeps what the relays write (status, headers, the first bytes of the body):
// the window's "Resend to…" sends a logged request again through the proxy and shows the answer beside the original.
import { ResponseStandIn, type OutgoingHeaders } from '../proxy/stand-in.js';

export class CaptureResponse extends ResponseStandIn {
  writableNeedDrain = false;
  private chunks: Buffer[] = [];
  private size = 0;
  truncated = false;
  readonly done: Promise<void>;
  private settle!: () => void;

  constructor(private readonly maxBytes: number) {
    super();
    this.done = new Promise((r) => (this.settle = r));
  }

  writeHead(status: number, a?: string | OutgoingHeaders, b?: OutgoingHeaders): this {
    this.takeHead(status, a, b);
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
