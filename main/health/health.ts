// Resilience state across requests: a circuit breaker per provider (transport errors) and per provider + model
// (5xx), limits per provider (max_in_flight, rpm, tpm, bounded queue) and rate-limit foresight per provider +
// model. The chain walker asks a per-request `RequestGate` whether a target may be tried (`admit`), tells it how
// the attempt went (`settle`) and frees it (`release`); `snapshot()` is what status, window, tray and metrics read.
// Every time comes from the injected clock.
import type { Config } from '../config/schema.js';
import type { Target } from '../routing/plan.js';
import { Breaker } from './breaker.js';
import { RateState } from './foresight.js';
import { Limiter } from './limits.js';
import { settingsFor, type HealthSettings } from './settings.js';
import type { HealthSnapshot, ProviderHealthView } from './types.js';

type Headers = Record<string, string | string[] | undefined>;

class TargetState {
  readonly breaker = new Breaker();
  readonly rate = new RateState();
  constructor(readonly model: string) {}
}

class ProviderState {
  readonly breaker = new Breaker();
  readonly limiter: Limiter;
  readonly targets = new Map<string, TargetState>();
  settings?: HealthSettings;
  constructor(now: () => number) {
    this.limiter = new Limiter(now);
  }
}

/** An admitted attempt. */
export interface Ticket {
  readonly p: ProviderState;
  readonly t: TargetState;
  readonly s: HealthSettings;
  readonly tokens: number;
  probeProvider: boolean;
  probeTarget: boolean;
  settled: boolean;
  released: boolean;
}

/** Why a target is not tried now. `rateLimited`: it will be after `retryMs` (429s, foresight, saturated limits). */
export interface Skip {
  skip: string;
  why: 'breaker open' | 'rate-limited' | 'saturated';
  rateLimited: boolean;
  retryMs: number;
}

/** How an attempt went, for the breakers and foresight. */
export type Verdict =
  | { kind: 'ok' }
  | { kind: 'client-error' } // a 4xx other than 429: never trips a breaker
  | { kind: 'rate-limited'; headers: Headers } // 429
  | { kind: 'server-error'; error: string } // 5xx
  | { kind: 'transport'; error: string }; // no answer, reset, cut before the client got a byte

export class Health {
  private readonly providers = new Map<string, ProviderState>();

  constructor(readonly now: () => number = Date.now) {}

  private provider(name: string): ProviderState {
    let p = this.providers.get(name);
    if (!p) this.providers.set(name, (p = new ProviderState(this.now)));
    return p;
  }

  private target(ps: ProviderState, model: string): TargetState {
    let t = ps.targets.get(model);
    if (!t) ps.targets.set(model, (t = new TargetState(model)));
    return t;
  }

  /** A per-request gate; `bodyBytes` gives the estimated input tokens (≈ 4 bytes a token). */
  gate(cfg: Config, bodyBytes: number): RequestGate {
    return new RequestGate(this, cfg, Math.ceil(bodyBytes / 4));
  }

  /** Whether a target could be tried now as far as its breakers and rate limits go (nothing is taken). */
  healthy(target: Target): boolean {
    return this.peek(target) === undefined;
  }

  /** Why a target would be skipped now (breaker open, rate-limited) and for how long; nothing is taken. */
  peek(target: Target): { why: string; retryMs: number } | undefined {
    const ps = this.providers.get(target.provider.name);
    if (!ps) return undefined;
    const now = this.now();
    const pb = ps.breaker.allow(now, false);
    if (!pb.ok) return { why: `breaker open for the provider (${pb.state})`, retryMs: pb.retryMs };
    const ts = ps.targets.get(target.model);
    if (!ts) return undefined;
    const tb = ts.breaker.allow(now, false);
    if (!tb.ok) return { why: `breaker open for ${target.model} (${tb.state})`, retryMs: tb.retryMs };
    const blocked = ts.rate.blocked(now, 0);
    return blocked > 0 ? { why: 'rate-limited', retryMs: blocked } : undefined;
  }

  /** Keeps a target skipped as rate-limited for `ms` (what a 429's Retry-After does). */
  block(target: Target, ms: number): void {
    const ts = this.target(this.provider(target.provider.name), target.model);
    ts.rate.blockedUntil = Math.max(ts.rate.blockedUntil, this.now() + ms);
  }

  /** The wait a 429 asked for is over (a retry waited it out): the target may be tried again now. */
  unblock(target: Target): void {
    const ts = this.providers.get(target.provider.name)?.targets.get(target.model);
    if (ts) ts.rate.blockedUntil = 0;
  }

  /** Checks a target without waiting; a Ticket when it may be tried now. */
  tryAdmit(cfg: Config, target: Target, tokens: number): Ticket | (Skip & { limiter?: Limiter; s?: HealthSettings; p?: ProviderState; t?: TargetState }) {
    const now = this.now();
    const s = settingsFor(cfg, target.provider);
    const ps = this.provider(target.provider.name);
    ps.settings = s;
    const ts = this.target(ps, target.model);
    const pb = ps.breaker.allow(now, false);
    if (!pb.ok) return { skip: `breaker open for provider (${pb.state}), retry in ${Math.ceil(pb.retryMs / 1000)} s`, why: 'breaker open', rateLimited: false, retryMs: pb.retryMs };
    const tb = ts.breaker.allow(now, false);
    if (!tb.ok) return { skip: `breaker open for ${target.model} (${tb.state}), retry in ${Math.ceil(tb.retryMs / 1000)} s`, why: 'breaker open', rateLimited: false, retryMs: tb.retryMs };
    const blocked = ts.rate.blocked(now, tokens);
    if (blocked > 0) return { skip: ts.rate.why, why: 'rate-limited', rateLimited: true, retryMs: blocked };
    const take = ps.limiter.take(s, s.tpm > 0 ? tokens : 0);
    if (!take.ok) return { skip: take.why, why: 'saturated', rateLimited: true, retryMs: take.retryMs, limiter: ps.limiter, s, p: ps, t: ts };
    return this.ticket(now, s, ps, ts, tokens);
  }

  /** Commits an admission whose limiter slot is already taken: takes the probe slots, counts foresight. */
  ticket(now: number, s: HealthSettings, ps: ProviderState, ts: TargetState, tokens: number): Ticket {
    const pb = ps.breaker.allow(now, true);
    const tb = ts.breaker.allow(now, true);
    ts.rate.admitted(now, tokens);
    return { p: ps, t: ts, s, tokens, probeProvider: pb.ok && pb.probe, probeTarget: tb.ok && tb.probe, settled: false, released: false };
  }

  /** Reads a response's rate-limit headers (every response, whatever its status). */
  observe(k: Ticket, headers: Headers): void {
    k.t.rate.observe(headers, this.now(), k.s.rateLimitDefaultMs);
  }

  /** Feeds an attempt's outcome to the breakers and foresight, once per ticket. A 429 returns how long the target is skipped. */
  settle(k: Ticket, v: Verdict): number {
    if (k.settled) return 0;
    const now = this.now();
    k.settled = true;
    let wait = 0;
    switch (v.kind) {
      case 'ok':
      case 'client-error':
        k.t.rate.blockedUntil = 0;
        k.p.breaker.success(now, k.s, k.probeProvider);
        k.t.breaker.success(now, k.s, k.probeTarget);
        break;
      case 'rate-limited':
        // the upstream is up and answering: a 429 is no breaker failure
        wait = k.t.rate.limited(v.headers, now, k.s.rateLimitDefaultMs);
        k.p.breaker.success(now, k.s, k.probeProvider);
        k.t.breaker.abandon(k.probeTarget);
        break;
      case 'server-error':
        k.p.breaker.success(now, k.s, k.probeProvider);
        k.t.breaker.failure(now, k.s, k.probeTarget, v.error);
        break;
      case 'transport':
        k.p.breaker.failure(now, k.s, k.probeProvider, v.error);
        k.t.breaker.abandon(k.probeTarget);
        break;
    }
    return wait;
  }

  /** Frees the attempt's slot; `realTokens` (when the answer's usage is known) corrects the tpm estimate. */
  release(k: Ticket, realTokens?: number): void {
    if (k.released) return;
    k.released = true;
    if (!k.settled) {
      k.p.breaker.abandon(k.probeProvider);
      k.t.breaker.abandon(k.probeTarget);
    }
    k.p.limiter.release(k.s, realTokens !== undefined && k.s.tpm > 0 ? realTokens - k.tokens : 0);
  }

  /** Forgets a provider's (or every provider's) breaker, foresight and cooldown state; limits in flight stay. */
  reset(provider?: string): void {
    for (const [name, p] of this.providers) {
      if (provider !== undefined && name !== provider) continue;
      p.breaker.reset();
      for (const t of p.targets.values()) {
        t.breaker.reset();
        t.rate.clear();
      }
    }
  }

  snapshot(cfg?: Config): HealthSnapshot {
    const now = this.now();
    const names = cfg ? cfg.providers.map((p) => p.name) : [...this.providers.keys()];
    let queued = 0;
    const providers = names.map((name): ProviderHealthView => {
      const p = this.providers.get(name);
      const prov = cfg?.providers.find((x) => x.name === name);
      const s = prov && cfg ? settingsFor(cfg, prov) : p?.settings;
      const lim = p?.limiter.view(s) ?? { rpm: s?.rpm ? { limit: s.rpm, remaining: s.rpm } : null, tpm: s?.tpm ? { limit: s.tpm, remaining: s.tpm } : null };
      queued += p?.limiter.queue.length ?? 0;
      return {
        name,
        breaker: (p?.breaker ?? new Breaker()).view(now, s),
        inFlight: p?.limiter.inFlight ?? 0,
        maxInFlight: s?.maxInFlight ? s.maxInFlight : null,
        queued: p?.limiter.queue.length ?? 0,
        queueMax: s?.queueMax ?? 0,
        rpm: lim.rpm,
        tpm: lim.tpm,
        targets: p
          ? [...p.targets.values()].map((t) => ({ key: `${name}/${t.model}`, model: t.model, breaker: t.breaker.view(now, s), rateLimit: t.rate.view(now) }))
          : [],
      };
    });
    return { at: now, providers, queued };
  }
}

/**
 * One request's view: admits targets in chain order and remembers which attempts were rate-limited, so the
 * walker can answer 429 with the smallest Retry-After when every target was.
 */
export class RequestGate {
  /** Made on the first rate-limited attempt: most requests have none. */
  private limited?: WeakMap<object, number>;

  constructor(
    readonly health: Health,
    private readonly cfg: Config,
    readonly tokens: number,
  ) {}

  /**
   * May `target` be tried? A Ticket, or a Skip. The last target of a chain, when only its limits are saturated,
   * waits in its provider's bounded queue (cancellable through `onCancel`): only then is the answer a promise.
   */
  admit(target: Target, last: boolean, onCancel: (fn: (() => void) | undefined) => void): Ticket | Skip | Promise<Ticket | Skip> {
    const r = this.health.tryAdmit(this.cfg, target, this.tokens);
    if (!('skip' in r)) return r;
    if (r.why !== 'saturated' || !last || !r.limiter) return r;
    return this.queued(r, onCancel);
  }

  /** The last target, saturated: a place in its provider's queue, or the skip once the wait is over. */
  private async queued(r: Skip & { limiter?: Limiter; s?: HealthSettings; p?: ProviderState; t?: TargetState }, onCancel: (fn: (() => void) | undefined) => void): Promise<Ticket | Skip> {
    const ok = await r.limiter!.wait(r.s!, r.s!.tpm > 0 ? this.tokens : 0, onCancel);
    if (!ok) return { ...r, skip: `${r.skip}; waited ${r.s!.queueMax > 0 ? 'in the queue' : 'nowhere (no queue)'} up to ${r.s!.queueWaitMs} ms` };
    return this.health.ticket(this.health.now(), r.s!, r.p!, r.t!, this.tokens);
  }

  /** Marks an attempt as rate-limited for `ms` (a 429 or a rate-limit skip). */
  rateLimited(attempt: object, ms: number): void {
    (this.limited ??= new WeakMap()).set(attempt, ms);
  }

  /** The smallest wait when every attempt was rate-limited; undefined otherwise. */
  allRateLimited(attempts: readonly object[]): number | undefined {
    if (attempts.length === 0 || !this.limited) return undefined;
    let min = Infinity;
    for (const a of attempts) {
      const ms = this.limited.get(a);
      if (ms === undefined) return undefined;
      min = Math.min(min, ms);
    }
    return min;
  }
}

