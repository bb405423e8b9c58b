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
  /** A few at most (a leg, a hedge, a retry's wait): an array, not a Set. */
  private children?: Cancel[];
  private parent?: Cancel;

  get cancelled(): boolean {
    return this.reason !== undefined;
  }

  cancel(reason: Error): void {
    if (this.reason) return;
    this.reason = reason;
    this.hook?.(reason);
    if (this.children) for (const c of [...this.children]) c.cancel(reason);
  }

  /** A Cancel that fires with this one (same reason) and can also fire alone: one leg of a hedge, a retry's wait. */
  child(): Cancel {
    const c = new Cancel();
    c.parent = this;
    if (this.reason) c.cancel(this.reason);
    else (this.children ??= []).push(c);
    return c;
  }

  /** Unlinks a child from its parent (it no longer fires with it). */
  dispose(): void {
    const siblings = this.parent?.children;
    const i = siblings ? siblings.indexOf(this) : -1;
    if (i >= 0) siblings!.splice(i, 1);
    this.parent = undefined;
  }

  /** Registers what to do on cancel (one at a time); runs at once when already cancelled. */
  onCancel(fn: ((err: Error) => void) | undefined): void {
    this.hook = fn;
    if (fn && this.reason) fn(this.reason);
  }
}

/**
 * A Cancel that fires when the client's response closes before it finished (the client went away); `dispose`
 * stops listening once the exchange is over.
 */
export function cancelOnClientGone(res: { writableFinished: boolean; on(e: 'close', f: () => void): unknown; off(e: 'close', f: () => void): unknown }, reason: () => Error): { cancel: Cancel; dispose(): void } {
  const cancel = new Cancel();
  const onClose = () => {
    if (!res.writableFinished) cancel.cancel(reason());
  };
  res.on('close', onClose);
  return { cancel, dispose: () => res.off('close', onClose) };
}

/**
 * The upstream sent no body bytes for `bodyTimeout` ms after its headers (undici's bodyTimeout is that idle
 * timer: refreshed by every chunk, not running while we hold the body back for a slow client).
 */
export class UpstreamIdleError extends Error {
  constructor(readonly ms: number) {
    super(`idle timeout: the upstream sent no body bytes for ${ms} ms`);
    this.name = 'UpstreamIdleError';
  }
}

/** collect() stopped at its cap: the bytes so far, the response paused and waiting for attach() or abort(). */
export interface Overflow {
  chunks: Buffer[];
  size: number;
}

export type Collected = { body: Buffer; error?: undefined; over?: undefined } | { error: Error; body?: undefined; over?: undefined } | { over: Overflow; body?: undefined; error?: undefined };

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
    for (let i = 0; i < q.length; i++) {
      if (this.sink !== sink) {
        // the sink let go midway (collect() reached its cap): the rest waits for the next one
        this.queue = q.slice(i).concat(this.queue ?? []);
        return;
      }
      this.deliver(q[i]!);
    }
  }

  pause(): void {
    this.controller.pause();
  }

  resume(): void {
    this.controller.resume();
  }

  /** Stops the exchange (the rest of the body is not read); the sink, if any, gets `reason` as its error. */
  abort(reason: Error): void {
    this.controller.abort(reason);
  }

  /**
   * Reads the whole body; resolves with the transport error instead when it breaks off. Never rejects.
   * Past `max` bytes it stops collecting: the response is paused and resolves with what came so far (`over`);
   * the caller then attach()es a sink for the rest (and resume()s) or abort()s.
   */
  collect(max = Infinity): Promise<Collected> {
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let done = false;
      this.attach({
        data: (c) => {
          if (done) return;
          chunks.push(c);
          size += c.length;
          if (size > max) {
            done = true;
            this.pause();
            this.detach();
            resolve({ over: { chunks, size } });
          }
        },
        end: () => {
          if (!done) resolve({ body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size) });
        },
        error: (error) => {
          if (!done) resolve({ error });
        },
      });
    });
  }

  /** Reads the body as text, up to `max` bytes (then the exchange is aborted: the rest is never read). Never rejects. */
  text(max: number): Promise<string> {
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const done = () => resolve(Buffer.concat(chunks).toString('utf8', 0, Math.min(size, max)));
      this.attach({
        data: (c) => {
          if (size >= max) return;
          chunks.push(c);
          size += c.length;
          if (size >= max) {
            done();
            this.pause(); // and abort once undici's parser has returned from this chunk
            queueMicrotask(() => this.abort(new Error(`body longer than ${max} bytes: the rest is not read`)));
          }
        },
        end: done,
        error: done,
      });
    });
  }

  /** Stops delivery to the current sink; what arrives meanwhile is queued for the next attach(). */
  private detach(): void {
    this.sink = undefined;
    this.queue = [];
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
    private readonly idleMs: number | undefined,
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
    if ((err as { code?: string }).code === 'UND_ERR_BODY_TIMEOUT' && this.idleMs) err = new UpstreamIdleError(this.idleMs);
    if (this.resp) this.resp.push(err);
    else this.reject(err);
  }
}

/**
 * Sends one request; resolves when the response headers arrive, rejects on a transport error before them.
 * `opts.bodyTimeout` is the idle timeout between body chunks (the whole exchange's deadline is the caller's).
 */
export function exchange(dispatcher: Dispatcher, opts: Dispatcher.DispatchOptions, cancel: Cancel): Promise<UpstreamResponse> {
  if (Array.isArray(opts.body)) {
    // a body in parts (a large one, never copied whole): its length is known, so no chunked encoding
    let n = 0;
    for (const b of opts.body as Buffer[]) n += b.length;
    opts = { ...opts, headers: { ...(opts.headers as Record<string, string | string[]>), 'content-length': String(n) } };
  }
  return new Promise((resolve, reject) => {
    if (cancel.cancelled) return reject(cancel.reason!);
    dispatcher.dispatch(opts, new Handler(cancel, opts.bodyTimeout ?? undefined, resolve, reject));
  });
}
