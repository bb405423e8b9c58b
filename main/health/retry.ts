// Retries on the same target (issue 10): a connection refused or reset before any byte, or a 5xx/429 whose
// Retry-After is short, is sent again after an exponential backoff with full jitter, within a per-request budget
// and the request's deadline. Never once the client got a byte (the walker retries only before it relays), never
// on a 4xx other than 429. Pure policy plus an injectable clock and random source; the walker does the sending.
import type { Config, Provider } from '../config/schema.js';
import type { Cancel } from '../proxy/upstream.js';

export interface RetrySettings {
  /** Retries per target (0: none). */
  max: number;
  /** Retries per request, across all its targets. */
  budget: number;
  /** First backoff ceiling; doubles per retry up to maxBackoffMs. */
  baseMs: number;
  maxBackoffMs: number;
  /** A 429/5xx whose Retry-After asks for longer than this is not retried (the chain moves on). */
  retryAfterCapMs: number;
}

/** [daemon] defaults with the provider's overrides on top. */
export function retrySettings(cfg: Config, p: Provider): RetrySettings {
  const d = cfg.daemon;
  return {
    max: p.retry_max ?? d.retry_max,
    budget: d.retry_budget,
    baseMs: p.retry_base_ms ?? d.retry_base_ms,
    maxBackoffMs: p.retry_max_backoff_ms ?? d.retry_max_backoff_ms,
    retryAfterCapMs: p.retry_after_cap_ms ?? d.retry_after_cap_ms,
  };
}

/** Full jitter: uniform in [0, min(maxBackoff, base · 2^(n-1))] for the n-th retry (n ≥ 1). */
export function backoffMs(n: number, s: Pick<RetrySettings, 'baseMs' | 'maxBackoffMs'>, random: () => number): number {
  const ceiling = Math.min(s.maxBackoffMs, s.baseMs * 2 ** Math.max(0, n - 1));
  return Math.round(random() * ceiling);
}

/** What went wrong with one try, as far as retrying cares. */
export type Failure =
  | { kind: 'transport'; err: unknown }
  | { kind: 'status'; status: number; retryAfterMs?: number };

const RETRYABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);

/** A connection refused or reset before the response began (never a timeout: that already took its time). */
export function isConnectionFailure(err: unknown): boolean {
  for (let e = err as { code?: string; cause?: unknown } | undefined, i = 0; e && i < 4; e = e.cause as typeof e, i++) {
    if (e.code && RETRYABLE_CODES.has(e.code)) return true;
  }
  return false;
}

/**
 * How long to wait before the n-th retry of this failure (n ≥ 1), or undefined when it is not retried:
 * a connection failure or a 5xx/429 without Retry-After waits the jittered backoff; one with a Retry-After up to
 * the cap waits that long (at least the backoff); any other status (4xx) is never retried.
 */
export function retryDelay(f: Failure, n: number, s: RetrySettings, random: () => number): number | undefined {
  if (f.kind === 'transport') return isConnectionFailure(f.err) ? backoffMs(n, s, random) : undefined;
  if (f.status !== 429 && f.status < 500) return undefined;
  const jitter = backoffMs(n, s, random);
  if (f.retryAfterMs === undefined) return jitter;
  if (f.retryAfterMs > s.retryAfterCapMs) return undefined;
  return Math.max(f.retryAfterMs, jitter);
}

/** One request's retries: the per-request budget and the per-target count. */
export class RetryBudget {
  used = 0;
  constructor(readonly budget: number) {}

  /**
   * The wait before retry number `n` of this target, or undefined (no retry): not retryable, the target's
   * retries or the request's budget spent, or the wait would run past the request's deadline (`leftMs`).
   */
  next(f: Failure, n: number, s: RetrySettings, leftMs: number, random: () => number): number | undefined {
    if (n > s.max || this.used >= Math.min(this.budget, s.budget)) return undefined;
    const wait = retryDelay(f, n, s, random);
    if (wait === undefined || wait >= leftMs) return undefined;
    this.used++;
    return wait;
  }
}

/** Time for retries and hedging; tests inject one that records waits instead of sleeping. */
export interface Clock {
  now(): number;
  /** Resolves true after `ms`, or false at once when `cancel` fires first. */
  sleep(ms: number, cancel: Cancel): Promise<boolean>;
}

export const realClock: Clock = {
  now: () => performance.now(),
  sleep(ms, cancel) {
    if (cancel.cancelled) return Promise.resolve(false);
    return new Promise((resolve) => {
      const c = cancel.child();
      const timer = setTimeout(() => {
        c.dispose();
        resolve(true);
      }, ms);
      c.onCancel(() => {
        clearTimeout(timer);
        c.dispose();
        resolve(false);
      });
    });
  },
};

/** A seeded pseudo-random source in [0, 1) (mulberry32), for tests and reproducible runs. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
