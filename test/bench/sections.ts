// Further benchmark sections (TLS handshakes, translated streaming, …) register here; bench.ts runs them in order.
export interface BenchContext {
  home: string;
  upstreamPort: number;
  routerUrl: string;
  routerPid: number;
  N(n: number): number;
  /** [label, measured value, limit, unit]: add a row for each target a section measures. */
  checks: [string, number, number, string][];
  fmt(n: number | undefined, digits?: number): string;
}

export type BenchSection = (ctx: BenchContext) => Promise<void>;

import { tlsHandshakes } from './tls.js';
import { translatedStreaming } from './translated.js';
import { largeAnswer } from './large.js';
import { interceptedPath } from './intercepted.js';
import { appLookups } from './procinfo.js';
import { moduleCosts } from './modules.js';
import { resilienceOverhead } from './resilience.js';
import { routedLatency, routeEvaluation } from './routes.js';
import { usageHistory } from './history.js';

export const extraSections: BenchSection[] = [translatedStreaming, tlsHandshakes, interceptedPath, appLookups, largeAnswer, routeEvaluation, routedLatency, moduleCosts, resilienceOverhead, usageHistory];
