// `router67 route --explain FILE.json`, the admin API's POST /api/route/explain and the Routes view's "test a
// request" box: for a request body, the route that matches, the ordered targets and each one's current state,
// without sending anything (a round-robin turn is not used up either). No zod here: the daemon's admin endpoint
// checks the input by hand.
import type { IncomingHttpHeaders } from 'node:http';
import type { Config } from '../config/schema.js';
import { dialectFor } from '../proxy/dialect.js';
import { BodyFacts } from './match.js';
import { candidates, defaultTargets, matchRoute, type RouteRequest, type Target } from './plan.js';
import type { ExplainTargetView, ExplainView } from '../ui/types.js';
import type { TargetStats } from './stats.js';
import { orderTargets, type PriceLookup } from './strategies.js';

export interface ExplainInput {
  /** The request body (a JSON object with a "model"). */
  body: Record<string, unknown>;
  /** The API path; guessed from the body's shape when absent. */
  path?: string;
  headers?: Record<string, string>;
  /** The intercepted host, as if the request came in over the TLS listener. */
  host?: string;
  app?: string;
}

/** What the running daemon knows of its targets (absent when explaining without a daemon). */
export interface LiveState {
  stats?: TargetStats;
  /** Why the health gate would skip the target now (breaker open, rate-limited), or undefined (main/health). */
  health?: { peek(t: Target): { why: string; retryMs: number } | undefined };
  prices?: PriceLookup;
}

/** Checks an explain request by hand (no zod on the daemon's main thread); a string says what is wrong. */
export function parseExplainInput(x: unknown): ExplainInput | string {
  if (!x || typeof x !== 'object' || Array.isArray(x)) return 'expected a JSON object { body, path?, headers?, host?, app? }';
  const o = x as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!['body', 'path', 'headers', 'host', 'app'].includes(k)) return `unknown key "${k}"`;
  const b = o.body;
  if (!b || typeof b !== 'object' || Array.isArray(b)) return 'body: expected the request body, a JSON object';
  if (typeof (b as { model?: unknown }).model !== 'string') return 'body: the request needs a string "model"';
  for (const k of ['path', 'host', 'app'] as const) {
    if (o[k] !== undefined && (typeof o[k] !== 'string' || (o[k] as string).length > 2048)) return `${k}: expected a string`;
  }
  if (o.headers !== undefined) {
    if (!o.headers || typeof o.headers !== 'object' || Array.isArray(o.headers)) return 'headers: expected a table of name → value';
    for (const [k, v] of Object.entries(o.headers)) if (typeof v !== 'string') return `headers.${k}: expected a string`;
  }
  return o as unknown as ExplainInput;
}

/** The API path a body most likely came in on, when the caller did not say. */
export function guessPath(body: Record<string, unknown>): string {
  if (body.input !== undefined && body.messages === undefined) return '/v1/responses';
  const msgs = Array.isArray(body.messages) ? (body.messages as { role?: unknown }[]) : [];
  const openai =
    msgs.some((m) => m && (m.role === 'system' || m.role === 'developer' || m.role === 'tool')) ||
    ['reasoning_effort', 'max_completion_tokens', 'response_format', 'n', 'stream_options', 'functions'].some((k) => body[k] !== undefined);
  return openai ? '/v1/chat/completions' : '/v1/messages';
}

function lowerHeaders(h: Record<string, string> | undefined): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  for (const [k, v] of Object.entries(h ?? {})) out[k.toLowerCase()] = v;
  return out;
}

export function explainRoute(cfg: Config, input: ExplainInput, live: LiveState = {}): ExplainView {
  const path = input.path ?? guessPath(input.body);
  const dialect = dialectFor(path, input.host);
  const req: RouteRequest = {
    model: String(input.body.model),
    dialect,
    path,
    headers: lowerHeaders(input.headers),
    body: Buffer.from(JSON.stringify(input.body)),
    host: input.host,
    app: input.app,
  };
  const facts = new BodyFacts(req);
  const notes: string[] = [];
  if (input.path === undefined) notes.push(`path guessed from the body: ${path}`);
  const route = (cfg.routes?.length ?? 0) > 0 ? matchRoute(cfg, req, facts) : undefined;
  let targets: Target[];
  if (route) {
    // a copy of the route's state: explaining does not take a round-robin turn
    targets = orderTargets(route.strategy, candidates(route, req.model), { turn: route.state.turn }, { stats: live.stats, prices: live.prices });
    if (route.strategy === 'weighted') notes.push('weighted: the order is drawn at random for each request; this is one draw');
    if (route.strategy === 'least-latency') notes.push('least-latency: about one request in ten tries another target first (exploration)');
  } else {
    targets = defaultTargets(cfg, req.model).map((t) => ({ ...t, why: 'order' }));
    notes.push(cfg.routes?.length ? 'no route matches: routed by available_models, in file order' : 'no [[routes]]: routed by available_models, in file order');
    if (targets.length === 0) notes.push(`no provider lists "${req.model}"${input.host ? ': an intercepted request would pass through to the real host' : ': the request would be answered 404'}`);
  }
  if (!live.stats) notes.push('the daemon is not running: no live state (in flight, latency, cooldowns)');
  return {
    model: req.model,
    dialect,
    path,
    route: route?.label,
    strategy: route?.strategy,
    facts: {
      inputTokens: facts.inputTokens(),
      images: facts.images(),
      tools: facts.tools(),
      toolResults: facts.toolResults(),
      thinking: facts.thinking(),
      stream: facts.stream(),
    },
    targets: targets.map((t) => targetState(t, live)),
    notes,
  };
}

function targetState(t: Target, live: LiveState): ExplainTargetView {
  const key = `${t.provider.name}/${t.model}`;
  const out: ExplainTargetView = { provider: t.provider.name, model: t.model, why: t.why ?? 'order', state: '' };
  const words: string[] = [];
  const skip = live.health?.peek(t);
  if (skip) {
    out.coolingS = Math.ceil(skip.retryMs / 1000);
    words.push(`${skip.why}, ${out.coolingS} s left`);
  }
  if (live.stats) {
    out.inFlight = live.stats.inFlight(key);
    const avg = live.stats.ttfbAverage(key);
    const p95 = live.stats.ttfbP95(key);
    if (avg !== undefined) out.ttfbMs = Math.round(avg);
    if (p95 !== undefined) out.ttfbP95Ms = Math.round(p95);
    if (out.inFlight) words.push(`${out.inFlight} in flight`);
    if (avg !== undefined) words.push(`ttfb ${out.ttfbMs} ms${p95 !== undefined ? ` (p95 ${out.ttfbP95Ms} ms)` : ''}`);
    else words.push('not used yet');
  }
  if (live.prices) {
    const p = live.prices(t.provider.name, t.model);
    if (typeof p === 'number') out.priceUsdPerM = p;
  }
  out.state = skip ? words.join(', ') : ['ready', ...words].join(', ');
  return out;
}

/** The explain result as text (the CLI prints this). */
export function formatExplain(r: ExplainView): string {
  const f = r.facts;
  const flags = [f.images && 'images', f.tools && 'tools', f.toolResults && 'tool results', f.thinking && 'thinking', f.stream && 'stream'].filter(Boolean);
  const lines = [
    `request: model "${r.model}", ${r.dialect} at ${r.path}, ~${f.inputTokens} input tokens${flags.length ? `, ${flags.join(', ')}` : ''}`,
    r.route ? `route:   ${r.route} (strategy ${r.strategy})` : 'route:   none matched',
    'targets:',
  ];
  if (r.targets.length === 0) lines.push('  (none)');
  r.targets.forEach((t, i) => {
    lines.push(`  ${i + 1}. ${t.provider} → ${t.model}   [${t.why}]   ${t.state}${t.priceUsdPerM !== undefined ? `, $${t.priceUsdPerM.toFixed(2)}/M` : ''}`);
  });
  for (const n of r.notes) lines.push(`note: ${n}`);
  return lines.join('\n') + '\n';
}
