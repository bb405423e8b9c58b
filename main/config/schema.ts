// The config file's schema: router67's config.toml, unchanged, plus our additions.
// One schema serves the core, the CLI and the UI's inline validation.
import { z } from 'zod';
import { hostNameProblem } from '../system/hostname.js';

export const FORMATS = ['anthropic', 'openai', 'responses', 'ollama'] as const;
export type Format = (typeof FORMATS)[number];

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):(\d{1,5})$/;
const hostPort = z.string().refine((s) => {
  const m = HOST_PORT.exec(s);
  return !!m && Number(m[2]) <= 65535;
}, 'expected "host:port" with a port from 0 to 65535, e.g. "127.0.0.1:6767"');

/** A web origin as a browser sends it in `Origin`: scheme://host[:port], no path; normalised (lower case, no default port). */
const origin = z
  .string()
  .superRefine((o, ctx) => {
    if (o === '*' || o === 'null') {
      ctx.addIssue({ code: 'custom', message: `"${o}" would let any web page spend your keys; list each origin, e.g. "https://chat.example.com"` });
    } else if (!/^[a-z][a-z0-9+.-]*:\/\/[^/?#\s@]+\/?$/i.test(o) || (/^https?:/i.test(o) && !URL.canParse(o))) {
      ctx.addIssue({ code: 'custom', message: `expected an origin such as "https://chat.example.com" or "http://localhost:3000" (scheme://host[:port], no path), got "${o}"` });
    }
  })
  .transform((o) => {
    const t = o.replace(/\/$/, '');
    return /^https?:/i.test(t) ? new URL(t).origin : t.toLowerCase();
  });

const headerName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'expected an HTTP header name');
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name');

/** Where a provider's secret comes from: exactly one source. */
export const AuthSchema = z
  .object({
    /** Required, except with `oauth`, where it defaults to Authorization with prefix "Bearer ". */
    header: headerName.optional(),
    prefix: z.string().optional(),
    value_env: envName.optional(),
    api_key: z.string().min(1, 'api_key must not be empty').optional(),
    /** A secret stored in the OS keychain under this account name (the GUI writes it). */
    keychain: z.string().min(1).optional(),
    /** An OAuth credential managed by router67 (`router67 login`), by credential name. */
    oauth: z.string().min(1).optional(),
  })
  .loose()
  .superRefine((a, ctx) => {
    if (a.header === undefined && a.oauth === undefined) {
      ctx.addIssue({ code: 'custom', path: ['header'], message: 'auth needs a header (e.g. "Authorization" or "x-api-key")' });
    }
    const sources = (['value_env', 'api_key', 'keychain', 'oauth'] as const).filter((k) => a[k] !== undefined);
    if (sources.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message:
          sources.length === 0
            ? 'auth needs exactly one secret source: value_env, api_key, keychain or oauth'
            : `auth has ${sources.join(' and ')}; exactly one secret source is allowed`,
      });
    }
  });
export type Auth = z.infer<typeof AuthSchema>;

/**
 * Hedging (main/health/hedge.ts): ms to wait for a target's first byte before also starting the next target, or
 * "p95" (its learned p95 time to first byte), or false. A provider's `hedge`; routes may reuse this shape.
 */
export const HedgeSchema = z.union([z.number().int().positive(), z.literal('p95'), z.literal(false)], {
  error: 'expected a delay in ms (e.g. 800), "p95" (the learned p95 time to first byte) or false',
});

/** Per-provider overrides of the [daemon] retry settings (main/health/retry.ts). */
const retryOverrides = {
  retry_max: z.number().int().min(0).max(10).optional(),
  retry_base_ms: z.number().int().positive().optional(),
  retry_max_backoff_ms: z.number().int().positive().optional(),
  retry_after_cap_ms: z.number().int().nonnegative().optional(),
};

/** An extra header's value: the text sent, or `{ keychain = "account" }` for one kept in the OS keychain. */
export const HeaderValueSchema = z.union(
  [z.string(), z.object({ keychain: z.string().min(1, 'keychain must name an account') }).strict()],
  { error: 'expected a string or { keychain = "account" } (a value the window stored in the OS keychain)' },
);
export type HeaderValue = z.infer<typeof HeaderValueSchema>;

export const ProviderSchema = z
  .object({
    name: z.string().min(1, 'provider name must not be empty'),
    base_url: z
      .string()
      .url('expected an absolute URL such as "https://api.anthropic.com"')
      .refine((u) => !URL.canParse(u) || /^https?:$/.test(new URL(u).protocol), 'base_url must be http:// or https://'),
    format: z.enum(FORMATS).optional(),
    auth: AuthSchema.optional(),
    /** A value as written, or `{ keychain = "account" }`: a secret the window stored in the OS keychain. */
    extra_headers: z.record(headerName, HeaderValueSchema).default({}),
    available_models: z.record(z.string().min(1), z.string().min(1, 'upstream model name must not be empty')).default({}),
    /** Overrides [daemon] strict_tools for this provider. */
    strict_tools: z.boolean().optional(),
    /** Resilience (main/health): override the [daemon] defaults of the same name for this provider. */
    max_in_flight: z.number().int().positive().optional(),
    rpm: z.number().int().positive().optional(),
    tpm: z.number().int().positive().optional(),
    breaker_failures: z.number().int().nonnegative().optional(),
    breaker_failure_ratio: z.number().min(0).max(1).optional(),
    breaker_cooloff_ms: z.number().int().positive().optional(),
    ...retryOverrides,
    /** Opt-in hedging after this target's first byte is late (see HedgeSchema). */
    hedge: HedgeSchema.optional(),
  })
  .loose();
export type Provider = z.infer<typeof ProviderSchema>;

export const DaemonSchema = z
  .object({
    /** TLS listener for intercepted hosts (router67's `listen`). */
    listen: hostPort.default('127.0.67.1:443'),
    /** Plain HTTP endpoint for clients that can set a base URL. */
    http_listen: hostPort.default('127.0.0.1:6767'),
    /** Opt-in: allow http_listen on a non-loopback address. */
    allow_non_loopback: z.boolean().default(false),
    /** The admin endpoint's port on 127.0.0.1 (0: any free port, written to run/daemon.json); fix it for a Prometheus scrape target. */
    admin_port: z.number().int().min(0).max(65535).default(0),
    /** Find the app (process) behind each local connection, once per connection (main/procinfo). */
    identify_apps: z.boolean().default(true),
    log_level: z.enum(['error', 'warn', 'info', 'debug', 'trace']).default('info'),
    max_connections: z.number().int().positive().default(32),
    /** Time allowed for an upstream's response headers (first byte). Local models cold-start slowly. */
    first_byte_timeout_ms: z.number().int().positive().default(120_000),
    /** Time allowed for a whole exchange, body included. */
    request_timeout_ms: z.number().int().positive().default(600_000),
    /** Largest request body, after decoding a compressed one (a decompression bomb is refused at this size). */
    max_request_body_bytes: z.number().int().positive().default(64 * 1024 * 1024),
    /** Total bytes of request bodies held at once; over it a request gets 503 with Retry-After. */
    max_buffered_request_bytes: z.number().int().positive().default(80 * 1024 * 1024),
    /** An upload silent for this long is answered 408 and closed. */
    upload_idle_timeout_ms: z.number().int().positive().default(30_000),
    /** An upload not received whole by then (a trickle) is answered 408 and closed. */
    upload_timeout_ms: z.number().int().positive().default(300_000),
    /**
     * Longest silence allowed between an upstream's body bytes (after its headers). A stall before the client
     * got a byte is a transport error (next provider); after that, the dialect's error event ends the answer.
     */
    idle_timeout_ms: z.number().int().positive().default(30_000),
    /**
     * A non-streaming answer is read whole before it is sent (so a cut-off can still fall back) up to this size.
     * Beyond it a passthrough answer is relayed as it arrives (no fallback from then on); a translated one fails
     * that attempt (next provider).
     */
    max_buffered_response_bytes: z.number().int().min(1024).default(32 * 1024 * 1024),
    /** Log request and response bodies to the JSONL log (off by default). */
    log_bodies: z.boolean().default(false),
    /** How long SIGINT/SIGTERM wait for in-flight requests before exiting. */
    drain_timeout_ms: z.number().int().nonnegative().default(10_000),
    /** Name servers for upstream lookups of intercepted hosts (default: the system's). */
    upstream_dns: z.array(z.string().min(1)).optional(),
    /**
     * Web origins (scheme://host[:port]) whose pages may call router67 from a browser. Every other request that
     * carries an Origin (or a Sec-Fetch-Site other than "none") is refused: a web page must not spend your keys.
     */
    allowed_origins: z.array(origin).default([]),
    /**
     * Responses clients routed to a stateless provider: router67 remembers the responses it returned (for
     * `item_reference` and `previous_response_id`) up to this many bytes, least recently used dropped first.
     */
    response_store_max_bytes: z.number().int().nonnegative().default(32 * 1024 * 1024),
    /** …and for this long after last use. */
    response_store_ttl_ms: z.number().int().positive().default(6 * 60 * 60 * 1000),
    /** Linux: the daemon listens here unprivileged; an nftables rule sends <listen>:443 to it. */
    redirect_port: z.number().int().min(1024).max(65535).optional(),
    /**
     * A translated request whose tools (or tool-only fields) the provider's format cannot express is refused for
     * that provider instead of sent without them.
     */
    strict_tools: z.boolean().default(false),
    /** Circuit breaker (per provider: transport errors; per provider + model: 5xx): this many failures in a row open it (0: off). */
    breaker_failures: z.number().int().nonnegative().default(5),
    /** …or this failure ratio over the sliding window (0: off), once the window holds breaker_min_requests. */
    breaker_failure_ratio: z.number().min(0).max(1).default(0.5),
    breaker_min_requests: z.number().int().positive().default(20),
    breaker_window_ms: z.number().int().positive().default(60_000),
    /** An open breaker's first cool-off; doubles on each further trip up to breaker_cooloff_max_ms. */
    breaker_cooloff_ms: z.number().int().positive().default(5_000),
    breaker_cooloff_max_ms: z.number().int().positive().default(300_000),
    /** Default limits of every provider (unset: unlimited); a provider's own keys override them. */
    max_in_flight: z.number().int().positive().optional(),
    rpm: z.number().int().positive().optional(),
    tpm: z.number().int().positive().optional(),
    /** A request whose last target is saturated waits in that provider's queue: at most this many waiters… */
    limit_queue_max: z.number().int().nonnegative().default(64),
    /** …for at most this long, then gets 429 with Retry-After. */
    limit_queue_wait_ms: z.number().int().nonnegative().default(10_000),
    /** How long a 429 (or a rate-limit header saying 0 remaining) without a reset time keeps a target skipped. */
    rate_limit_default_ms: z.number().int().positive().default(1_000),
    /** Retries on the same target (connection refused/reset before any byte, 429/5xx with a short Retry-After). */
    retry_max: z.number().int().min(0).max(10).default(2),
    /** Retries per request across all its targets. */
    retry_budget: z.number().int().min(0).max(20).default(3),
    /** Backoff: full jitter, uniform in [0, min(retry_max_backoff_ms, retry_base_ms · 2^(n-1))]. */
    retry_base_ms: z.number().int().positive().default(250),
    retry_max_backoff_ms: z.number().int().positive().default(4000),
    /** A 429/5xx whose Retry-After asks for longer is not retried: the chain moves on. */
    retry_after_cap_ms: z.number().int().nonnegative().default(5000),
    /** Cache affinity: a conversation's next turn goes to the target that served its previous turn while healthy. */
    affinity: z.boolean().default(true),
    /** Conversations remembered (least recently used dropped first), each for this long after its last turn. */
    affinity_max: z.number().int().positive().default(10_000),
    affinity_ttl_ms: z.number().int().positive().default(60 * 60_000),
    /** Usage history (usage.db in the home folder): finished requests are kept this many days; 0 keeps none. */
    history_retention_days: z.number().int().min(0).max(3650).default(90),
  })
  .loose();
export type Daemon = z.infer<typeof DaemonSchema>;

const LOOPBACK_HOST = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|\[::1\])$/i;
/** https://…, or http:// on a loopback host (local gateways, tests). */
const endpointUrl = z
  .string()
  .refine((u) => URL.canParse(u), 'expected an absolute URL')
  .refine((u) => {
    if (!URL.canParse(u)) return true;
    const x = new URL(u);
    return x.protocol === 'https:' || (x.protocol === 'http:' && LOOPBACK_HOST.test(x.hostname));
  }, 'must be https:// (http:// only on a loopback address)');

/**
 * An OAuth credential router67 signs in to: `[oauth.<name>]`. `type = "oidc"` (default): any OAuth 2 / OpenID
 * Connect provider, found by `issuer` (discovery) or explicit endpoints; providers use it with
 * `auth = { oauth = "<name>" }`. `type = "openrouter"`: OpenRouter's PKCE flow, which yields an API key kept in the
 * keychain. Tokens and keys live in the OS keychain only; this table holds no secret.
 */
export const OAuthCredentialSchema = z
  .object({
    type: z.enum(['oidc', 'openrouter']).default('oidc'),
    issuer: endpointUrl.optional(),
    authorization_endpoint: endpointUrl.optional(),
    token_endpoint: endpointUrl.optional(),
    device_authorization_endpoint: endpointUrl.optional(),
    revocation_endpoint: endpointUrl.optional(),
    client_id: z.string().min(1, 'client_id must not be empty').optional(),
    scopes: z.array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, 'expected a scope token')).default([]),
    /** Extra authorization request parameters (audience, resource, prompt, …). */
    params: z.record(z.string().min(1), z.string()).default({}),
    /** Which token the provider receives. */
    token: z.enum(['access_token', 'id_token']).default('access_token'),
    /** Refresh this long before the token expires (at most half its lifetime). */
    refresh_margin_s: z.number().int().min(0).max(86_400).default(60),
    /** OpenRouter: endpoint base (default https://openrouter.ai). */
    base_url: endpointUrl.optional(),
  })
  .loose()
  .superRefine((o, ctx) => {
    for (const k of ['client_secret', 'access_token', 'refresh_token', 'id_token', 'api_key', 'password']) {
      if ((o as Record<string, unknown>)[k] !== undefined) {
        ctx.addIssue({ code: 'custom', path: [k], message: `${k} does not belong in config.toml: router67 keeps tokens in the OS keychain (router67 login)` });
      }
    }
    if (o.type !== 'oidc') return;
    if (!o.client_id) ctx.addIssue({ code: 'custom', path: ['client_id'], message: 'an OAuth credential needs the client_id registered for router67' });
    const code = o.authorization_endpoint && o.token_endpoint;
    const device = o.device_authorization_endpoint && o.token_endpoint;
    if (!o.issuer && !code && !device) {
      ctx.addIssue({
        code: 'custom',
        message: 'set issuer (discovery), or authorization_endpoint and token_endpoint (or device_authorization_endpoint and token_endpoint)',
      });
    }
  });
export type OAuthCredential = z.infer<typeof OAuthCredentialSchema>;

/** USD per million tokens: `[prices."provider/model"]` (or `"provider/*"`) overrides or adds a price (./usage/prices.ts). */
const usdPerMillion = z.number().nonnegative('a price cannot be negative').finite();
export const PriceSchema = z
  .object({
    input: usdPerMillion.optional(),
    output: usdPerMillion.optional(),
    cache_read: usdPerMillion.optional(),
    cache_write: usdPerMillion.optional(),
    reasoning: usdPerMillion.optional(),
  })
  .strict()
  .refine((p) => Object.values(p).some((v) => v !== undefined), 'set at least one of input, output, cache_read, cache_write, reasoning (USD per million tokens)');
export type PriceOverride = z.infer<typeof PriceSchema>;

/** One budget, in USD: hard limits (`daily`, `monthly`) and soft ones that only notify (`soft_daily`, `soft_monthly`). */
const usd = z.number().positive('a budget must be more than 0 (leave it out for none)').finite();
export const BudgetSchema = z
  .object({
    daily: usd.optional(),
    monthly: usd.optional(),
    soft_daily: usd.optional(),
    soft_monthly: usd.optional(),
  })
  .strict()
  .superRefine((b, ctx) => {
    if (b.soft_daily !== undefined && b.daily !== undefined && b.soft_daily > b.daily) {
      ctx.addIssue({ code: 'custom', path: ['soft_daily'], message: `soft_daily (${b.soft_daily}) is above daily (${b.daily}): it would never notify` });
    }
    if (b.soft_monthly !== undefined && b.monthly !== undefined && b.soft_monthly > b.monthly) {
      ctx.addIssue({ code: 'custom', path: ['soft_monthly'], message: `soft_monthly (${b.soft_monthly}) is above monthly (${b.monthly}): it would never notify` });
    }
  });
export type Budget = z.infer<typeof BudgetSchema>;

/** `[budgets]`: overall, per provider (by name) and per app (as the log names it). See README "Budgets". */
export const BudgetsSchema = z
  .object({
    overall: BudgetSchema.optional(),
    providers: z.record(z.string().min(1), BudgetSchema).default({}),
    apps: z.record(z.string().min(1), BudgetSchema).default({}),
  })
  .strict();
export type Budgets = z.infer<typeof BudgetsSchema>;
/** How a route orders its targets. Every strategy still falls through the rest of the chain on failure. */
export const STRATEGIES = ['fallback', 'round-robin', 'weighted', 'least-latency', 'least-busy', 'cheapest'] as const;
export type Strategy = (typeof STRATEGIES)[number];
export const ROUTE_DIALECTS = ['anthropic', 'openai', 'responses', 'ollama'] as const;

const glob = z.string().min(1, 'a pattern must not be empty');
const globs = z.union([glob, z.array(glob).min(1, 'a list of patterns must not be empty')]);

/** `match` of a `[[routes]]` entry: every key present must hold (unknown keys are refused: a typo must not match everything). */
export const RouteMatchSchema = z
  .object({
    /** The requested model: exact, a glob (`*`, `?`), or a list of them. */
    model: globs.optional().describe('The requested model: exact, a glob (* and ?), or a list, e.g. "claude-*-haiku-*"'),
    /** The client's dialect (wire format it spoke). */
    dialect: z.union([z.enum(ROUTE_DIALECTS), z.array(z.enum(ROUTE_DIALECTS)).min(1)]).optional().describe('The API the client spoke'),
    /** The API path (glob), e.g. "/v1/messages". */
    path: globs.optional().describe('The API path (glob), e.g. "/v1/messages"'),
    /** Estimated input tokens at least / at most (router67's local estimate). */
    min_input_tokens: z.number().int().nonnegative().optional().describe("At least this many input tokens (router67's local estimate)"),
    max_input_tokens: z.number().int().nonnegative().optional().describe("At most this many input tokens (router67's local estimate)"),
    has_images: z.boolean().optional().describe('The request carries images'),
    has_tools: z.boolean().optional().describe('The request offers tools'),
    /** A tool offered by the request, by name or type (glob), e.g. "web_search*" (Anthropic's server-side web search). */
    tool: globs.optional().describe('A tool offered, by name or type (glob), e.g. "web_search*"'),
    /** The conversation carries tool results. */
    has_tool_results: z.boolean().optional().describe('The conversation carries tool results'),
    /** The request asks for thinking / reasoning. */
    thinking: z.boolean().optional().describe('The request asks for thinking / reasoning'),
    stream: z.boolean().optional().describe('The request is streamed'),
    /** Request header name → glob of its value (e.g. { "x-router67-route" = "cheap" }). */
    headers: z.record(headerName, glob).optional().describe('Request header name → glob of its value, e.g. { "x-router67-route" = "cheap" }'),
    /** The intercepted host (glob), e.g. "api.anthropic.com". */
    host: globs.optional().describe('The intercepted host (glob)'),
    /** The app behind the connection (glob), once router67 knows it. */
    app: globs.optional().describe('The app behind the connection (glob)'),
  })
  .strict()
  .describe('Every key present must hold; no key: every request');
export type RouteMatch = z.infer<typeof RouteMatchSchema>;

/** One element of a route's `to`: "provider", { provider, model?, weight? }, or { chain = "route name" }. */
export const RouteTargetSchema = z.union([
  z.string().min(1, 'a provider name must not be empty'),
  z
    .object({
      provider: z.string().min(1).optional(),
      /** The upstream model sent to that provider (default: its available_models mapping, else the requested name). */
      model: z.string().min(1).optional(),
      /** For strategy = "weighted" (default 1). */
      weight: z.number().positive().optional(),
      /** Another route's chain, by its name. */
      chain: z.string().min(1).optional(),
    })
    .strict()
    .superRefine((t, ctx) => {
      if ((t.provider === undefined) === (t.chain === undefined)) {
        ctx.addIssue({ code: 'custom', message: 'a target table needs exactly one of provider or chain' });
      } else if (t.chain !== undefined && (t.model !== undefined || t.weight !== undefined)) {
        ctx.addIssue({ code: 'custom', message: 'a { chain = … } target takes no model or weight' });
      }
    }),
]);
export type RouteTarget = z.infer<typeof RouteTargetSchema>;

/** One `[[routes]]` entry: the first whose `match` holds decides the targets of a request. */
export const RouteSchema = z
  .object({
    /** Shown in the log and the window; `{ chain = "name" }` refers to it. */
    name: z.string().min(1, 'a route name must not be empty').optional().describe('Shown in the log and the window; { chain = "name" } refers to it'),
    match: RouteMatchSchema.default({}),
    to: z
      .array(RouteTargetSchema)
      .min(1, 'a route needs at least one target in to')
      .describe('The chain, in order: "provider", { provider, model?, weight? } or { chain = "route name" }'),
    strategy: z.enum(STRATEGIES).default('fallback').describe('How the chain is ordered; every strategy still falls through the rest on failure'),
    /** Opt-in hedging for this route's targets (ms, "p95" or false); wins over the providers' own `hedge`. */
    hedge: HedgeSchema.optional().describe('Hedging for this route\'s targets: start the next target too when the first byte is this late (ms, or "p95")'),
  })
  .loose()
  .describe('A routing rule: the first route whose match holds decides');
export type Route = z.infer<typeof RouteSchema>;

/** A match that holds for every request (no key, or only model = "*"). */
export function isCatchAll(m: RouteMatch): boolean {
  const keys = Object.keys(m).filter((k) => (m as Record<string, unknown>)[k] !== undefined);
  if (keys.length === 0) return true;
  if (keys.length !== 1 || keys[0] !== 'model') return false;
  const ms = Array.isArray(m.model) ? m.model : [m.model];
  return ms.some((x) => x === '*');
}

function checkRoutes(c: { providers: Provider[]; routes: Route[] }, ctx: z.RefinementCtx): void {
  const providers = new Set(c.providers.map((p) => p.name));
  const byName = new Map<string, number>();
  c.routes.forEach((r, i) => {
    if (r.name === undefined) return;
    const prev = byName.get(r.name);
    if (prev !== undefined) ctx.addIssue({ code: 'custom', path: ['routes', i, 'name'], message: `duplicate route name "${r.name}" (also routes[${prev}])` });
    else byName.set(r.name, i);
  });
  let catchAll: number | undefined;
  c.routes.forEach((r, i) => {
    if (catchAll !== undefined) {
      const by = c.routes[catchAll]!.name ? `"${c.routes[catchAll]!.name}"` : `routes[${catchAll}]`;
      ctx.addIssue({ code: 'custom', path: ['routes', i, 'match'], message: `this route is never reached: ${by} before it matches every request` });
    } else if (isCatchAll(r.match)) catchAll = i;
    const m = r.match;
    if (m.min_input_tokens !== undefined && m.max_input_tokens !== undefined && m.min_input_tokens > m.max_input_tokens) {
      ctx.addIssue({ code: 'custom', path: ['routes', i, 'match', 'max_input_tokens'], message: 'max_input_tokens is below min_input_tokens: the route can never match' });
    }
    r.to.forEach((t, j) => {
      const provider = typeof t === 'string' ? t : t.provider;
      if (provider !== undefined && !providers.has(provider)) {
        ctx.addIssue({
          code: 'custom',
          path: typeof t === 'string' ? ['routes', i, 'to', j] : ['routes', i, 'to', j, 'provider'],
          message: `no provider is named "${provider}"${providers.size ? ` (providers: ${[...providers].join(', ')})` : ''}`,
        });
      }
      if (typeof t !== 'string' && t.chain !== undefined && !byName.has(t.chain)) {
        ctx.addIssue({ code: 'custom', path: ['routes', i, 'to', j, 'chain'], message: `no route is named "${t.chain}"` });
      }
    });
  });
  // cycles between named chains
  const refs = (i: number): number[] =>
    c.routes[i]!.to.flatMap((t) => (typeof t !== 'string' && t.chain !== undefined && byName.has(t.chain) ? [byName.get(t.chain)!] : []));
  const state = new Map<number, 1 | 2>();
  const reported = new Set<number>();
  const visit = (i: number, stack: number[]): void => {
    state.set(i, 1);
    for (const j of refs(i)) {
      if (state.get(j) === 1) {
        const path = [...stack, i];
        const cycle = [...path.slice(path.indexOf(j)), j].map((k) => `"${c.routes[k]!.name}"`);
        if (!reported.has(i)) {
          reported.add(i);
          const at = c.routes[i]!.to.findIndex((t) => typeof t !== 'string' && t.chain === c.routes[j]!.name);
          ctx.addIssue({ code: 'custom', path: ['routes', i, 'to', at, 'chain'], message: `chains refer to each other in a cycle: ${cycle.join(' → ')}` });
        }
      } else if (!state.has(j)) visit(j, [...stack, i]);
    }
    state.set(i, 2);
  };
  c.routes.forEach((_r, i) => {
    if (!state.has(i)) visit(i, []);
  });
}
export const MetricsSchema = z
  .object({
    /** Count from start (prom-client loaded at start); otherwise metrics start at the first scrape of /metrics. */
    enabled: z.boolean().default(false),
    /** false: /metrics, /healthz and /readyz are served without the admin token (still loopback only), for a local Prometheus. */
    require_token: z.boolean().default(true),
  })
  .strict();

export const ConfigSchema = z
  .object({
    intercept_hosts: z
      .array(
        z.string().superRefine((h, ctx) => {
          const problem = hostNameProblem(h);
          if (problem) ctx.addIssue({ code: 'custom', message: problem });
        }),
      )
      .default(['api.anthropic.com', 'api.openai.com', 'openrouter.ai']),
    daemon: DaemonSchema.default(DaemonSchema.parse({})),
    metrics: MetricsSchema.default(MetricsSchema.parse({})),
    providers: z.array(ProviderSchema).default([]),
    oauth: z.record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'expected a credential name (letters, digits, . _ -)'), OAuthCredentialSchema).default({}),
    prices: z.record(z.string().regex(/^[^/]+\/.+$/, 'expected "provider/model" (or "provider/*")'), PriceSchema).default({}),
    budgets: BudgetsSchema.default({ providers: {}, apps: {} }),
    /** Routing rules, in order: the first whose match holds decides; none matching routes as without them. */
    routes: z.array(RouteSchema).default([]).describe('Routing rules, in order: the first whose match holds decides'),
  })
  .loose()
  .superRefine((c, ctx) => {
    const seen = new Map<string, number>();
    c.providers.forEach((p, i) => {
      const prev = seen.get(p.name);
      if (prev !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['providers', i, 'name'], message: `duplicate provider name "${p.name}" (also providers[${prev}])` });
      }
      seen.set(p.name, i);
      const cred = p.auth?.oauth;
      if (cred !== undefined && c.oauth[cred]?.type !== 'oidc') {
        ctx.addIssue({
          code: 'custom',
          path: ['providers', i, 'auth', 'oauth'],
          message: c.oauth[cred] ? `[oauth.${cred}] is an OpenRouter sign-in (it stores a key: use auth.keychain)` : `no [oauth.${cred}] table describes this credential`,
        });
      }
    });
    for (const key of Object.keys(c.prices)) {
      const name = key.slice(0, key.indexOf('/'));
      if (key.includes('/') && ![...seen.keys()].some((n) => key.startsWith(`${n}/`))) {
        ctx.addIssue({ code: 'custom', path: ['prices', key], message: `no provider named "${name}" (the key is "<provider name>/<upstream model>")` });
      }
    }
    for (const name of Object.keys(c.budgets.providers)) {
      if (!seen.has(name)) ctx.addIssue({ code: 'custom', path: ['budgets', 'providers', name], message: `no provider named "${name}"` });
    }
    checkRoutes(c, ctx);
  });
export type Config = z.infer<typeof ConfigSchema>;
