// The health snapshot's shape: what `router67 status`, the window, the tray and /metrics read of the breakers,
// limits and rate-limit foresight (main/health/health.ts `Health.snapshot()`). Plain data, JSON-safe; times are
// milliseconds relative to the snapshot (clock-agnostic), null when not applicable.

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerView {
  state: BreakerState;
  /** Failures in a row (transport errors for a provider, 5xx for a provider + model). */
  consecutiveFailures: number;
  /** Requests and failures in the sliding window. */
  windowRequests: number;
  windowFailures: number;
  /** Trips in a row (each one grows the cool-off); 0 once the breaker has stayed closed a while. */
  trips: number;
  /** Open: ms until a probe may go; half-open: 0. null when closed. */
  retryInMs: number | null;
  /** half-open: a probe is in flight. */
  probing: boolean;
  /** The failure that last counted (scrubbed, short). */
  lastError?: string;
}

/** What the last responses' rate-limit headers (and 429s) said, and what router67 predicts from them. */
export interface RateLimitView {
  requestsRemaining: number | null;
  requestsResetInMs: number | null;
  tokensRemaining: number | null;
  tokensResetInMs: number | null;
  /** Skipped (predicted or told 429) for this long; null when not blocked. */
  blockedForMs: number | null;
}

export interface LimitView {
  limit: number;
  remaining: number;
}

export interface TargetHealthView {
  /** provider/model (routing/plan.ts targetKey). */
  key: string;
  model: string;
  breaker: BreakerView;
  rateLimit: RateLimitView;
}

export interface ProviderHealthView {
  name: string;
  breaker: BreakerView;
  inFlight: number;
  /** null: no max_in_flight. */
  maxInFlight: number | null;
  /** Requests waiting for this provider's limits (bounded queue). */
  queued: number;
  queueMax: number;
  rpm: LimitView | null;
  tpm: LimitView | null;
  /** The targets (provider + upstream model) seen so far. */
  targets: TargetHealthView[];
}

export interface HealthSnapshot {
  /** The clock's time of the snapshot (ms). */
  at: number;
  providers: ProviderHealthView[];
  /** Requests waiting in every provider's queue. */
  queued: number;
}
