// The routing proxy: reads the model, walks the provider chain; each attempt's relay (./relay/) sends it and
// relays the answer. Fallback only before the first byte reaches the client; streams are relayed event by event.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Dispatcher } from 'undici';
import type { Config, Provider } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import type { Attempt, Dialect, LogEntry, RequestLog } from '../log/request-log.js';
import { AuthUnavailableError, clientSecrets, extraHeaderSecrets, resolveAuth, type AuthSources } from './auth.js';
import { findModel } from './body.js';
import { Cooldowns, retryAfterMs } from './cooldown.js';
import { apiPath, dialectFor, errorBody } from './dialect.js';
import { guardRequest } from './guard.js';
import { BodyBudget, readBody } from './intake.js';
import { describeTransportError, scrub, scrubUrl, summariseErrorBody } from './errors.js';
import { Cancel, exchange, type UpstreamResponse } from './upstream.js';
import { redactHeaders } from './headers.js';
import { sendModels } from './local.js';
import { RequestRelays, type Outcome } from './relay/index.js';
import { header, MAX_LOGGED_BODY, round } from './relay/relay.js';
import { ResponseStore } from '../formats/index.js';
import { planRoute, targetKey, type Target } from '../routing/plan.js';
import { TargetStats } from '../routing/stats.js';

const MAX_ERROR_BODY = 64 * 1024;

export interface RequestMeta {
  /** The intercepted host name when the request came in over the TLS listener. */
  host?: string;
  /** The app behind the connection (its process), when known. */
  app?: string;
  /** The app, while the connection's lookup (main/procinfo) still runs: settles within its short wait. */
  appPending?: Promise<string | undefined>;
}

export interface ProxyDeps {
  config(): Config;
  dispatcher(): Dispatcher;
  auth: AuthSources;
  log: RequestLog;
  logger: Logger;
  /** Sends a request no provider routes to the real origin of an intercepted host. */
  passthrough?(req: IncomingMessage, res: ServerResponse, body: Buffer, meta: { host: string; app?: string }): Promise<void>;
  /** Answers a local-endpoint request that carries no model (e.g. GET /v1/models); true when handled. */
  unrouted?(req: IncomingMessage, res: ServerResponse, body: Buffer, dialect: Dialect): boolean;
}

class ClientGone extends Error {}
class RequestTimeout extends Error {}

export class Proxy {
  readonly cooldowns = new Cooldowns();
  /** In flight and time to first byte per target (kept across config reloads). */
  readonly stats = new TargetStats();
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
    if (meta.app === undefined && meta.appPending) meta = { ...meta, app: await meta.appPending };
    const cfg = this.deps.config();
    // on an intercepted host the API root may sit below a prefix (OpenRouter: /api/v1/...)
    const url = meta.host ? apiPath(req.url ?? '/') : (req.url ?? '/');
    const dialect = dialectFor(url, meta.host);
    const field = req.method === 'POST' ? findModel(body) : undefined;
    if (field?.duplicate) {
      // routed by the first, read by the upstream as the last: neither is safe to guess
      return this.sendError(res, dialect, 400, 'request body has more than one top-level "model" key; send exactly one');
    }
    const plan = field ? planRoute(cfg, { model: field.model, dialect, path: url, headers: req.headers, body, host: meta.host, app: meta.app }) : undefined;
    const chain = plan?.targets ?? [];
    if (!field || chain.length === 0) {
      if (meta.host && this.deps.passthrough) return this.deps.passthrough(req, res, body, { host: meta.host, app: meta.app });
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
      app: meta.app,
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
      const relays = new RequestRelays({ url, dialect, headers: req.headers, body, field }, this.responses, cfg.daemon.strict_tools);
      const outcome = await this.walk(req, res, relays, chain, entry, cfg, cancel, t0);
      if (outcome === 'fallback') {
        const refused = relays.clientError;
        if (refused && entry.attempts.every((a) => a.status === null)) {
          // a reference to state router67 does not hold, and no provider could look it up: the client's mistake
          entry.status = 400;
          entry.state = 'error';
          entry.error = refused.message;
          this.sendError(res, dialect, 400, refused.message, {}, refused.code);
        }
        // count_tokens nobody could answer: an honest local estimate, marked by a header
        else if (!relays.answerLocally(res, entry)) this.allFailed(res, dialect, entry, field.model);
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

  /**
   * Tries the chain in order; 'fallback' means every provider failed before the client got a byte. Per attempt:
   * cooldown → the attempt's relay (passthrough or translated, or a skip) → auth → exchange → fallback on the
   * status → the relay relays the answer. Nothing here knows a wire format.
   */
  private async walk(
    req: IncomingMessage,
    res: ServerResponse,
    relays: RequestRelays,
    chain: Target[],
    entry: LogEntry,
    cfg: Config,
    cancel: Cancel,
    t0: number,
  ): Promise<Outcome> {
    const { dialect } = relays;
    const allCooling = chain.every((t) => this.cooldowns.remaining(t.provider.name) > 0);
    const invalid = relays.invalid(chain.map((t) => t.provider));
    if (invalid) {
      entry.status = 400;
      entry.state = 'error';
      entry.error = invalid;
      this.sendError(res, dialect, 400, invalid);
      return 'done';
    }
    const clientGone = () => cancel.reason instanceof ClientGone;
    const update = (e: LogEntry) => this.deps.log.update(e);
    chain: for (const target of chain) {
      const { provider: p, model: upstreamModel } = target;
      if (cancel.cancelled) return 'aborted';
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
      const relay = relays.relayFor(p, upstreamModel);
      if ('skip' in relay) {
        attempt.error = `skipped: ${relay.skip}`;
        done();
        continue;
      }
      const key = targetKey(target);
      this.stats.begin(key);
      try {
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
          try {
            resp = await exchange(
              this.deps.dispatcher(),
              {
                origin: relay.origin,
                path: relay.path,
                method: (req.method ?? 'POST') as Dispatcher.HttpMethod,
                headers: relay.headers({ ...p.extra_headers, ...auth }),
                body: relay.body as Dispatcher.DispatchOptions['body'],
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
        this.stats.ttfb(key, attempt.ttfbMs);
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
        // what this attempt's body mapped or changed; the log entry shows the answering attempt's
        entry.translationNotes = relay.notes.length ? [...new Set(relay.notes)] : undefined;
        const outcome = await relay.relay(resp, {
          res,
          entry,
          attempt,
          cancel,
          t0,
          secrets,
          extra: { 'x-router67-provider': p.name, 'x-router67-model': upstreamModel },
          logBodies: cfg.daemon.log_bodies,
          maxBuffered: cfg.daemon.max_buffered_response_bytes,
          clientGone,
          update,
        });
        done();
        if (outcome === 'fallback') {
          entry.provider = entry.upstreamModel = entry.status = entry.translationNotes = undefined;
          continue;
        }
        return outcome;
      } finally {
        this.stats.end(key);
      }
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
