// HTTP/2 on the TLS listener: node:http2's compatibility API (Http2ServerRequest/Response) made to look like the
// HTTP/1.1 request/response pair the proxy, the guard and the passthrough handle, in one place:
// - request headers: the pseudo-headers (:method, :path, :scheme, :authority) are dropped (never forwarded
//   upstream) and :authority becomes `host`, as an HTTP/1.1 client sends it;
// - response headers: HTTP/2 forbids connection-specific ones (RFC 9113 §8.2.2) and node throws on all but
//   `connection` (which it drops with a warning), so connection, keep-alive, proxy-connection, transfer-encoding
//   and upgrade are left out: an error path's `connection: close` has no meaning on a stream;
// - `destroyed` and `writableNeedDrain`, which the compatibility response lacks, read the stream's;
// - `writableFinished` is true only for a response that ended: node's reads the stream's, which is also true
//   after the client reset it (RST_STREAM), so the proxy would not see the abort and would not cancel upstream.
// Everything else (write/drain backpressure, 'close' when the client resets the stream, end, destroy) the
// compatibility API already provides with HTTP/1.1 semantics.
// The adaptation lives in two subclasses the server builds its pairs from (createSecureServer's
// Http2ServerRequest/Http2ServerResponse options): nothing is redefined per request, and the request's headers
// are converted only when read.
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { Http2ServerRequest, Http2ServerResponse } from 'node:http2';

const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

/** Request headers without pseudo-headers, with :authority as host. */
export function h1Headers(h2: IncomingHttpHeaders): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  for (const k of Object.keys(h2)) if (k.charCodeAt(0) !== 58 /* : */) out[k] = h2[k];
  const authority = h2[':authority'];
  if (out.host === undefined && typeof authority === 'string') out.host = authority;
  return out;
}

type HeaderArg = OutgoingHttpHeaders | readonly unknown[] | undefined;

function withoutConnectionHeaders(h: HeaderArg): HeaderArg {
  if (!h) return h;
  if (Array.isArray(h)) {
    // [[name, value], …] or [name, value, name, value, …]
    if (Array.isArray(h[0])) return (h as [string, unknown][]).filter(([k]) => !CONNECTION_SPECIFIC.has(String(k).toLowerCase()));
    const out: unknown[] = [];
    for (let i = 0; i < h.length; i += 2) if (!CONNECTION_SPECIFIC.has(String(h[i]).toLowerCase())) out.push(h[i], h[i + 1]);
    return out;
  }
  let copy: OutgoingHttpHeaders | undefined;
  for (const k of Object.keys(h)) {
    if (!CONNECTION_SPECIFIC.has(k.toLowerCase())) continue;
    copy ??= { ...(h as OutgoingHttpHeaders) };
    delete copy[k];
  }
  return copy ?? h;
}

const baseHeaders = Object.getOwnPropertyDescriptor(Http2ServerRequest.prototype, 'headers')!.get!;
const H1_HEADERS = Symbol('h1 headers');

/** The request: `headers` as an HTTP/1.1 request has them (converted on first read; assignable, as node's). */
export class H1ShapedRequest extends Http2ServerRequest {}
Object.defineProperty(H1ShapedRequest.prototype, 'headers', {
  get(this: H1ShapedRequest & { [H1_HEADERS]?: IncomingHttpHeaders }) {
    return (this[H1_HEADERS] ??= h1Headers(baseHeaders.call(this) as IncomingHttpHeaders));
  },
  set(this: H1ShapedRequest & { [H1_HEADERS]?: IncomingHttpHeaders }, value: IncomingHttpHeaders) {
    this[H1_HEADERS] = value;
  },
  enumerable: true,
  configurable: true,
});

type WriteHead = (status: number, a?: unknown, b?: unknown) => Http2ServerResponse;
const baseWriteHead = Http2ServerResponse.prototype.writeHead as unknown as WriteHead;
const baseSetHeader = Http2ServerResponse.prototype.setHeader;

/** The response: no connection-specific headers; destroyed, writableNeedDrain and writableFinished as on HTTP/1.1. */
export class H1ShapedResponse extends Http2ServerResponse {
  override setHeader(name: string, value: number | string | readonly string[]): this {
    if (!CONNECTION_SPECIFIC.has(name.toLowerCase())) baseSetHeader.call(this, name, value);
    return this;
  }

  override writeHead(status: number, a?: unknown, b?: unknown): this {
    if (typeof a === 'string') baseWriteHead.call(this, status, a, withoutConnectionHeaders(b as HeaderArg));
    else baseWriteHead.call(this, status, withoutConnectionHeaders(a as HeaderArg));
    return this;
  }
}
Object.defineProperties(H1ShapedResponse.prototype, {
  destroyed: {
    get(this: Http2ServerResponse) {
      return this.stream.destroyed;
    },
    configurable: true,
  },
  writableNeedDrain: {
    get(this: Http2ServerResponse) {
      return this.stream.writableNeedDrain;
    },
    configurable: true,
  },
  writableFinished: {
    get(this: Http2ServerResponse) {
      const stream = this.stream;
      return this.writableEnded && stream.writableFinished && !stream.aborted && (stream.rstCode ?? 0) === 0;
    },
    configurable: true,
  },
});

/** The server options that make node:http2 build H1-shaped pairs. */
export const h1ShapedClasses = { Http2ServerRequest: H1ShapedRequest, Http2ServerResponse: H1ShapedResponse } as unknown as {
  Http2ServerRequest: typeof Http2ServerRequest;
  Http2ServerResponse: typeof Http2ServerResponse;
};

/** A pair built from h1ShapedClasses, typed as the HTTP/1.1 pair the handlers take. */
export function asH1(req: Http2ServerRequest, res: Http2ServerResponse): { req: IncomingMessage; res: ServerResponse } {
  return { req: req as unknown as IncomingMessage, res: res as unknown as ServerResponse };
}
