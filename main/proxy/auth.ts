// A provider's credential, resolved at request time. Errors name the source, never the secret.
import type { Provider } from '../config/schema.js';

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

/** Why the provider's secret is unavailable right now (sync check for status/warnings), or undefined when it is. */
export function authProblem(p: Provider, src: AuthSources): string | undefined {
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
  const a = p.auth;
  if (!a) return {};
  let secret: string | undefined;
  if (a.value_env !== undefined) secret = src.env[a.value_env];
  else if (a.api_key !== undefined) secret = a.api_key;
  else if (a.keychain !== undefined) secret = src.secrets?.get(a.keychain);
  else if (a.oauth !== undefined) {
    if (!src.oauth) throw new AuthUnavailableError(`OAuth credential "${a.oauth}" needs sign-in (router67 login)`);
    secret = await src.oauth.token(a.oauth);
  }
  if (!secret) throw new AuthUnavailableError(authProblem(p, src) ?? `no credential for provider ${p.name}`);
  // An OAuth token goes in Authorization: Bearer unless the provider says otherwise.
  if (a.header === undefined) return { authorization: (a.prefix ?? 'Bearer ') + secret };
  return { [a.header]: (a.prefix ?? '') + secret };
}
