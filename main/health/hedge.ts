// Hedging (issue 10, opt-in per provider or route): when a target's first byte has not come after a delay, the
// next target is tried too; the first to answer with a success status wins and the other is aborted at once.
// Only ever before anything reached the client (the walker relays the winner alone). The delay is fixed, or the
// target's learned p95 time to first byte (routing/stats.ts).
import type { TargetStats } from '../routing/stats.js';
import type { Cancel } from '../proxy/upstream.js';
import type { Clock } from './retry.js';

/**
 * The `hedge` setting (a provider's, or a route's for its targets): ms to wait for a first byte before starting
 * the next target, "p95" for the target's learned p95 time to first byte (no hedging until 8 answers were seen),
 * or false / absent for none. Validated by `HedgeSchema` in config/schema.ts.
 */
export type HedgeSetting = number | 'p95' | false;

/** Why a hedge's loser was stopped (its attempt's error). */
export class HedgeLost extends Error {
  constructor() {
    super('lost the hedge: aborted');
    this.name = 'HedgeLost';
  }
}

/** The hedge delay for a target, or undefined (no hedging): a route's setting on the target wins over its provider's. */
export function hedgeDelay(target: { hedge?: HedgeSetting; provider: { hedge?: HedgeSetting } }, key: string, stats: TargetStats): number | undefined {
  const h = target.hedge ?? target.provider.hedge;
  if (h === undefined || h === false) return undefined;
  if (h === 'p95') {
    const p = stats.ttfbP95(key);
    return p === undefined ? undefined : Math.max(1, Math.round(p));
  }
  return h;
}

/**
 * How a leg ended: 'win' a success status (relay it), 'hold' an answer the walker would relay but not a success
 * (a 4xx: relayed only if the other leg does no better), 'fail' a fallback (transport error, 429, 5xx) or a skip,
 * 'aborted' the request was cancelled.
 */
export type Verdict = 'win' | 'hold' | 'fail' | 'aborted';

export interface Leg<T extends { verdict: Verdict }> {
  result: Promise<T>;
  /** Stops the leg at once (its exchange aborted, its socket closed). */
  abort(): void;
}

export interface Raced<T> {
  /** The leg whose answer is relayed (0: the first target, 1: the hedge), or undefined when neither gave one. */
  winner?: 0 | 1;
  results: [T, T | undefined];
  /** Whether the second leg was started. */
  hedged: boolean;
}

/**
 * Runs the first leg; if it has not settled after `delayMs`, starts the second (`startSecond`, which may decline)
 * and races them. The loser is aborted the moment the winner is known.
 */
export async function race<T extends { verdict: Verdict }>(
  first: Leg<T>,
  delayMs: number,
  startSecond: () => Leg<T> | undefined,
  clock: Clock,
  cancel: Cancel,
): Promise<Raced<T>> {
  const timer = cancel.child();
  const early = await Promise.race([first.result.then((r) => ({ r })), clock.sleep(delayMs, timer).then(() => undefined)]);
  timer.cancel(new Error('hedge timer cleared'));
  timer.dispose();
  if (early) return { winner: relayable(early.r) ? 0 : undefined, results: [early.r, undefined], hedged: false };
  const second = cancel.cancelled ? undefined : startSecond();
  if (!second) {
    const r = await first.result;
    return { winner: relayable(r) ? 0 : undefined, results: [r, undefined], hedged: false };
  }
  const legs = [first, second] as const;
  const results: [T | undefined, T | undefined] = [undefined, undefined];
  const settled = legs.map((l, i) => l.result.then((r) => ((results[i] = r), i as 0 | 1)));
  const i = await Promise.race(settled);
  const other = (1 - i) as 0 | 1;
  const r = results[i]!;
  if (r.verdict === 'win' || r.verdict === 'aborted') {
    if (r.verdict === 'win') legs[other].abort();
    return { winner: r.verdict === 'win' ? i : undefined, results: results as [T, T | undefined], hedged: true };
  }
  // this one failed or holds a 4xx: the other decides
  const o = (await settled[other], results[other]!);
  if (o.verdict === 'win' || (o.verdict === 'hold' && r.verdict !== 'hold')) {
    if (r.verdict === 'hold') legs[i].abort();
    return { winner: other, results: results as [T, T | undefined], hedged: true };
  }
  if (r.verdict === 'hold') {
    if (o.verdict === 'hold') legs[other].abort();
    return { winner: i, results: results as [T, T | undefined], hedged: true };
  }
  return { winner: undefined, results: results as [T, T | undefined], hedged: true };
}

function relayable(r: { verdict: Verdict }): boolean {
  return r.verdict === 'win' || r.verdict === 'hold';
}
