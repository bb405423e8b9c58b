// Which providers a request goes to, in which order: the routing decision, made once per request before the
// chain walker (proxy/proxy.ts `walk`) tries the targets. The walker knows nothing of how the order was chosen.
import type { IncomingHttpHeaders } from 'node:http';
import type { Config, Provider, Route, Strategy } from '../config/schema.js';
import type { Dialect } from '../log/request-log.js';
import { BodyFacts, compileMatch, type Predicate, type StringTest } from './match.js';
import { orderTargets, type Candidate, type StrategyDeps, type StrategyState } from './strategies.js';

export type { PriceLookup, StrategyDeps } from './strategies.js';

/** One place in the chain: a provider and the model name sent to it. */
export interface Target {
  provider: Provider;
  /** The upstream model name (the provider's `available_models` mapping, or a route's forced model). */
  model: string;
  /** Why it is at this place (a route's strategy: 'rule', 'latency 212 ms', 'busy 3', …); unset without routes. */
  why?: string;
  /** The route's `hedge` setting for its targets (wins over the provider's). */
  hedge?: Route['hedge'];
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
  /** The body's one JSON.parse, shared with the relays (proxy/body.ts `jsonOnce`); absent: parsed here if needed. */
  parse?: () => unknown;
}

export interface RoutePlan {
  targets: Target[];
  /** The `[[routes]]` entry that decided: its name, or "#N" (1-based); unset when none matched. */
  route?: string;
  strategy?: Strategy;
}

/** One route, compiled once per config. */
export interface CompiledRoute {
  index: number;
  label: string;
  strategy: Strategy;
  hedge?: Route['hedge'];
  model?: StringTest;
  test: Predicate;
  needsBody: boolean;
  /** `to` with named chains expanded, in order. */
  chain: { provider: Provider; model?: string; weight: number; via?: string }[];
  state: StrategyState;
}

interface Compiled {
  routes: CompiledRoute[];
  /** Per requested model name: the routes whose model condition holds for it (bounded; cleared when full). */
  byModel: Map<string, CompiledRoute[]>;
}

const compiledRoutes = new WeakMap<Config, Compiled>();
const BY_MODEL_MAX = 512;

function compiled(cfg: Config): Compiled {
  let c = compiledRoutes.get(cfg);
  if (!c) compiledRoutes.set(cfg, (c = { routes: buildRoutes(cfg), byModel: new Map() }));
  return c;
}

/** The config's routes, compiled on first use (globs once per config; a reload brings a new Config object). */
export function compileRoutes(cfg: Config): CompiledRoute[] {
  return compiled(cfg).routes;
}

function routesForModel(c: Compiled, model: string): CompiledRoute[] {
  let list = c.byModel.get(model);
  if (!list) {
    if (c.byModel.size >= BY_MODEL_MAX) c.byModel.clear();
    list = c.routes.filter((r) => !r.model || r.model(model));
    c.byModel.set(model, list);
  }
  return list;
}

export function routeLabel(r: Pick<Route, 'name'>, index: number): string {
  return r.name ?? `#${index + 1}`;
}

function buildRoutes(cfg: Config): CompiledRoute[] {
  const routes = cfg.routes ?? [];
  const providers = new Map(cfg.providers.map((p) => [p.name, p]));
  const byName = new Map<string, Route>();
  for (const r of routes) if (r.name !== undefined && !byName.has(r.name)) byName.set(r.name, r);
  const expand = (r: Route, seen: Set<Route>, viaName?: string): CompiledRoute['chain'] => {
    const out: CompiledRoute['chain'] = [];
    for (const t of r.to) {
      if (typeof t === 'string') {
        const p = providers.get(t);
        if (p) out.push({ provider: p, weight: 1, via: viaName });
      } else if (t.chain !== undefined) {
        const next = byName.get(t.chain);
        // validation refuses cycles and unknown names; a guard all the same
        if (next && !seen.has(next)) out.push(...expand(next, new Set([...seen, next]), viaName ?? t.chain));
      } else if (t.provider !== undefined) {
        const p = providers.get(t.provider);
        if (p) out.push({ provider: p, model: t.model, weight: t.weight ?? 1, via: viaName });
      }
    }
    return out;
  };
  return routes.map((r, index) => {
    const m = compileMatch(r.match ?? {});
    return {
      index,
      label: routeLabel(r, index),
      strategy: r.strategy ?? 'fallback',
      hedge: r.hedge,
      model: m.model,
      test: m.test,
      needsBody: m.needsBody,
      chain: expand(r, new Set([r])),
      state: { turn: 0 },
    };
  });
}

/** The first route whose match holds, or undefined. The body is parsed at most once, and only if a route needs it. */
export function matchRoute(cfg: Config, req: RouteRequest, facts?: BodyFacts): CompiledRoute | undefined {
  facts ??= new BodyFacts(req);
  const routes = routesForModel(compiled(cfg), req.model);
  for (let i = 0; i < routes.length; i++) if (routes[i]!.test(req, facts)) return routes[i];
  return undefined;
}

/** A route's candidates for a request: each target's upstream model resolved, duplicates dropped. */
export function candidates(route: CompiledRoute, requested: string): Candidate[] {
  const out: Candidate[] = [];
  next: for (const t of route.chain) {
    const model = t.model ?? (Object.hasOwn(t.provider.available_models, requested) ? t.provider.available_models[requested]! : requested);
    for (let i = 0; i < out.length; i++) if (out[i]!.provider === t.provider && out[i]!.model === model) continue next;
    out.push({ provider: t.provider, model, weight: t.weight, via: t.via });
  }
  return out;
}

/** Today's routing: every provider that lists the model in `available_models`, in file order. */
export function defaultTargets(cfg: Config, model: string): Target[] {
  const targets: Target[] = [];
  for (const p of cfg.providers) {
    const m = Object.hasOwn(p.available_models, model) ? p.available_models[model] : undefined;
    if (m !== undefined) targets.push({ provider: p, model: m });
  }
  return targets;
}

/**
 * The targets of a request: the first `[[routes]]` entry whose match holds decides them (ordered by its
 * strategy); with no routes, or none matching, today's routing (`available_models`, file order).
 */
export function planRoute(cfg: Config, req: RouteRequest, deps: StrategyDeps = {}): RoutePlan {
  if (cfg.routes === undefined || cfg.routes.length === 0) return { targets: defaultTargets(cfg, req.model) };
  const route = matchRoute(cfg, req);
  if (!route) return { targets: defaultTargets(cfg, req.model) };
  const targets: Target[] = orderTargets(route.strategy, candidates(route, req.model), route.state, deps);
  if (route.hedge !== undefined) for (const t of targets) t.hedge = route.hedge;
  return { targets, route: route.label, strategy: route.strategy };
}

/** Keys made so far, per provider object (a config reload makes new ones) and upstream model. */
const keys = new WeakMap<object, Map<string, string>>();

/**
 * The key per-target state (health, limits, latency) is kept under: "provider/model". Made once per provider and
 * model: a string built per call would be hashed anew by every Map it is looked up in, several times a request.
 */
export function targetKey(t: { provider: { name: string } | Provider; model: string }): string {
  let byModel = keys.get(t.provider);
  if (!byModel) keys.set(t.provider, (byModel = new Map()));
  let k = byModel.get(t.model);
  if (k === undefined) {
    if (byModel.size >= 4096) byModel.clear(); // a route may force any model name: bounded
    byModel.set(t.model, (k = `${t.provider.name}/${t.model}`));
  }
  return k;
}
