// What the keychain holds for an OAuth credential: one JSON record under the account "oauth:<name>" (service
// router67). Never written anywhere else.
import { z } from 'zod';

export const ACCOUNT_PREFIX = 'oauth:';
export const accountOf = (name: string): string => ACCOUNT_PREFIX + name;

export const TokenRecordSchema = z
  .object({
    v: z.literal(1),
    access_token: z.string().min(1).optional(),
    refresh_token: z.string().min(1).optional(),
    id_token: z.string().min(1).optional(),
    token_type: z.string().optional(),
    scope: z.string().optional(),
    /** ms since the epoch; absent when the provider did not say. */
    expires_at: z.number().optional(),
    obtained_at: z.number(),
    issuer: z.string().optional(),
    client_id: z.string().optional(),
    /** Set when a refresh failed for good: sign-in is needed (the tokens are gone). */
    failed: z.string().optional(),
  })
  .loose();
export type TokenRecord = z.infer<typeof TokenRecordSchema>;

export function parseRecord(text: string | undefined): TokenRecord | undefined {
  if (!text) return undefined;
  try {
    const r = TokenRecordSchema.safeParse(JSON.parse(text));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}

/** A token endpoint's answer (RFC 6749 §5.1) as a record; a refresh keeps what the answer leaves out. */
export function recordFrom(
  json: Record<string, unknown>,
  now: number,
  meta: { issuer?: string; client_id?: string },
  prev?: TokenRecord,
): TokenRecord {
  const s = (k: string) => (typeof json[k] === 'string' && json[k] !== '' ? (json[k] as string) : undefined);
  const access = s('access_token');
  if (!access) throw new Error('the token endpoint answered without an access_token');
  const type = s('token_type');
  if (type && !/^(bearer|n_a)$/i.test(type)) throw new Error(`the token endpoint issued a "${type}" token; router67 sends Bearer tokens only`);
  const ein = typeof json.expires_in === 'number' ? json.expires_in : typeof json.expires_in === 'string' ? Number(json.expires_in) : NaN;
  const rec: TokenRecord = { v: 1, access_token: access, obtained_at: now };
  const refresh = s('refresh_token') ?? prev?.refresh_token;
  if (refresh) rec.refresh_token = refresh;
  const id = s('id_token') ?? prev?.id_token;
  if (id) rec.id_token = id;
  if (type) rec.token_type = type;
  const scope = s('scope') ?? prev?.scope;
  if (scope) rec.scope = scope;
  if (Number.isFinite(ein) && ein > 0) rec.expires_at = now + ein * 1000;
  if (meta.issuer) rec.issuer = meta.issuer;
  if (meta.client_id) rec.client_id = meta.client_id;
  return rec;
}

/** The claims of a JWT (no signature check: the token came straight from the token endpoint over TLS). */
export function jwtClaims(jwt: string | undefined): Record<string, unknown> | undefined {
  const part = jwt?.split('.')[1];
  if (!part) return undefined;
  try {
    const c = JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as unknown;
    return c && typeof c === 'object' ? (c as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
