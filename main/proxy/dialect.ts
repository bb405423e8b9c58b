// Which API a request speaks (from its path), and that API's error shapes.
import type { Dialect } from '../log/request-log.js';

export function detectDialect(path: string): Dialect {
  const p = path.split('?', 1)[0]!;
  if (p === '/v1/messages' || p.startsWith('/v1/messages/')) return 'anthropic';
  if (p === '/v1/responses' || p.startsWith('/v1/responses/')) return 'responses';
  if (p.startsWith('/v1/chat/completions') || p === '/v1/completions' || p === '/v1/embeddings') return 'openai';
  if (p.startsWith('/api/')) return 'ollama';
  return 'unknown';
}

const ANTHROPIC_ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  502: 'api_error',
  503: 'api_error',
  504: 'api_error',
  529: 'overloaded_error',
};

/** The error body a client of `dialect` expects, so its SDK raises its own typed error. */
export function errorBody(dialect: Dialect, status: number, message: string, extra: Record<string, unknown> = {}, code?: string): string {
  if (dialect === 'anthropic') {
    const type = ANTHROPIC_ERROR_TYPES[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
    return JSON.stringify({ type: 'error', error: { type, message }, ...extra });
  }
  if (dialect === 'ollama') return JSON.stringify({ error: message, ...extra });
  const type = status === 404 ? 'invalid_request_error' : status >= 500 ? 'server_error' : status === 429 ? 'rate_limit_error' : 'invalid_request_error';
  return JSON.stringify({ error: { message, type, param: null, code: code ?? null }, ...extra });
}

/** The in-stream error event that ends a stream which already started, so it is never mistaken for success. */
export function streamErrorEvent(dialect: Dialect, message: string): string {
  switch (dialect) {
    case 'anthropic':
      return `event: error\ndata: ${JSON.stringify({ type: 'error', error: { type: 'api_error', message } })}\n\n`;
    case 'responses':
      return `event: error\ndata: ${JSON.stringify({ type: 'error', code: 'upstream_error', message, param: null })}\n\n`;
    case 'ollama':
      return `${JSON.stringify({ error: message })}\n`;
    default:
      return `data: ${JSON.stringify({ error: { message, type: 'server_error', param: null, code: 'upstream_stream_error' } })}\n\n`;
  }
}
