// The first check every proxied request meets, on both listeners, before its body is read: no web page may spend
// the user's provider keys.
//
// - A browser marks what a page sends: `Origin` (every cross-origin fetch, every POST) and `Sec-Fetch-Site`
//   (everything, on loopback). A request carrying an Origin, or a Sec-Fetch-Site other than "none" (the user typed
//   the address), is refused with 403 unless its origin is listed in [daemon] allowed_origins. SDKs, CLIs and
//   editors running outside a browser send neither header and pass untouched.
// - The plain endpoint accepts only loopback Host values (127.x, localhost, [::1], any port) and the configured
//   http_listen host (with allow_non_loopback, any IP literal): a DNS-rebound page's requests carry its own name as
//   Host and are refused with 421 Misdirected Request (not retried by the SDKs, which retry only 408/409/429/5xx;
//   a 403 would suggest a credential problem, which it is not). The TLS listener needs no Host check: a rebound
//   name has no certificate from the router67 CA.
// - Paths with a malformed percent-escape or a dot segment get 400.
// - An allowed origin gets router67's own CORS grant (preflights are answered here); upstream `access-control-*`
//   headers are never relayed (main/proxy/headers.ts), so no upstream grant reaches a page router67 did not allow.
// Refusals use the client's dialect's error envelope and close the connection (the body is never read).
import { isIP } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from '../config/schema.js';
import { dialectFor, errorBody } from './dialect.js';
import { pathProblem } from './upstream-url.js';

interface Policy {
  origins: Set<string>;
  /** Extra Host names (lower case, IPv6 in brackets) the plain endpoint answers to. */
  hosts: Set<string>;
  /** allow_non_loopback: any IP-literal Host too (the listener may be bound by --listen; a rebound page's Host is a name). */
  anyIp: boolean;
}

const policies = new WeakMap<Config['daemon'], Policy>();

function policy(d: Config['daemon']): Policy {
  let p = policies.get(d);
  if (!p) {
    const hosts = new Set<string>();
    for (const listen of [d.http_listen, d.listen]) {
      const host = listen.slice(0, listen.lastIndexOf(':')).toLowerCase();
      const bare = host.replace(/^\[|\]$/g, '');
      hosts.add(isIP(bare) === 6 ? `[${bare}]` : host);
    }
    p = { origins: new Set(d.allowed_origins), hosts, anyIp: d.allow_non_loopback };
    policies.set(d, p);
  }
  return p;
}

const LOOPBACK = /^(?:127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|\[::1\]|\[::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3}\])$/;

/** Host header values already found to be loopback (the same few every time: a Set lookup instead of parsing). */
const loopbackSeen = new Set<string>();

/** Whether the plain endpoint answers to this Host header. */
export function hostAllowed(host: string | undefined, d: Config['daemon']): boolean {
  if (host === undefined) return true; // HTTP/1.0 without Host: no browser sends that
  if (loopbackSeen.has(host)) return true;
  let name: string;
  let port: string;
  if (host.charCodeAt(0) === 91 /* [ */) {
    const e = host.indexOf(']');
    if (e < 0) return false;
    name = host.slice(0, e + 1);
    port = host.slice(e + 1);
  } else {
    const i = host.indexOf(':');
    name = i < 0 ? host : host.slice(0, i);
    port = i < 0 ? '' : host.slice(i);
  }
  if (port !== '' && !/^:\d{1,5}$/.test(port)) return false;
  name = name.toLowerCase();
  if (LOOPBACK.test(name)) {
    if (loopbackSeen.size < 256) loopbackSeen.add(host);
    return true;
  }
  const p = policy(d);
  return p.hosts.has(name) || (p.anyIp && isIP(name.replace(/^\[|\]$/g, '')) !== 0);
}

/**
 * Runs the checks; true when the request was answered here (refused, or a CORS preflight) and the caller must do
 * nothing more with it. `host`: the intercepted host name on the TLS listener; undefined on the plain endpoint
 * (where the Host check applies).
 */
export function guardRequest(req: IncomingMessage, res: ServerResponse, cfg: Config, host?: string): boolean {
  const h = req.headers;
  const plain = host === undefined;
  const origin = h.origin;
  const site = h['sec-fetch-site'];
  if (plain && !hostAllowed(h.host, cfg.daemon)) {
    return refuse(
      req,
      res,
      host,
      421,
      `router67 answers only to loopback host names (127.0.0.1, localhost, [::1]) and the configured http_listen host, not "${String(h.host).slice(0, 100)}"`,
    );
  }
  if (origin !== undefined || (site !== undefined && site !== 'none')) {
    if (origin === undefined || !policy(cfg.daemon).origins.has(origin)) {
      const who = origin !== undefined ? `the web page at ${origin}` : `a web page (Sec-Fetch-Site: ${site})`;
      return refuse(
        req,
        res,
        host,
        403,
        `router67 refuses requests from ${who}: web pages may not use your provider keys. To allow this origin, add it to [daemon] allowed_origins`,
      );
    }
    res.setHeader('access-control-allow-origin', origin);
    res.setHeader('access-control-expose-headers', '*');
    res.setHeader('vary', 'Origin');
    if (req.method === 'OPTIONS' && h['access-control-request-method'] !== undefined) return preflight(req, res);
  }
  const problem = pathProblem(req.url ?? '/');
  if (problem) return refuse(req, res, host, 400, problem);
  return false;
}

function preflight(req: IncomingMessage, res: ServerResponse): true {
  const h = req.headers;
  const out: Record<string, string> = {
    'access-control-allow-methods': 'GET, POST, PUT, PATCH, DELETE, OPTIONS',
    'access-control-max-age': '600',
    'content-length': '0',
  };
  const asked = h['access-control-request-headers'];
  if (asked) out['access-control-allow-headers'] = asked;
  if (h['access-control-request-private-network'] === 'true') out['access-control-allow-private-network'] = 'true';
  res.writeHead(204, out);
  res.end();
  return true;
}

function refuse(req: IncomingMessage, res: ServerResponse, host: string | undefined, status: number, message: string): true {
  const body = errorBody(dialectFor(req.url ?? '/', host), status, message);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), connection: 'close' });
  res.end(body);
  return true;
}
