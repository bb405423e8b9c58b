// Which providers a request goes to, in which order: the routing decision, made once per request before the
// chain walker (proxy/proxy.ts `walk`) tries the targets. The walker knows nothing of how the order was chosen.
import type { IncomingHttpHeaders } from 'node:http';
import type { Config, Provider } from '../config/schema.js';
import type { Dialect } from '../log/request-log.js';

/** One place in the chain: a provider and the model name sent to it. */
export interface Target {
  provider: Provider;
  /** The upstream model name (the provider's `available_models` mapping, or a route's forced model). */
  model: string;
}

/** What routing may look at. Built once per request; cheap fields only (the body is read lazily by a matcher). */
export interface RouteRequest {
  /** The requested model (the body's `model`). */
  model: string;
  dialect: Dialect;
  /** The API path (below an intercepted host's prefix), query included. */
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The intercepted host, when the request came over the TLS listener. */
  host?: string;
  /** The app behind the connection, when known. */
  app?: string;
}

export interface RoutePlan {
  targets: Target[];
}

/** Today's routing: every provider that lists the model in `available_models`, in file order. */
export function planRoute(cfg: Config, req: RouteRequest): RoutePlan {
  const targets: Target[] = [];
  for (const p of cfg.providers) {
    const model = Object.hasOwn(p.available_models, req.model) ? p.available_models[req.model] : undefined;
    if (model !== undefined) targets.push({ provider: p, model });
  }
  return { targets };
}

/** The key per-target state (health, limits, latency) is kept under. */
export function targetKey(t: { provider: { name: string } | Provider; model: string }): string {
  return `${t.provider.name}/${t.model}`;
}
