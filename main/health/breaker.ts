// A circuit breaker: closed → (N failures in a row, or a failure ratio over a sliding window) → open for a
// cool-off that doubles on each further trip → half-open: exactly one live request probes; its success closes
// the breaker, its failure opens it again. Times come from the caller's clock.
import type { HealthSettings } from './settings.js';
import type { BreakerState, BreakerView } from './types.js';

const BUCKETS = 10;

export type Allow = { ok: true; probe: boolean } | { ok: false; retryMs: number; state: BreakerState };

export class Breaker {
  state: BreakerState = 'closed';
  consecutive = 0;
  trips = 0;
  private openUntil = 0;
  private closedAt = 0;
  probing = false;
  lastError?: string;
  // sliding window: BUCKETS buckets of windowMs / BUCKETS each
  private readonly ids = new Float64Array(BUCKETS).fill(-Infinity);
  private readonly total = new Uint32Array(BUCKETS);
  private readonly fails = new Uint32Array(BUCKETS);

  /** May a request go? `commit` takes the half-open probe slot when it is the one. */
  allow(now: number, commit: boolean): Allow {
    if (this.state === 'closed') return { ok: true, probe: false };
    if (this.state === 'open') {
      if (now < this.openUntil) return { ok: false, retryMs: this.openUntil - now, state: 'open' };
      if (commit) this.state = 'half-open';
    }
    if (this.probing) return { ok: false, retryMs: 1000, state: 'half-open' };
    if (commit) this.probing = true;
    return { ok: true, probe: true };
  }

  success(now: number, s: HealthSettings, probe: boolean): void {
    this.consecutive = 0;
    if (probe || this.state !== 'closed') {
      this.state = 'closed';
      this.probing = false;
      this.closedAt = now;
      this.clearWindow();
      return;
    }
    this.count(now, s, false);
  }

  failure(now: number, s: HealthSettings, probe: boolean, error: string): void {
    this.lastError = error.length > 160 ? `${error.slice(0, 157)}...` : error;
    this.consecutive++;
    if (this.state !== 'closed') {
      // the probe failed (or a request admitted before the trip did): open again, longer
      if (probe || this.state === 'half-open') this.trip(now, s);
      return;
    }
    const [n, f] = this.count(now, s, true);
    if ((s.failures > 0 && this.consecutive >= s.failures) || (s.ratio > 0 && n >= s.minRequests && f / n >= s.ratio)) this.trip(now, s);
  }

  /** A probe ended without a verdict (client gone, a 4xx of the client's making): the next request probes. */
  abandon(probe: boolean): void {
    if (probe) this.probing = false;
  }

  reset(): void {
    this.state = 'closed';
    this.consecutive = this.trips = 0;
    this.probing = false;
    this.lastError = undefined;
    this.clearWindow();
  }

  view(now: number, s: HealthSettings | undefined): BreakerView {
    let n = 0;
    let f = 0;
    if (s) [n, f] = this.sum(now, s);
    return {
      state: this.state === 'open' && now >= this.openUntil ? 'half-open' : this.state,
      consecutiveFailures: this.consecutive,
      windowRequests: n,
      windowFailures: f,
      trips: this.trips,
      retryInMs: this.state === 'open' ? Math.max(0, this.openUntil - now) : this.state === 'half-open' ? 0 : null,
      probing: this.probing,
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }

  private trip(now: number, s: HealthSettings): void {
    // a breaker that stayed closed for longer than the longest cool-off starts over
    if (this.trips > 0 && this.state === 'closed' && now - this.closedAt > s.cooloffMaxMs) this.trips = 0;
    this.trips++;
    const cool = Math.min(s.cooloffMs * 2 ** Math.min(this.trips - 1, 30), s.cooloffMaxMs);
    this.state = 'open';
    this.openUntil = now + cool;
    this.probing = false;
    this.clearWindow();
  }

  private count(now: number, s: HealthSettings, failed: boolean): [number, number] {
    const width = Math.max(1, s.windowMs / BUCKETS);
    const id = Math.floor(now / width);
    const slot = id % BUCKETS;
    if (this.ids[slot] !== id) {
      this.ids[slot] = id;
      this.total[slot] = 0;
      this.fails[slot] = 0;
    }
    this.total[slot]!++;
    if (failed) this.fails[slot]!++;
    return this.sum(now, s);
  }

  private sum(now: number, s: HealthSettings): [number, number] {
    const id = Math.floor(now / Math.max(1, s.windowMs / BUCKETS));
    let n = 0;
    let f = 0;
    for (let i = 0; i < BUCKETS; i++) {
      if (this.ids[i]! > id - BUCKETS && this.ids[i]! <= id) {
        n += this.total[i]!;
        f += this.fails[i]!;
      }
    }
    return [n, f];
  }

  private clearWindow(): void {
    this.ids.fill(-Infinity);
  }
}
