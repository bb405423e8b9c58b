// The loopback redirect of a native app's sign-in (RFC 8252 §7.3): a one-shot HTTP server on 127.0.0.1 and an
// ephemeral port. Only GETs of the callback path with this server's own Host are looked at, and of those only one
// that carries this sign-in's state settles it (its browser tab is told the outcome once the caller knows it). Any
// other — a page in the browser or another local user knocking on the port with a made-up state — is answered 400
// and ignored: it cannot end the sign-in the user is in the middle of.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Callback {
  /** The query of the callback request. */
  params: URLSearchParams;
  /** The request path (without the query). */
  path: string;
  /** Tells the browser tab how the sign-in ended, then closes the server. */
  respond(ok: boolean, message: string): void;
}

export interface LoopbackServer {
  port: number;
  /** http://127.0.0.1:PORT + path */
  url(path: string): string;
  /** The first callback; rejects when the server is closed first. */
  callback: Promise<Callback>;
  close(): Promise<void>;
}

const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  connection: 'close',
};

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function resultPage(ok: boolean, message: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>router67 sign-in</title>
<meta name="color-scheme" content="light dark"></head>
<body style="font: 15px system-ui, sans-serif; margin: 4em auto; max-width: 34em; padding: 0 1em">
<h1 style="font-size: 20px" id="result" data-ok="${ok}">${ok ? 'Signed in' : 'Sign-in did not complete'}</h1>
<p id="message">${esc(message)}</p>
<p style="opacity: .7">You can close this tab and return to router67.</p>
</body></html>`;
}

function page(res: ServerResponse, status: number, ok: boolean, message: string): void {
  const body = resultPage(ok, message);
  res.writeHead(status, { ...PAGE_HEADERS, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/**
 * Starts the server. `isCallback` picks the callback path (e.g. p => p === '/callback'); `belongs` tells whether a
 * callback carries this sign-in's state (in its query or its path). Without `belongs` every callback belongs.
 */
export async function startLoopback(isCallback: (path: string) => boolean, belongs: (path: string, params: URLSearchParams) => boolean = () => true): Promise<LoopbackServer> {
  let settle!: { resolve(c: Callback): void; reject(e: Error): void };
  const callback = new Promise<Callback>((resolve, reject) => (settle = { resolve, reject }));
  callback.catch(() => {}); // the caller may never await it (cancelled before the browser came back)
  let taken = false;
  let closed = false;
  let port = 0;
  const held = new Set<ServerResponse>();

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    // Only our own origin: a page elsewhere cannot reach us under another name (DNS rebinding).
    if (req.headers.host !== `127.0.0.1:${port}`) return page(res, 421, false, 'Wrong host.');
    if (req.method !== 'GET') return page(res, 405, false, 'Only GET is answered here.');
    let url: URL;
    try {
      url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    } catch {
      return page(res, 400, false, 'Bad request.');
    }
    if (!isCallback(url.pathname)) return page(res, 404, false, 'Nothing here.');
    if (taken) return page(res, 409, false, 'This sign-in has already received its answer.');
    if (!belongs(url.pathname, url.searchParams)) {
      return page(res, 400, false, 'This answer does not carry the state of the sign-in in progress, so it was ignored. If you are signing in, finish in the tab router67 opened.');
    }
    taken = true;
    held.add(res);
    let answered = false;
    settle.resolve({
      params: url.searchParams,
      path: url.pathname,
      respond: (ok, message) => {
        if (answered) return;
        answered = true;
        held.delete(res);
        if (!res.destroyed) page(res, ok ? 200 : 400, ok, message);
        void close();
      },
    });
  });
  server.keepAliveTimeout = 1000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;

  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    settle.reject(new Error('the sign-in ended before the browser came back'));
    for (const res of held) if (!res.destroyed) page(res, 400, false, 'The sign-in was cancelled or timed out in router67.');
    held.clear();
    await new Promise<void>((r) => {
      server.close(() => r());
      server.closeIdleConnections();
      setTimeout(() => server.closeAllConnections(), 500).unref();
    });
  };
  return { port, url: (path) => `http://127.0.0.1:${port}${path}`, callback, close };
}
