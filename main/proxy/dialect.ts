// Which API a request speaks (from its path), and that API's error shapes.
import type { Dialect } from '../log/request-log.js';
import { errorEnvelope, streamErrorEvent as formatStreamErrorEvent } from '../formats/errors.js';

/** The path without its query string (no copy when there is none). */
function pathOnly(path: string): string {
  const q = path.indexOf('?');
  return q < 0 ? path : path.slice(0, q);
}

export function detectDialect(path: string): Dialect {
  const p = pathOnly(path);
  if (p === '/v1/messages' || p.startsWith('/v1/messages/')) return 'anthropic';
  if (p === '/v1/responses' || p.startsWith('/v1/responses/')) return 'responses';
  if (p.startsWith('/v1/chat/completions') || p === '/v1/completions' || p === '/v1/embeddings') return 'openai';
  if (p.startsWith('/api/')) return 'ollama';
  return 'unknown';
}

/** The error body a client of `dialect` expects, so its SDK raises its own typed error (shapes owned by main/formats). */
export function errorBody(dialect: Dialect, status: number, message: string, extra: Record<string, unknown> = {}, code?: string): string {
  return errorEnvelope(dialect === 'unknown' ? 'openai' : dialect, status, '', message, extra, code);
}

/**
 * The in-stream error event that ends a stream which already started, so it is never mistaken for success;
 * `extra` (the attempts) as in formats/errors.ts.
 */
export function streamErrorEvent(dialect: Dialect, message: string, extra?: Record<string, unknown>): string {
  return formatStreamErrorEvent(dialect === 'unknown' ? 'openai' : dialect, message, undefined, undefined, extra);
}

/**
 * The dialect of a request on the TLS listener, where the host says which API it is: only the plain endpoint
 * serves Ollama's `/api/*` routes. OpenRouter's API lives under `/api/v1/...`; other `/api/*` paths on an
 * intercepted host (Claude Code's `/api/claude_code/settings`) speak the host's own API.
 */
export function dialectFor(path: string, host?: string): Dialect {
  if (!host) return detectDialect(path);
  const p = pathOnly(path);
  if (p.startsWith('/api/')) {
    if (p.startsWith('/api/v1/')) {
      const d = detectDialect(path.slice(4));
      if (d !== 'unknown') return d;
    }
    return /(^|\.)anthropic\.com$/i.test(host) ? 'anthropic' : 'openai';
  }
  return detectDialect(path);
}

/** An intercepted request's path below its API root: OpenRouter's `/api/v1/...` is `/v1/...`. */
export function apiPath(path: string): string {
  return path.startsWith('/api/v1/') ? path.slice(4) : path;
}
