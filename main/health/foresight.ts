// Rate-limit foresight: what each response's rate-limit headers say is left, and until when. A target predicted
// to answer 429 (no requests left, or fewer tokens left than the request needs) is skipped until the reset,
// instead of being asked and waiting for the 429. A 429's Retry-After (today's cooldown) blocks it the same way.
//   Anthropic: anthropic-ratelimit-{requests,tokens,input-tokens}-{remaining,reset} (reset: RFC 3339 time)
//   OpenAI (and Groq, …): x-ratelimit-remaining-{requests,tokens}, x-ratelimit-reset-{requests,tokens} ("6m0s", "1s", "20ms")
//   OpenRouter: x-ratelimit-remaining, x-ratelimit-reset (epoch ms)
import type { RateLimitView } from './types.js';

type Headers = Record<string, string | string[] | undefined>;
const MAX_BLOCK_MS = 10 * 60_000;

function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function num(v: string | string[] | undefined): number | undefined {
  const s = one(v)?.trim();
  if (!s || !/^\d+(\.\d+)?$/.test(s)) return undefined;
  return Number(s);
}

const DURATION = /^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+(?:\.\d+)?)ms)?$/;

/** A reset header as ms from now: a Go-style duration ("6m0s", "1s", "20ms"), seconds, epoch (s or ms) or a date. */
export function resetMs(v: string | string[] | undefined, now: number): number | undefined {
  const s = one(v)?.trim();
  if (!s) return undefined;
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(s)) {
    const n = Number(s);
    ms = n > 1e12 ? n - now : n > 1e9 ? n * 1000 - now : n * 1000;
  } else {
    const m = DURATION.exec(s);
    if (m && (m[1] || m[2] || m[3] || m[4])) ms = Number(m[1] ?? 0) * 3_600_000 + Number(m[2] ?? 0) * 60_000 + Number(m[3] ?? 0) * 1000 + Number(m[4] ?? 0);
    else {
      const at = Date.parse(s);
      if (Number.isNaN(at)) return undefined;
      ms = at - now;
    }
  }
  return Math.max(0, Math.min(ms, MAX_BLOCK_MS));
}

/** Milliseconds a 429 asks us to wait, from `retry-after-ms` or `retry-after` (seconds or HTTP date). */
export function retryAfterMs(headers: Headers, now = Date.now()): number | undefined {
  const ms = num(headers['retry-after-ms']);
  if (ms !== undefined) return Math.min(ms, MAX_BLOCK_MS);
  const ra = one(headers['retry-after'])?.trim();
  if (!ra) return undefined;
  if (/^\d+(\.\d+)?$/.test(ra)) return Math.min(Number(ra) * 1000, MAX_BLOCK_MS);
  const at = Date.parse(ra);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.min(at - now, MAX_BLOCK_MS));
}

/** One target's rate-limit state (clock ms). */
export class RateState {
  reqLeft: number | undefined;
  reqReset = 0;
  tokLeft: number | undefined;
  tokReset = 0;
  blockedUntil = 0;
  why = '';

  /** Reads a response's rate-limit headers (any status). */
  observe(h: Headers, now: number, defaultMs: number): void {
    const req = num(h['anthropic-ratelimit-requests-remaining']) ?? num(h['x-ratelimit-remaining-requests']) ?? num(h['x-ratelimit-remaining']);
    if (req !== undefined) {
      this.reqLeft = req;
      const r = resetMs(h['anthropic-ratelimit-requests-reset'] ?? h['x-ratelimit-reset-requests'] ?? h['x-ratelimit-reset'], now);
      this.reqReset = now + (r ?? (req === 0 ? defaultMs : 60_000));
    }
    const tokA = num(h['anthropic-ratelimit-tokens-remaining']) ?? num(h['x-ratelimit-remaining-tokens']);
    const tokB = num(h['anthropic-ratelimit-input-tokens-remaining']);
    const tok = tokA === undefined ? tokB : tokB === undefined ? tokA : Math.min(tokA, tokB);
    if (tok !== undefined) {
      this.tokLeft = tok;
      const r =
        tok === tokB && tokB !== tokA
          ? resetMs(h['anthropic-ratelimit-input-tokens-reset'], now)
          : resetMs(h['anthropic-ratelimit-tokens-reset'] ?? h['x-ratelimit-reset-tokens'], now);
      this.tokReset = now + (r ?? (tok === 0 ? defaultMs : 60_000));
    }
  }

  /** A 429: skipped for its Retry-After (or the rate-limit resets it names, or the default). */
  limited(h: Headers, now: number, defaultMs: number): number {
    let wait = retryAfterMs(h, now);
    if (wait === undefined) {
      const resets = [this.reqLeft === 0 ? this.reqReset - now : 0, this.tokLeft === 0 ? this.tokReset - now : 0].filter((x) => x > 0);
      wait = resets.length ? Math.min(...resets) : defaultMs;
    }
    wait = Math.max(wait, 1);
    this.blockedUntil = Math.max(this.blockedUntil, now + wait);
    this.why = `rate-limited (429), Retry-After has ${Math.ceil(wait / 1000)} s left`;
    return wait;
  }

  /** ms this target is predicted (or told) to answer 429 for a request of `tokens` input tokens; 0 when it may go. */
  blocked(now: number, tokens: number): number {
    if (now < this.blockedUntil) {
      this.why = `rate-limited, Retry-After has ${Math.ceil((this.blockedUntil - now) / 1000)} s left`;
      return this.blockedUntil - now;
    }
    if (this.reqLeft !== undefined && this.reqLeft <= 0 && now < this.reqReset) {
      this.why = `rate limit foresight: 0 requests left until reset in ${Math.ceil((this.reqReset - now) / 1000)} s`;
      return this.reqReset - now;
    }
    if (this.tokLeft !== undefined && this.tokLeft < tokens && now < this.tokReset) {
      this.why = `rate limit foresight: ${this.tokLeft} tokens left (request needs ~${tokens}) until reset in ${Math.ceil((this.tokReset - now) / 1000)} s`;
      return this.tokReset - now;
    }
    return 0;
  }

  /** A request admitted: counted against what is left until the next response says otherwise. */
  admitted(now: number, tokens: number): void {
    if (this.reqLeft !== undefined && now < this.reqReset) this.reqLeft--;
    if (this.tokLeft !== undefined && now < this.tokReset) this.tokLeft -= tokens;
  }

  clear(): void {
    this.blockedUntil = 0;
    this.reqLeft = this.tokLeft = undefined;
  }

  view(now: number): RateLimitView {
    const live = (left: number | undefined, reset: number) => (left !== undefined && now < reset ? left : null);
    return {
      requestsRemaining: live(this.reqLeft, this.reqReset),
      requestsResetInMs: this.reqLeft !== undefined && now < this.reqReset ? this.reqReset - now : null,
      tokensRemaining: live(this.tokLeft, this.tokReset),
      tokensResetInMs: this.tokLeft !== undefined && now < this.tokReset ? this.tokReset - now : null,
      blockedForMs: now < this.blockedUntil ? this.blockedUntil - now : null,
    };
  }
}
