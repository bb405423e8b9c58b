// The routing proxy: reads the model, walks the provider chain, relays the answer.
// Fallback only before the first byte reaches the client; streams are relayed event by event.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { createBrotliDecompress, createGunzip, createInflate, brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import type { Dispatcher } from 'undici';
import type { Config, Provider } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import type { Attempt, Dialect, LogEntry, RequestLog } from '../log/request-log.js';
import { AuthUnavailableError, authHeaders, type AuthSources } from './auth.js';
import { findModel, type ModelField } from './body.js';
import { Cooldowns, retryAfterMs } from './cooldown.js';
import { detectDialect, errorBody, streamErrorEvent } from './dialect.js';
import { describeTransportError, scrub, summariseErrorBody } from './errors.js';
import { Cancel, exchange, type UpstreamResponse } from './upstream.js';
import { redactHeaders, responseHeaders, upstreamHeaders } from './headers.js';
import { upstreamTarget } from './upstream-url.js';
import { readUsage, StreamUsage } from './usage.js';
import { isCountTokens, planTranslation, relayTranslated, sameDialectBody, sendModels, sendTokenEstimate, translatedHeaders, type TranslationPlan } from './translate.js';

const MAX_BODY = 64 * 1024 * 1024;
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
  inFlight = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly deps: ProxyDeps) {}

  /** The request listener for both the plain endpoint and the TLS listener. */
  handle(req: IncomingMessage, res: ServerResponse, meta: RequestMeta = {}): void {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooBig = false;
    req.on('data', (c: Buffer) => {
      if (tooBig) return;
      size += c.length;
      if (size > MAX_BODY) {
        tooBig = true;
        this.sendError(res, detectDialect(req.url ?? '/'), 413, `request body exceeds ${MAX_BODY} bytes`);
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (tooBig) return;
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
      this.route(req, res, body, meta).catch((err: unknown) => {
        this.deps.logger.error(`internal error on ${req.method} ${req.url}: ${describeTransportError(err)}`);
        if (!res.headersSent) this.sendError(res, detectDialect(req.url ?? '/'), 500, 'router67 internal error');
        else res.destroy();
      });
    });
    req.on('error', () => res.destroy());
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
    const url = req.url ?? '/';
    const dialect = detectDialect(url);
    const field = req.method === 'POST' ? findModel(body) : undefined;
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
      path: url,
      host: meta.host,
      model: field.model,
      stream: false,
      requestHeaders: redactHeaders(req.headers),
    });
    entry.bytesIn = body.length;
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
      const outcome = await this.walk(req, res, body, field, chain, dialect, entry, cfg, cancel, t0);
      if (outcome === 'fallback') {
        // count_tokens nobody could answer: an honest local estimate, marked by a header
        if (!(dialect === 'anthropic' && isCountTokens(url) && sendTokenEstimate(res, body, entry))) this.allFailed(res, dialect, entry, field.model);
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
  ): Promise<Outcome> {
    const allCooling = chain.every((p) => this.cooldowns.remaining(p.name) > 0);
    let parsed: unknown;
    const parse = () => (parsed ??= JSON.parse(body.toString('utf8')));
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
        const r = planTranslation(req.url ?? '/', dialect, p.format, p.base_url, parse, upstreamModel);
        if ('skip' in r) {
          attempt.error = `skipped: ${r.skip}`;
          done();
          continue;
        }
        plan = r;
      }
      let resp: UpstreamResponse;
      let secrets: string[];
      for (let retried = false; ; retried = true) {
        let auth: Record<string, string>;
        try {
          auth = await authHeaders(p, this.deps.auth);
        } catch (err) {
          attempt.error = `skipped: ${err instanceof AuthUnavailableError ? err.message : 'credential unavailable'}`;
          done();
          continue chain;
        }
        secrets = Object.values(auth);
        const target = plan ?? upstreamTarget(p.base_url, req.url ?? '/');
        try {
          resp = await exchange(
            this.deps.dispatcher(),
            {
              origin: target.origin,
              path: target.path,
              method: (req.method ?? 'POST') as Dispatcher.HttpMethod,
              headers: plan ? translatedHeaders(req.headers, plan, { ...p.extra_headers, ...auth }) : upstreamHeaders(req.headers, true, { ...p.extra_headers, ...auth }),
              body: plan ? plan.body : sameDialectBody(dialect, body, field, upstreamModel),
              headersTimeout: cfg.daemon.first_byte_timeout_ms,
              bodyTimeout: cfg.daemon.request_timeout_ms,
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
      const extra = { 'x-router67-provider': p.name, 'x-router67-model': upstreamModel };
      const ct = header(resp.headers, 'content-type') ?? '';
      const streaming = /^text\/event-stream|^application\/x-ndjson/i.test(ct);
      const outcome = plan
        ? await relayTranslated({
            res,
            resp,
            plan,
            requestedModel: field.model,
            extra: { ...extra, 'x-router67-translated': `${plan.from}->${plan.to}` },
            entry,
            attempt,
            cancel,
            t0,
            secrets,
            logBodies: cfg.daemon.log_bodies,
            clientGone: () => cancel.reason instanceof ClientGone,
            update: (e) => this.deps.log.update(e),
          })
        : streaming
        ? await this.relayStream(res, resp, extra, dialect, ct, entry, attempt, cancel, t0, secrets)
        : await this.relayWhole(res, resp, extra, entry, attempt, cancel, t0, cfg, secrets);
      done();
      if (outcome === 'fallback') {
        entry.provider = entry.upstreamModel = entry.status = undefined;
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

  /** A non-streaming answer: read whole (so a drop mid-body can still fall back), then sent at once. */
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
    const { body: buf, error } = await resp.collect();
    if (error) {
      if (cancel.cancelled) return 'aborted';
      attempt.error = `response body cut off: ${scrub(describeTransportError(error), secrets)}`;
      return 'fallback';
    }
    const headers = responseHeaders(resp.headers, true);
    headers['content-length'] = String(buf.length);
    Object.assign(headers, extra);
    entry.ttfbMs = round(performance.now() - t0);
    res.writeHead(resp.statusCode, headers);
    res.end(buf);
    entry.bytesOut = buf.length;
    const ct = header(resp.headers, 'content-type') ?? '';
    if (/json/i.test(ct) && buf.length < 16 * 1024 * 1024) {
      try {
        const plain = decodeWhole(buf, header(resp.headers, 'content-encoding'));
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
            write(tail); // an event this large is passed on as it is
            tail = undefined;
          }
          return;
        }
        const out = cut === data.length ? data : data.subarray(0, cut);
        tail = cut === data.length ? undefined : data.subarray(cut);
        if (!sawEnd && hasAny(out, terminators!)) sawEnd = true;
        usage.push(out);
        write(out);
      };
      const onEnd = () => {
        if (!started) start();
        if (tail) {
          usage.push(tail);
          write(tail);
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
    const attempts = entry.attempts.map((a) => ({ provider: a.provider, model: a.model, status: a.status, error: a.error }));
    const summary = attempts.map((a) => `${a.provider}: ${a.status ?? 'no response'}${a.error ? ` ${a.error}` : ''}`).join('; ');
    entry.status = 502;
    entry.state = 'error';
    entry.error = `all ${attempts.length} providers failed`;
    if (res.headersSent || res.destroyed) return;
    const body = errorBody(dialect, 502, `router67: all ${attempts.length} providers failed for model "${model}": ${summary}`, { attempts }, 'all_providers_failed');
    res.writeHead(502, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  sendError(res: ServerResponse, dialect: Dialect, status: number, message: string, extra: Record<string, unknown> = {}, code?: string): void {
    if (res.headersSent) return void res.destroy();
    const body = errorBody(dialect, status, message, extra, code);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }
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

function decodeWhole(buf: Buffer, encoding: string | undefined): Buffer {
  switch (encoding?.toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
      return gunzipSync(buf);
    case 'br':
      return brotliDecompressSync(buf);
    case 'deflate':
      return inflateSync(buf);
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
