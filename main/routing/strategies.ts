// How a route orders its targets. A strategy only decides the order (and says why for each target); the walker
// still falls through the rest of the chain on a transport error, 429 or 5xx, whatever the strategy.
import type { Provider, Strategy } from '../config/schema.js';
import type { TargetStats } from './stats.js';

/**
 * A price for a target, for `strategy = "cheapest"`: USD per million tokens, input and output blended (the cost
 * work's price table supplies it; any consistent unit orders the same). undefined: price unknown.
 */
export type PriceLookup = (providerName: string, model: string) => number | undefined;

/** What the strategies may read; clock and randomness injectable (seeded in tests). */
export interface StrategyDeps {
  stats?: TargetStats;
  prices?: PriceLookup;
  random?: () => number;
  now?: () => number;
}

export interface Candidate {
  provider: Provider;
  model: string;
  weight: number;
  /** Set when the target came from another route's chain. */
  via?: string;
}

export interface Ordered {
  provider: Provider;
  model: string;
  why: string;
}

/** Per-route state kept across requests (for one config). */
export interface StrategyState {
  turn: number;
}

/** How often least-latency tries a target other than the fastest, so a recovered provider is noticed. */
export const EXPLORE_RATE = 0.1;
/** A target whose last first byte is older than this is preferred when exploring. */
export const STALE_MS = 60_000;

const key = (c: { provider: { name: string }; model: string }) => `${c.provider.name}/${c.model}`;
const via = (c: Candidate, why: string) => (c.via ? `${why} (chain "${c.via}")` : why);

export function orderTargets(strategy: Strategy, cands: Candidate[], state: StrategyState, deps: StrategyDeps): Ordered[] {
  const random = deps.random ?? Math.random;
  const out = (c: Candidate, why: string): Ordered => ({ provider: c.provider, model: c.model, why: via(c, why) });
  if (cands.length <= 1 && strategy !== 'cheapest' && strategy !== 'least-latency' && strategy !== 'least-busy') {
    return cands.map((c) => out(c, 'rule'));
  }
  switch (strategy) {
    case 'fallback':
      return cands.map((c) => out(c, 'rule'));
    case 'round-robin': {
      const start = state.turn++ % cands.length;
      state.turn %= 1 << 30;
      const rotated = [...cands.slice(start), ...cands.slice(0, start)];
      return rotated.map((c, i) => out(c, i === 0 ? `round-robin turn` : 'round-robin next'));
    }
    case 'weighted': {
      const left = [...cands];
      const res: Ordered[] = [];
      while (left.length) {
        const total = left.reduce((s, c) => s + c.weight, 0);
        let r = random() * total;
        let i = 0;
        for (; i < left.length - 1; i++) {
          r -= left[i]!.weight;
          if (r < 0) break;
        }
        const [c] = left.splice(i, 1);
        res.push(out(c!, `weight ${c!.weight} of ${round(total)}`));
      }
      return res;
    }
    case 'least-busy': {
      const stats = deps.stats;
      const busy = cands.map((c, i) => ({ c, i, n: stats?.inFlight(key(c)) ?? 0 }));
      busy.sort((a, b) => a.n - b.n || a.i - b.i);
      return busy.map((b) => out(b.c, `busy ${b.n}`));
    }
    case 'least-latency': {
      const stats = deps.stats;
      const now = (deps.now ?? Date.now)();
      const seen = cands.map((c, i) => {
        const k = key(c);
        const ms = stats?.ttfbAverage(k);
        const stale = ms === undefined || now - (stats?.lastSeen(k) ?? 0) > STALE_MS;
        return { c, i, ms, stale };
      });
      // known first by moving average, then unknown in file order
      seen.sort((a, b) => (a.ms ?? Infinity) - (b.ms ?? Infinity) || a.i - b.i);
      const label = (s: (typeof seen)[number]) => (s.ms === undefined ? 'latency unknown' : `latency ${Math.round(s.ms)} ms`);
      if (seen.length > 1 && random() < EXPLORE_RATE) {
        // explore: a stale or unknown target if there is one, else any other, goes first this time
        const rest = seen.slice(1);
        const stale = rest.filter((s) => s.stale);
        const pool = stale.length ? stale : rest;
        const pick = pool[Math.min(pool.length - 1, Math.floor(random() * pool.length))]!;
        seen.splice(seen.indexOf(pick), 1);
        return [out(pick.c, `exploring, ${label(pick)}`), ...seen.map((s) => out(s.c, label(s)))];
      }
      return seen.map((s) => out(s.c, label(s)));
    }
    case 'cheapest': {
      const prices = deps.prices;
      if (!prices) return cands.map((c) => out(c, 'cheapest: no price table, in order'));
      const priced = cands.map((c, i) => {
        let p: number | undefined;
        try {
          p = prices(c.provider.name, c.model);
        } catch {
          p = undefined;
        }
        return { c, i, p: typeof p === 'number' && Number.isFinite(p) ? p : undefined };
      });
      priced.sort((a, b) => (a.p ?? Infinity) - (b.p ?? Infinity) || a.i - b.i);
      return priced.map((x) => out(x.c, x.p === undefined ? 'price unknown' : `price $${x.p.toFixed(2)}/M`));
    }
  }
}

function round(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(2);
}
