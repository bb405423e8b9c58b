// What the router has seen of each target (provider + upstream model): requests in flight, and time to first
// byte (a moving average and a recent p95). Fed by the chain walker; read by routing strategies
// (least-busy, least-latency) and by resilience (hedging's learned delay). Per-key state is a few numbers.
const SAMPLES = 64;
const ALPHA = 0.2;

class TargetSeen {
  inFlight = 0;
  ewma: number | undefined;
  readonly ring = new Float64Array(SAMPLES);
  n = 0;
  lastAt = 0;
}

export class TargetStats {
  private readonly seen = new Map<string, TargetSeen>();

  constructor(private readonly now: () => number = Date.now) {}

  private get(key: string): TargetSeen {
    let s = this.seen.get(key);
    if (!s) this.seen.set(key, (s = new TargetSeen()));
    return s;
  }

  begin(key: string): void {
    this.get(key).inFlight++;
  }

  end(key: string): void {
    const s = this.seen.get(key);
    if (s && s.inFlight > 0) s.inFlight--;
  }

  /** A first byte (upstream response headers) arrived after `ms`. */
  ttfb(key: string, ms: number): void {
    const s = this.get(key);
    s.ewma = s.ewma === undefined ? ms : s.ewma + ALPHA * (ms - s.ewma);
    s.ring[s.n % SAMPLES] = ms;
    s.n++;
    s.lastAt = this.now();
  }

  inFlight(key: string): number {
    return this.seen.get(key)?.inFlight ?? 0;
  }

  /** Moving average of time to first byte, or undefined before the first sample. */
  ttfbAverage(key: string): number | undefined {
    return this.seen.get(key)?.ewma;
  }

  /** p95 of the last 64 times to first byte, or undefined with fewer than 8 samples. */
  ttfbP95(key: string): number | undefined {
    const s = this.seen.get(key);
    if (!s || s.n < 8) return undefined;
    const xs = Array.from(s.ring.subarray(0, Math.min(s.n, SAMPLES))).sort((a, b) => a - b);
    return xs[Math.min(xs.length - 1, Math.ceil(0.95 * xs.length) - 1)];
  }

  /** When the last first byte arrived (the clock's ms), or 0. */
  lastSeen(key: string): number {
    return this.seen.get(key)?.lastAt ?? 0;
  }
}
