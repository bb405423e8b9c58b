// Input schemas for everything the window sends (IPC in the app, HTTP in the daemon): parsed before use, always.
import { z } from 'zod';
import { FORMATS, STRATEGIES } from '../config/schema.js';

const s = (max: number) => z.string().max(max);
/** The file's revision a draft was based on (sha256 of its text). */
const revision = z.string().regex(/^[0-9a-f]{64}$/, 'expected a sha256 revision');

export const AuthDraftSchema = z
  .object({
    source: z.enum(['keychain', 'env', 'inline', 'oauth', 'none']),
    header: s(200),
    prefix: s(200),
    value_env: s(200),
    keychain: s(200),
    oauth: s(200),
    secretSet: z.boolean().optional(),
    newSecret: s(16_384).optional(),
  })
  .strict();

export const ProviderDraftSchema = z
  .object({
    origin: z.number().int().min(0).max(10_000).optional(),
    name: s(200),
    base_url: s(2048),
    hiddenParams: z.array(s(256)).max(200).optional(),
    format: z.enum(['', ...FORMATS]),
    auth: AuthDraftSchema,
    extra_headers: z.array(z.tuple([s(256), s(8192)])).max(200),
    hiddenHeaders: z.array(s(256)).max(200).optional(),
    models: z.array(z.tuple([s(512), s(512)])).max(5000),
  })
  .strict();

export const ConfigDraftSchema = z
  .object({
    revision,
    intercept_hosts: z.array(s(253)).max(200),
    providers: z.array(ProviderDraftSchema).max(500),
  })
  .strict();

// Routing rules (issue 13)
export const RouteDraftSchema = z
  .object({
    origin: z.number().int().min(0).max(10_000).optional(),
    name: s(200),
    match: s(16_384),
    to: s(16_384),
    strategy: z.enum(['', ...STRATEGIES]),
  })
  .strict();

export const RoutesDraftSchema = z
  .object({
    revision,
    routes: z.array(RouteDraftSchema).max(2000),
  })
  .strict();

export const ExplainRequestSchema = z
  .object({
    body: s(16 * 1024 * 1024),
    path: s(2048).optional(),
    headers: z.record(s(256), s(8192)).optional(),
    host: s(253).optional(),
    app: s(256).optional(),
    draft: RoutesDraftSchema.optional(),
  })
  .strict();

export const InterceptInput = z.boolean();
export const InterceptBody = z.object({ enabled: InterceptInput }).strict();
export const StarterIdsInput = z.array(z.string().regex(/^(?:env:[A-Z][A-Z0-9_]{0,63}|ollama)$/, 'expected a first-run entry id')).max(50);
export const StarterBody = z.object({ ids: StarterIdsInput }).strict();
export const EmptyBody = z.object({}).strict();
export const LogLimitInput = z.number().int().min(1).max(10_000);
export const LogIdInput = z.string().min(1).max(200).regex(/^[A-Za-z0-9._:-]+$/);
/** "Resend to…": a logged request, a provider by name and the upstream model to ask it for. */
export const ResendInput = z
  .object({
    id: LogIdInput,
    provider: z.string().min(1).max(200),
    model: z.string().min(1).max(512),
  })
  .strict();
export const ExternalUrlInput = z
  .string()
  .max(4096)
  .refine((u) => URL.canParse(u) && /^https?:$/.test(new URL(u).protocol), 'only http(s) links open outside');

// OAuth sign-in (issue 6)
export const SignInNameInput = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'expected a credential name');
export const SignInDeviceInput = z.boolean();
export const SignInFlowIdInput = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'expected a sign-in id');
export const SignInStartBody = z.object({ name: SignInNameInput, device: SignInDeviceInput }).strict();
export const SignInCancelBody = z.object({ id: SignInFlowIdInput }).strict();
export const SignOutBody = z.object({ name: SignInNameInput }).strict();

// Usage history (issue 11): a range of at most ~10 years, from before to, in ms since the epoch.
export const UsageQueryInput = z
  .object({
    from: z.number().int().min(0).max(8.64e15),
    to: z.number().int().min(0).max(8.64e15),
    step: z.enum(['hour', 'day']).optional(),
  })
  .strict()
  .refine((q) => q.from < q.to, { message: 'from must be before to', path: ['to'] })
  .refine((q) => q.to - q.from <= 3660 * 86_400_000, { message: 'the range is longer than ten years', path: ['from'] })
  .refine((q) => q.step !== 'hour' || q.to - q.from <= 93 * 86_400_000, { message: 'hourly steps cover at most 93 days', path: ['step'] });

/** A short, secret-free description of why input was refused. */
export function describeInputError(e: z.ZodError): string {
  const i = e.issues[0];
  return i ? `invalid input at ${i.path.join('.') || '(root)'}: ${i.message}` : 'invalid input';
}
