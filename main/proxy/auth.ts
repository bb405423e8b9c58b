// A provider's credential, resolved at request time. Errors name the source, never the secret.
import type { IncomingHttpHeaders } from 'node:http';
import type { Provider } from '../config/schema.js';
import { isCredentialHeader, isCredentialParam, queryParam, secretForms } from './errors.js';

export interface SecretResolver {
  /** A keychain secret by account name, from a cache kept warm by the secret store; undefined when none. */
  get(account: string): string | undefined;
}

export interface OAuthResolver {
  /** A current access token for the named credential; throws AuthUnavailableError when sign-in is needed. */
  token(name: string): Promise<string>;
  /** Why the credential cannot be used right now (sync, for status), e.g. 'OAuth credential "x" needs sign-in …'. */
  problem?(name: string): string | undefined;
  /** The provider refused `token` (HTTP 401): refresh once (shared by concurrent callers); throws when it cannot. */
  rejected?(name: string, token: string): Promise<void>;
}

export class AuthUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuthUnavailableError';
  }
}

export interface AuthSources {
  env: NodeJS.ProcessEnv;
  secrets?: SecretResolver;
  oauth?: OAuthResolver;
}

/** Describes (without reading it) where a provider's secret comes from, for status and messages. */
export function describeAuthSource(p: Provider): string {
  const a = p.auth;
  if (!a) return 'none';
  if (a.value_env) return `env ${a.value_env}`;
  if (a.api_key) return 'inline api_key';
  if (a.keychain) return `keychain "${a.keychain}"`;
  if (a.oauth) return `oauth "${a.oauth}"`;
  return 'none';
}

/** Why the provider's secret (its key, or an extra header kept in the keychain) is unavailable right now (sync
 *  check for status/warnings), or undefined when it is. */
export function authProblem(p: Provider, src: AuthSources): string | undefined {
  return keyProblem(p, src) ?? extraHeaderProblem(p, src);
}

function keyProblem(p: Provider, src: AuthSources): string | undefined {
  const a = p.auth;
  if (!a) return undefined;
  if (a.value_env !== undefined) return src.env[a.value_env] ? undefined : `environment variable ${a.value_env} is not set`;
  if (a.keychain !== undefined) {
    if (!src.secrets) return 'the OS keychain is not available to this process';
    return src.secrets.get(a.keychain) ? undefined : `no secret stored in the keychain for "${a.keychain}"`;
  }
  if (a.oauth !== undefined) return src.oauth ? src.oauth.problem?.(a.oauth) : `OAuth credential "${a.oauth}" needs sign-in (router67 login)`;
  return undefined;
}

/** The headers that carry the provider's credential, or throws AuthUnavailableError. */
export async function authHeaders(p: Provider, src: AuthSources): Promise<Record<string, string>> {
  return (await resolveAuth(p, src)).headers;
}

export interface ResolvedAuth {
  /** The headers that carry the credential. */
  headers: Record<string, string>;
  /** Every form of the credential that may come back in an upstream's text: as sent, bare, URL-encoded. */
  secrets: readonly string[];
}

/**
 * The provider's credential headers and the secret forms to scrub from what is logged or returned; throws (or, for
 * OAuth, rejects with) AuthUnavailableError. A key at hand (inline, environment, keychain) is resolved at once,
 * without a promise: only an OAuth token may need to wait (a refresh). Await the result either way.
 */
export function resolveAuth(p: Provider, src: AuthSources): ResolvedAuth | Promise<ResolvedAuth> {
  const a = p.auth;
  if (!a) return NO_AUTH;
  if (a.value_env !== undefined) return resolved(p, src, src.env[a.value_env]);
  if (a.api_key !== undefined) return resolved(p, src, a.api_key);
  if (a.keychain !== undefined) return resolved(p, src, src.secrets?.get(a.keychain));
  if (a.oauth !== undefined) {
    if (!src.oauth) return Promise.reject(new AuthUnavailableError(`OAuth credential "${a.oauth}" needs sign-in (router67 login)`));
    return src.oauth.token(a.oauth).then((secret) => resolved(p, src, secret));
  }
  return resolved(p, src, undefined);
}

/** No secrets (shared, never changed). */
const NO_SECRETS: readonly string[] = Object.freeze([]);
const NO_AUTH: ResolvedAuth = Object.freeze({ headers: Object.freeze({}) as Record<string, string>, secrets: NO_SECRETS });

/** The last credential resolved per provider: the same secret gives the same (frozen) answer, built once. */
const lastResolved = new WeakMap<Provider, { secret: string; auth: ResolvedAuth }>();

function resolved(p: Provider, src: AuthSources, secret: string | undefined): ResolvedAuth {
  if (!secret) throw new AuthUnavailableError(authProblem(p, src) ?? `no credential for provider ${p.name}`);
  const last = lastResolved.get(p);
  if (last && last.secret === secret) return last.auth;
  const a = p.auth!;
  // An OAuth token goes in Authorization: Bearer unless the provider says otherwise.
  const name = a.header === undefined ? 'authorization' : a.header;
  const value = (a.header === undefined ? (a.prefix ?? 'Bearer ') : (a.prefix ?? '')) + secret;
  const auth: ResolvedAuth = Object.freeze({ headers: Object.freeze({ [name]: value }), secrets: secretForms(secret, value) });
  lastResolved.set(p, { secret, auth });
  return auth;
}

/** The extra headers whose value is kept in the keychain (`{ keychain = "account" }`): [header, account]. */
export function headerKeychainRefs(p: Pick<Provider, 'extra_headers'>): [string, string][] {
  const out: [string, string][] = [];
  for (const [k, v] of Object.entries(p.extra_headers ?? {})) if (typeof v !== 'string') out.push([k, v.keychain]);
  return out;
}

function extraHeaderProblem(p: Provider, src: AuthSources): string | undefined {
  for (const [name, account] of headerKeychainRefs(p)) {
    if (!src.secrets) return 'the OS keychain is not available to this process';
    if (!src.secrets.get(account)) return `no secret stored in the keychain for "${account}" (extra header ${name})`;
  }
  return undefined;
}

export interface ResolvedHeaders {
  /** The extra headers as sent. */
  headers: Record<string, string>;
  /** The provider's secrets besides its key (see extraHeaderSecrets), keychain header values included. */
  secrets: readonly string[];
}

/** Per provider: its extra headers written as text, and their keychain references (computed once per config). */
const headerCache = new WeakMap<Provider, { plain: ResolvedHeaders; refs: [string, string][] }>();
/** The last resolution per provider with keychain headers: the same values give the same (frozen) answer. */
const lastHeaders = new WeakMap<Provider, { values: string; out: ResolvedHeaders }>();

/**
 * The provider's extra headers as sent (a value kept in the keychain read from the store's cache) and the secrets
 * besides its key to scrub. Throws AuthUnavailableError when a keychain value is missing.
 */
export function resolveExtraHeaders(p: Provider, src: AuthSources): ResolvedHeaders {
  let c = headerCache.get(p);
  if (!c) {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(p.extra_headers ?? {})) if (typeof v === 'string') headers[k] = v;
    c = { plain: Object.freeze({ headers: Object.freeze(headers), secrets: extraHeaderSecrets(p) }), refs: headerKeychainRefs(p) };
    headerCache.set(p, c);
  }
  if (!c.refs.length) return c.plain;
  const values = c.refs.map(([, account]) => src.secrets?.get(account) ?? '');
  if (values.some((v) => !v)) throw new AuthUnavailableError(extraHeaderProblem(p, src) ?? `no credential for provider ${p.name}`);
  const key = values.join('\0');
  const last = lastHeaders.get(p);
  if (last && last.values === key) return last.out;
  const headers = { ...c.plain.headers };
  const secrets = [...c.plain.secrets];
  c.refs.forEach(([name], i) => {
    headers[name] = values[i]!;
    secrets.push(...headerValueForms(values[i]!));
  });
  const out: ResolvedHeaders = Object.freeze({ headers: Object.freeze(headers), secrets: Object.freeze([...new Set(secrets)]) });
  lastHeaders.set(p, { values: key, out });
  return out;
}

/** A credential header value's forms to scrub: as sent, and for "Bearer <token>" the bare token too. */
function headerValueForms(v: string): string[] {
  const bare = /^\s*(?:bearer|basic|token)\s+(\S+)/i.exec(v)?.[1];
  return bare ? [...secretForms(v), ...secretForms(bare)] : [...secretForms(v)];
}

const extraCache = new WeakMap<Provider, string[]>();

/**
 * The provider's secrets besides its key, computed once per config: credential-like `extra_headers` values and
 * credential query parameters of its base_url (`?key=`), each also URL-encoded.
 */
export function extraHeaderSecrets(p: Provider): string[] {
  let s = extraCache.get(p);
  if (!s) {
    const out: string[] = [];
    if (p.base_url.includes('=')) {
      // the value as written (it goes out so) and decoded (as an upstream may quote it)
      for (const part of new URL(p.base_url).search.slice(1).split('&')) {
        // the same parameters the window keeps back (config/save.ts maskBaseUrl)
        const q = queryParam(part);
        if (!q || q.value.length < 4 || !isCredentialParam(q.name)) continue;
        const raw = q.value;
        out.push(...secretForms(raw));
        for (const dec of [() => decodeURIComponent(raw), () => decodeURIComponent(raw.replace(/\+/g, ' '))]) {
          try {
            out.push(...secretForms(dec()));
          } catch {
            /* not valid percent-encoding: the raw form is enough */
          }
        }
      }
    }
    for (const [k, v] of Object.entries(p.extra_headers ?? {})) {
      if (typeof v === 'string' && v && isCredentialHeader(k, v)) out.push(...headerValueForms(v));
    }
    s = [...new Set(out)];
    extraCache.set(p, s);
  }
  return s;
}

const CLIENT_KEY_HEADERS = ['authorization', 'x-api-key', 'api-key', 'x-goog-api-key', 'proxy-authorization'];

/** The client's own credentials in its request headers (bare and as sent), to keep them out of the log. */
export function clientSecrets(h: IncomingHttpHeaders): readonly string[] {
  let out: readonly string[] | undefined;
  for (const name of CLIENT_KEY_HEADERS) {
    const v = h[name];
    if (typeof v !== 'string' || v.length < 8) continue;
    const bare = /^\s*(?:bearer|basic|token)\s+(\S+)/i.exec(v)?.[1];
    const forms = secretForms(bare ?? v, bare ? v : undefined); // computed once per key, shared: never changed
    out = out === undefined ? forms : [...out, ...forms];
  }
  return out ?? NO_SECRETS;
}

