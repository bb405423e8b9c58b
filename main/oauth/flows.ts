// The sign-in flows: authorization code + PKCE with a loopback redirect (RFC 6749, 7636, 8252), the device flow
// (RFC 8628), OpenRouter's PKCE key exchange, and the refresh and revocation calls. Each flow hands its result to
// `finish` (which stores it) before the browser tab is told the outcome; a flow that is cancelled, times out or
// fails never reaches `finish`, so nothing is stored.
import { timingSafeEqual } from 'node:crypto';
import type { OAuthCredential } from '../config/schema.js';
import type { Endpoints } from './discovery.js';
import { expectJson, httpCall, OAuthResponseError, type HttpOptions } from './http.js';
import { startLoopback, type Callback } from './loopback.js';
import { pkcePair, randomToken } from './pkce.js';
import { jwtClaims } from './record.js';

export type SignInErrorKind = 'cancelled' | 'timeout' | 'state' | 'denied' | 'failed';

export class SignInError extends Error {
  constructor(
    readonly kind: SignInErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'SignInError';
  }
}

export type Progress =
  | { phase: 'browser'; url: string; opened: boolean }
  | { phase: 'device'; userCode: string; verificationUri: string; verificationUriComplete?: string; expiresAt: number; opened: boolean }
  | { phase: 'exchanging' };

export interface FlowOptions<T> {
  signal?: AbortSignal;
  /** How long the user has (default 5 minutes). */
  timeoutMs?: number;
  http?: HttpOptions;
  onProgress?(p: Progress): void;
  /** Opens the system browser; resolves whether it did. */
  open?(url: string): Promise<boolean> | boolean;
  /** Stores the result; its answer is the message the user sees. */
  finish(result: T): Promise<string>;
  /** A name for messages ("corp", "OpenRouter"). */
  label: string;
}

export const DEFAULT_TIMEOUT_MS = 5 * 60_000;

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Waits for `p`, or fails on cancel or time-out. */
function within<T>(p: Promise<T>, o: { signal?: AbortSignal; timeoutMs?: number }, what: string): Promise<T> {
  const ms = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => done(() => reject(new SignInError('cancelled', 'sign-in cancelled')));
    const timer = setTimeout(() => done(() => reject(new SignInError('timeout', `no answer ${what} within ${Math.round(ms / 1000)} s; sign-in timed out`))), ms);
    const done = (f: () => void) => {
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      f();
    };
    if (o.signal?.aborted) return onAbort();
    o.signal?.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => done(() => resolve(v)),
      (e: unknown) => done(() => reject(e)),
    );
  });
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new SignInError('cancelled', 'sign-in cancelled'));
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new SignInError('cancelled', 'sign-in cancelled'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Asks the system browser to open the page; a browser that does not say within 10 s counts as not opened. */
async function openAndReport<T>(o: FlowOptions<T>, url: string): Promise<boolean> {
  if (!o.open) return false;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      Promise.resolve(o.open(url)).then((v) => v === true),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), 10_000))),
    ]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `finish` and answers the browser tab with the outcome. */
async function complete<T>(cb: Callback | undefined, o: FlowOptions<T>, result: T): Promise<string> {
  try {
    const msg = await o.finish(result);
    cb?.respond(true, msg);
    return msg;
  } catch (e) {
    cb?.respond(false, `router67 could not store the sign-in: ${(e as Error).message}`);
    throw e;
  }
}

function asFailure(e: unknown): Error {
  if (e instanceof SignInError) return e;
  if (e instanceof OAuthResponseError) return new SignInError(e.code === 'access_denied' ? 'denied' : 'failed', e.message);
  return new SignInError('failed', (e as Error).message);
}

const RESERVED = new Set([
  'response_type',
  'client_id',
  'redirect_uri',
  'state',
  'code_challenge',
  'code_challenge_method',
  'nonce',
  'scope',
]);

/** Authorization code + PKCE S256 in the system browser, with the redirect on http://127.0.0.1:<port>/callback. */
export async function authorizationCodeFlow(
  cred: OAuthCredential,
  ep: Endpoints,
  o: FlowOptions<Record<string, unknown>>,
): Promise<string> {
  if (!ep.authorization_endpoint) throw new SignInError('failed', `${o.label} has no authorization endpoint; use the device flow (--device)`);
  const state = randomToken();
  // a callback without this state is turned away by the listener and the sign-in waits on (loopback.ts)
  const server = await startLoopback((p) => p === '/callback', (_p, q) => same(q.get('state') ?? '', state));
  let cb: Callback | undefined;
  try {
    const redirectUri = server.url('/callback');
    const pkce = pkcePair();
    const openid = cred.scopes.includes('openid');
    const nonce = openid ? randomToken() : undefined;
    const url = new URL(ep.authorization_endpoint);
    const q = url.searchParams;
    q.set('response_type', 'code');
    q.set('client_id', cred.client_id!);
    q.set('redirect_uri', redirectUri);
    if (cred.scopes.length) q.set('scope', cred.scopes.join(' '));
    q.set('state', state);
    q.set('code_challenge', pkce.challenge);
    q.set('code_challenge_method', pkce.method);
    if (nonce) q.set('nonce', nonce);
    for (const [k, v] of Object.entries(cred.params)) if (!RESERVED.has(k)) q.set(k, v);
    // OpenID Connect issues a refresh token for offline_access only after an explicit consent.
    if (openid && cred.scopes.includes('offline_access') && !q.has('prompt')) q.set('prompt', 'consent');
    const href = url.toString();
    const opened = await openAndReport(o, href); // not inside onProgress?.(): it must run without a listener too
    o.onProgress?.({ phase: 'browser', url: href, opened });

    cb = await within(server.callback, o, 'from the browser');
    const p = cb.params;
    if (!same(p.get('state') ?? '', state)) {
      cb.respond(false, 'The answer did not carry this sign-in’s state; it was refused. Start the sign-in again from router67.');
      throw new SignInError('state', 'the browser came back with a wrong state; nothing was stored');
    }
    const iss = p.get('iss');
    if (iss !== null && ep.issuer && iss.replace(/\/+$/, '') !== ep.issuer.replace(/\/+$/, '')) {
      cb.respond(false, 'The answer came from another issuer; it was refused.');
      throw new SignInError('state', `the answer names issuer ${iss}, not ${ep.issuer}; nothing was stored`);
    }
    const err = p.get('error');
    if (err) {
      const desc = p.get('error_description');
      cb.respond(false, `${o.label} answered: ${err}${desc ? ` (${desc.slice(0, 200)})` : ''}`);
      throw new SignInError(err === 'access_denied' ? 'denied' : 'failed', `${o.label} answered ${err}${desc ? `: ${desc.slice(0, 200)}` : ''}`);
    }
    const code = p.get('code');
    if (!code) {
      cb.respond(false, 'The answer carried no authorization code.');
      throw new SignInError('failed', 'the browser came back without an authorization code');
    }
    o.onProgress?.({ phase: 'exchanging' });
    let json: Record<string, unknown>;
    try {
      const r = await httpCall(
        'POST',
        ep.token_endpoint,
        { form: { grant_type: 'authorization_code', code, redirect_uri: redirectUri, client_id: cred.client_id!, code_verifier: pkce.verifier } },
        { ...o.http, signal: o.signal },
      );
      json = expectJson(ep.token_endpoint, r);
      if (nonce && typeof json.id_token === 'string' && jwtClaims(json.id_token)?.nonce !== nonce) {
        throw new SignInError('state', 'the ID token does not carry this sign-in’s nonce; nothing was stored');
      }
    } catch (e) {
      const f = asFailure(e);
      cb.respond(false, `Exchanging the code failed: ${f.message}`);
      throw f;
    }
    return await complete(cb, o, json);
  } catch (e) {
    throw o.signal?.aborted ? new SignInError('cancelled', 'sign-in cancelled') : asFailure(e);
  } finally {
    await server.close();
  }
}

/** The device flow (RFC 8628): the user enters a code on another device; router67 polls the token endpoint. */
export async function deviceFlow(cred: OAuthCredential, ep: Endpoints, o: FlowOptions<Record<string, unknown>>): Promise<string> {
  if (!ep.device_authorization_endpoint) throw new SignInError('failed', `${o.label} offers no device flow (no device_authorization_endpoint)`);
  const http = { ...o.http, signal: o.signal };
  try {
    const form: Record<string, string> = { client_id: cred.client_id! };
    if (cred.scopes.length) form.scope = cred.scopes.join(' ');
    for (const [k, v] of Object.entries(cred.params)) if (!RESERVED.has(k) && k !== 'prompt') form[k] = v;
    const d = expectJson(ep.device_authorization_endpoint, await httpCall('POST', ep.device_authorization_endpoint, { form }, http));
    const deviceCode = typeof d.device_code === 'string' ? d.device_code : '';
    const userCode = typeof d.user_code === 'string' ? d.user_code : '';
    // verification_url: Google's older spelling
    const verify = typeof d.verification_uri === 'string' ? d.verification_uri : typeof d.verification_url === 'string' ? d.verification_url : '';
    if (!deviceCode || !userCode || !/^https?:\/\//.test(verify)) throw new SignInError('failed', 'the device authorization answer is incomplete');
    const complete_ = typeof d.verification_uri_complete === 'string' && /^https?:\/\//.test(d.verification_uri_complete) ? d.verification_uri_complete : undefined;
    const expiresIn = typeof d.expires_in === 'number' && d.expires_in > 0 ? d.expires_in : 600;
    let interval = typeof d.interval === 'number' && d.interval > 0 ? d.interval : 5;
    const deadline = Date.now() + Math.min(expiresIn * 1000, o.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    const info = { phase: 'device' as const, userCode, verificationUri: verify, ...(complete_ ? { verificationUriComplete: complete_ } : {}), expiresAt: deadline };
    const opened = await openAndReport(o, complete_ ?? verify);
    o.onProgress?.({ ...info, opened });
    for (;;) {
      const wait = Math.min(interval * 1000, deadline - Date.now());
      if (wait <= 0) throw new SignInError('timeout', 'the device code expired before the sign-in was approved');
      await sleep(wait, o.signal);
      const r = await httpCall(
        'POST',
        ep.token_endpoint,
        { form: { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: deviceCode, client_id: cred.client_id! } },
        http,
      );
      if (r.status >= 200 && r.status < 300) {
        o.onProgress?.({ phase: 'exchanging' });
        return await complete(undefined, o, expectJson(ep.token_endpoint, r));
      }
      const code = (r.json as { error?: unknown } | undefined)?.error;
      if (code === 'authorization_pending') continue;
      if (code === 'slow_down') {
        interval += 5;
        continue;
      }
      if (code === 'expired_token') throw new SignInError('timeout', 'the device code expired before the sign-in was approved');
      expectJson(ep.token_endpoint, r); // throws the endpoint's error
    }
  } catch (e) {
    throw o.signal?.aborted ? new SignInError('cancelled', 'sign-in cancelled') : asFailure(e);
  }
}

export const OPENROUTER_BASE = 'https://openrouter.ai';

/** OpenRouter's PKCE flow: the browser comes back to http://127.0.0.1:<port>/callback/<state> with a code that buys a key. */
export async function openRouterFlow(base: string, o: FlowOptions<string>): Promise<string> {
  const root = base.replace(/\/+$/, '');
  const state = randomToken();
  const server = await startLoopback((p) => p.startsWith('/callback/'), (p) => same(p, `/callback/${state}`));
  let cb: Callback | undefined;
  try {
    const pkce = pkcePair();
    // The state travels in the callback's path, which OpenRouter keeps as given and appends ?code= to.
    const callbackUrl = server.url(`/callback/${state}`);
    const url = new URL(`${root}/auth`);
    url.searchParams.set('callback_url', callbackUrl);
    url.searchParams.set('code_challenge', pkce.challenge);
    url.searchParams.set('code_challenge_method', pkce.method);
    const href = url.toString();
    const opened = await openAndReport(o, href); // not inside onProgress?.(): it must run without a listener too
    o.onProgress?.({ phase: 'browser', url: href, opened });

    cb = await within(server.callback, o, 'from the browser');
    if (!same(cb.path, `/callback/${state}`)) {
      cb.respond(false, 'The answer did not carry this sign-in’s state; it was refused. Start the sign-in again from router67.');
      throw new SignInError('state', 'the browser came back with a wrong state; nothing was stored');
    }
    const code = cb.params.get('code');
    if (!code) {
      const err = cb.params.get('error');
      cb.respond(false, err ? `OpenRouter answered: ${err.slice(0, 200)}` : 'The answer carried no code.');
      throw new SignInError(err ? 'denied' : 'failed', err ? `OpenRouter answered ${err.slice(0, 200)}` : 'the browser came back without a code');
    }
    o.onProgress?.({ phase: 'exchanging' });
    const keysUrl = `${root}/api/v1/auth/keys`;
    let key: string;
    try {
      const r = await httpCall('POST', keysUrl, { json: { code, code_verifier: pkce.verifier, code_challenge_method: pkce.method } }, { ...o.http, signal: o.signal });
      const json = expectJson(keysUrl, r);
      if (typeof json.key !== 'string' || json.key.length < 8) throw new SignInError('failed', `${keysUrl} answered without a key`);
      key = json.key;
    } catch (e) {
      const f = asFailure(e);
      cb.respond(false, `Exchanging the code for a key failed: ${f.message}`);
      throw f;
    }
    return await complete(cb, o, key);
  } catch (e) {
    throw o.signal?.aborted ? new SignInError('cancelled', 'sign-in cancelled') : asFailure(e);
  } finally {
    await server.close();
  }
}

/** A refresh (RFC 6749 §6). OAuthResponseError for an answer with an error, OAuthNetworkError for none. */
export async function refreshGrant(cred: OAuthCredential, ep: Endpoints, refreshToken: string, http: HttpOptions = {}): Promise<Record<string, unknown>> {
  const r = await httpCall(
    'POST',
    ep.token_endpoint,
    { form: { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: cred.client_id! } },
    http,
  );
  return expectJson(ep.token_endpoint, r);
}

/** Revocation (RFC 7009), best effort: true when the endpoint accepted it. */
export async function revoke(cred: OAuthCredential, ep: Endpoints, token: string, hint: 'refresh_token' | 'access_token', http: HttpOptions = {}): Promise<boolean> {
  if (!ep.revocation_endpoint) return false;
  try {
    const r = await httpCall('POST', ep.revocation_endpoint, { form: { token, token_type_hint: hint, client_id: cred.client_id! } }, { timeoutMs: 5000, ...http });
    return r.status >= 200 && r.status < 300;
  } catch {
    return false;
  }
}
