// The config file's schema: router67's config.toml, unchanged, plus our additions.
// One schema serves the core, the CLI and the UI's inline validation.
import { z } from 'zod';

export const FORMATS = ['anthropic', 'openai', 'responses', 'ollama'] as const;
export type Format = (typeof FORMATS)[number];

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):(\d{1,5})$/;
const hostPort = z.string().refine((s) => {
  const m = HOST_PORT.exec(s);
  return !!m && Number(m[2]) <= 65535;
}, 'expected "host:port" with a port from 0 to 65535, e.g. "127.0.0.1:6767"');

const headerName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'expected an HTTP header name');
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name');

/** Where a provider's secret comes from: exactly one source. */
export const AuthSchema = z
  .object({
    header: headerName,
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
    /** Log request and response bodies to the JSONL log (off by default). */
    log_bodies: z.boolean().default(false),
    /** How long SIGINT/SIGTERM wait for in-flight requests before exiting. */
    drain_timeout_ms: z.number().int().nonnegative().default(10_000),
    /** Name servers for upstream lookups of intercepted hosts (default: the system's). */
    upstream_dns: z.array(z.string().min(1)).optional(),
    /** Linux: the daemon listens here unprivileged; an nftables rule sends <listen>:443 to it. */
    redirect_port: z.number().int().min(1024).max(65535).optional(),
  })
  .loose();
export type Daemon = z.infer<typeof DaemonSchema>;

export const ConfigSchema = z
  .object({
    intercept_hosts: z
      .array(z.string().regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/i, 'expected a host name'))
      .default(['api.anthropic.com', 'api.openai.com', 'openrouter.ai']),
    daemon: DaemonSchema.default(DaemonSchema.parse({})),
    providers: z.array(ProviderSchema).default([]),
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
    });
  });
export type Config = z.infer<typeof ConfigSchema>;
