// OAuth credentials at run time: sign-in and sign-out, the current token for a request, refresh before expiry and
// after a 401, and whether sign-in is needed (status, window, doctor). Tokens live in the keychain (see record.ts);
// this process keeps the latest copy in memory too, so a keychain hiccup never loses a rotated refresh token.
//
// Refresh tokens often rotate on every use: two refreshes at once would spend the same token twice and the
// provider would revoke the grant. So there is one refresh at a time per credential (concurrent callers share it),
// and before refreshing, the keychain is read again: another process may have refreshed already.
import { EventEmitter } from 'node:events';
import type { Config, OAuthCredential } from '../config/schema.js';
import { OAuthCredentialSchema } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import { silentLogger } from '../log/logger.js';
import { AuthUnavailableError, type OAuthResolver } from '../proxy/auth.js';
import { scrub, secretForms } from '../proxy/errors.js';
import { resolveEndpoints, type Endpoints } from './discovery.js';
import {
  authorizationCodeFlow,
  deviceFlow,
  OPENROUTER_BASE,
  openRouterFlow,
  refreshGrant,
  revoke,
  SignInError,
  type Progress,
} from './flows.js';
import { OAuthNetworkError, OAuthResponseError, type HttpOptions } from './http.js';
import { connectOpenRouter } from './provider-config.js';
import { accountOf, jwtClaims, parseRecord, recordFrom, type TokenRecord } from './record.js';
import type { Vault } from './vault.js';

export type CredentialState = 'signed-in' | 'signed-out' | 'sign-in needed';

export interface CredentialInfo {
  name: string;
  type: 'oidc' | 'openrouter';
  /** What the user recognises: "OpenRouter", or the issuer's host. */
  title: string;
  state: CredentialState;
  /** Why sign-in is needed, or when the token expires; no secret. */
  detail?: string;
  /** Providers that use this credential. */
  usedBy: string[];
  /** Whether a device-code sign-in may be offered. */
  device: boolean;
  expiresAt?: string;
}

export interface OAuthManagerOptions {
  vault: Vault;
  config(): Config;
  /** The config file (OpenRouter sign-in creates or updates its provider there). */
  configPath: string;
  /** How to reach the providers (the daemon passes its dispatcher, which bypasses the hosts file). */
  http?(): HttpOptions;
  logger?: Logger;
  now?(): number;
}

export interface LoginOptions {
  device?: boolean;
  signal?: AbortSignal;
  timeoutMs?: number;
  open?(url: string): Promise<boolean> | boolean;
  onProgress?(p: Progress): void;
}

export interface LoginResult {
  name: string;
  type: 'oidc' | 'openrouter';
  message: string;
  /** Keychain accounts written. */
  accounts: string[];
  /** OpenRouter: the provider that now uses the key, and whether it was created. */
  provider?: string;
  created?: boolean;
}

export interface LogoutResult {
  name: string;
  removed: boolean;
  message: string;
  accounts: string[];
}

/** The built-in OpenRouter sign-in when the config has no [oauth.openrouter] table. */
export const BUILTIN_OPENROUTER = 'openrouter';

/** A refresh failure that means: sign in again (as opposed to: try again later). */
const FOR_GOOD = new Set(['invalid_grant', 'invalid_client', 'unauthorized_client', 'invalid_scope', 'unsupported_grant_type']);

export function needsSignIn(name: string, why?: string): string {
  return `OAuth credential "${name}" needs sign-in${why ? `: ${why}` : ''} (router67 login ${name})`;
}

export class OAuthManager extends EventEmitter {
  private readonly vault: Vault;
  private readonly logger: Logger;
  private readonly now: () => number;
  /** The newest record this process knows per credential (written to the keychain too). */
  private readonly live = new Map<string, TokenRecord>();
  private readonly refreshing = new Map<string, Promise<TokenRecord>>();
  private readonly lastReread = new Map<string, number>();
  /** How many refresh requests went to token endpoints (for tests and diagnostics). */
  refreshCount = 0;

  constructor(private readonly o: OAuthManagerOptions) {
    super();
    this.vault = o.vault;
    this.logger = o.logger ?? silentLogger;
    this.now = o.now ?? Date.now;
  }

  /** What the core calls (Core.setOAuth). */
  resolver(): OAuthResolver {
    return {
      token: (name) => this.token(name),
      problem: (name) => this.problem(name),
      rejected: (name, sent) => this.rejected(name, sent),
    };
  }

  // ------------------------------------------------------------------------------------------------------------
  // Credentials

  /** The credential's settings: its [oauth.<name>] table, or the built-in OpenRouter one. */
  credential(name: string): OAuthCredential | undefined {
    const c = this.o.config().oauth[name];
    if (c) return c;
    if (name === BUILTIN_OPENROUTER) return OAuthCredentialSchema.parse({ type: 'openrouter' });
    return undefined;
  }

  names(): string[] {
    const names = Object.keys(this.o.config().oauth);
    if (!names.includes(BUILTIN_OPENROUTER)) names.unshift(BUILTIN_OPENROUTER);
    return names;
  }

  private oidc(name: string): OAuthCredential {
    const c = this.o.config().oauth[name];
    if (!c || c.type !== 'oidc') throw new AuthUnavailableError(`no [oauth.${name}] table describes OAuth credential "${name}"`);
    return c;
  }

  private record(name: string): TokenRecord | undefined {
    return this.live.get(name) ?? parseRecord(this.vault.get(accountOf(name)));
  }

  private remember(name: string, rec: TokenRecord): void {
    this.live.set(name, rec);
  }

  /** The token the provider receives. */
  private tokenOf(rec: TokenRecord, c: OAuthCredential): string | undefined {
    return c.token === 'id_token' ? rec.id_token : rec.access_token;
  }

  private expiresAt(rec: TokenRecord, c: OAuthCredential): number | undefined {
    if (c.token === 'id_token') {
      const exp = jwtClaims(rec.id_token)?.exp;
      return typeof exp === 'number' ? exp * 1000 : undefined;
    }
    return rec.expires_at;
  }

  /** Due for a refresh: within the margin (at most half the lifetime) of its expiry. */
  private expiring(rec: TokenRecord, c: OAuthCredential): boolean {
    const at = this.expiresAt(rec, c);
    if (at === undefined) return false;
    const margin = Math.min(c.refresh_margin_s * 1000, Math.max(0, (at - rec.obtained_at) / 2));
    return this.now() >= at - margin;
  }

  private expired(rec: TokenRecord, c: OAuthCredential): boolean {
    const at = this.expiresAt(rec, c);
    return at !== undefined && this.now() >= at;
  }

  /** A record made for other settings (client_id or issuer changed since sign-in). */
  private stale(rec: TokenRecord, c: OAuthCredential): string | undefined {
    if (rec.client_id && c.client_id && rec.client_id !== c.client_id) return `client_id changed since sign-in`;
    if (rec.issuer && c.issuer && rec.issuer !== c.issuer) return `issuer changed since sign-in`;
    return undefined;
  }

  // ------------------------------------------------------------------------------------------------------------
  // OAuthResolver

  /** Why the credential cannot be used right now; undefined when it can. Sync: status and warnings call it. */
  problem(name: string): string | undefined {
    const c = this.o.config().oauth[name];
    if (!c || c.type !== 'oidc') return `no [oauth.${name}] table describes OAuth credential "${name}"`;
    const kc = this.vault.info();
    if (!kc.available && !this.live.has(name)) return `the OS keychain is not available (${kc.reason ?? 'unknown reason'}); OAuth tokens are kept only there`;
    const rec = this.record(name);
    if (!rec) return needsSignIn(name);
    if (rec.failed) return needsSignIn(name, rec.failed);
    const stale = this.stale(rec, c);
    if (stale) return needsSignIn(name, stale);
    if (!this.tokenOf(rec, c)) return needsSignIn(name, `the provider issued no ${c.token}`);
    if (!rec.refresh_token && this.expired(rec, c)) return needsSignIn(name, 'the token expired and there is no refresh token');
    return undefined;
  }

  /** A current token (refreshed first when it is about to expire). */
  async token(name: string): Promise<string> {
    const c = this.oidc(name);
    let rec = this.record(name);
    if (!rec || rec.failed) {
      // Signed in again from another process (the CLI) whose notice did not reach us: the keychain says so.
      const again = await this.rereadThrottled(name);
      if (again && (!rec || again.obtained_at > rec.obtained_at)) {
        this.remember(name, again);
        rec = again;
      }
      if (!rec) throw new AuthUnavailableError(needsSignIn(name));
    }
    if (rec.failed) throw new AuthUnavailableError(needsSignIn(name, rec.failed));
    const stale = this.stale(rec, c);
    if (stale) throw new AuthUnavailableError(needsSignIn(name, stale));
    if (this.expiring(rec, c)) rec = await this.refresh(name, rec, 'expiring');
    const t = this.tokenOf(rec, c);
    if (!t) throw new AuthUnavailableError(needsSignIn(name, `the provider issued no ${c.token}`));
    return t;
  }

  /** The provider answered 401 to `sent` (the header value): refresh once, unless that already happened. */
  async rejected(name: string, sent: string): Promise<void> {
    const c = this.oidc(name);
    const rec = this.record(name);
    if (!rec || rec.failed) throw new AuthUnavailableError(needsSignIn(name, rec?.failed));
    const t = this.tokenOf(rec, c);
    // A newer token exists already (another request's refresh): retry with it.
    if (t && !sent.endsWith(t)) return;
    await this.refresh(name, rec, 'rejected');
  }

  /** One refresh at a time per credential; callers during a refresh get its result. */
  private refresh(name: string, seen: TokenRecord, why: 'expiring' | 'rejected'): Promise<TokenRecord> {
    let p = this.refreshing.get(name);
    if (!p) {
      p = this.doRefresh(name, seen, why).finally(() => this.refreshing.delete(name));
      this.refreshing.set(name, p);
    }
    return p;
  }

  private async doRefresh(name: string, seen: TokenRecord, why: 'expiring' | 'rejected'): Promise<TokenRecord> {
    const c = this.oidc(name);
    // Re-read first: another process (the CLI, a second app) may have refreshed or signed in again.
    let cur = seen;
    try {
      const fromKeychain = parseRecord(await this.vault.reread?.(accountOf(name)));
      if (fromKeychain && fromKeychain.obtained_at > cur.obtained_at) {
        cur = fromKeychain;
        this.remember(name, cur);
      }
    } catch (e) {
      this.logger.warn(`OAuth ${name}: keychain not re-read before refresh: ${(e as Error).message}`);
    }
    if (cur.failed) throw new AuthUnavailableError(needsSignIn(name, cur.failed));
    if (this.tokenOf(cur, c) !== this.tokenOf(seen, c) && !this.expiring(cur, c)) return cur;
    // A token that is about to expire (not refused, not yet expired) still serves while a refresh cannot happen.
    const stillUsable = why === 'expiring' && !this.expired(cur, c);
    if (!cur.refresh_token) {
      if (stillUsable) return cur;
      return this.fail(name, cur, why === 'rejected' ? 'the provider refused the token and gave no refresh token' : 'the token expired and the provider gave no refresh token');
    }
    let json: Record<string, unknown>;
    let ep: Endpoints;
    try {
      ep = await resolveEndpoints(c, this.http());
      this.refreshCount++;
      json = await refreshGrant(c, ep, cur.refresh_token, this.http());
    } catch (e) {
      if (e instanceof OAuthResponseError && (FOR_GOOD.has(e.code ?? '') || (e.status === 401 && !e.code))) {
        return this.fail(name, cur, `the provider refused the refresh (${e.code ?? e.status})`);
      }
      // Not for good (no answer, 5xx, 429): keep the credential; a token that still works is used meanwhile. The
      // reason goes to the daemon's log and, through the attempt's error, to the request log and the client: it
      // names the endpoint, status and code only (the endpoint's own text may quote the tokens), and the tokens
      // are scrubbed from it all the same
      const raw = e instanceof OAuthResponseError ? e.brief : e instanceof OAuthNetworkError ? e.message : `refresh failed: ${(e as Error).message}`;
      const reason = scrub(raw, [cur.refresh_token, cur.access_token, cur.id_token].flatMap((t) => (t ? secretForms(t) : [])));
      this.logger.warn(`OAuth ${name}: refresh did not happen, will try again: ${reason}`);
      if (stillUsable) return cur;
      throw new AuthUnavailableError(`OAuth credential "${name}" could not be refreshed right now (${reason})`);
    }
    let next: TokenRecord;
    try {
      next = recordFrom(json, this.now(), { issuer: c.issuer ?? ep.issuer, client_id: c.client_id }, cur);
    } catch (e) {
      return this.fail(name, cur, (e as Error).message);
    }
    this.remember(name, next);
    try {
      await this.vault.set(accountOf(name), JSON.stringify(next));
    } catch (e) {
      // The new tokens stay in memory for this process; the keychain gets them at the next refresh.
      this.logger.warn(`OAuth ${name}: refreshed, but the keychain could not be written: ${(e as Error).message}`);
    }
    this.logger.info(`OAuth ${name}: token refreshed${next.expires_at ? `, valid until ${new Date(next.expires_at).toISOString()}` : ''}`);
    this.emit('change', name);
    return next;
  }

  /** A refresh that failed for good: the tokens are dropped and the credential says "sign-in needed". */
  private async fail(name: string, cur: TokenRecord, why: string): Promise<never> {
    const dead: TokenRecord = { v: 1, obtained_at: cur.obtained_at, failed: why };
    if (cur.issuer) dead.issuer = cur.issuer;
    if (cur.client_id) dead.client_id = cur.client_id;
    this.remember(name, dead);
    try {
      await this.vault.set(accountOf(name), JSON.stringify(dead));
    } catch (e) {
      this.logger.warn(`OAuth ${name}: keychain not updated: ${(e as Error).message}`);
    }
    this.logger.warn(needsSignIn(name, why));
    this.emit('change', name);
    throw new AuthUnavailableError(needsSignIn(name, why));
  }

  private async rereadThrottled(name: string): Promise<TokenRecord | undefined> {
    if (!this.vault.reread) return undefined;
    const last = this.lastReread.get(name) ?? 0;
    if (this.now() - last < 5000) return undefined;
    this.lastReread.set(name, this.now());
    try {
      const rec = parseRecord(await this.vault.reread(accountOf(name)));
      if (rec) this.emit('change', name);
      return rec;
    } catch {
      return undefined;
    }
  }

  /** Forgets what this process holds and reads the keychain again (after a sign-in in another process). */
  async reload(names: string[] = this.names()): Promise<void> {
    for (const n of names) {
      this.live.delete(n);
      try {
        await this.vault.reread?.(accountOf(n));
      } catch {
        /* the keychain says why in its status */
      }
    }
    this.emit('change', names[0] ?? '');
  }

  private http(): HttpOptions {
    return this.o.http?.() ?? {};
  }

  // ------------------------------------------------------------------------------------------------------------
  // Listing, sign-in, sign-out

  private usedBy(name: string, c: OAuthCredential): string[] {
    const ps = this.o.config().providers;
    return c.type === 'openrouter' ? ps.filter((p) => p.name === name).map((p) => p.name) : ps.filter((p) => p.auth?.oauth === name).map((p) => p.name);
  }

  private openRouterAccount(name: string): string {
    const p = this.o.config().providers.find((x) => x.name === name);
    return p?.auth?.keychain ?? name;
  }

  describe(name: string): CredentialInfo | undefined {
    const c = this.credential(name);
    if (!c) return undefined;
    const usedBy = this.usedBy(name, c);
    if (c.type === 'openrouter') {
      const p = this.o.config().providers.find((x) => x.name === name);
      const has = !!p?.auth?.keychain && this.vault.get(p.auth.keychain) !== undefined;
      return {
        name,
        type: 'openrouter',
        title: 'OpenRouter',
        state: has ? 'signed-in' : 'signed-out',
        ...(has ? { detail: `key in the keychain ("${p!.auth!.keychain}")` } : p ? { detail: `provider "${name}" has no key in the keychain` } : {}),
        usedBy,
        device: false,
      };
    }
    const problem = this.problem(name);
    const rec = this.record(name);
    const title = (() => {
      const u = c.issuer ?? c.authorization_endpoint ?? c.device_authorization_endpoint ?? c.token_endpoint;
      try {
        return u ? new URL(u).host : name;
      } catch {
        return name;
      }
    })();
    const at = rec ? this.expiresAt(rec, c) : undefined;
    const info: CredentialInfo = {
      name,
      type: 'oidc',
      title,
      state: problem ? (rec ? 'sign-in needed' : 'signed-out') : 'signed-in',
      usedBy,
      device: !!(c.device_authorization_endpoint || c.issuer),
    };
    if (problem && rec) info.detail = problem;
    if (!problem && at) info.expiresAt = new Date(at).toISOString();
    return info;
  }

  list(): CredentialInfo[] {
    return this.names()
      .map((n) => this.describe(n))
      .filter((x): x is CredentialInfo => !!x);
  }

  /** Signs in. Nothing is stored unless the whole flow succeeds. */
  async login(name: string, o: LoginOptions = {}): Promise<LoginResult> {
    const c = this.credential(name);
    if (!c) throw new SignInError('failed', `no [oauth.${name}] table in the config, and "${name}" is not a built-in sign-in (openrouter)`);
    const kc = this.vault.info();
    if (!kc.available) throw new SignInError('failed', `the OS keychain is not available (${kc.reason ?? 'unknown reason'}); router67 keeps sign-ins only there`);
    const http = { ...this.http(), ...(o.signal ? { signal: o.signal } : {}) };
    const common = {
      ...(o.signal ? { signal: o.signal } : {}),
      ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}),
      ...(o.open ? { open: o.open } : {}),
      ...(o.onProgress ? { onProgress: o.onProgress } : {}),
      http,
    };
    if (c.type === 'openrouter') {
      if (o.device) throw new SignInError('failed', 'OpenRouter has no device flow; sign in with the browser');
      const base = c.base_url ?? OPENROUTER_BASE;
      let out: { provider: string; created: boolean; account: string } | undefined;
      const message = await openRouterFlow(base, {
        ...common,
        label: 'OpenRouter',
        finish: async (key) => {
          out = await connectOpenRouter(this.o.configPath, { provider: name, base, key, vault: this.vault });
          return `router67 has an OpenRouter key now (in the OS keychain); provider "${name}" uses it.`;
        },
      });
      this.emit('change', name);
      this.logger.info(`OpenRouter sign-in: provider "${name}" ${out!.created ? 'created' : 'updated'}`);
      return { name, type: 'openrouter', message, accounts: [out!.account], provider: out!.provider, created: out!.created };
    }
    if (!c.client_id) throw new SignInError('failed', `[oauth.${name}] has no client_id`);
    let ep: Endpoints;
    try {
      ep = await resolveEndpoints(c, http);
    } catch (e) {
      throw new SignInError(o.signal?.aborted ? 'cancelled' : 'failed', (e as Error).message);
    }
    const finish = async (json: Record<string, unknown>) => {
      const rec = recordFrom(json, this.now(), { issuer: c.issuer ?? ep.issuer, client_id: c.client_id }, undefined);
      if (!this.tokenOf(rec, c)) throw new Error(`the provider issued no ${c.token}`);
      await this.vault.set(accountOf(name), JSON.stringify(rec));
      this.remember(name, rec);
      return `router67 is signed in (“${name}”)${rec.refresh_token ? '' : '; the provider gave no refresh token, so sign-in will be needed again when the token expires'}.`;
    };
    const label = `“${name}”`;
    const message = o.device ? await deviceFlow(c, ep, { ...common, label, finish }) : await authorizationCodeFlow(c, ep, { ...common, label, finish });
    this.logger.info(`OAuth ${name}: signed in`);
    this.emit('change', name);
    return { name, type: 'oidc', message, accounts: [accountOf(name)] };
  }

  /** Signs out: the tokens (or OpenRouter key) leave the keychain; OAuth tokens are revoked at the provider when it can. */
  async logout(name: string): Promise<LogoutResult> {
    const c = this.credential(name);
    if (!c) throw new Error(`no [oauth.${name}] table in the config, and "${name}" is not a built-in sign-in (openrouter)`);
    if (c.type === 'openrouter') {
      const account = this.openRouterAccount(name);
      const had = this.vault.get(account) !== undefined;
      const removed = await this.vault.delete(account);
      this.emit('change', name);
      return {
        name,
        removed: removed || had,
        accounts: [account],
        message:
          removed || had
            ? `The OpenRouter key is gone from the keychain; provider "${name}" has no key now. The key itself still exists at OpenRouter: delete it at https://openrouter.ai/settings/keys.`
            : `There was no OpenRouter key in the keychain ("${account}").`,
      };
    }
    const rec = this.record(name);
    let revoked = false;
    if (rec?.refresh_token || rec?.access_token) {
      try {
        const ep = await resolveEndpoints(c, { ...this.http(), timeoutMs: 5000 });
        if (rec.refresh_token) revoked = await revoke(c, ep, rec.refresh_token, 'refresh_token', this.http());
        else if (rec.access_token) revoked = await revoke(c, ep, rec.access_token, 'access_token', this.http());
      } catch {
        revoked = false;
      }
    }
    this.live.delete(name);
    const removed = await this.vault.delete(accountOf(name));
    this.emit('change', name);
    return {
      name,
      removed: removed || !!rec,
      accounts: [accountOf(name)],
      message: rec
        ? `Signed out of “${name}”: the tokens are gone from the keychain${revoked ? ' and were revoked at the provider' : rec.refresh_token || rec.access_token ? ' (the provider did not confirm revocation)' : ''}.`
        : `“${name}” was not signed in.`,
    };
  }
}
