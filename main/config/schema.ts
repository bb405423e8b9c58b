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

export const ProviderSchema = z
  .object({
    name: z.string().min(1, 'provider name must not be empty'),
    base_url: z
      .string()
      .url('expected an absolute URL such as "https://api.anthropic.com"')
      .refine((u) => !URL.canParse(u) || /^https?:$/.test(new URL(u).protocol), 'base_url must be http:// or https://'),
    format: z.enum(FORMATS).optional(),
    auth: AuthSchema.optional(),
    extra_headers: z.record(headerName, z.string()).default({}),
    available_models: z.record(z.string().min(1), z.string().min(1, 'upstream model name must not be empty')).default({}),
    /** Overrides [daemon] strict_tools for this provider. */
    strict_tools: z.boolean().optional(),
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
    providers: z.array(ProviderSchema).default([]),
    oauth: z.record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'expected a credential name (letters, digits, . _ -)'), OAuthCredentialSchema).default({}),
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
  });
export type Config = z.infer<typeof ConfigSchema>;
