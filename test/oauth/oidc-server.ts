// A real OpenID Connect provider for the tests: the `oidc-provider` package (ESM only, loaded with import()),
// on loopback, with its development login and consent pages, PKCE required, rotating refresh tokens (public
// client), the device flow and revocation. Counts what the tests need to see (refresh grants, token requests).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface OidcServer {
  issuer: string;
  clientId: string;
  /** refresh_token grants that reached the token endpoint */
  refreshGrants: number;
  /** every token request, in order: "<grant_type>:ok" or "<grant_type>:error" */
  grants: string[];
  /** Makes an access token invalid at the provider (as if its lifetime had run out there). */
  expireAccessToken(token: string): Promise<void>;
  /** Whether the provider still accepts this access token (userinfo answers 200). */
  accepts(token: string): Promise<boolean>;
  close(): Promise<void>;
}

const CLIENT_ID = 'router67-desktop';

export async function startOidc(opts: { accessTokenTtl?: number } = {}): Promise<OidcServer> {
  const spec = 'oidc-provider';
  const mod = (await import(spec)) as { default: new (issuer: string, config: unknown) => any };
  const Provider = mod.default;
  const server: Server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: CLIENT_ID,
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        redirect_uris: ['http://127.0.0.1/callback'],
        grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
        response_types: ['code'],
      },
    ],
    scopes: ['openid', 'offline_access'],
    features: {
      devInteractions: { enabled: true },
      deviceFlow: { enabled: true },
      revocation: { enabled: true },
      userinfo: { enabled: true },
    },
    ttl: {
      AccessToken: opts.accessTokenTtl ?? 3600,
      AuthorizationCode: 120,
      DeviceCode: 300,
      IdToken: 3600,
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
      RefreshToken: 86_400,
    },
    findAccount: async (_ctx: unknown, sub: string) => ({ accountId: sub, claims: async () => ({ sub }) }),
    // the development pages fetch nothing remote that matters; keep the test quiet
    renderError: async (ctx: { type: string; body: string }, out: Record<string, string>) => {
      ctx.type = 'html';
      ctx.body = `<!doctype html><title>error</title><pre id="error">${JSON.stringify(out)}</pre>`;
    },
  });
  provider.on('server_error', () => {});
  const s: OidcServer = {
    issuer,
    clientId: CLIENT_ID,
    refreshGrants: 0,
    grants: [],
    async expireAccessToken(token) {
      const at = await provider.AccessToken.find(token);
      if (!at) throw new Error('no such access token at the provider');
      await at.destroy();
    },
    async accepts(token) {
      const at = await provider.AccessToken.find(token);
      return !!at && !at.isExpired;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
  const seen = (ctx: { oidc?: { params?: { grant_type?: string } } }, ok: boolean) => {
    const gt = ctx.oidc?.params?.grant_type ?? '?';
    s.grants.push(`${gt}:${ok ? 'ok' : 'error'}`);
    if (gt === 'refresh_token') s.refreshGrants++;
  };
  provider.on('grant.success', (ctx: never) => seen(ctx, true));
  provider.on('grant.error', (ctx: never) => seen(ctx, false));
  server.on('request', provider.callback());
  return s;
}
