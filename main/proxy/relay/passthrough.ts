// The passthrough relay: the provider speaks the client's dialect. The body goes upstream with only its model
// rewritten (and the few same-dialect repairs of sameDialectBody); the answer comes back byte for byte — whole
// or event by event — with every secret that was sent scrubbed from it.
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Dialect } from '../../log/request-log.js';
import { dropPackedReasoning, fixAnthropicBudget, hasPackedSignatures, mayHaveSmallBudget, sanitizeAnthropicThinking } from '../../formats/reasoning.js';
import { resolveState, type ResponseStore } from '../../formats/state-store.js';
import { rewrittenBody, type ModelField } from '../body.js';
import { errorBody, streamErrorEvent } from '../dialect.js';
import { describeTransportError, scrub, scrubJsonText, secretNeedles, summariseErrorBody } from '../errors.js';
import { responseHeaders, upstreamHeaders } from '../headers.js';
import { upstreamTarget } from '../upstream-url.js';
import type { Overflow, UpstreamResponse } from '../upstream.js';
import { copyUsage, readUsage, readWholeUsage, StreamUsage, WHOLE_USAGE_SCAN_FROM } from '../usage.js';
import { cutExtra, decodeWhole, decompressor, firstBytesWritten, header, isStreamType, MAX_LOGGED_BODY, round, type AttemptRelay, type Outcome, type RelayContext } from './relay.js';

export interface PassthroughRequest {
  /** The request path (and query) as routed. */
  url: string;
  dialect: Dialect;
  headers: IncomingHttpHeaders;
  body: Buffer;
  field: ModelField;
  /** The body parsed (once per request, on first use); throws when it is not JSON. */
  parse(): unknown;
  responses: ResponseStore;
}

/** Plans a same-dialect attempt at `baseUrl` for `upstreamModel`. */
export function passthroughRelay(r: PassthroughRequest, baseUrl: string, upstreamModel: string): AttemptRelay {
  const notes: string[] = [];
  let body: Buffer | Buffer[] | undefined;
  if (r.dialect === 'responses') body = responsesPassthroughBody(r.body, r.parse, r.responses, upstreamModel);
  body ??= sameDialectBody(r.dialect, r.body, r.field, upstreamModel, (n) => notes.push(n));
  const target = upstreamTarget(baseUrl, r.url);
  const dialect = r.dialect;
  return {
    origin: target.origin,
    path: target.path,
    body,
    notes,
    headers: (set) => upstreamHeaders(r.headers, true, set),
    relay: (resp, ctx) => {
      const ct = header(resp.headers, 'content-type') ?? '';
      return isStreamType(ct) ? relayStream(resp, ctx, dialect, ct) : relayWhole(resp, ctx, dialect);
    },
  };
}

const ITEM_REFERENCE = Buffer.from('item_reference');
const PREVIOUS_RESPONSE_ID = Buffer.from('previous_response_id');

/**
 * A same-format Responses provider keeps its own state; references to items router67 itself returned (an
 * earlier turn answered by a translated provider) are replaced by the items. Undefined: send the body as it is.
 */
export function responsesPassthroughBody(raw: Buffer, parsed: () => unknown, store: ResponseStore, upstreamModel: string): Buffer | undefined {
  const packed = hasPackedSignatures(raw);
  // cheap checks on the raw bytes first: same-format traffic is only decoded when it may need this
  const refs = store.size > 0 && (raw.indexOf(ITEM_REFERENCE) >= 0 || raw.indexOf(PREVIOUS_RESPONSE_ID) >= 0);
  if (!refs && !packed) return undefined;
  let body: Record<string, unknown> | undefined;
  try {
    body = resolveState(parsed(), store, true).body;
    if (packed || body) body = dropPackedReasoning(body ?? parsed());
  } catch {
    return undefined;
  }
  if (!body) return undefined;
  return Buffer.from(JSON.stringify({ ...body, model: upstreamModel }));
}

/**
 * The body for a same-dialect attempt: the model rewritten in place. An Anthropic conversation that carries
 * thinking router67 wrapped (from a non-Anthropic upstream) is the one exception: those blocks are unwrapped
 * or dropped so Anthropic never sees a forged signature. The check is one indexOf on the raw bytes.
 */
export function sameDialectBody(dialect: string, body: Buffer, field: ModelField, upstreamModel: string, onNote?: (note: string) => void): Buffer | Buffer[] {
  const packed = dialect === 'anthropic' && hasPackedSignatures(body);
  // Claude Code's background calls ask for a 500-token thinking budget; Anthropic's minimum is 1024
  const small = dialect === 'anthropic' && mayHaveSmallBudget(body);
  if (packed || small) {
    try {
      let j = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
      if (packed) j = sanitizeAnthropicThinking(j) as Record<string, unknown>;
      const fix = small ? fixAnthropicBudget(j) : undefined;
      if (fix) {
        j = fix.body;
        onNote?.(fix.note);
      }
      j.model = upstreamModel;
      return Buffer.from(JSON.stringify(j));
    } catch {
      /* not JSON: relayed as it is */
    }
  }
  return rewrittenBody(body, field, upstreamModel);
}

/**
 * A non-streaming answer: read whole (so a drop mid-body can still fall back), then sent at once — up to
 * max_buffered_response_bytes; a larger one is relayed as it arrives (see relayUnbuffered).
 */
async function relayWhole(resp: UpstreamResponse, ctx: RelayContext, dialect: Dialect): Promise<Outcome> {
  const { res, entry, attempt, secrets, maxBuffered } = ctx;
  const { body: buf, error, over } = await resp.collect(maxBuffered);
  if (error) {
    if (ctx.cancel.cancelled) return 'aborted';
    attempt.error = `response body cut off: ${describeTransportError(error, secrets)}`;
    return 'fallback';
  }
  if (over) return relayUnbuffered(resp, ctx, over);
  const headers = responseHeaders(resp.headers, true, secrets);
  // an answer (an error, mostly) may quote the key it was sent: the client gets it scrubbed. A compressed
  // success body is not decoded for this; a plain one costs one search per secret.
  let out = secrets.length && (resp.statusCode >= 400 || !headers['content-encoding']) ? scrubbedBody(buf, headers, secrets, maxBuffered, resp.statusCode) : buf;
  if (out === undefined) {
    // an error body router67 cannot decode is not relayed (the client could, key and all): its own error instead
    const msg = `the provider's error body could not be decoded (content-encoding: ${header(headers, 'content-encoding')}); router67 did not relay it`;
    attempt.error = msg;
    out = Buffer.from(errorBody(dialect, resp.statusCode, `router67: ${msg}`));
    delete headers['content-encoding'];
    headers['content-type'] = 'application/json';
  }
  headers['content-length'] = String(out.length);
  Object.assign(headers, ctx.extra);
  entry.ttfbMs = round(performance.now() - ctx.t0);
  res.writeHead(resp.statusCode, headers);
  res.end(out);
  entry.bytesOut = out.length;
  const ct = header(resp.headers, 'content-type') ?? '';
  if (/json/i.test(ct) && buf.length < 16 * 1024 * 1024) {
    try {
      const plain = decodeWhole(buf, header(resp.headers, 'content-encoding'), maxBuffered);
      // a success whose body is not kept has its usage read from the usage values alone, not the whole body
      const scan = resp.statusCode < 400 && !ctx.logBodies && plain.length >= WHOLE_USAGE_SCAN_FROM;
      if (!scan || !readWholeUsage(plain, entry)) {
        const json = JSON.parse(plain.toString('utf8')) as unknown;
        readUsage(json, entry);
        if (resp.statusCode >= 400) attempt.error = summariseErrorBody(plain.toString('utf8'), ct, secrets) || `HTTP ${resp.statusCode}`;
        if (ctx.logBodies) entry.responseBody = plain.toString('utf8', 0, Math.min(plain.length, MAX_LOGGED_BODY));
      }
    } catch {
      /* not JSON after all: relayed as it was */
    }
  }
  entry.state = resp.statusCode >= 400 ? 'error' : 'done';
  return 'done';
}

/**
 * A non-streaming answer larger than the buffering cap (passthrough only: it needs no decoding). The headers
 * and the bytes read so far go out now, the rest as it arrives, with backpressure; there is no fallback from
 * here. The upstream's content-length (if any) still holds, as the bytes go out unchanged; a cut-off ends by
 * destroying the client connection, so it can never pass for a complete answer.
 */
function relayUnbuffered(resp: UpstreamResponse, ctx: RelayContext, over: Overflow): Promise<Outcome> {
  const { res, entry, attempt } = ctx;
  const headers = responseHeaders(resp.headers, false, ctx.secrets);
  Object.assign(headers, ctx.extra);
  entry.ttfbMs = round(performance.now() - ctx.t0);
  res.writeHead(resp.statusCode, headers);
  entry.state = 'streaming';
  ctx.update(entry);
  return new Promise<Outcome>((resolve) => {
    const write = (b: Buffer) => {
      entry.bytesOut += b.length;
      if (!res.write(b)) resp.pause();
    };
    const onDrain = () => resp.resume();
    res.on('drain', onDrain);
    const settle = (o: Outcome) => {
      res.off('drain', onDrain);
      resolve(o);
    };
    for (const c of over.chunks.splice(0)) write(c);
    resp.attach({
      data: write,
      end: () => {
        res.end();
        entry.state = resp.statusCode >= 400 ? 'error' : 'done';
        settle('done');
      },
      error: (err) => {
        if (ctx.cancel.cancelled) return settle('aborted');
        const msg = `response body cut off after ${entry.bytesOut} bytes had been relayed: ${describeTransportError(err, ctx.secrets)}`;
        attempt.error = msg;
        entry.error = msg;
        entry.state = 'error';
        res.destroy();
        settle('done');
      },
    });
    if (!res.writableNeedDrain) resp.resume();
  });
}

/**
 * A stream: nothing is sent until the first chunk arrives (a failure before it falls back); then complete
 * events are written as they arrive, honouring backpressure. A partial event is held until its end comes,
 * so a failure mid-stream can end the stream with the dialect's own error event — never a clean close.
 */
function relayStream(resp: UpstreamResponse, ctx: RelayContext, dialect: Dialect, ct: string): Promise<Outcome> {
  const { res, entry, attempt, cancel, secrets } = ctx;
  const encoding = header(resp.headers, 'content-encoding');
  const compressed = !!encoding && encoding !== 'identity';
  const ndjson = /ndjson/i.test(ct);
  const usage = new StreamUsage();
  const usageSink = compressed ? usageDecoder(encoding!, (c) => usage.push(c)) : undefined;
  const terminators = streamTerminators(dialect);
  let sawEnd = terminators === undefined;
  let started = false;
  let tail: Buffer | undefined;
  entry.stream = true;
  // an event quoting the key it was sent (e.g. a stream error) goes to the client scrubbed; complete events only
  let needles: Buffer[] | undefined;
  const clean = (b: Buffer): Buffer => {
    if (!secrets.length || !holdsSecret(b, (needles ??= needlesOf(secrets)))) return b;
    return Buffer.from(scrub(b.toString('utf8'), secrets));
  };

  const start = () => {
    started = true;
    const headers = responseHeaders(resp.headers, true, secrets);
    Object.assign(headers, ctx.extra);
    res.writeHead(resp.statusCode, headers);
    entry.ttfbMs = round(performance.now() - ctx.t0);
    entry.state = 'streaming';
  };
  const write = (b: Buffer) => {
    entry.bytesOut += b.length;
    if (!res.write(b)) resp.pause();
  };

  return new Promise<Outcome>((resolve) => {
    const onDrain = () => resp.resume();
    res.on('drain', onDrain);
    const settle = (o: Outcome) => {
      res.off('drain', onDrain);
      const done = () => {
        usage.end();
        copyUsage(usage, entry);
        resolve(o);
      };
      // a compressed stream's decoder hands over its last bytes (the usage event, usually) asynchronously:
      // the entry is finished (and priced) once it has, or has failed
      if (usageSink && !usageSink.destroyed) {
        usageSink.once('close', done);
        usageSink.end();
      } else done();
    };
    const onData = (chunk: Buffer) => {
      if (started) return relayChunk(chunk);
      start();
      relayChunk(chunk);
      firstBytesWritten(res, ctx);
    };
    const relayChunk = (chunk: Buffer) => {
      if (compressed) {
        usageSink?.write(chunk);
        write(chunk);
        return;
      }
      const data = tail ? Buffer.concat([tail, chunk]) : chunk;
      const cut = ndjson ? data.lastIndexOf(0x0a) + 1 : lastEventEnd(data);
      if (cut <= 0) {
        tail = data;
        if (tail.length > 1024 * 1024) {
          write(clean(tail)); // an event this large is passed on as it is
          tail = undefined;
        }
        return;
      }
      const out = cut === data.length ? data : data.subarray(0, cut);
      tail = cut === data.length ? undefined : data.subarray(cut);
      // an upstream's error (or end) event, and whatever follows it, is checked for a quoted key; the events
      // before it are not (the hot path pays nothing more than the end-marker search it already makes)
      if (!sawEnd && hasAny(out, terminators!)) sawEnd = true;
      write(sawEnd || resp.statusCode >= 400 ? clean(out) : out);
      usage.push(out);
    };
    const onEnd = () => {
      if (!started) {
        start();
        ctx.update(entry);
      }
      if (tail) {
        usage.push(tail);
        write(clean(tail));
        if (!sawEnd && hasAny(tail, terminators!)) sawEnd = true;
        tail = undefined;
      }
      if (!sawEnd && !compressed && resp.statusCode < 400) {
        const msg = 'upstream closed the stream before its end event';
        attempt.error = msg;
        entry.error = msg;
        entry.state = 'error';
        write(Buffer.from(streamErrorEvent(dialect, msg, cutExtra(ctx))));
      }
      res.end();
      settle('done');
    };
    const onError = (err: Error) => {
      if (cancel.cancelled) {
        if (started && !res.writableEnded && !ctx.clientGone()) {
          const msg = cancel.reason!.message;
          attempt.error ??= msg;
          res.end(streamErrorEvent(dialect, msg, cutExtra(ctx)));
          entry.error = msg;
          entry.state = 'error';
          return settle('done');
        }
        return settle('aborted');
      }
      const msg = `upstream stream failed: ${describeTransportError(err, secrets)}`;
      attempt.error = msg;
      if (!started) return settle('fallback');
      entry.error = msg;
      entry.state = 'error';
      if (compressed) res.destroy();
      else res.end(streamErrorEvent(dialect, msg, cutExtra(ctx)));
      settle('done');
    };
    resp.attach({ data: onData, end: onEnd, error: onError });
  });
}

/** Index just past the last complete SSE event ("\n\n" or "\r\n\r\n"), or 0. */
function lastEventEnd(b: Buffer): number {
  const lf = b.lastIndexOf('\n\n');
  const crlf = b.lastIndexOf('\r\n\r\n');
  return Math.max(lf < 0 ? 0 : lf + 2, crlf < 0 ? 0 : crlf + 4);
}

/** Markers that end a stream of each dialect, cleanly or with its own error; undefined when we cannot tell. */
function streamTerminators(d: Dialect): string[] | undefined {
  switch (d) {
    case 'anthropic':
      return ['message_stop', 'event: error'];
    case 'openai':
      return ['[DONE]', 'data: {"error"'];
    case 'responses':
      return ['response.completed', 'response.failed', 'response.incomplete', 'event: error'];
    case 'ollama':
      return ['"done":true', '"done": true', '"error"'];
    default:
      return undefined;
  }
}

function hasAny(b: Buffer, markers: string[]): boolean {
  for (const m of markers) if (b.indexOf(m) >= 0) return true;
  return false;
}

/**
 * A whole body with every secret form replaced, or the same buffer when none occurs. A compressed body is
 * decoded to look; when it had to be changed it is sent decoded (content-encoding dropped from `headers`). An
 * error body is parsed when it is JSON, so a key quoted with escapes (`\/`, `\uXXXX`) is found too; one that
 * cannot be decoded gives undefined (it is not relayed).
 */
function scrubbedBody(buf: Buffer, headers: Record<string, string | string[]>, secrets: readonly string[], max: number, status: number): Buffer | undefined {
  let plain: Buffer;
  try {
    plain = decodeWhole(buf, header(headers, 'content-encoding'), max);
  } catch {
    return status >= 400 ? undefined : buf;
  }
  let out = status >= 400 && looksJson(plain) ? scrubJsonText(plain.toString('utf8'), secrets) : undefined;
  if (out === undefined) {
    if (!holdsSecret(plain, needlesOf(secrets))) return buf;
    out = scrub(plain.toString('utf8'), secrets);
  }
  delete headers['content-encoding'];
  return Buffer.from(out);
}

/** Whether a body starts (after white space) like a JSON object or array. */
function looksJson(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) return true;
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return false;
  }
  return false;
}

/** Needles per secrets list, as bytes (secretNeedles: those that contain no other form). */
const needleCache = new WeakMap<readonly string[], Buffer[]>();

function needlesOf(secrets: readonly string[]): Buffer[] {
  let n = needleCache.get(secrets);
  if (!n) needleCache.set(secrets, (n = secretNeedles(secrets).map((s) => Buffer.from(s))));
  return n;
}

/** Whether the chunk holds one of the needles (checked byte-wise, no string made). */
function holdsSecret(b: Buffer, needles: readonly Buffer[]): boolean {
  for (const n of needles) if (b.indexOf(n) >= 0) return true;
  return false;
}

/** A compressed stream's copy, decoded only to read its usage; an unknown encoding is not read. */
function usageDecoder(encoding: string, onData: (b: Buffer) => void): Duplex | undefined {
  const z = decompressor(encoding, false) as Duplex | undefined;
  if (!z) return undefined;
  z.on('data', onData);
  z.on('error', () => {});
  return z;
}
