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
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';

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

/** Adapts an HTTP/2 compatibility pair in place; returns it typed as the HTTP/1.1 pair the handlers take. */
export function adaptH2(req: Http2ServerRequest, res: Http2ServerResponse): { req: IncomingMessage; res: ServerResponse } {
  Object.defineProperty(req, 'headers', { value: h1Headers(req.headers), writable: true, configurable: true, enumerable: true });
  const setHeader = res.setHeader.bind(res);
  res.setHeader = (name: string, value: number | string | readonly string[]) => (CONNECTION_SPECIFIC.has(name.toLowerCase()) ? res : setHeader(name, value));
  const writeHead = res.writeHead.bind(res) as (status: number, a?: unknown, b?: unknown) => Http2ServerResponse;
  (res as { writeHead: unknown }).writeHead = (status: number, a?: unknown, b?: unknown) =>
    typeof a === 'string' ? writeHead(status, a, withoutConnectionHeaders(b as HeaderArg)) : writeHead(status, withoutConnectionHeaders(a as HeaderArg));
  const stream = res.stream;
  Object.defineProperty(res, 'destroyed', { get: () => stream.destroyed, configurable: true });
  Object.defineProperty(res, 'writableNeedDrain', { get: () => stream.writableNeedDrain, configurable: true });
  Object.defineProperty(res, 'writableFinished', {
    get: () => res.writableEnded && stream.writableFinished && !stream.aborted && (stream.rstCode ?? 0) === 0,
    configurable: true,
  });
  return { req: req as unknown as IncomingMessage, res: res as unknown as ServerResponse };
}
