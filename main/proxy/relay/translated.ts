// The translated relay: a provider whose `format` differs from the client's dialect gets the request in its
// own format at base_url + that format's path, and its answer (whole or streamed) goes back in the client's
// dialect. Same-dialect traffic never comes here (it stays a byte-for-byte passthrough, ./passthrough.ts).
import type { IncomingHttpHeaders } from 'node:http';
import * as formats from '../../formats/index.js';
import type { LogEntry } from '../../log/request-log.js';
import { describeTransportError, scrub } from '../errors.js';
import { upstreamHeaders } from '../headers.js';
import { copyUsage } from '../usage.js';
import type { UpstreamResponse } from '../upstream.js';
import { cutExtra, decodeWhole, decompressor, firstBytesWritten, header, isStreamType, MAX_LOGGED_BODY, round, type AttemptRelay, type Outcome, type RelayContext, type SkipAttempt } from './relay.js';

export type Format = formats.Dialect;

export interface TranslationPlan {
  from: Format; // the client's dialect
  to: Format; // the provider's format
  origin: string;
  path: string;
  body: Buffer;
  stream: boolean;
  clientWantsUsage: boolean;
  inputTokensEstimate?: number;
  /** What the translation mapped, flattened, changed or dropped (the log entry's translationNotes). */
  notes: string[];
  /** What was left out of the upstream request (the x-router67-dropped header). */
  dropped: string[];
  /** Upstream tool names → the client's, for the answer. */
  toolNames?: formats.ToolNames;
  /** Responses client: fields of the response it sees, and where the finished response is remembered. */
  responseFields?: Record<string, unknown>;
  onResponse?: (response: Record<string, unknown>) => void;
}

/** A Responses request's server-side state (item_reference, previous_response_id) resolved from router67's store. */
export interface ResponsesState {
  resolved?: formats.ResolvedState;
  error?: formats.UnknownReferenceError;
}

/** Resolves a Responses request's references for a stateless (translated) provider; undefined for other dialects. */
export function responsesState(from: Format, parsed: () => unknown, store: formats.ResponseStore): ResponsesState | undefined {
  if (from !== 'responses') return undefined;
  let json: unknown;
  try {
    json = parsed();
  } catch {
    return undefined; // planTranslation reports the bad body
  }
  try {
    return { resolved: formats.resolveState(json, store) };
  } catch (e) {
    if (e instanceof formats.UnknownReferenceError) return { error: e };
    throw e;
  }
}

const COUNT_TOKENS = '/v1/messages/count_tokens';

export function isCountTokens(url: string): boolean {
  return url.split('?', 1)[0] === COUNT_TOKENS;
}

export interface TranslatedRequest {
  /** The request path (and query) as routed. */
  url: string;
  headers: IncomingHttpHeaders;
  /** The model the client asked for (the answer names it). */
  requestedModel: string;
  /** The body parsed (once per request, on first use); throws when it is not JSON. */
  parse(): unknown;
  /** The Responses state the body refers to (resolved once per request, on first use). */
  state(): ResponsesState | undefined;
  responses: formats.ResponseStore;
}

/** Plans an attempt from the client's dialect `from` to a provider speaking `to`, or says why it has to be skipped. */
export function translatedRelay(
  r: TranslatedRequest,
  from: Format,
  to: Format,
  baseUrl: string,
  upstreamModel: string,
  strictTools: boolean,
): AttemptRelay | (SkipAttempt & { clientError?: formats.UnknownReferenceError }) {
  const plan = planTranslation(r.url, from, to, baseUrl, r.parse, upstreamModel, { strictTools }, r.state(), r.responses);
  if ('skip' in plan) return plan;
  return {
    origin: plan.origin,
    path: plan.path,
    body: plan.body,
    notes: plan.notes,
    headers: (set) => translatedHeaders(r.headers, plan, set),
    relay: (resp, ctx) => relayTranslated({ ...ctx, extra: { ...ctx.extra, ...translationHeaders(plan) }, resp, plan, requestedModel: r.requestedModel }),
  };
}

/** Plans a translated attempt, or says why this provider has to be skipped. */
export function planTranslation(
  url: string,
  from: Format,
  to: Format,
  baseUrl: string,
  parsed: () => unknown,
  upstreamModel: string,
  opts: { strictTools?: boolean } = {},
  state?: ResponsesState,
  store?: formats.ResponseStore,
): TranslationPlan | { skip: string; clientError?: formats.UnknownReferenceError } {
  const path = url.split('?', 1)[0]!;
  if (path === COUNT_TOKENS) return { skip: `provider speaks ${to}; only an Anthropic-format provider can count tokens` };
  if (path !== formats.upstreamPath(from)) return { skip: `provider speaks ${to}; ${path} cannot be translated` };
  if (state?.error) return { skip: state.error.message, clientError: state.error };
  let json: unknown;
  try {
    json = state?.resolved?.body ?? parsed();
  } catch {
    return { skip: 'request body is not valid JSON, so it cannot be translated' };
  }
  let t: formats.TranslatedRequest;
  try {
    t = formats.translateRequest(from, to, json, upstreamModel, { wantUsage: true, strictTools: opts.strictTools === true });
  } catch (e) {
    if (e instanceof formats.UnsupportedFeatureError || e instanceof formats.InvalidRequestError) return { skip: e.message };
    throw e;
  }
  const u = new URL(formats.upstreamUrl(baseUrl, to));
  const plan: TranslationPlan = {
    from,
    to,
    origin: u.origin,
    path: u.pathname + u.search,
    body: Buffer.from(JSON.stringify(t.body)),
    stream: t.stream,
    clientWantsUsage: t.clientWantsUsage,
    notes: [...(state?.resolved?.notes ?? []), ...t.notes],
    dropped: t.dropped,
  };
  if (t.inputTokensEstimate !== undefined) plan.inputTokensEstimate = t.inputTokensEstimate;
  if (t.toolNames) plan.toolNames = t.toolNames;
  const st = state?.resolved;
  if (st) {
    plan.responseFields = { previous_response_id: st.previousResponseId ?? null, store: st.store };
    if (st.store && store) {
      const input = st.input;
      const prev = st.previousResponseId;
      plan.onResponse = (r) => {
        if (typeof r.id === 'string' && Array.isArray(r.output)) store.record(r.id, prev, input, r.output as Record<string, unknown>[]);
      };
    } else if (!st.store) plan.notes.push('store: false — the response is not remembered');
  }
  return plan;
}

/** Response headers saying how a request was translated (and what it lost on the way). */
export function translationHeaders(plan: TranslationPlan): Record<string, string> {
  const h: Record<string, string> = { 'x-router67-translated': `${plan.from}->${plan.to}` };
  if (plan.dropped.length) h['x-router67-dropped'] = plan.dropped.map((d) => d.replace(/[^\x21-\x7e ]/g, '_')).join(', ');
  return h;
}

/**
 * Why the client's body cannot be translated at all — not valid JSON, or not a valid request of its own
 * dialect (`messages` not an array, …) — or undefined. That is the client's error, whichever provider is asked;
 * a request on a path no provider could translate (count_tokens, embeddings) is left to planTranslation.
 */
export function invalidForTranslation(url: string, from: Format, parsed: () => unknown): string | undefined {
  if (url.split('?', 1)[0] !== formats.upstreamPath(from)) return undefined;
  let json: unknown;
  try {
    json = parsed();
  } catch {
    return 'request body is not valid JSON';
  }
  try {
    formats.decodeRequest(from, json);
  } catch (e) {
    if (e instanceof formats.InvalidRequestError) return `invalid request: ${e.message}`;
    // anything else is a matter for each provider's translation (planTranslation)
  }
  return undefined;
}

/** Headers for a translated request: the client's, less its own dialect's headers; JSON, no compression. */
export function translatedHeaders(client: IncomingHttpHeaders, plan: TranslationPlan, set: Record<string, string>): Record<string, string | string[]> {
  const own: IncomingHttpHeaders = {};
  for (const k in client) {
    if (k.startsWith('anthropic-') || k.startsWith('openai-') || k === 'accept' || k === 'accept-encoding' || k === 'content-type') continue;
    own[k] = client[k];
  }
  const base: Record<string, string> = {
    'content-type': 'application/json',
    accept: plan.stream ? (plan.to === 'ollama' ? 'application/x-ndjson' : 'text/event-stream') : 'application/json',
    'accept-encoding': 'identity',
  };
  const lower = Object.keys(set).map((k) => k.toLowerCase());
  if (plan.to === 'anthropic' && !lower.includes('anthropic-version')) base['anthropic-version'] = '2023-06-01';
  return upstreamHeaders(own, true, { ...base, ...set });
}

// ---------- relaying the answer ----------

/** What the relay functions below share: the walker's context plus the answer and the plan. */
interface Ctx extends RelayContext {
  resp: UpstreamResponse;
  plan: TranslationPlan;
  requestedModel: string;
}

function send(ctx: Ctx, status: number, contentType: string, body: string): void {
  const { res, entry } = ctx;
  entry.ttfbMs = round(performance.now() - ctx.t0);
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), ...ctx.extra });
  res.end(body);
  entry.bytesOut = Buffer.byteLength(body);
  entry.status = status;
}


function encoderCtx(ctx: Ctx): formats.StreamEncoderCtx & { toolNames?: formats.ToolNames } {
  const { plan } = ctx;
  const e: formats.StreamEncoderCtx & { toolNames?: formats.ToolNames } = { requestedModel: ctx.requestedModel, clientWantsUsage: plan.clientWantsUsage };
  if (plan.toolNames) e.toolNames = plan.toolNames;
  if (plan.inputTokensEstimate !== undefined) e.inputTokensEstimate = plan.inputTokensEstimate;
  if (plan.responseFields) e.responseFields = plan.responseFields;
  if (plan.onResponse) e.onResponse = plan.onResponse;
  return e;
}

/** Relays a translated answer. 'fallback' means the client got nothing and the next provider may try. */
async function relayTranslated(ctx: Ctx): Promise<Outcome> {
  const streaming = isStreamType(header(ctx.resp.headers, 'content-type') ?? '');
  if (streaming && ctx.plan.stream && ctx.resp.statusCode < 400) return relayStream(ctx);
  return relayWhole(ctx, streaming);
}

async function relayWhole(ctx: Ctx, upstreamStreamed: boolean): Promise<Outcome> {
  const { resp, plan, attempt, entry } = ctx;
  const { body: buf, error, over } = await resp.collect(ctx.maxBuffered);
  if (error) {
    if (ctx.cancel.cancelled) return 'aborted';
    attempt.error = `response body cut off: ${describeTransportError(error, ctx.secrets)}`;
    return 'fallback';
  }
  if (over) {
    // translating means holding the whole answer: past the cap, this provider's answer cannot be used
    const msg = `upstream answer exceeds max_buffered_response_bytes (${ctx.maxBuffered} bytes) and would have to be translated whole; not relayed`;
    resp.abort(new Error(msg));
    attempt.error = msg;
    return 'fallback';
  }
  const ct = header(resp.headers, 'content-type');
  let plain: Buffer;
  try {
    plain = decodeWhole(buf, header(resp.headers, 'content-encoding'), ctx.maxBuffered);
  } catch (e) {
    attempt.error =
      (e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE'
        ? `upstream answer decompresses to more than max_buffered_response_bytes (${ctx.maxBuffered} bytes); not relayed`
        : 'upstream body could not be decompressed';
    return 'fallback';
  }
  if (resp.statusCode >= 400) {
    // every text taken from the body is scrubbed whole, before any cut
    const clean = (s: string) => scrub(s, ctx.secrets);
    const p = formats.parseUpstreamError(resp.statusCode, plain, ct, clean);
    attempt.error = p.message;
    // "this model does not support images/tools" is the provider, not the request: let the chain move on
    if (formats.isCapabilityError(p.message)) return 'fallback';
    const e = formats.translateError(plan.to, plan.from, resp.statusCode, plain, ct, clean);
    send(ctx, e.status, 'application/json', scrub(e.body, ctx.secrets));
    entry.state = 'error';
    return 'done';
  }
  const text = plain.toString('utf8');
  let out: string;
  let contentType = 'application/json';
  try {
    let canon: formats.Response;
    if (upstreamStreamed) {
      // the upstream streamed although asked not to: collect it into one body
      const c = formats.collectStream(plan.to, plan.to, text, { requestedModel: ctx.requestedModel });
      if (c.error) {
        attempt.error = scrub(c.error.message, ctx.secrets);
        return 'fallback';
      }
      canon = formats.decodeResponse(plan.to, c.body);
    } else {
      const json = JSON.parse(text) as Record<string, unknown>;
      // some hosts answer 200 with only an error object: that is a failed attempt, not an empty answer
      if (json && typeof json === 'object' && json.error && !('choices' in json) && !('content' in json) && !('output' in json) && !('message' in json)) {
        attempt.error = formats.parseUpstreamError(resp.statusCode, text, 'application/json', (s) => scrub(s, ctx.secrets)).message;
        return 'fallback';
      }
      canon = formats.decodeResponse(plan.to, json);
    }
    formats.restoreTools(canon, plan.toolNames, plan.to, plan.from);
    copyUsage(formats.tokenCounts(canon.usage), entry);
    if (plan.stream) {
      // the client asked for a stream and the upstream answered whole: stream it in one go
      out = formats.responseToStream(plan.from, canon, encoderCtx(ctx));
      contentType = formats.streamContentType(plan.from);
      entry.stream = true;
    } else {
      let o = formats.encodeResponse(plan.from, canon, { requestedModel: ctx.requestedModel });
      if (plan.responseFields) o = { ...o, ...plan.responseFields };
      out = JSON.stringify(o);
      plan.onResponse?.(o);
    }
  } catch (e) {
    attempt.error = `upstream answered ${resp.statusCode} with a body that is not a ${plan.to} response: ${scrub(String((e as Error).message ?? e), ctx.secrets).slice(0, 200)}`;
    return 'fallback';
  }
  if (ctx.secrets.length && ctx.secrets.some((s) => out.includes(s))) out = scrub(out, ctx.secrets);
  send(ctx, resp.statusCode, contentType, out);
  if (ctx.logBodies) entry.responseBody = out.slice(0, MAX_LOGGED_BODY);
  entry.state = 'done';
  return 'done';
}

function relayStream(ctx: Ctx): Promise<Outcome> {
  const { res, resp, plan, entry, attempt, cancel } = ctx;
  // every error event this stream ends with (cut, failed, timed out, or the upstream's own) carries the attempts
  // so far, this one's error included
  const errorExtra = (message: string) => {
    attempt.error ??= scrub(message, ctx.secrets);
    return cutExtra(ctx);
  };
  const tr = formats.createStreamTranslator(plan.to, plan.from, { ...encoderCtx(ctx), errorExtra });
  entry.stream = true;
  let started = false;
  let settled = false;
  // text quoting a key that was sent (an upstream error relayed as the dialect's error event) goes out scrubbed
  const clean = (t: string): string => (ctx.secrets.some((n) => t.includes(n)) ? scrub(t, ctx.secrets) : t);
  const encoding = header(resp.headers, 'content-encoding');
  const start = () => {
    started = true;
    res.writeHead(resp.statusCode, { 'content-type': formats.streamContentType(plan.from), 'cache-control': 'no-cache', ...ctx.extra });
    entry.ttfbMs = round(performance.now() - ctx.t0);
    entry.state = 'streaming';
  };
  const write = (s: string) => {
    entry.bytesOut += Buffer.byteLength(s);
    if (!res.write(s)) resp.pause();
  };

  return new Promise<Outcome>((resolve) => {
    const onDrain = () => resp.resume();
    res.on('drain', onDrain);
    const settle = (o: Outcome) => {
      if (settled) return;
      settled = true;
      res.off('drain', onDrain);
      copyUsage(tr.usage(), entry);
      resolve(o);
    };
    // Before any byte reached the client, an upstream error (or an empty/cut stream) means: next provider.
    const failedEarly = (): boolean => {
      if (started || !tr.upstreamError) return false;
      attempt.error = scrub(tr.upstreamError.message, ctx.secrets);
      settle('fallback');
      return true;
    };
    const onText = (out: string) => {
      if (settled) return;
      if (failedEarly()) return;
      if (!out) return;
      const first = !started;
      if (first) start();
      // an upstream error (set by the push that made `out`) is relayed as the dialect's error event: checked for a key
      write(tr.upstreamError ? clean(out) : out);
      if (first) firstBytesWritten(res, ctx);
      if (tr.upstreamError) {
        // the upstream reported an error mid-stream: the client got the dialect's error event
        entry.error = attempt.error = scrub(tr.upstreamError.message, ctx.secrets);
        entry.state = 'error';
        res.end();
        settle('done');
      }
    };
    const onEnd = () => {
      if (settled) return;
      const out = tr.end();
      if (failedEarly()) return;
      if (!started) {
        start();
        ctx.update(entry);
      }
      if (out) write(clean(out));
      if (tr.upstreamError) {
        entry.error = attempt.error = scrub(tr.upstreamError.message, ctx.secrets);
        entry.state = 'error';
      }
      res.end();
      settle('done');
    };
    const onError = (err: Error) => {
      if (settled) return;
      if (cancel.cancelled) {
        if (started && !res.writableEnded && !ctx.clientGone()) {
          const msg = cancel.reason!.message;
          res.end(clean(tr.fail(msg)));
          entry.error = msg;
          entry.state = 'error';
          return settle('done');
        }
        return settle('aborted');
      }
      const msg = `upstream stream failed: ${describeTransportError(err, ctx.secrets)}`;
      attempt.error = msg;
      if (!started) return settle('fallback');
      entry.error = msg;
      entry.state = 'error';
      res.end(clean(tr.fail(msg)));
      settle('done');
    };
    let push: (c: Buffer) => void = (c) => onText(tr.push(c));
    let finish = onEnd;
    if (encoding && encoding !== 'identity') {
      const z = decompressor(encoding, true)!;
      z.on('data', (c: Buffer) => onText(tr.push(c)));
      z.on('error', (err) => onError(err));
      z.on('end', onEnd);
      push = (c) => z.write(c);
      finish = () => z.end();
    }
    resp.attach({ data: (c) => push(c), end: () => finish(), error: onError });
  });
}
