// The resilience settings of one provider: its own keys in [[providers]], else the defaults in [daemon].
import type { Config, Provider } from '../config/schema.js';

export interface HealthSettings {
  /** Consecutive failures that open a breaker (0: off). */
  failures: number;
  /** Failure ratio over the window that opens it (0: off), once the window holds minRequests. */
  ratio: number;
  minRequests: number;
  windowMs: number;
  cooloffMs: number;
  cooloffMaxMs: number;
  /** 0: unlimited. */
  maxInFlight: number;
  rpm: number;
  tpm: number;
  queueMax: number;
  queueWaitMs: number;
  /** How long a 429 (or a "0 remaining" header) without a reset time keeps a target skipped. */
  rateLimitDefaultMs: number;
}

const cache = new WeakMap<Provider, HealthSettings>();

/** Resolved once per provider object (a config reload makes new ones). */
export function settingsFor(cfg: Config, p: Provider): HealthSettings {
  let s = cache.get(p);
  if (s) return s;
  const d = cfg.daemon;
  s = {
    failures: p.breaker_failures ?? d.breaker_failures,
    ratio: p.breaker_failure_ratio ?? d.breaker_failure_ratio,
    minRequests: d.breaker_min_requests,
    windowMs: d.breaker_window_ms,
    cooloffMs: p.breaker_cooloff_ms ?? d.breaker_cooloff_ms,
    cooloffMaxMs: Math.max(d.breaker_cooloff_max_ms, p.breaker_cooloff_ms ?? d.breaker_cooloff_ms),
    maxInFlight: p.max_in_flight ?? d.max_in_flight ?? 0,
    rpm: p.rpm ?? d.rpm ?? 0,
    tpm: p.tpm ?? d.tpm ?? 0,
    queueMax: d.limit_queue_max,
    queueWaitMs: Math.min(d.limit_queue_wait_ms, d.request_timeout_ms),
    rateLimitDefaultMs: d.rate_limit_default_ms,
  };
  cache.set(p, s);
  return s;
}
