// Per-provider limits: requests in flight (max_in_flight), requests per minute (rpm) and tokens per minute
// (tpm, estimated input tokens at admission, corrected with the real usage when known), and the bounded queue
// a request waits in when its last target is saturated. rpm and tpm are token buckets refilled continuously
// (a full minute's allowance at most).
import type { HealthSettings } from './settings.js';
import type { LimitView } from './types.js';

class Bucket {
  level: number;
  at: number;

  constructor(
    public cap: number,
    now: number,
  ) {
    this.level = cap;
    this.at = now;
  }

  refill(now: number, cap: number): void {
    if (cap !== this.cap) {
      this.level = Math.min(this.level + (cap - this.cap), cap);
      this.cap = cap;
    }
    if (now > this.at) this.level = Math.min(cap, this.level + ((now - this.at) * cap) / 60_000);
    this.at = now;
  }

  /** ms until `n` is available (0: now). */
  waitMs(n: number): number {
    const need = Math.min(n, this.cap) - this.level;
    return need <= 0 ? 0 : Math.ceil((need * 60_000) / this.cap);
  }
}

interface Waiter {
  tokens: number;
  deadline: number;
  done(ok: boolean): void;
}

export type Take = { ok: true } | { ok: false; retryMs: number; why: string };

export class Limiter {
  inFlight = 0;
  private rpm?: Bucket;
  private tpm?: Bucket;
  readonly queue: Waiter[] = [];
  private timer?: NodeJS.Timeout;

  constructor(private readonly now: () => number) {}

  /** Takes a slot (and the tokens) now, or says for how long the provider is saturated. */
  take(s: HealthSettings, tokens: number, queued = false): Take {
    // a queued request's turn comes before newcomers'
    if (!queued && this.queue.length) return { ok: false, retryMs: 1000, why: `saturated: ${this.queue.length} waiting` };
    const now = this.now();
    if (s.maxInFlight > 0 && this.inFlight >= s.maxInFlight) return { ok: false, retryMs: 1000, why: `saturated: ${this.inFlight} in flight (max_in_flight ${s.maxInFlight})` };
    if (s.rpm > 0) {
      this.rpm ??= new Bucket(s.rpm, now);
      this.rpm.refill(now, s.rpm);
      const w = this.rpm.waitMs(1);
      if (w > 0) return { ok: false, retryMs: w, why: `saturated: rpm ${s.rpm} reached` };
    }
    if (s.tpm > 0 && tokens > 0) {
      this.tpm ??= new Bucket(s.tpm, now);
      this.tpm.refill(now, s.tpm);
      const w = this.tpm.waitMs(tokens);
      if (w > 0) return { ok: false, retryMs: w, why: `saturated: tpm ${s.tpm} reached (request needs ~${tokens})` };
    }
    if (s.rpm > 0) this.rpm!.level -= 1;
    if (s.tpm > 0 && tokens > 0) this.tpm!.level -= Math.min(tokens, s.tpm);
    this.inFlight++;
    return { ok: true };
  }

  /** A request ended: its slot frees; `correction` tokens (real − estimated) go against tpm. */
  release(s: HealthSettings, correction: number): void {
    if (this.inFlight > 0) this.inFlight--;
    if (correction && this.tpm && s.tpm > 0) this.tpm.level = Math.min(this.tpm.cap, this.tpm.level - correction);
    this.pump(s);
  }

  /** Waits for a slot in the bounded queue; false when the queue is full, the wait ran out or `signal` fired. */
  wait(s: HealthSettings, tokens: number, onCancel: (fn: (() => void) | undefined) => void): Promise<boolean> {
    if (s.queueMax <= 0 || s.queueWaitMs <= 0 || this.queue.length >= s.queueMax) return Promise.resolve(false);
    return new Promise((resolve) => {
      const w: Waiter = {
        tokens,
        deadline: this.now() + s.queueWaitMs,
        done: (ok) => {
          onCancel(undefined);
          resolve(ok);
        },
      };
      this.queue.push(w);
      onCancel(() => {
        const i = this.queue.indexOf(w);
        if (i >= 0) this.queue.splice(i, 1);
        w.done(false);
        this.pump(s);
      });
      this.pump(s);
    });
  }

  /** Admits waiters in order while they fit; expires the ones out of time; re-arms the timer. */
  private pump(s: HealthSettings): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    let next = Infinity;
    while (this.queue.length) {
      const w = this.queue[0]!;
      const now = this.now();
      const t = this.take(s, w.tokens, true);
      if (t.ok) {
        this.queue.shift();
        w.done(true);
        continue;
      }
      if (now >= w.deadline) {
        this.queue.shift();
        w.done(false);
        continue;
      }
      // in flight frees on release; rpm/tpm refill with time; give up at the deadline
      next = Math.min(w.deadline - now, s.maxInFlight > 0 && this.inFlight >= s.maxInFlight ? Infinity : t.retryMs);
      break;
    }
    if (next !== Infinity) {
      this.timer = setTimeout(() => this.pump(s), Math.max(1, next));
      this.timer.unref?.();
    }
  }

  view(s: HealthSettings | undefined): { rpm: LimitView | null; tpm: LimitView | null } {
    const now = this.now();
    const v = (b: Bucket | undefined, cap: number) => {
      if (!(cap > 0)) return null;
      if (!b) return { limit: cap, remaining: cap };
      b.refill(now, cap);
      return { limit: cap, remaining: Math.max(0, Math.floor(b.level)) };
    };
    return { rpm: v(this.rpm, s?.rpm ?? 0), tpm: v(this.tpm, s?.tpm ?? 0) };
  }
}
