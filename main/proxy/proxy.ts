// The routing proxy: reads the model, walks the provider chain, relays the answer.
// Fallback only before the first byte reaches the client; streams are relayed event by event.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { createBrotliDecompress, createGunzip, createInflate, brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import type { Dispatcher } from 'undici';
import type { Config, Provider } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import type { Attempt, Dialect, LogEntry, RequestLog } from '../log/request-log.js';
import { AuthUnavailableError, clientSecrets, extraHeaderSecrets, resolveAuth, type AuthSources } from './auth.js';
import { findModel, type ModelField } from './body.js';
import { Cooldowns, retryAfterMs } from './cooldown.js';
import { apiPath, dialectFor, errorBody, streamErrorEvent } from './dialect.js';
import { guardRequest } from './guard.js';
import { BodyBudget, readBody } from './intake.js';
import { describeTransportError, scrub, scrubUrl, summariseErrorBody } from './errors.js';
import { Cancel, exchange, type Overflow, type UpstreamResponse } from './upstream.js';
import { redactHeaders, responseHeaders, upstreamHeaders } from './headers.js';
import { upstreamTarget } from './upstream-url.js';
import { readUsage, StreamUsage } from './usage.js';
import {
  invalidForTranslation,
  isCountTokens,
  planTranslation,
  relayTranslated,
  responsesPassthroughBody,
  responsesState,
  sameDialectBody,
  sendModels,
  sendTokenEstimate,
  translatedHeaders,
  translationHeaders,
  type Format,
  type ResponsesState,
  type TranslationPlan,
} from './translate.js';
import { ResponseStore, UnknownReferenceError } from '../formats/index.js';

const MAX_ERROR_BODY = 64 * 1024;
const MAX_LOGGED_BODY = 1024 * 1024;

export interface RequestMeta {
  /** The intercepted host name when the request came in over the TLS listener. */
  host?: string;
}

export interface ProxyDeps {
  config(): Config;
  dispatcher(): Dispatcher;
  auth: AuthSources;
  log: RequestLog;
  logger: Logger;
  /** Sends a request no provider routes to the real origin of an intercepted host. */
  passthrough?(req: IncomingMessage, res: ServerResponse, body: Buffer, meta: Required<RequestMeta>): Promise<void>;
  /** Answers a local-endpoint request that carries no model (e.g. GET /v1/models); true when handled. */
  unrouted?(req: IncomingMessage, res: ServerResponse, body: Buffer, dialect: Dialect): boolean;
}

class ClientGone extends Error {}
class RequestTimeout extends Error {}

type Outcome = 'done' | 'fallback' | 'aborted';

export class Proxy {
  readonly cooldowns = new Cooldowns();
  /** The bytes of request bodies buffered at once, across every request. */
  private readonly budget = new BodyBudget(0);
  /** The Responses items and responses router67 returned for translated providers (kept across config reloads). */
  readonly responses: ResponseStore;
  inFlight = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly deps: ProxyDeps) {
    this.responses = new ResponseStore(storeLimits(deps.config()));
  }

  /** The request listener for both the plain endpoint and the TLS listener. */
  handle(req: IncomingMessage, res: ServerResponse, meta: RequestMeta = {}): void {
    const cfg = this.deps.config();
    if (guardRequest(req, res, cfg, meta.host)) return;
    const d = cfg.daemon;
    readBody(req, { maxBody: d.max_request_body_bytes, idleMs: d.upload_idle_timeout_ms, totalMs: d.upload_timeout_ms }, this.bodyBudget(d.max_buffered_request_bytes)).then(
      (r) => {
        if (!r.ok) {
          if (r.aborted) return void res.destroy();
          const headers: Record<string, string> = { connection: 'close' };
          if (r.retryAfterS) headers['retry-after'] = String(r.retryAfterS);
          this.deps.logger.warn(`refused ${req.method} ${(req.url ?? '/').split('?', 1)[0]}: ${r.message}`);
          return this.sendError(res, dialectFor(req.url ?? '/', meta.host), r.status, r.message, {}, undefined, headers);
        }
        res.once('close', r.release);
        // the body is decoded from here on: what goes upstream (routed or passed through) is plain
        if (r.encoding) delete req.headers['content-encoding'];
        this.route(req, res, r.body, meta).catch((err: unknown) => {
          this.deps.logger.error(`internal error on ${req.method} ${scrubUrl(req.url ?? '/')}: ${scrub(describeTransportError(err))}`);
          if (!res.headersSent) this.sendError(res, dialectFor(req.url ?? '/', meta.host), 500, 'router67 internal error');
          else res.destroy();
        });
      },
    );
  }

  private bodyBudget(limit: number): BodyBudget {
    this.budget.limit = limit; // follows config reloads
    return this.budget;
  }

  /**
   * Routes a request whose body is already in hand, exactly like handle() after its body intake: e.g. one
   * carried by a WebSocket message (main/ws). `req` needs only method, url and headers; `res` may be any
   * object that behaves like the part of ServerResponse the relays use (main/ws/sink.ts). Settles when done;
   * an internal error rejects (the caller answers it in its own way).
   */
  dispatch(req: Pick<IncomingMessage, 'method' | 'url' | 'headers'>, res: ServerResponse, body: Buffer, meta: RequestMeta = {}): Promise<void> {
    return this.route(req as IncomingMessage, res, body, meta);
  }

  /** Resolves when no request is in flight (or at once). */
  idle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private async route(req: IncomingMessage, res: ServerResponse, body: Buffer, meta: RequestMeta): Promise<void> {
    const cfg = this.deps.config();
    // on an intercepted host the API root may sit below a prefix (OpenRouter: /api/v1/...)
    const url = meta.host ? apiPath(req.url ?? '/') : (req.url ?? '/');
    const dialect = dialectFor(url, meta.host);
    const field = req.method === 'POST' ? findModel(body) : undefined;
    if (field?.duplicate) {
      // routed by the first, read by the upstream as the last: neither is safe to guess
      return this.sendError(res, dialect, 400, 'request body has more than one top-level "model" key; send exactly one');
    }
    const chain = field ? cfg.providers.filter((p) => Object.hasOwn(p.available_models, field.model)) : [];
    if (!field || chain.length === 0) {
      if (meta.host && this.deps.passthrough) return this.deps.passthrough(req, res, body, { host: meta.host });
      if (!field) {
        if (sendModels(res, req.method ?? 'GET', url, req.headers, cfg)) return;
        if (this.deps.unrouted?.(req, res, body, dialect)) return;
        const msg =
          req.method === 'POST'
            ? 'request body must be a JSON object with a string "model" field'
            : `router67 routes POST requests by their "model"; nothing is served at ${req.method} ${url.split('?')[0]}`;
        return this.sendError(res, dialect, req.method === 'POST' ? 400 : 404, msg);
      }
      const models = [...new Set(cfg.providers.flatMap((p) => Object.keys(p.available_models)))];
      return this.sendError(
        res,
        dialect,
        404,
        `model "${field.model}" is not served by any configured provider; configured models: ${models.length ? models.join(', ') : '(none)'}`,
        {},
        'model_not_found',
      );
    }

    const entry = this.deps.log.begin({
      dialect,
      method: req.method ?? 'POST',
      path: req.url ?? '/',
      host: meta.host,
      model: field.model,
      stream: false,
      requestHeaders: redactHeaders(req.headers),
    });
    entry.bytesIn = body.length;
    // the client's own key (sent to us, never upstream) stays out of the log too
    const own = clientSecrets(req.headers);
    if (own.length) this.deps.log.addSecrets(entry, own, 8);
    if (cfg.daemon.log_bodies) entry.requestBody = body.toString('utf8', 0, Math.min(body.length, MAX_LOGGED_BODY));
    this.inFlight++;
    const t0 = performance.now();
    const cancel = new Cancel();
    const onClose = () => {
      if (!res.writableFinished) cancel.cancel(new ClientGone('client disconnected'));
    };
    res.on('close', onClose);
    const timer = setTimeout(
      () => cancel.cancel(new RequestTimeout(`request timeout after ${cfg.daemon.request_timeout_ms} ms`)),
      cfg.daemon.request_timeout_ms,
    );
    try {
      this.responses.configure(storeLimits(cfg));
      const ref: { error?: UnknownReferenceError } = {};
      const outcome = await this.walk(req, res, body, field, chain, dialect, entry, cfg, cancel, t0, url, ref);
      if (outcome === 'fallback') {
        if (ref.error && entry.attempts.every((a) => a.status === null)) {
          // a reference to state router67 does not hold, and no provider could look it up: the client's mistake
          entry.status = 400;
          entry.state = 'error';
          entry.error = ref.error.message;
          this.sendError(res, dialect, 400, ref.error.message, {}, ref.error.code);
        }
        // count_tokens nobody could answer: an honest local estimate, marked by a header
        else if (!(dialect === 'anthropic' && isCountTokens(url) && sendTokenEstimate(res, body, entry))) this.allFailed(res, dialect, entry, field.model);
      }
      else if (outcome === 'aborted') {
        entry.state = 'error';
        entry.error = cancel.reason?.message ?? 'aborted';
        if (!res.headersSent && !(cancel.reason instanceof ClientGone)) {
          entry.status = 504;
          this.sendError(res, dialect, 504, entry.error);
        } else if (!res.writableEnded) res.destroy();
      }
    } finally {
      clearTimeout(timer);
      res.off('close', onClose);
      entry.durationMs = round(performance.now() - t0);
      if (entry.state === 'pending' || entry.state === 'streaming') entry.state = (entry.status ?? 0) >= 400 ? 'error' : 'done';
      this.deps.log.finish(entry);
      if (--this.inFlight === 0) for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  /** Tries the chain in order; 'fallback' means every provider failed before the client got a byte. */
  private async walk(
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer,
    field: ModelField,
    chain: Provider[],
    dialect: Dialect,
    entry: LogEntry,
    cfg: Config,
    cancel: Cancel,
    t0: number,
    url: string,
    ref: { error?: UnknownReferenceError },
  ): Promise<Outcome> {
    const allCooling = chain.every((p) => this.cooldowns.remaining(p.name) > 0);
    let parsed: unknown;
    const parse = () => (parsed ??= JSON.parse(body.toString('utf8')));
    let state: ResponsesState | undefined;
    let stateDone = false;
    const resolved = () => {
      if (!stateDone) {
        stateDone = true;
        state = responsesState(dialect as Format, parse, this.responses);
      }
      return state;
    };
    // A body some provider would have to translate must be a valid request of the client's dialect: if not,
    // that is the client's error (400), whatever the providers would say.
    if (dialect !== 'unknown' && chain.some((p) => p.format && p.format !== dialect)) {
      const invalid = invalidForTranslation(url, dialect, parse);
      if (invalid) {
        entry.status = 400;
        entry.state = 'error';
        entry.error = invalid;
        this.sendError(res, dialect, 400, invalid);
        return 'done';
      }
    }
    chain: for (const p of chain) {
      if (cancel.cancelled) return 'aborted';
      const upstreamModel = p.available_models[field.model]!;
      const a0 = performance.now();
      const attempt: Attempt = { provider: p.name, model: upstreamModel, status: null, error: null, formatIn: dialect, formatOut: p.format ?? dialect, durationMs: 0 };
      entry.attempts.push(attempt);
      const done = () => (attempt.durationMs = round(performance.now() - a0));
      const cooling = this.cooldowns.remaining(p.name);
      if (cooling > 0 && !allCooling) {
        attempt.error = `skipped: rate-limited, Retry-After has ${Math.ceil(cooling / 1000)} s left`;
        done();
        continue;
      }
      let plan: TranslationPlan | undefined;
      if (p.format && dialect !== 'unknown' && p.format !== dialect) {
        const r = planTranslation(url, dialect, p.format, p.base_url, parse, upstreamModel, { strictTools: p.strict_tools ?? cfg.daemon.strict_tools }, resolved(), this.responses);
        if ('skip' in r) {
          if (r.clientError) ref.error = r.clientError;
          attempt.error = `skipped: ${r.skip}`;
          done();
          continue;
        }
        plan = r;
      }
      // what this attempt's body mapped or changed; the log entry shows the answering attempt's
      const notes: string[] = plan ? [...plan.notes] : [];
      let sameBody: Buffer | Buffer[] | undefined;
      if (!plan) {
        if (dialect === 'responses') sameBody = responsesPassthroughBody(body, parse, this.responses, upstreamModel);
        sameBody ??= sameDialectBody(dialect, body, field, upstreamModel, (n) => notes.push(n));
      }
      let resp: UpstreamResponse;
      let secrets: string[];
      for (let retried = false; ; retried = true) {
        let auth: Record<string, string>;
        try {
          const resolved = await resolveAuth(p, this.deps.auth);
          auth = resolved.headers;
          // every form of every secret sent (key bare, prefixed, URL-encoded; credential extra_headers) is scrubbed
          // from what the entry holds and from what goes back to the client
          const extraSecrets = extraHeaderSecrets(p);
          secrets = extraSecrets.length ? [...resolved.secrets, ...extraSecrets] : resolved.secrets;
          this.deps.log.addSecrets(entry, secrets);
        } catch (err) {
          attempt.error = `skipped: ${err instanceof AuthUnavailableError ? err.message : 'credential unavailable'}`;
          done();
          continue chain;
        }
        const target = plan ?? upstreamTarget(p.base_url, url);
        try {
          resp = await exchange(
            this.deps.dispatcher(),
            {
              origin: target.origin,
              path: target.path,
              method: (req.method ?? 'POST') as Dispatcher.HttpMethod,
              headers: plan ? translatedHeaders(req.headers, plan, { ...p.extra_headers, ...auth }) : upstreamHeaders(req.headers, true, { ...p.extra_headers, ...auth }),
              body: (plan ? plan.body : sameBody!) as Dispatcher.DispatchOptions['body'],
              headersTimeout: cfg.daemon.first_byte_timeout_ms,
              bodyTimeout: cfg.daemon.idle_timeout_ms, // undici's body timeout is the idle time between chunks
            },
            cancel,
          );
        } catch (err) {
          done();
          if (cancel.cancelled) {
            attempt.error = cancel.reason!.message;
            return 'aborted';
          }
          attempt.error = scrub(describeTransportError(err), secrets);
          continue chain;
        }
        // OAuth: a refused token is refreshed once and the request sent once more.
        if (resp.statusCode === 401 && !retried) {
          const next = await this.oauthRefused(p, auth, resp, attempt);
          if (next === 'retry') continue;
          if (next === 'skip') {
            attempt.status = 401;
            done();
            continue chain;
          }
        }
        break;
      }
      attempt.status = resp.statusCode;
      attempt.ttfbMs = round(performance.now() - a0);
      if (resp.statusCode === 429 || resp.statusCode >= 500) {
        const text = await resp.text(MAX_ERROR_BODY);
        const ct = header(resp.headers, 'content-type');
        attempt.error = scrub(summariseErrorBody(text, ct), secrets) || `HTTP ${resp.statusCode}`;
        if (resp.statusCode === 429) {
          const wait = retryAfterMs(resp.headers);
          if (wait) this.cooldowns.set(p.name, wait);
        }
        done();
        continue;
      }
      this.cooldowns.clear(p.name);
      entry.provider = p.name;
      entry.upstreamModel = upstreamModel;
      entry.status = resp.statusCode;
      entry.translationNotes = notes.length ? [...new Set(notes)] : undefined;
      const extra = { 'x-router67-provider': p.name, 'x-router67-model': upstreamModel };
      const ct = header(resp.headers, 'content-type') ?? '';
      const streaming = /^text\/event-stream|^application\/x-ndjson/i.test(ct);
      const outcome = plan
        ? await relayTranslated({
            res,
            resp,
            plan,
            requestedModel: field.model,
            extra: { ...extra, ...translationHeaders(plan) },
            entry,
            attempt,
            cancel,
            t0,
            secrets,
            logBodies: cfg.daemon.log_bodies,
            maxBuffered: cfg.daemon.max_buffered_response_bytes,
            clientGone: () => cancel.reason instanceof ClientGone,
            update: (e) => this.deps.log.update(e),
          })
        : streaming
        ? await this.relayStream(res, resp, extra, dialect, ct, entry, attempt, cancel, t0, secrets)
        : await this.relayWhole(res, resp, extra, entry, attempt, cancel, t0, cfg, secrets);
      done();
      if (outcome === 'fallback') {
        entry.provider = entry.upstreamModel = entry.status = entry.translationNotes = undefined;
        continue;
      }
      return outcome;
    }
    return 'fallback';
  }

  /**
   * OAuth: the provider answered 401 to the token. Refreshes it once (concurrent requests share the refresh):
   * 'retry' sends the request again; 'skip' moves the chain on (sign-in needed); 'relay' is not an OAuth provider.
   */
  private async oauthRefused(p: Provider, auth: Record<string, string>, resp: UpstreamResponse, attempt: Attempt): Promise<'retry' | 'skip' | 'relay'> {
    const name = p.auth?.oauth;
    const oauth = this.deps.auth.oauth;
    if (name === undefined || !oauth?.rejected) return 'relay';
    await resp.text(MAX_ERROR_BODY);
    try {
      await oauth.rejected(name, Object.values(auth)[0] ?? '');
      return 'retry';
    } catch (err) {
      attempt.error = `token refused (401) and not refreshed: ${err instanceof AuthUnavailableError ? err.message : 'refresh failed'}`;
      return 'skip';
    }
  }

  /**
   * A non-streaming answer: read whole (so a drop mid-body can still fall back), then sent at once — up to
   * max_buffered_response_bytes; a larger one is relayed as it arrives (see relayUnbuffered).
   */
  private async relayWhole(
    res: ServerResponse,
    resp: UpstreamResponse,
    extra: Record<string, string>,
    entry: LogEntry,
    attempt: Attempt,
    cancel: Cancel,
    t0: number,
    cfg: Config,
    secrets: string[],
  ): Promise<Outcome> {
    const { body: buf, error, over } = await resp.collect(cfg.daemon.max_buffered_response_bytes);
    if (error) {
      if (cancel.cancelled) return 'aborted';
      attempt.error = `response body cut off: ${scrub(describeTransportError(error), secrets)}`;
      return 'fallback';
    }
    if (over) return this.relayUnbuffered(res, resp, over, extra, entry, attempt, cancel, t0, secrets);
    const headers = responseHeaders(resp.headers, true);
    // an answer (an error, mostly) may quote the key it was sent: the client gets it scrubbed. A compressed
    // success body is not decoded for this; a plain one costs one search per secret.
    const out = secrets.length && (resp.statusCode >= 400 || !headers['content-encoding']) ? scrubbedBody(buf, headers, secrets, cfg.daemon.max_buffered_response_bytes) : buf;
    headers['content-length'] = String(out.length);
    Object.assign(headers, extra);
    entry.ttfbMs = round(performance.now() - t0);
    res.writeHead(resp.statusCode, headers);
    res.end(out);
    entry.bytesOut = out.length;
    const ct = header(resp.headers, 'content-type') ?? '';
    if (/json/i.test(ct) && buf.length < 16 * 1024 * 1024) {
      try {
        const plain = decodeWhole(buf, header(resp.headers, 'content-encoding'), cfg.daemon.max_buffered_response_bytes);
        const json = JSON.parse(plain.toString('utf8')) as unknown;
        readUsage(json, entry);
        if (resp.statusCode >= 400) attempt.error = scrub(summariseErrorBody(plain.toString('utf8'), ct), secrets) || `HTTP ${resp.statusCode}`;
        if (cfg.daemon.log_bodies) entry.responseBody = plain.toString('utf8', 0, Math.min(plain.length, MAX_LOGGED_BODY));
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
  private relayUnbuffered(
    res: ServerResponse,
    resp: UpstreamResponse,
    over: Overflow,
    extra: Record<string, string>,
    entry: LogEntry,
    attempt: Attempt,
    cancel: Cancel,
    t0: number,
    secrets: string[],
  ): Promise<Outcome> {
    const headers = responseHeaders(resp.headers, false);
    Object.assign(headers, extra);
    entry.ttfbMs = round(performance.now() - t0);
    res.writeHead(resp.statusCode, headers);
    entry.state = 'streaming';
    this.deps.log.update(entry);
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
          if (cancel.cancelled) return settle('aborted');
          const msg = `response body cut off after ${entry.bytesOut} bytes had been relayed: ${scrub(describeTransportError(err), secrets)}`;
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
  private relayStream(
    res: ServerResponse,
    resp: UpstreamResponse,
    extra: Record<string, string>,
    dialect: Dialect,
    ct: string,
    entry: LogEntry,
    attempt: Attempt,
    cancel: Cancel,
    t0: number,
    secrets: string[],
  ): Promise<Outcome> {
    const encoding = header(resp.headers, 'content-encoding');
    const compressed = !!encoding && encoding !== 'identity';
    const ndjson = /ndjson/i.test(ct);
    const usage = new StreamUsage();
    const usageSink = compressed ? decompressor(encoding!, (c) => usage.push(c)) : undefined;
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
      const headers = responseHeaders(resp.headers, true);
      Object.assign(headers, extra);
      res.writeHead(resp.statusCode, headers);
      entry.ttfbMs = round(performance.now() - t0);
      entry.state = 'streaming';
      this.deps.log.update(entry);
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
        usageSink?.end();
        entry.inputTokens = usage.inputTokens;
        entry.outputTokens = usage.outputTokens;
        resolve(o);
      };
      const onData = (chunk: Buffer) => {
        if (!started) start();
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
        usage.push(out);
        write(sawEnd || resp.statusCode >= 400 ? clean(out) : out);
      };
      const onEnd = () => {
        if (!started) start();
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
          write(Buffer.from(streamErrorEvent(dialect, msg)));
        }
        res.end();
        settle('done');
      };
      const onError = (err: Error) => {
        if (cancel.cancelled) {
          if (started && !res.writableEnded && !(cancel.reason instanceof ClientGone)) {
            const msg = cancel.reason!.message;
            res.end(streamErrorEvent(dialect, msg));
            entry.error = msg;
            entry.state = 'error';
            return settle('done');
          }
          return settle('aborted');
        }
        const msg = `upstream stream failed: ${scrub(describeTransportError(err), secrets)}`;
        attempt.error = msg;
        if (!started) return settle('fallback');
        entry.error = msg;
        entry.state = 'error';
        if (compressed) res.destroy();
        else res.end(streamErrorEvent(dialect, msg));
        settle('done');
      };
      resp.attach({ data: onData, end: onEnd, error: onError });
    });
  }

  private allFailed(res: ServerResponse, dialect: Dialect, entry: LogEntry, model: string): void {
    const attempts = entry.attempts.map((a) => ({ provider: a.provider, model: a.model, status: a.status, error: a.error && this.deps.log.scrubText(entry, a.error) }));
    const summary = attempts.map((a) => `${a.provider}: ${attemptOutcome(a.status, a.error)}`).join('; ');
    entry.status = 502;
    entry.state = 'error';
    entry.error = `all ${attempts.length} providers failed`;
    if (res.headersSent || res.destroyed) return;
    const body = errorBody(dialect, 502, `router67: all ${attempts.length} providers failed for model "${model}": ${summary}`, { attempts }, 'all_providers_failed');
    res.writeHead(502, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  sendError(
    res: ServerResponse,
    dialect: Dialect,
    status: number,
    message: string,
    extra: Record<string, unknown> = {},
    code?: string,
    headers: Record<string, string> = {},
  ): void {
    if (res.headersSent) return void res.destroy();
    const body = errorBody(dialect, status, message, extra, code);
    res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }
}

function storeLimits(cfg: Config): { maxBytes: number; ttlMs: number } {
  return { maxBytes: cfg.daemon.response_store_max_bytes, ttlMs: cfg.daemon.response_store_ttl_ms };
}

/** One attempt in the all-failed message: "503 (overloaded)", "no response (ECONNREFUSED …)", "skipped (why)". */
function attemptOutcome(status: number | null, error: string | null): string {
  if (status === null && error?.startsWith('skipped: ')) return `skipped (${error.slice('skipped: '.length)})`;
  const what = status === null ? 'no response' : String(status);
  return error ? `${what} (${error})` : what;
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

function header(h: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
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
 * decoded to look; when it had to be changed it is sent decoded (content-encoding dropped from `headers`).
 */
function scrubbedBody(buf: Buffer, headers: Record<string, string | string[]>, secrets: readonly string[], max: number): Buffer {
  const enc = header(headers, 'content-encoding');
  let plain: Buffer;
  try {
    plain = decodeWhole(buf, enc, max);
  } catch {
    return buf;
  }
  if (!holdsSecret(plain, needlesOf(secrets))) return buf;
  delete headers['content-encoding'];
  return Buffer.from(scrub(plain.toString('utf8'), secrets));
}

/** The secret forms worth searching a stream for: those that contain no shorter one (the bare key covers `Bearer <key>`). */
function needlesOf(secrets: readonly string[]): Buffer[] {
  return secrets.filter((s) => !secrets.some((o) => o !== s && s.includes(o))).map((s) => Buffer.from(s));
}

/** Whether the chunk holds one of the needles (checked byte-wise, no string made). */
function holdsSecret(b: Buffer, needles: readonly Buffer[]): boolean {
  for (const n of needles) if (b.indexOf(n) >= 0) return true;
  return false;
}

/** Decompresses a whole body; throws past `max` bytes of output (a small body can inflate enormously). */
function decodeWhole(buf: Buffer, encoding: string | undefined, max: number): Buffer {
  switch (encoding?.toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
      return gunzipSync(buf, { maxOutputLength: max });
    case 'br':
      return brotliDecompressSync(buf, { maxOutputLength: max });
    case 'deflate':
      return inflateSync(buf, { maxOutputLength: max });
    default:
      return buf;
  }
}

function decompressor(encoding: string, onData: (b: Buffer) => void): NodeJS.WritableStream | undefined {
  const e = encoding.toLowerCase();
  const z = e === 'br' ? createBrotliDecompress() : e === 'deflate' ? createInflate() : e.includes('gzip') ? createGunzip() : undefined;
  if (!z) return undefined;
  z.on('data', onData);
  z.on('error', () => {});
  return z;
}
