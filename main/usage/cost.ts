// A finished exchange's cost in USD: the answering attempt's provider and upstream model priced by the price
// table (./prices.ts), applied to the real token counts. Each token is priced once:
//   prompt  = (inputTokens − cacheRead − cacheWrite) × input + cacheRead × cache_read + cacheWrite × cache_write
//   answer  = (outputTokens − reasoning) × output + reasoning × reasoning_rate
// where a missing cache rate is the input rate and a missing reasoning rate the output rate (so those tokens are
// simply priced inside inputTokens / outputTokens). inputTokens includes the cache (see proxy/usage.ts).
import type { Config } from '../config/schema.js';
import type { LogEntry } from '../log/request-log.js';
import { priceFor, rateAt, type Price } from './prices.js';

export interface Tokens {
  inputTokens?: number;
  outputTokens?: number;
  cacheReadTokens?: number;
  cacheWriteTokens?: number;
  reasoningTokens?: number;
}

/** USD for these tokens at this price; undefined when no token count is known at all. */
export function costOf(price: Price, t: Tokens): number | undefined {
  if (t.inputTokens === undefined && t.outputTokens === undefined) return undefined;
  const cr = Math.max(0, t.cacheReadTokens ?? 0);
  const cw = Math.max(0, t.cacheWriteTokens ?? 0);
  // a count reported without its total (or smaller than its parts) never goes negative
  const input = Math.max(t.inputTokens ?? 0, cr + cw);
  const output = Math.max(0, t.outputTokens ?? 0);
  const reasoning = Math.min(Math.max(0, t.reasoningTokens ?? 0), output);
  const at = (r: Price['input']) => rateAt(r, input);
  let usd = 0;
  usd += (input - (price.cacheRead !== undefined ? cr : 0) - (price.cacheWrite !== undefined ? cw : 0)) * at(price.input);
  if (price.cacheRead !== undefined) usd += cr * at(price.cacheRead);
  if (price.cacheWrite !== undefined) usd += cw * at(price.cacheWrite);
  usd += (output - (price.reasoning !== undefined ? reasoning : 0)) * at(price.output);
  if (price.reasoning !== undefined) usd += reasoning * at(price.reasoning);
  return round(usd / 1e6);
}

/** Rounded to a millionth of a cent: sums of many small costs stay exact enough, and the log stays readable. */
function round(usd: number): number {
  return Math.round(usd * 1e8) / 1e8;
}

/**
 * Sets entry.costUsd from the answering attempt (entry.provider + entry.upstreamModel) and the entry's tokens;
 * leaves it unset when the price or the counts are unknown. Returns the cost.
 */
export function priceEntry(cfg: Config, entry: LogEntry): number | undefined {
  if (!entry.provider || !entry.upstreamModel) return undefined;
  if (entry.inputTokens === undefined && entry.outputTokens === undefined) return undefined;
  let price: Price | undefined;
  try {
    price = priceFor(cfg, entry.provider, entry.upstreamModel);
  } catch {
    return undefined; // the table could not be read: no price, never a guess
  }
  if (!price) return undefined;
  const usd = costOf(price, entry);
  if (usd !== undefined) entry.costUsd = usd;
  return usd;
}
