// The routing proxy: reads the model, walks the provider chain; each attempt's relay (./relay/) sends it and
// relays the answer. Fallback only before the first byte reaches the client; streams are relayed event by event.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { Config, Provider } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import type { Attempt, Dialect, LogEntry, RequestLog } from '../log/request-log.js';
import { AuthUnavailableError, clientSecrets, resolveAuth, resolveExtraHeaders, type AuthSources } from './auth.js';
import { findModel, jsonOnce } from './body.js';
import { apiPath, dialectFor, errorBody } from './dialect.js';
import { guardRequest } from './guard.js';
import { Deadlines } from './deadlines.js';
import { BodyBudget, readBody } from './intake.js';
import { describeTransportError, scrubUrl, summariseErrorBody } from './errors.js';
import { Cancel, cancelOnClientGone, exchange, type UpstreamResponse } from './upstream.js';
import { redactHeaders } from './headers.js';
import { sendModels } from './local.js';
import { RequestRelays, type AttemptRelay, type Outcome } from './relay/index.js';
import { header, MAX_LOGGED_BODY, round, shownAttempts } from './relay/relay.js';
import { ResponseStandIn } from './stand-in.js';
import { ResponseStore } from '../formats/state-store.js';
import { planRoute, targetKey, type PriceLookup, type Target } from '../routing/plan.js';
import { TargetStats } from '../routing/stats.js';
import { Health, type RequestGate, type Skip, type Ticket } from '../health/health.js';
import { retryAfterMs } from '../health/foresight.js';
import { Affinity, fingerprint, preferTarget } from '../health/affinity.js';
import { HedgeLost, hedgeDelay, race, type Leg } from '../health/hedge.js';
import { realClock, RetryBudget, retrySettings, type Clock, type Failure } from '../health/retry.js';

const MAX_ERROR_BODY = 64 * 1024;

/** One try at one target up to its response headers (see Proxy.leg). */
type LegResult =
  | { verdict: 'win' | 'hold'; resp: UpstreamResponse; secrets: readonly string[]; cancel: Cancel; a0: number }
  | { verdict: 'fail'; failure?: Failure }
  | { verdict: 'aborted' };

export interface RequestMeta {
  /** The intercepted host name when the request came in over the TLS listener. */
  host?: string;
  /** The app behind the connection (its process), when known. */
  app?: string;
  /** Send to exactly this provider under this upstream model, whatever the routing says (the window's "Resend to…"). */
  pin?: { provider: string; model: string };
  /** The log entry this request repeats (the window's "Resend to…"). */
  resendOf?: string;
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
  /** Cost and budgets (main/usage): the core sets them. */
  spend?: SpendHooks;
  /** The clock of breakers, limits and rate-limit foresight (tests inject one). */
  now?(): number;
}

/** What the walker asks of cost and budgets (main/usage/budgets.ts, cost.ts). */
export interface SpendHooks {
  /** Why a request from this app must be refused (an app's or the overall hard limit is reached), or undefined. */
  refuse(app: string | undefined): string | undefined;
  /** Why this provider is skipped (its hard limit is reached), or undefined. */
  skip(provider: string): string | undefined;
  /** The entry is about to finish: price it (entry.costUsd) and count it. */
  finish(entry: LogEntry): void;
}

/** The status a budget refusal gets: 402 Payment Required, which no official SDK retries (README "Budgets"). */
export const BUDGET_STATUS = 402;

class ClientGone extends Error {}
class RequestTimeout extends Error {}

export class Proxy {
  /** Breakers, limits and rate-limit foresight (main/health; kept across config reloads). */
  readonly health: Health;
  /** In flight and time to first byte per target (kept across config reloads). */
  readonly stats = new TargetStats();
  /** Which target served each conversation's last turn (cache affinity; kept across config reloads). */
  readonly affinity = new Affinity();
  /** Time and randomness for retry backoff, hedge delays and routing strategies (tests inject their own). */
  clock: Clock = realClock;
  random: () => number = Math.random;
  /** Prices for `strategy = "cheapest"` (USD per million tokens, blended), set by whoever has a price table. */
  prices?: PriceLookup;
  /** The bytes of request bodies buffered at once, across every request. */
  private readonly budget = new BodyBudget(0);
  /** request_timeout_ms of the requests in flight (one timer for all). */
  private readonly deadlines = new Deadlines();
  /** The Responses items and responses router67 returned for translated providers (kept across config reloads). */
  readonly responses: ResponseStore;
  inFlight = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly deps: ProxyDeps) {
    this.responses = new ResponseStore(storeLimits(deps.config()));
    this.health = new Health(deps.now ?? Date.now);
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
          this.deps.logger.error(`internal error on ${req.method} ${scrubUrl(req.url ?? '/')}: ${describeTransportError(err)}`);
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
    const pinned = meta.pin && cfg.providers.find((p) => p.name === meta.pin!.provider);
    const parse = jsonOnce(body);
    const plan =
      field && !meta.pin
        ? planRoute(cfg, { model: field.model, dialect, path: url, headers: req.headers, body, host: meta.host, app: meta.app, parse }, { stats: this.stats, prices: this.prices, random: () => this.random() })
        : undefined;
    const chain = pinned ? [{ provider: pinned, model: meta.pin!.model }] : (plan?.targets ?? []);
    if (!field || chain.length === 0) {
      if (meta.host && this.deps.passthrough && !meta.pin) return this.deps.passthrough(req, res, body, { host: meta.host, app: meta.app });
      // answered here, no provider involved: one small log entry each (model lists, 404s, bad requests)
      const local = this.localEntry(req, res, body, dialect, meta, field?.model);
      if (!field) {
        if (sendModels(res, req.method ?? 'GET', url, req.headers, cfg)) return local();
        if (this.deps.unrouted?.(req, res, body, dialect)) return local();
        const msg =
          req.method === 'POST'
            ? 'request body must be a JSON object with a string "model" field'
            : `router67 routes POST requests by their "model"; nothing is served at ${req.method} ${url.split('?')[0]}`;
        this.sendError(res, dialect, req.method === 'POST' ? 400 : 404, msg);
        return local(msg);
      }
      const models = [...new Set(cfg.providers.flatMap((p) => Object.keys(p.available_models)))];
      const msg = meta.pin
        ? `provider "${meta.pin.provider}" is not in the running configuration`
        : `model "${field.model}" is not served by any configured provider; configured models: ${models.length ? models.join(', ') : '(none)'}`;
      this.sendError(res, dialect, 404, msg, {}, 'model_not_found');
      return local(msg);
    }

    const entry = this.deps.log.begin({
      dialect,
      method: req.method ?? 'POST',
      path: req.url ?? '/',
      host: meta.host,
      model: field.model,
      stream: false,
      requestHeaders: redactHeaders(req.headers),
      ...(meta.app !== undefined ? { app: meta.app } : {}),
      ...(meta.resendOf ? { resendOf: meta.resendOf } : {}),
    });
    entry.bytesIn = body.length;
    if (plan?.route !== undefined) {
      entry.route = plan.route;
      entry.strategy = plan.strategy;
    }
    // the client's own key (sent to us, never upstream) stays out of the log too
    const own = clientSecrets(req.headers);
    if (own.length) this.deps.log.addSecrets(entry, own, 8);
    if (cfg.daemon.log_bodies) entry.requestBody = body.toString('utf8', 0, Math.min(body.length, MAX_LOGGED_BODY));
    this.inFlight++;
    const t0 = performance.now();
    const { cancel, dispose } = cancelOnClientGone(res, () => new ClientGone('client disconnected'));
    const deadline = this.deadlines.add(cfg.daemon.request_timeout_ms, () =>
      cancel.cancel(new RequestTimeout(`request timeout after ${cfg.daemon.request_timeout_ms} ms`)),
    );
    try {
      const refused = this.deps.spend?.refuse(meta.app);
      if (refused) {
        entry.status = BUDGET_STATUS;
        entry.state = 'error';
        entry.error = refused;
        return this.sendError(res, dialect, BUDGET_STATUS, `router67: ${refused}`, {}, 'budget_exceeded');
      }
      this.responses.configure(storeLimits(cfg));
      const relays = new RequestRelays({ url, dialect, headers: req.headers, body, field, parse }, this.responses, cfg.daemon.strict_tools);
      const gate = this.health.gate(cfg, body.length);
      const outcome = await this.walk(req, res, relays, chain, entry, cfg, cancel, t0, gate);
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
        else if (!relays.answerLocally(res, entry)) {
          // every provider over its budget: that is a budget refusal, not an outage (502 would be retried)
          const budgets = entry.attempts.map((a) => a.why);
          if (budgets.length && budgets.every((w) => w?.startsWith('budget'))) {
            entry.status = BUDGET_STATUS;
            entry.state = 'error';
            entry.error = `every provider for "${field.model}" is over its budget`;
            this.sendError(res, dialect, BUDGET_STATUS, `router67: ${entry.error}: ${budgets.join('; ')}`, {}, 'budget_exceeded');
          } else this.allFailed(res, dialect, entry, field.model, gate.allRateLimited(entry.attempts));
        }
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
      deadline.cancel();
      dispose();
      entry.durationMs = round(performance.now() - t0);
      if (entry.state === 'pending' || entry.state === 'streaming') entry.state = (entry.status ?? 0) >= 400 ? 'error' : 'done';
      try {
        this.deps.spend?.finish(entry);
      } catch (err) {
        this.deps.logger.warn(`cost of ${entry.id}: ${(err as Error).message}`);
      }
      this.deps.log.finish(entry);
      if (--this.inFlight === 0) for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  /**
   * A log entry for a request router67 answers itself (no provider): begun now, finished by the returned function
   * once the answer is written, with the status sent and, for an error, its message. No body is kept.
   */
  private localEntry(req: IncomingMessage, res: ServerResponse, body: Buffer, dialect: Dialect, meta: RequestMeta, model?: string): (error?: string) => void {
    const t0 = performance.now();
    const entry = this.deps.log.begin({
      dialect,
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      host: meta.host,
      ...(model !== undefined ? { model } : {}),
      stream: false,
      local: true,
      ...(meta.app ? { app: meta.app } : {}),
      ...(meta.resendOf ? { resendOf: meta.resendOf } : {}),
    });
    entry.bytesIn = body.length;
    return (error) => {
      entry.status = res.statusCode;
      entry.state = entry.status >= 400 ? 'error' : 'done';
      if (error) entry.error = error;
      entry.durationMs = round(performance.now() - t0);
      this.deps.log.finish(entry);
    };
  }

  /**
   * Tries the chain in order; 'fallback' means every provider failed before the client got a byte. Per target:
   * budget → the attempt's relay (passthrough or translated, or a skip) → the health gate (breakers, rate-limit
   * foresight, limits: health/health.ts) → a leg (auth → exchange → verdict on the status), retried on the same
   * target (health/retry.ts) or hedged with the next (health/hedge.ts) → the relay relays the answer. Cache
   * affinity (health/affinity.ts) may put a conversation's previous target first. Nothing here knows a wire format.
   */
  private async walk(
    req: IncomingMessage,
    res: ServerResponse,
    relays: RequestRelays,
    planned: Target[],
    entry: LogEntry,
    cfg: Config,
    cancel: Cancel,
    t0: number,
    gate: RequestGate,
  ): Promise<Outcome> {
    const { dialect } = relays;
    const invalid = relays.invalid(planned.map((t) => t.provider));
    if (invalid) {
      entry.status = 400;
      entry.state = 'error';
      entry.error = invalid;
      this.sendError(res, dialect, 400, invalid);
      return 'done';
    }
    const d = cfg.daemon;
    const aff = d.affinity && planned.length > 1 ? fingerprint(relays.parse) : undefined;
    // affinity holds within one routing decision: a turn a different [[routes]] rule matched (say, thinking
    // switched on) goes where that rule says
    const scope = `${entry.route ?? ''}\u0000`;
    const found = aff && this.affinity.configure(d.affinity_max, d.affinity_ttl_ms).find(aff);
    const wanted = found && found.startsWith(scope) ? found.slice(scope.length) : undefined;
    const { targets: chain, preferred } = preferTarget(planned, targetKey, wanted, (t) => this.health.healthy(t));
    const clientGone = () => cancel.reason instanceof ClientGone;
    const update = (e: LogEntry) => this.deps.log.update(e);
    const budget = new RetryBudget(d.retry_budget);
    const onCancel = (fn: (() => void) | undefined) => cancel.onCancel(fn);
    const attemptAt = (t: Target, why?: string): Attempt => {
      const a: Attempt = { provider: t.provider.name, model: t.model, status: null, error: null, formatIn: dialect, formatOut: t.provider.format ?? dialect, durationMs: 0 };
      const w = why ?? (t === preferred && wanted !== undefined ? 'affinity' : t.why);
      if (w) a.why = w;
      entry.attempts.push(a);
      return a;
    };
    /** The relay for a target, or undefined when it is skipped now (over its budget, no translation): the attempt says why. */
    const relayOrSkip = (t: Target, attempt: Attempt): AttemptRelay | undefined => {
      const overBudget = this.deps.spend?.skip(t.provider.name);
      if (overBudget) {
        attempt.why = because(attempt, overBudget);
        attempt.error = `skipped: ${overBudget}`;
        return undefined;
      }
      const relay = relays.relayFor(t.provider, t.model);
      if ('skip' in relay) {
        attempt.error = `skipped: ${relay.skip}`;
        return undefined;
      }
      return relay;
    };
    /** The relay and the gate's ticket for a target, or why it is skipped now (written on the attempt). */
    type Ready = { relay: AttemptRelay; ticket: Ticket } | undefined;
    const admitted = (relay: AttemptRelay, ticket: Ticket | Skip, attempt: Attempt): Ready => {
      if ('skip' in ticket) {
        attempt.error = `skipped: ${ticket.skip}`;
        attempt.why = because(attempt, ticket.why);
        if (ticket.rateLimited) gate.rateLimited(attempt, ticket.retryMs);
        return undefined;
      }
      if (cancel.cancelled) {
        this.health.release(ticket);
        return undefined;
      }
      return { relay, ticket };
    };
    // no promise unless the gate makes the target wait (its limits' queue)
    const ready = (t: Target, attempt: Attempt, last: boolean): Ready | Promise<Ready> => {
      const relay = relayOrSkip(t, attempt);
      if (!relay) return undefined;
      // breakers, rate-limit foresight, limits (the last target may wait in a bounded queue)
      const ticket = gate.admit(t, last, onCancel);
      return ticket instanceof Promise ? ticket.then((tk) => admitted(relay, tk, attempt)) : admitted(relay, ticket, attempt);
    };
    const leg = (t: Target, relay: AttemptRelay, ticket: Ticket, attempt: Attempt, parent: Cancel): Leg<LegResult> => {
      const c = parent.child();
      const result = this.leg(req, t, relay, ticket, gate, attempt, entry, cfg, c);
      const abort = () => {
        c.cancel(new HedgeLost());
        // it had its headers already (a 4xx held, or a success a moment too late): it is dropped
        void result.then((x) => {
          if (x.verdict !== 'win' && x.verdict !== 'hold') return;
          x.resp.abort(c.reason!);
          attempt.error = c.reason!.message;
          attempt.durationMs = round(performance.now() - x.a0);
          this.stats.end(targetKey(t));
          this.health.release(ticket);
        });
      };
      return { result, abort };
    };
    for (let i = 0; i < chain.length; i++) {
      const target = chain[i]!;
      if (cancel.cancelled) return 'aborted';
      let attempt = attemptAt(target);
      const a0 = performance.now();
      const pending = ready(target, attempt, i === chain.length - 1);
      const first = pending instanceof Promise ? await pending : pending;
      if (!first) {
        attempt.durationMs = round(performance.now() - a0);
        if (cancel.cancelled) return 'aborted';
        continue;
      }
      const { relay } = first;
      let ticket = first.ticket;
      const settings = retrySettings(cfg, target.provider);
      let r: LegResult;
      let hedged = false;
      let winner = { target, relay, attempt, ticket };
      // the first try may be hedged with the next target (never a retry; never once the client has a byte)
      const next = chain[i + 1];
      const delay = next ? hedgeDelay(target, targetKey(target), this.stats) : undefined;
      if (next && delay !== undefined) {
        let second: typeof winner | undefined;
        const raced = await race(leg(target, relay, ticket, attempt, cancel), delay, () => {
          // the hedge's admission is synchronous when the target is free; a saturated one is not hedged to
          const hAttempt = attemptAt(next, `hedge after ${delay} ms`);
          const nextRelay = relayOrSkip(next, hAttempt);
          if (!nextRelay) return undefined;
          const admitted = this.health.tryAdmit(cfg, next, gate.tokens);
          if ('skip' in admitted) {
            hAttempt.error = `skipped: ${admitted.skip}`;
            return undefined;
          }
          second = { target: next, relay: nextRelay, attempt: hAttempt, ticket: admitted };
          return leg(next, nextRelay, admitted, hAttempt, cancel);
        }, this.clock, cancel);
        if ((hedged = raced.hedged)) {
          i++; // both targets were tried
          if (raced.winner === undefined) {
            if (raced.results.some((x) => x?.verdict === 'aborted')) return 'aborted';
            continue;
          }
          if (raced.winner === 1) winner = second!;
        }
        r = raced.results[raced.winner ?? 0]!;
      } else r = await leg(target, relay, ticket, attempt, cancel).result;
      // retries on the same target, while the failure allows and the budget and the deadline last
      for (let n = 1; !hedged && r.verdict === 'fail' && r.failure; n++) {
        const wait = budget.next(r.failure, n, settings, d.request_timeout_ms - (performance.now() - t0), this.random);
        if (wait === undefined) break;
        if (!(await this.clock.sleep(wait, cancel))) return 'aborted';
        // the wait covered the Retry-After the 429 asked for
        if (r.failure.kind === 'status' && r.failure.status === 429) this.health.unblock(target);
        attempt = attemptAt(target, `retry ${n} after ${wait} ms`);
        const again = await ready(target, attempt, i === chain.length - 1); // a retry waited anyway
        if (!again) {
          if (cancel.cancelled) return 'aborted';
          break;
        }
        ticket = again.ticket;
        winner = { target, relay, attempt, ticket };
        r = await leg(target, relay, ticket, attempt, cancel).result;
      }
      if (r.verdict === 'aborted') return 'aborted';
      if (r.verdict === 'fail') continue;
      const p = winner.target.provider;
      const upstreamModel = winner.target.model;
      const key = targetKey(winner.target);
      try {
        entry.provider = p.name;
        entry.upstreamModel = upstreamModel;
        entry.status = r.resp.statusCode;
        // what this attempt's body mapped or changed; the log entry shows the answering attempt's
        entry.translationNotes = winner.relay.notes.length ? [...new Set(winner.relay.notes)] : undefined;
        if (res instanceof ResponseStandIn) res.secrets = r.secrets;
        const outcome = await winner.relay.relay(r.resp, {
          res,
          entry,
          attempt: winner.attempt,
          cancel: r.cancel,
          t0,
          secrets: r.secrets,
          extra: { 'x-router67-provider': p.name, 'x-router67-model': upstreamModel },
          logBodies: d.log_bodies,
          maxBuffered: d.max_buffered_response_bytes,
          clientGone,
          update,
          attempts: () => shownAttempts(entry.attempts, (s) => this.deps.log.scrubText(entry, s)),
        });
        winner.attempt.durationMs = round(performance.now() - r.a0);
        if (outcome === 'fallback') {
          this.health.settle(winner.ticket, { kind: 'transport', error: winner.attempt.error ?? 'answer cut before the client got a byte' });
          entry.provider = entry.upstreamModel = entry.status = entry.translationNotes = undefined;
          continue;
        }
        if (outcome === 'done') this.health.settle(winner.ticket, { kind: (entry.status ?? 0) >= 400 ? 'client-error' : 'ok' });
        if (outcome === 'done' && aff && (entry.status ?? 0) < 400) {
          if (wanted !== undefined && wanted !== key) entry.cacheMoved = wanted;
          this.affinity.remember(aff, scope + key);
        }
        return outcome;
      } finally {
        this.stats.end(key);
        this.health.release(winner.ticket, usedTokens(entry, p.name));
      }
    }
    return 'fallback';
  }

  /**
   * One try at one target up to its response headers: auth (OAuth: a refused token refreshed once, sent once
   * more) → exchange → the verdict on the status, told to the health gate. A failure fills the attempt, ends the
   * target's in-flight count and frees its ticket; a 'win'/'hold' leaves the response to relay (and the count and
   * the ticket to the walker).
   */
  private async leg(
    req: IncomingMessage,
    target: Target,
    relay: AttemptRelay,
    ticket: Ticket,
    gate: RequestGate,
    attempt: Attempt,
    entry: LogEntry,
    cfg: Config,
    cancel: Cancel,
  ): Promise<LegResult> {
    const p = target.provider;
    const key = targetKey(target);
    const a0 = performance.now();
    const done = () => (attempt.durationMs = round(performance.now() - a0));
    const fail = (failure?: Failure): LegResult => {
      done();
      this.stats.end(key);
      this.health.release(ticket);
      if (cancel.cancelled) {
        attempt.error = cancel.reason!.message;
        if (!(cancel.reason instanceof HedgeLost)) return { verdict: 'aborted' };
      }
      return { verdict: 'fail', failure };
    };
    this.stats.begin(key);
    let resp: UpstreamResponse;
    let secrets: readonly string[] = [];
    for (let retried = false; ; retried = true) {
      let auth: Record<string, string>;
      let extra: Record<string, string>;
      try {
        const pending = resolveAuth(p, this.deps.auth);
        const resolved = pending instanceof Promise ? await pending : pending; // a key at hand costs no wait
        auth = resolved.headers;
        // every form of every secret sent (key bare, prefixed, URL-encoded; credential extra_headers) is scrubbed
        // from what the entry holds and from what goes back to the client
        const headers = resolveExtraHeaders(p, this.deps.auth);
        extra = headers.headers;
        secrets = withExtraSecrets(resolved.secrets, headers.secrets);
        this.deps.log.addSecrets(entry, secrets);
      } catch (err) {
        attempt.error = `skipped: ${err instanceof AuthUnavailableError ? err.message : 'credential unavailable'}`;
        return fail();
      }
      try {
        const sent = relay.headers({ ...extra, ...auth });
        // what went upstream, as the log may see it (credential headers redacted, every other value scrubbed)
        entry.upstreamHeaders = redactHeaders(sent);
        resp = await exchange(
          this.deps.dispatcher(),
          {
            origin: relay.origin,
            path: relay.path,
            method: (req.method ?? 'POST') as Dispatcher.HttpMethod,
            headers: sent,
            body: relay.body as Dispatcher.DispatchOptions['body'],
            headersTimeout: cfg.daemon.first_byte_timeout_ms,
            bodyTimeout: cfg.daemon.idle_timeout_ms, // undici's body timeout is the idle time between chunks
          },
          cancel,
        );
      } catch (err) {
        attempt.error = describeTransportError(err, secrets);
        if (!cancel.cancelled) this.health.settle(ticket, { kind: 'transport', error: attempt.error });
        return fail({ kind: 'transport', err });
      }
      // OAuth: a refused token is refreshed once and the request sent once more.
      if (resp.statusCode === 401 && !retried) {
        const next = await this.oauthRefused(p, auth, resp, attempt);
        if (next === 'retry') continue;
        if (next === 'skip') {
          attempt.status = 401;
          this.health.settle(ticket, { kind: 'client-error' });
          return fail();
        }
      }
      break;
    }
    attempt.status = resp.statusCode;
    entry.responseHeaders = redactHeaders(resp.headers);
    attempt.ttfbMs = round(performance.now() - a0);
    this.stats.ttfb(key, attempt.ttfbMs);
    this.health.observe(ticket, resp.headers);
    if (resp.statusCode === 429 || resp.statusCode >= 500) {
      const text = await resp.text(MAX_ERROR_BODY);
      const ct = header(resp.headers, 'content-type');
      attempt.error = summariseErrorBody(text, ct, secrets) || `HTTP ${resp.statusCode}`;
      const wait = retryAfterMs(resp.headers);
      if (resp.statusCode === 429) gate.rateLimited(attempt, this.health.settle(ticket, { kind: 'rate-limited', headers: resp.headers }));
      else this.health.settle(ticket, { kind: 'server-error', error: `HTTP ${resp.statusCode}` });
      return fail({ kind: 'status', status: resp.statusCode, retryAfterMs: wait });
    }
    if (cancel.cancelled) {
      // lost a hedge (or the request ended) just as the headers came
      resp.abort(cancel.reason!);
      return fail();
    }
    return { verdict: resp.statusCode < 400 ? 'win' : 'hold', resp, secrets, cancel, a0 };
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

  /** Every target failed: 502 with the attempts, or 429 with the smallest Retry-After when every one was rate-limited. */
  private allFailed(res: ServerResponse, dialect: Dialect, entry: LogEntry, model: string, limitedMs?: number): void {
    const attempts = shownAttempts(entry.attempts, (s) => this.deps.log.scrubText(entry, s));
    const summary = attempts.map((a) => `${a.provider}: ${attemptOutcome(a.status, a.error)}`).join('; ');
    // retries and hedges are attempts too: count the targets tried
    const tried = new Set(attempts.map((a) => `${a.provider}/${a.model}`)).size;
    if (limitedMs !== undefined) {
      const ms = Math.max(1, Math.ceil(limitedMs));
      const s = Math.ceil(ms / 1000);
      entry.status = 429;
      entry.state = 'error';
      entry.error = `all ${tried} providers rate-limited; retry after ${s} s`;
      if (res.headersSent || res.destroyed) return;
      const msg = `router67: every provider for model "${model}" is rate-limited; retry after ${s} s: ${summary}`;
      return this.sendError(res, dialect, 429, msg, { attempts }, 'rate_limited', { 'retry-after': String(s), 'retry-after-ms': String(ms) });
    }
    entry.status = 502;
    entry.state = 'error';
    entry.error = `all ${tried} providers failed`;
    if (res.headersSent || res.destroyed) return;
    const body = errorBody(dialect, 502, `router67: all ${tried} providers failed for model "${model}": ${summary}`, { attempts }, 'all_providers_failed');
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

/** The last merge per key's forms: the same key and provider come request after request. */
const mergedSecrets = new WeakMap<readonly string[], { extra: readonly string[]; all: readonly string[] }>();

/**
 * A key's forms and its provider's other secrets as one list, the same array while neither changes (so what is
 * cached per list, the needles the relays search for, is computed once, not per request).
 */
function withExtraSecrets(forms: readonly string[], extra: readonly string[]): readonly string[] {
  if (!extra.length) return forms;
  const m = mergedSecrets.get(forms);
  if (m?.extra === extra) return m.all;
  const all = Object.freeze([...forms, ...extra]); // shared by every request: never changed
  mergedSecrets.set(forms, { extra, all });
  return all;
}

/** Real tokens of the answer (input + output) when this provider answered and reported usage. */
function usedTokens(entry: LogEntry, provider: string): number | undefined {
  if (entry.provider !== provider || entry.inputTokens === undefined) return undefined;
  return entry.inputTokens + (entry.outputTokens ?? 0);
}

/** Why an attempt was skipped; a retry or a hedge stays one ("retry 1 after 80 ms; saturated …"): metrics count attempts by kind. */
function because(attempt: Attempt, why: string): string {
  return attempt.why?.startsWith('retry ') || attempt.why?.startsWith('hedge ') ? `${attempt.why}; ${why}` : why;
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
