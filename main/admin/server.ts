// The daemon's admin endpoint: loopback only, every request carries the token from the home folder
// (Authorization: Bearer, or the session cookie the UI link sets), and only loopback Host values are accepted.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';

export type AdminHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>;

/** Reads the admin token, creating it (mode 0600) when absent and repairing a looser mode. */
export function ensureToken(file: string): string {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  if (existsSync(file)) {
    if (process.platform !== 'win32' && (statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
    const t = readFileSync(file, 'utf8').trim();
    if (t.length >= 32) return t;
  }
  const token = randomBytes(32).toString('hex');
  writeFileSync(file, token + '\n', { mode: 0o600 });
  return token;
}

export function readToken(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

export const SESSION_COOKIE = 'router67_session';

const LOOPBACK_HOST = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|\[::1\])(:\d+)?$/i;

export function isLoopbackHostHeader(host: string | undefined): boolean {
  return !!host && LOOPBACK_HOST.test(host);
}

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function cookieValue(req: IncomingMessage, name: string): string | undefined {
  const c = req.headers.cookie;
  if (!c) return undefined;
  for (const part of c.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) {
      const v = part.slice(i + 1).trim();
      try {
        return decodeURIComponent(v);
      } catch {
        return v; // a malformed escape: compared as sent (it matches no token)
      }
    }
  }
  return undefined;
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  res.end(text);
}

/** A JSON request body: the value, or what is wrong with it and the status to answer (413 too large or cut off, 400 not JSON). */
export type JsonBody =
  | { ok: true; value: unknown }
  | { ok: false; reason: 'cut-off' | 'too-large' | 'not-json'; status: 400 | 413; message: string };

/** Reads a JSON request body of at most `max` bytes (the rest is drained, not kept). */
export function readJsonBody(req: IncomingMessage, max: number): Promise<JsonBody> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= max) chunks.push(c);
    });
    req.on('error', () => resolve({ ok: false, reason: 'cut-off', status: 413, message: 'the request was cut off' }));
    req.on('end', () => {
      if (size > max) return resolve({ ok: false, reason: 'too-large', status: 413, message: `the request is larger than ${max} bytes` });
      try {
        resolve({ ok: true, value: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown });
      } catch {
        resolve({ ok: false, reason: 'not-json', status: 400, message: 'expected a JSON body' });
      }
    });
  });
}

interface Route {
  method: string;
  path: string | RegExp;
  handler: AdminHandler;
  public?: boolean;
}

function findRoute(routes: Route[], method: string | undefined, pathname: string): Route | undefined {
  return routes.find((r) => r.method === method && (typeof r.path === 'string' ? r.path === pathname : r.path.test(pathname)));
}

/**
 * Routes added later behind one admin route (the daemon's window: its routes are mounted on first use, so the
 * headless daemon does not load them until someone opens it). Same rules as the admin server's own routes.
 */
export class RouteTable {
  private readonly routes: Route[] = [];

  constructor(private readonly authorised: (req: IncomingMessage) => boolean) {}

  route(method: string, path: string | RegExp, handler: AdminHandler, opts: { public?: boolean } = {}): void {
    this.routes.push({ method, path, handler, public: opts.public });
  }

  /** Answers the request from the matching route (404 when none matches). */
  async dispatch(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const route = findRoute(this.routes, req.method, url.pathname);
    if (!route) return sendJson(res, 404, { error: 'not found' });
    if (!route.public && !this.authorised(req)) return sendJson(res, 401, { error: 'missing or wrong token' });
    await route.handler(req, res, url);
  }
}

export class AdminServer {
  private readonly server: Server;
  private readonly routes: Route[] = [];
  url = '';

  constructor(readonly token: string) {
    this.server = createServer((req, res) =>
      this.dispatch(req, res).catch(() => {
        // last resort: every request gets an answer, whatever threw
        if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
        else res.destroy();
      }),
    );
  }

  /** Adds a route. `public` routes skip the token check (the Host check always applies). */
  route(method: string, path: string | RegExp, handler: AdminHandler, opts: { public?: boolean } = {}): void {
    this.routes.push({ method, path, handler, public: opts.public });
  }

  /** True when the request carries the token (Bearer header or session cookie). */
  authorised(req: IncomingMessage): boolean {
    const auth = req.headers.authorization;
    if (auth?.startsWith('Bearer ') && sameToken(auth.slice(7).trim(), this.token)) return true;
    const c = cookieValue(req, SESSION_COOKIE);
    return !!c && sameToken(c, this.token);
  }

  listen(host = '127.0.0.1', port = 0): Promise<string> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const a = this.server.address() as AddressInfo;
        this.url = `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
        resolve(this.url);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((r) => {
      this.server.close(() => r());
      this.server.closeAllConnections();
    });
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!isLoopbackHostHeader(req.headers.host)) return sendJson(res, 403, { error: 'forbidden host' });
    let url: URL;
    try {
      // a path such as "//a:b" makes an invalid URL; only the path and query are of interest here
      url = new URL((req.url ?? '/').replace(/^\/+/, '/'), 'http://localhost');
    } catch {
      return sendJson(res, 400, { error: 'malformed request path' });
    }
    const route = findRoute(this.routes, req.method, url.pathname);
    if (!route) return sendJson(res, 404, { error: 'not found' });
    try {
      if (!route.public && !this.authorised(req)) return sendJson(res, 401, { error: 'missing or wrong token' });
      await route.handler(req, res, url);
    } catch (err) {
      if (!res.headersSent) sendJson(res, 500, { error: err instanceof Error ? err.message : 'internal error' });
      else res.destroy();
    }
  }
}
