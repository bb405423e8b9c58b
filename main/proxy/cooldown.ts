// Retry-After on a 429 says how long a provider is out: skip it until then instead of sleeping.
const MAX_COOLDOWN_MS = 10 * 60_000;

/** Milliseconds a 429 asks us to wait, from `retry-after-ms` or `retry-after` (seconds or HTTP date). */
export function retryAfterMs(headers: Record<string, string | string[] | undefined>, now = Date.now()): number | undefined {
  const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
  const ms = one(headers['retry-after-ms']);
  if (ms && /^\d+(\.\d+)?$/.test(ms.trim())) return Math.min(Number(ms), MAX_COOLDOWN_MS);
  const ra = one(headers['retry-after'])?.trim();
  if (!ra) return undefined;
  if (/^\d+(\.\d+)?$/.test(ra)) return Math.min(Number(ra) * 1000, MAX_COOLDOWN_MS);
  const at = Date.parse(ra);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.min(at - now, MAX_COOLDOWN_MS));
}

export class Cooldowns {
  private readonly until = new Map<string, number>();

  set(provider: string, ms: number, now = Date.now()): void {
    if (ms > 0) this.until.set(provider, now + ms);
  }

  /** Remaining cooldown in ms, or 0. */
  remaining(provider: string, now = Date.now()): number {
    const u = this.until.get(provider);
    if (u === undefined) return 0;
    if (u <= now) {
      this.until.delete(provider);
      return 0;
    }
    return u - now;
  }

  clear(provider: string): void {
    this.until.delete(provider);
  }
}
