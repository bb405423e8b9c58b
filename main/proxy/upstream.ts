// One upstream exchange over undici's dispatch API: no body streams or async iterators in between,
// so a relayed chunk goes from the upstream socket to the client socket in one callback.
import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';

export interface UpstreamSink {
  data(chunk: Buffer): void;
  end(): void;
  error(err: Error): void;
}

/** Lets the caller stop the exchange in flight (client gone, timeout). */
export class Cancel {
  reason?: Error;
  private hook?: (err: Error) => void;

  get cancelled(): boolean {
    return this.reason !== undefined;
  }

  cancel(reason: Error): void {
    if (this.reason) return;
    this.reason = reason;
    this.hook?.(reason);
  }

  /** Registers what to do on cancel (one at a time); runs at once when already cancelled. */
  onCancel(fn: ((err: Error) => void) | undefined): void {
    this.hook = fn;
    if (fn && this.reason) fn(this.reason);
  }
}

/** Response headers arrived; the body follows through the sink attached with attach(). */
export class UpstreamResponse {
  private queue: (Buffer | Error | null)[] | undefined = [];
  private sink?: UpstreamSink;

  constructor(
    private readonly controller: Dispatcher.DispatchController,
    readonly statusCode: number,
    readonly headers: IncomingHttpHeaders,
  ) {}

  /** Starts delivery: chunks already received are replayed first. */
  attach(sink: UpstreamSink): void {
    this.sink = sink;
    const q = this.queue!;
    this.queue = undefined;
    for (const item of q) this.deliver(item);
  }

  pause(): void {
    this.controller.pause();
  }

  resume(): void {
    this.controller.resume();
  }

  /** Reads the whole body; resolves with the transport error instead when it breaks off. Never rejects. */
  collect(): Promise<{ body: Buffer; error?: undefined } | { body?: undefined; error: Error }> {
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      let size = 0;
      this.attach({
        data: (c) => {
          chunks.push(c);
          size += c.length;
        },
        end: () => resolve({ body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size) }),
        error: (error) => resolve({ error }),
      });
    });
  }

  /** Reads the whole body (bounded; the rest is discarded) as text. Never rejects. */
  text(max: number): Promise<string> {
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const done = () => resolve(Buffer.concat(chunks).toString('utf8', 0, Math.min(size, max)));
      this.attach({
        data: (c) => {
          if (size < max) {
            chunks.push(c);
            size += c.length;
          }
        },
        end: done,
        error: done,
      });
    });
  }

  /** @internal */ push(item: Buffer | Error | null): void {
    if (this.queue) this.queue.push(item);
    else this.deliver(item);
  }

  private deliver(item: Buffer | Error | null): void {
    if (item === null) this.sink!.end();
    else if (item instanceof Error) this.sink!.error(item);
    else this.sink!.data(item);
  }
}

class Handler implements Dispatcher.DispatchHandler {
  private resp?: UpstreamResponse;

  constructor(
    private readonly cancel: Cancel,
    private readonly resolve: (r: UpstreamResponse) => void,
    private readonly reject: (e: Error) => void,
  ) {}

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.cancel.onCancel((err) => controller.abort(err));
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    if (statusCode < 200) return; // 1xx: informational
    this.resp = new UpstreamResponse(controller, statusCode, headers);
    this.resolve(this.resp);
  }

  onResponseData(_c: Dispatcher.DispatchController, chunk: Buffer): void {
    this.resp?.push(chunk);
  }

  onResponseEnd(): void {
    this.cancel.onCancel(undefined);
    this.resp?.push(null);
  }

  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    this.cancel.onCancel(undefined);
    if (this.resp) this.resp.push(err);
    else this.reject(err);
  }
}

/** Sends one request; resolves when the response headers arrive, rejects on a transport error before them. */
export function exchange(dispatcher: Dispatcher, opts: Dispatcher.DispatchOptions, cancel: Cancel): Promise<UpstreamResponse> {
  if (Array.isArray(opts.body)) {
    // a body in parts (a large one, never copied whole): its length is known, so no chunked encoding
    let n = 0;
    for (const b of opts.body as Buffer[]) n += b.length;
    opts = { ...opts, headers: { ...(opts.headers as Record<string, string | string[]>), 'content-length': String(n) } };
  }
  return new Promise((resolve, reject) => {
    if (cancel.cancelled) return reject(cancel.reason!);
    dispatcher.dispatch(opts, new Handler(cancel, resolve, reject));
  });
}
