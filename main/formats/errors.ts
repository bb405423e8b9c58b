// Error envelopes in each dialect, upstream error parsing (any dialect, HTML pages, plain text) and
// in-stream error events. One place owns these; the proxy uses them for its own errors too.
import { type Dialect, isObj, str } from './canonical.js';

const ANTHROPIC_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  408: 'timeout_error',
  413: 'request_too_large',
  422: 'invalid_request_error',
  429: 'rate_limit_error',
  500: 'api_error',
  502: 'api_error',
  503: 'overloaded_error',
  504: 'timeout_error',
  529: 'overloaded_error',
};
const OPENAI_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'insufficient_quota',
  403: 'permission_error',
  404: 'not_found_error',
  408: 'timeout',
  413: 'invalid_request_error',
  422: 'invalid_request_error',
  429: 'rate_limit_error',
};
const ANTHROPIC_KNOWN = new Set(Object.values(ANTHROPIC_TYPES));

/** The error `type` a dialect uses for an HTTP status. */
export function errorTypeFor(to: Dialect, status: number): string {
  if (to === 'anthropic') return ANTHROPIC_TYPES[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
  return OPENAI_TYPES[status] ?? (status >= 500 ? 'server_error' : 'invalid_request_error');
}

/** A JSON error body in the dialect's envelope. `extra` goes at the top level (e.g. the attempts list). */
export function errorEnvelope(
  to: Dialect,
  status: number,
  type: string,
  message: string,
  extra?: Record<string, unknown>,
  code?: string,
): string {
  switch (to) {
    case 'anthropic':
      return JSON.stringify({ type: 'error', error: { type: type || errorTypeFor(to, status), message }, ...extra });
    case 'ollama':
      return JSON.stringify({ error: message, ...extra });
    default:
      return JSON.stringify({
        error: { message, type: type || errorTypeFor(to, status), param: null, code: code ?? null },
        ...extra,
      });
  }
}

let respSeq = 1_000_000;
/**
 * The dialect's in-stream error event, ending a stream that already started. `extra` (router67's `attempts`) goes
 * at the top level, as in errorEnvelope; for the OpenAI-shaped events also inside `error`, the object the OpenAI
 * SDK raises as its APIError's `error` (the Anthropic SDK gives the whole event).
 */
export function streamErrorEvent(to: Dialect, message: string, type?: string, sequenceNumber?: number, extra?: Record<string, unknown>): string {
  switch (to) {
    case 'anthropic':
      return `event: error\ndata: ${JSON.stringify({ type: 'error', error: { type: type || 'api_error', message }, ...extra })}\n\n`;
    case 'openai':
      return `data: ${JSON.stringify({ error: { message, type: type || 'server_error', param: null, code: null, ...extra }, ...extra })}\n\n`;
    case 'responses': {
      // ResponseErrorEvent (code/message/param at the top) plus `error`, which the SDK raises as APIError.
      const code = type || 'server_error';
      const ev = {
        type: 'error',
        code,
        message,
        param: null,
        sequence_number: sequenceNumber ?? respSeq++,
        error: { type: code, code, message, param: null, ...extra },
        ...extra,
      };
      return `event: error\ndata: ${JSON.stringify(ev)}\n\n`;
    }
    case 'ollama':
      return JSON.stringify({ error: message, ...extra }) + '\n';
  }
}

export interface ParsedUpstreamError {
  message: string;
  type?: string;
  code?: string;
  param?: string | null;
}

function htmlTitle(s: string): string | undefined {
  const m = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(s.slice(0, 20_000));
  const t = m?.[1]?.replace(/\s+/g, ' ').trim();
  if (t) return t;
  const h = /<h1[^>]*>([\s\S]*?)<\/h1>/i.exec(s.slice(0, 20_000));
  return h?.[1]?.replace(/<[^>]+>/g, '').replace(/\s+/g, ' ').trim() || undefined;
}

/** Text as it is: for callers with no secrets to scrub. */
const asIs = (s: string): string => s;

/**
 * Understand an upstream error body of any dialect, an HTML page, or plain text. `clean` (the attempt's scrub)
 * runs on the whole of every text taken from the body before it is cut, so no part of a secret survives a cut.
 */
export function parseUpstreamError(status: number, body: Buffer | string, contentType?: string, clean: (s: string) => string = asIs): ParsedUpstreamError {
  const text = (typeof body === 'string' ? body : body.toString('utf8')).trim();
  const cut = (s: string) => clean(s).slice(0, 500);
  if (!text) return { message: `upstream returned HTTP ${status} with an empty body` };
  const ct = (contentType ?? '').toLowerCase();
  if (ct.includes('html') || /^<(!doctype|html|head|body|\?xml)/i.test(text)) {
    const title = htmlTitle(text);
    return { message: `upstream returned an HTML error page (HTTP ${status}${title ? `: ${clean(title)}` : ''})` };
  }
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch {
    return { message: `upstream returned HTTP ${status}: ${cut(text)}` };
  }
  if (Array.isArray(j) && j.length) j = j[0]; // Google-style [{error:{…}}]
  if (isObj(j)) {
    const e = j.error;
    if (isObj(e)) {
      const m = str(e.message) ?? str(e.msg);
      const message = m !== undefined ? clean(m) : cut(JSON.stringify(e));
      const r: ParsedUpstreamError = { message };
      const type = str(e.type) ?? str(e.status);
      if (type) r.type = type;
      const code = typeof e.code === 'string' || typeof e.code === 'number' ? String(e.code) : undefined;
      if (code) r.code = code;
      if (typeof e.param === 'string') r.param = e.param;
      return r;
    }
    if (typeof e === 'string') return { message: clean(e) }; // Ollama
    const m = str(j.message) ?? str(j.detail) ?? str(j.error_message);
    if (m) {
      const r: ParsedUpstreamError = { message: clean(m) };
      const type = str(j.type);
      if (type && type !== 'error') r.type = type;
      return r;
    }
    if (Array.isArray(j.detail)) return { message: cut(JSON.stringify(j.detail)) };
  }
  return { message: `upstream returned HTTP ${status}: ${cut(text)}` };
}

const OPENAI_TO_ANTHROPIC: Record<string, string> = {
  invalid_request_error: 'invalid_request_error',
  authentication_error: 'authentication_error',
  permission_error: 'permission_error',
  not_found_error: 'not_found_error',
  rate_limit_error: 'rate_limit_error',
  insufficient_quota: 'rate_limit_error',
  server_error: 'api_error',
};

/**
 * Convert an upstream error into the client dialect's envelope and status, so SDKs raise their typed
 * errors. A non-error status (the upstream said 2xx but the body is unusable) becomes 502. `clean` as in
 * parseUpstreamError.
 */
export function translateError(
  _from: Dialect | 'unknown',
  to: Dialect,
  status: number,
  body: Buffer | string,
  contentType?: string,
  clean?: (s: string) => string,
): { status: number; body: string } {
  const st = status >= 400 && status <= 599 ? status : 502;
  const p = parseUpstreamError(status, body, contentType, clean);
  let type: string;
  if (to === 'anthropic') {
    type = p.type && ANTHROPIC_KNOWN.has(p.type) ? p.type : (p.type && OPENAI_TO_ANTHROPIC[p.type]) || errorTypeFor(to, st);
  } else {
    type = p.type && !ANTHROPIC_KNOWN.has(p.type) ? p.type : p.type === 'invalid_request_error' ? p.type : errorTypeFor(to, st);
  }
  if (to === 'anthropic' || to === 'ollama') return { status: st, body: errorEnvelope(to, st, type, p.message) };
  return {
    status: st,
    body: JSON.stringify({ error: { message: p.message, type, param: p.param ?? null, code: p.code ?? null } }),
  };
}

/** Whether an upstream error says the model lacks a capability the request used (so the chain should move on). */
export function isCapabilityError(message: string): boolean {
  return /does not support (images|vision|tools|thinking|audio)|not (a )?(multimodal|vision)|image input is not supported|tool(s)? (are|is) not supported/i.test(
    message,
  );
}
