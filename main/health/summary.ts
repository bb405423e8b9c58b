// The health snapshot of one provider summed up for status lines, the window and the tray tooltip.
import type { ProviderHealthInfo } from '../ui/types.js';
import type { ProviderHealthView } from './types.js';

export function healthInfo(p: ProviderHealthView | undefined): ProviderHealthInfo | undefined {
  if (!p) return undefined;
  return {
    breaker: p.breaker.state,
    retryInMs: p.breaker.retryInMs,
    openModels: p.targets.filter((t) => t.breaker.state !== 'closed').map((t) => t.model),
    rateLimited: p.targets.filter((t) => t.rateLimit.blockedForMs !== null || t.rateLimit.requestsRemaining === 0).map((t) => ({ model: t.model, ms: t.rateLimit.blockedForMs ?? t.rateLimit.requestsResetInMs ?? 0 })),
    inFlight: p.inFlight,
    maxInFlight: p.maxInFlight,
    queued: p.queued,
  };
}

/** "breaker open (retry in 4 s); gpt-x breaker half-open; rate-limited: gpt-y 12 s; 3/5 in flight, 2 queued" — or '' when all is well and idle. */
export function healthLine(h: ProviderHealthInfo | undefined): string {
  if (!h) return '';
  const parts: string[] = [];
  if (h.breaker !== 'closed') parts.push(`breaker ${h.breaker}${h.retryInMs ? ` (retry in ${Math.ceil(h.retryInMs / 1000)} s)` : ''}`);
  if (h.openModels.length) parts.push(`breaker open: ${h.openModels.join(', ')}`);
  if (h.rateLimited.length) parts.push(`rate-limited: ${h.rateLimited.map((r) => `${r.model} ${Math.ceil(r.ms / 1000)} s`).join(', ')}`);
  if (h.maxInFlight !== null || h.inFlight) parts.push(`${h.inFlight}${h.maxInFlight !== null ? `/${h.maxInFlight}` : ''} in flight`);
  if (h.queued) parts.push(`${h.queued} queued`);
  return parts.join('; ');
}

/** True when the provider is not fully usable now (a breaker open, rate-limited). */
export function unhealthy(h: ProviderHealthInfo | undefined): boolean {
  return !!h && (h.breaker !== 'closed' || h.openModels.length > 0 || h.rateLimited.length > 0);
}
