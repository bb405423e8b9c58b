// Where a credential's endpoints are: explicit ones from [oauth.<name>], the rest from OpenID Connect discovery
// ({issuer}/.well-known/openid-configuration), cached for an hour. Every endpoint must be https (or http on loopback).
import type { OAuthCredential } from '../config/schema.js';
import { expectJson, httpCall, type HttpOptions } from './http.js';

export interface Endpoints {
  issuer?: string;
  authorization_endpoint?: string;
  token_endpoint: string;
  device_authorization_endpoint?: string;
  revocation_endpoint?: string;
}

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|\[::1\])$/i;

export function safeEndpoint(u: unknown): u is string {
  if (typeof u !== 'string' || !URL.canParse(u)) return false;
  const x = new URL(u);
  return x.protocol === 'https:' || (x.protocol === 'http:' && LOOPBACK.test(x.hostname));
}

const cache = new Map<string, { at: number; meta: Record<string, unknown> }>();
const TTL = 3600_000;

export function clearDiscoveryCache(): void {
  cache.clear();
}

async function discover(issuer: string, o: HttpOptions): Promise<Record<string, unknown>> {
  const hit = cache.get(issuer);
  if (hit && Date.now() - hit.at < TTL) return hit.meta;
  const url = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  const meta = expectJson(url, await httpCall('GET', url, undefined, o));
  const said = typeof meta.issuer === 'string' ? meta.issuer.replace(/\/+$/, '') : undefined;
  if (said !== issuer.replace(/\/+$/, '')) {
    throw new Error(`discovery at ${url} names issuer ${JSON.stringify(meta.issuer)}, not ${issuer}; refusing it`);
  }
  const methods = meta.code_challenge_methods_supported;
  if (Array.isArray(methods) && !methods.includes('S256')) {
    throw new Error(`${issuer} does not support PKCE with S256 (code_challenge_methods_supported: ${methods.join(', ')})`);
  }
  cache.set(issuer, { at: Date.now(), meta });
  return meta;
}

export async function resolveEndpoints(cred: OAuthCredential, o: HttpOptions = {}): Promise<Endpoints> {
  const meta = cred.issuer ? await discover(cred.issuer, o) : {};
  const pick = (k: keyof Endpoints): string | undefined => {
    const v = (cred as Record<string, unknown>)[k] ?? meta[k];
    if (v === undefined) return undefined;
    if (!safeEndpoint(v)) throw new Error(`${k} ${JSON.stringify(v)} is not an https:// URL (or http:// on loopback); refusing it`);
    return v;
  };
  const token = pick('token_endpoint');
  if (!token) throw new Error(`no token_endpoint${cred.issuer ? ` in ${cred.issuer}'s discovery document` : ''}`);
  const out: Endpoints = { token_endpoint: token };
  if (cred.issuer) out.issuer = cred.issuer;
  for (const k of ['authorization_endpoint', 'device_authorization_endpoint', 'revocation_endpoint'] as const) {
    const v = pick(k);
    if (v) out[k] = v;
  }
  return out;
}
