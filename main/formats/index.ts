// The seam the proxy calls: translation between OpenAI Chat, OpenAI Responses, Anthropic Messages and Ollama.
import {
  type Dialect,
  type Request,
  type Response,
  type Sink,
  type StreamDecoder,
  type StreamEncoder,
  type StreamEncoderCtx,
  type Usage,
  InvalidRequestError,
  UnsupportedFeatureError,
  isObj,
} from './canonical.js';
import * as anthropic from './anthropic.js';
import * as openai from './openai.js';
import * as responses from './responses.js';
import * as ollama from './ollama.js';
import { errorEnvelope, streamErrorEvent as streamErrorEventFull, translateError, parseUpstreamError, errorTypeFor, isCapabilityError } from './errors.js';
import { estimateTokens } from './tokens.js';
import { ResponseCollector, responseToEvents } from './convert.js';
import type { Codec } from './codec.js';
import { type ToolNames, adaptTools, restoreResponse, restoringSink } from './tools.js';

export type { Dialect } from './canonical.js';
export { UnsupportedFeatureError, InvalidRequestError } from './canonical.js';
export type { StreamEncoderCtx } from './canonical.js';
export { ResponseStore, UnknownReferenceError, resolveState, type ResolvedState } from './state-store.js';
export { fixAnthropicBudget, mayHaveSmallBudget } from './reasoning.js';
export { errorEnvelope, translateError, parseUpstreamError, errorTypeFor, isCapabilityError };
export type { ToolNames } from './tools.js';

const PATHS: Record<Dialect, string> = {
  anthropic: '/v1/messages',
  openai: '/v1/chat/completions',
  responses: '/v1/responses',
  ollama: '/api/chat',
};

export function upstreamPath(format: Dialect): string {
  return PATHS[format];
}

/**
 * base_url + the format's own path. base_url stops before /v1 (router67's convention); one that already
 * ends in /v1 is understood, not doubled; for Ollama a trailing /v1 or /api is dropped.
 */
export function upstreamUrl(baseUrl: string, format: Dialect): string {
  // the base_url's own query (Azure's ?api-version=, a ?key=) goes after the format's path
  const q = baseUrl.indexOf('?');
  const query = q < 0 ? '' : baseUrl.slice(q);
  let base = (q < 0 ? baseUrl : baseUrl.slice(0, q)).replace(/\/+$/, '');
  const path = PATHS[format];
  if (format === 'ollama') base = base.replace(/\/(v1|api)$/, '');
  else if (base.endsWith('/v1')) return base + path.slice(3) + query;
  return base + path + query;
}

// ---------- requests and responses ----------

/** The four wire formats, each one module (anthropic.ts, openai.ts, responses.ts, ollama.ts). */
const CODECS: Record<Dialect, Codec> = { anthropic, openai, responses, ollama };

function decodeRequest(from: Dialect, body: unknown): Request {
  return CODECS[from].decodeRequest(body);
}
function encodeRequest(to: Dialect, req: Request, model: string): Record<string, unknown> {
  return CODECS[to].encodeRequest(req, model);
}
function decodeResponse(from: Dialect, body: unknown): Response {
  return CODECS[from].decodeResponse(body);
}
function encodeResponse(to: Dialect, resp: Response, ctx: { requestedModel: string }): Record<string, unknown> {
  return CODECS[to].encodeResponse(resp, ctx);
}

export { decodeRequest, encodeRequest, decodeResponse, encodeResponse };

function clientWantsUsage(from: Dialect, body: unknown): boolean {
  if (from !== 'openai') return true; // usage is part of the other dialects' streams
  return isObj(body) && isObj(body.stream_options) && body.stream_options.include_usage === true;
}
function isStream(from: Dialect, body: unknown): boolean {
  if (!isObj(body)) return false;
  return from === 'ollama' ? body.stream !== false : body.stream === true;
}

export interface TranslatedRequest {
  body: unknown;
  stream: boolean;
  clientWantsUsage: boolean;
  /** Conservative local estimate of the prompt's tokens (translated requests only). */
  inputTokensEstimate?: number;
  /** What the translation mapped, flattened, changed or dropped (tools, state, reasoning, system messages), for the log. */
  notes: string[];
  /** Short labels of what was left out of the upstream request. */
  dropped: string[];
  /** Upstream tool names → the client's (namespaces, free-form tools, renamed tools), for the answer. */
  toolNames?: ToolNames;
}

/**
 * Translate a client request for an upstream speaking `to`. Same dialect: only the model is rewritten
 * (and an OpenAI stream asks for usage when `wantUsage`). Throws UnsupportedFeatureError when `to`
 * cannot express the request, InvalidRequestError when the body is malformed.
 */
export function translateRequest(
  from: Dialect,
  to: Dialect,
  body: unknown,
  upstreamModel: string,
  opts: { wantUsage: boolean; strictTools?: boolean },
): TranslatedRequest {
  const stream = isStream(from, body);
  const wants = clientWantsUsage(from, body);
  if (from === to) {
    if (!isObj(body)) throw new InvalidRequestError('request body must be a JSON object');
    const out: Record<string, unknown> = { ...body, model: upstreamModel };
    if (to === 'openai' && stream && opts.wantUsage && !wants) {
      out.stream_options = { ...(isObj(body.stream_options) ? body.stream_options : {}), include_usage: true };
    }
    return { body: out, stream, clientWantsUsage: wants, notes: [], dropped: [] };
  }
  const req = decodeRequest(from, body);
  const clientOnly = (req as Request & { clientOnly?: string[] }).clientOnly;
  if (clientOnly?.length) throw new UnsupportedFeatureError(to, clientOnly[0]!);
  const tools = adaptTools(req, from, to, body, opts.strictTools === true);
  const t: TranslatedRequest = {
    body: encodeRequest(to, req, upstreamModel),
    stream: req.stream,
    clientWantsUsage: wants,
    inputTokensEstimate: estimateTokens(req),
    notes: [...new Set([...(req.notes ?? []), ...tools.notes])],
    dropped: tools.dropped,
  };
  if (tools.names) t.toolNames = tools.names;
  return t;
}

/** A decoded upstream answer with the client's tool names back (namespaces, free-form calls). */
export function restoreTools(resp: Response, names: ToolNames | undefined, upstream: Dialect, client: Dialect): Response {
  return restoreResponse(resp, names, upstream, client);
}

/** Translate a whole (non-streaming) upstream response body into the client's dialect. */
export function translateResponse(from: Dialect, to: Dialect, body: unknown, ctx: { requestedModel: string; toolNames?: ToolNames }): unknown {
  if (from === to) return isObj(body) ? { ...body, model: ctx.requestedModel } : body;
  return encodeResponse(to, restoreResponse(decodeResponse(from, body), ctx.toolNames, from, to), ctx);
}

// ---------- streams ----------

/** The canonical usage under the log entry's names (main/proxy/usage.ts documents them); unset counts stay unset. */
export interface TokenCounts {
  inputTokens?: number;
  outputTokens?: number;
  cacheReadTokens?: number;
  cacheWriteTokens?: number;
  reasoningTokens?: number;
}

export function tokenCounts(u: Usage): TokenCounts {
  const r: TokenCounts = {};
  if (u.input !== undefined) r.inputTokens = u.input;
  if (u.output !== undefined) r.outputTokens = u.output;
  if (u.cacheRead !== undefined) r.cacheReadTokens = u.cacheRead;
  if (u.cacheWrite !== undefined) r.cacheWriteTokens = u.cacheWrite;
  if (u.reasoning !== undefined) r.reasoningTokens = u.reasoning;
  return r;
}

export interface StreamTranslator {
  /** Upstream bytes in, client bytes out ('' until there is something to send). */
  push(chunk: Buffer): string;
  /** The upstream body ended: the closing events, or the dialect's error event if it was cut short. */
  end(): string;
  /** The upstream failed (transport error, timeout): the dialect's error event. */
  fail(message: string): string;
  // every error event written carries the fields of the context's errorExtra
  usage(): TokenCounts;
  /** Whether any client bytes were produced yet (before that, the proxy may still fall back). */
  readonly started: boolean;
  /** The upstream sent an error event (message, type) — e.g. overloaded before any content. */
  readonly upstreamError: { message: string; type?: string } | undefined;
}

function makeDecoder(from: Dialect, sink: Sink): StreamDecoder {
  return new CODECS[from].Decoder(sink);
}
function makeEncoder(to: Dialect, ctx: StreamEncoderCtx): StreamEncoder {
  return new CODECS[to].Encoder(ctx);
}

/** What both stream translators share: the upstream's decoder (usage for the log, its first error event). */
abstract class UpstreamStream {
  protected readonly dec: StreamDecoder;
  protected readonly td = new TextDecoder('utf-8');
  started = false;
  upstreamError: { message: string; type?: string } | undefined;
  constructor(from: Dialect, sink: Sink) {
    this.dec = makeDecoder(from, (ev) => {
      if (ev.type === 'error' && !this.upstreamError) this.upstreamError = ev.errorType ? { message: ev.message, type: ev.errorType } : { message: ev.message };
      sink(ev);
    });
  }
  usage(): TokenCounts {
    return tokenCounts(this.dec.usage);
  }
}

class Translator extends UpstreamStream implements StreamTranslator {
  private readonly enc: StreamEncoder;
  constructor(from: Dialect, to: Dialect, ctx: StreamEncoderCtx, toolNames?: ToolNames) {
    const enc = makeEncoder(to, ctx);
    super(from, restoringSink((ev) => enc.on(ev), toolNames, from, to));
    this.enc = enc;
  }
  private take(): string {
    const s = this.enc.take();
    if (s) this.started = true;
    return s;
  }
  push(chunk: Buffer): string {
    if (this.enc.finished) return '';
    this.dec.push(this.td.decode(chunk, { stream: true }));
    return this.take();
  }
  end(): string {
    if (!this.enc.finished) {
      const rest = this.td.decode();
      if (rest) this.dec.push(rest);
      this.dec.end();
    }
    return this.take();
  }
  fail(message: string): string {
    if (this.enc.finished) return '';
    this.enc.on({ type: 'error', message });
    return this.take();
  }
}

/**
 * Same-dialect stream: bytes pass through untouched; the decoder only watches for usage (for the log).
 * For OpenAI, when usage was requested for the log but not by the client, the usage-only chunk is dropped.
 */
class Passthrough extends UpstreamStream implements StreamTranslator {
  private done = false;
  private readonly strip: boolean;
  private carry = '';
  constructor(
    private readonly dialect: Dialect,
    private readonly ctx: StreamEncoderCtx,
  ) {
    super(dialect, (ev) => {
      if (ev.type === 'end' || ev.type === 'error') this.done = true;
    });
    this.strip = dialect === 'openai' && !ctx.clientWantsUsage;
  }
  push(chunk: Buffer): string {
    const text = this.td.decode(chunk, { stream: true });
    this.dec.push(text);
    const out = this.strip ? this.filter(text) : text;
    if (out) this.started = true;
    return out;
  }
  private filter(text: string): string {
    // Drop `data: {..."choices":[]..."usage":{...}}` events; everything else passes as it came.
    let s = this.carry + text;
    const lf = s.lastIndexOf('\n\n');
    const crlf = s.lastIndexOf('\n\r\n');
    const cut = Math.max(lf < 0 ? -1 : lf + 2, crlf < 0 ? -1 : crlf + 3);
    if (cut < 0) {
      this.carry = s;
      return '';
    }
    this.carry = s.slice(cut);
    s = s.slice(0, cut);
    let out = '';
    let start = 0;
    while (start < s.length) {
      const a = s.indexOf('\n\n', start);
      const b = s.indexOf('\n\r\n', start);
      const e = a < 0 ? b + 3 : b < 0 ? a + 2 : Math.min(a + 2, b + 3);
      const stop = e > start ? e : s.length;
      const ev = s.slice(start, stop);
      if (!(ev.includes('"choices":[]') && ev.includes('"usage"'))) out += ev;
      start = stop;
    }
    return out;
  }
  end(): string {
    const rest = this.td.decode();
    if (rest) this.dec.push(rest);
    const tail = this.carry + rest;
    this.carry = '';
    this.dec.end();
    let out = this.strip ? (tail.includes('"choices":[]') && tail.includes('"usage"') ? '' : tail) : rest;
    if (!this.done) {
      // the decoder reported a truncated stream; make it visible to the client
      const message = 'upstream stream ended before completion';
      out += streamErrorEventFull(this.dialect, message, undefined, undefined, this.ctx.errorExtra?.(message));
      this.done = true;
    }
    if (out) this.started = true;
    return out;
  }
  fail(message: string): string {
    if (this.done) return '';
    this.done = true;
    this.started = true;
    return streamErrorEventFull(this.dialect, message, undefined, undefined, this.ctx.errorExtra?.(message));
  }
}

export function createStreamTranslator(from: Dialect, to: Dialect, ctx: StreamEncoderCtx & { toolNames?: ToolNames }): StreamTranslator {
  if (from === to) return new Passthrough(from, ctx);
  return new Translator(from, to, ctx, ctx.toolNames);
}

/** A whole upstream response, delivered to a client that asked for a stream. */
export function translateResponseToStream(from: Dialect, to: Dialect, body: unknown, ctx: StreamEncoderCtx & { toolNames?: ToolNames }): string {
  return responseToStream(to, restoreResponse(decodeResponse(from, body), ctx.toolNames, from, to), ctx);
}
/** A canonical response as the dialect's whole stream. */
export function responseToStream(to: Dialect, resp: Response, ctx: StreamEncoderCtx): string {
  const enc = makeEncoder(to, ctx);
  for (const ev of responseToEvents(resp)) enc.on(ev);
  return enc.take();
}

/** A whole upstream stream (already received), delivered to a client that asked for one JSON body. */
export function collectStream(from: Dialect, to: Dialect, text: string, ctx: { requestedModel: string }): { body?: unknown; error?: { message: string; type?: string } } {
  const c = new ResponseCollector();
  const dec = makeDecoder(from, (ev) => c.on(ev));
  dec.push(text);
  dec.end();
  if (c.error) return { error: c.error };
  return { body: encodeResponse(to, c.response(), ctx) };
}

/** The dialect's in-stream error event. */
export function streamErrorEvent(to: Dialect, message: string, type?: string): string {
  return streamErrorEventFull(to, message, type);
}

/** Content type of a streaming body in a dialect. */
export function streamContentType(d: Dialect): string {
  return d === 'ollama' ? 'application/x-ndjson' : 'text/event-stream; charset=utf-8';
}

// ---------- count_tokens, models ----------

/** A conservative local estimate of a request's input tokens (never a silent underestimate). */
export function estimateInputTokens(from: Dialect, body: unknown): number {
  return estimateTokens(decodeRequest(from, body));
}

/** `GET /v1/models` (Ollama: `/api/tags`) body in the client's dialect. */
export function modelsBody(d: Dialect, names: string[]): unknown {
  return CODECS[d].modelsBody(names);
}

// ---------- same-dialect Anthropic passthrough: thinking we signed ourselves ----------

export { hasPackedSignatures, dropPackedReasoning, sanitizeAnthropicThinking } from './reasoning.js';

export type { Response, Request };
