// Header rules: what goes upstream, what comes back, and what a log may see.
import type { IncomingHttpHeaders } from 'node:http';
import { scrubHeaderValue, secretNeedles } from './errors.js';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
  // answered by us (Node sends 100 Continue); undici refuses to send it
  'expect',
]);

/**
 * Client credentials a provider's own auth replaces (never forwarded to a provider), and what belongs to them:
 * the client's cookies and the account it names (ChatGPT account, OpenAI organization and project) are its own
 * account's, not the provider's a request is routed to.
 */
const CLIENT_AUTH = new Set(['authorization', 'x-api-key', 'api-key', 'x-goog-api-key', 'cookie', 'chatgpt-account-id', 'openai-organization', 'openai-project']);

function connectionListed(h: IncomingHttpHeaders | Record<string, unknown>): Set<string> | undefined {
  const c = h['connection'];
  if (c === undefined || c === 'keep-alive' || c === 'close') return undefined; // what clients send: nothing listed
  if (typeof c !== 'string' || !c.includes(',')) {
    if (typeof c === 'string' && c && !/^(keep-alive|close)$/i.test(c.trim())) return new Set([c.trim().toLowerCase()]);
    return undefined;
  }
  return new Set(c.split(',').map((s) => s.trim().toLowerCase()));
}

/**
 * Headers for the upstream request: the client's, less hop-by-hop, host and content-length, less the client's
 * credentials, cookies and account headers when `stripAuth` (CLIENT_AUTH); plus `set` (provider auth and extra
 * headers) last. Without `stripAuth` (the passthrough to the real origin) cookies go on, less router67's own.
 */
export function upstreamHeaders(
  client: IncomingHttpHeaders,
  stripAuth: boolean,
  set: Record<string, string>,
): Record<string, string | string[]> {
  const listed = connectionListed(client);
  const out: Record<string, string | string[]> = {};
  for (const k in client) {
    if (HOP_BY_HOP.has(k) || k === 'host' || k === 'content-length' || listed?.has(k)) continue;
    if (stripAuth && CLIENT_AUTH.has(k)) continue;
    const v = client[k];
    if (v === undefined) continue;
    if (k === 'cookie') {
      // a browser sends our own window's session cookie to every 127.0.0.1 port: it never goes upstream
      const kept = withoutOwnCookie(String(v));
      if (kept) out[k] = kept;
      continue;
    }
    out[k] = v;
  }
  for (const k in set) out[k.toLowerCase()] = set[k]!;
  return out;
}

const OWN_COOKIE = /^\s*router67_[A-Za-z0-9_]*=/;

function withoutOwnCookie(cookie: string): string {
  if (!cookie.includes('router67_')) return cookie;
  return cookie
    .split(';')
    .filter((c) => !OWN_COOKIE.test(c))
    .map((c) => c.trim())
    .join('; ');
}

/**
 * Upstream response headers fit to relay: less hop-by-hop (and content-length when `dropLength`), and never an
 * upstream CORS grant (`access-control-*`): only router67 grants CORS, to [daemon] allowed_origins (main/proxy/guard.ts).
 * A value quoting one of `secrets` (a redirect's `Location: …?key=`, an echoed auth header) is scrubbed; with no
 * secrets the values are not looked at.
 */
export function responseHeaders(
  upstream: Record<string, string | string[] | undefined>,
  dropLength: boolean,
  secrets?: readonly string[],
): Record<string, string | string[]> {
  const listed = connectionListed(upstream);
  const needles = secrets?.length ? secretNeedles(secrets) : undefined;
  const out: Record<string, string | string[]> = {};
  for (const k in upstream) {
    if (HOP_BY_HOP.has(k) || listed?.has(k) || (dropLength && k === 'content-length')) continue;
    if (k.charCodeAt(0) === 97 /* a */ && k.startsWith('access-control-')) continue;
    const v = upstream[k];
    if (v !== undefined) out[k] = needles ? scrubHeaderValue(v, secrets!, needles) : v;
  }
  return out;
}

const SECRET_HEADER = /(auth|key|token|secret|cookie|session|signature|password)/i;
const secretName = new Map<string, boolean>();

function isSecretHeader(name: string): boolean {
  let s = secretName.get(name);
  if (s === undefined) {
    s = SECRET_HEADER.test(name);
    if (secretName.size < 1000) secretName.set(name, s);
  }
  return s;
}

/** A copy safe for logs and the UI: every credential-like header redacted. */
export function redactHeaders(h: IncomingHttpHeaders | Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k in h) {
    const v = h[k];
    if (v === undefined) continue;
    out[k] = isSecretHeader(k) ? '[redacted]' : Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}
