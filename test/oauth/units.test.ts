// The OAuth parts one by one: the [oauth.<name>] schema, the loopback listener's guards, how the browser is
// opened, discovery's checks, the refresh rules (one at a time, re-read first, transient vs for good), PKCE, and
// OpenRouter's config edit when the keychain refuses the key. No keyring here (an in-memory vault).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigSchema, type Config } from '../../main/config/schema.js';
import { parseConfig } from '../../main/config/load.js';
import { browserOpener, openBrowser } from '../../main/oauth/browser.js';
import { clearDiscoveryCache, resolveEndpoints } from '../../main/oauth/discovery.js';
import { expectJson, httpCall } from '../../main/oauth/http.js';
import { startLoopback } from '../../main/oauth/loopback.js';
import { OAuthManager } from '../../main/oauth/manager.js';
import { pkcePair, s256 } from '../../main/oauth/pkce.js';
import { connectOpenRouter } from '../../main/oauth/provider-config.js';
import { accountOf, parseRecord } from '../../main/oauth/record.js';
import { AuthUnavailableError, authHeaders, authProblem } from '../../main/proxy/auth.js';
import { createLogger } from '../../main/log/logger.js';
import { MemoryVault } from './helpers.js';

// ---------------------------------------------------------------------------------------------------------------
// config

const oidcTable = (extra = '') => `[oauth.corp]\nissuer = "https://id.example.com"\nclient_id = "router67"\nscopes = ["openid", "offline_access"]\n${extra}`;

test('config: [oauth.<name>] tables validate; secrets, plain http off loopback and dangling references are refused', () => {
  const ok = parseConfig(
    `${oidcTable()}\n[[providers]]\nname = "corp"\nbase_url = "https://llm.example.com"\nauth = { oauth = "corp" }\n`,
    'config.toml',
  );
  assert.equal(ok.oauth.corp!.type, 'oidc');
  assert.equal(ok.oauth.corp!.token, 'access_token');
  assert.equal(ok.oauth.corp!.refresh_margin_s, 60);
  assert.equal(ok.providers[0]!.auth!.header, undefined, 'an oauth provider may leave the header out');
  const local = parseConfig('[oauth.dev]\nauthorization_endpoint = "http://127.0.0.1:9000/authorize"\ntoken_endpoint = "http://localhost:9000/token"\nclient_id = "x"\n', 'c');
  assert.equal(local.oauth.dev!.token_endpoint, 'http://localhost:9000/token');
  assert.equal(parseConfig('[oauth.openrouter]\ntype = "openrouter"\n', 'c').oauth.openrouter!.type, 'openrouter');

  const bad = (toml: string, re: RegExp) => assert.throws(() => parseConfig(toml, 'config.toml'), (e: Error) => re.test(e.message), toml);
  bad(oidcTable('client_secret = "s3cret"\n'), /client_secret does not belong in config\.toml/);
  bad(oidcTable('refresh_token = "r"\n'), /refresh_token does not belong in config\.toml/);
  bad('[oauth.corp]\nissuer = "http://id.example.com"\nclient_id = "x"\n', /must be https:\/\/ \(http:\/\/ only on a loopback address\)/);
  bad('[oauth.corp]\nissuer = "https://id.example.com"\n', /client_id/);
  bad('[oauth.corp]\nclient_id = "x"\n', /set issuer \(discovery\), or authorization_endpoint and token_endpoint/);
  bad('[oauth.corp]\nissuer = "https://id.example.com"\nclient_id = "x"\nscopes = ["a b"]\n', /scope token/);
  bad('[[providers]]\nname = "p"\nbase_url = "https://x.example"\nauth = { oauth = "nope" }\n', /no \[oauth\.nope\] table describes this credential/);
  bad('[oauth.openrouter]\ntype = "openrouter"\n[[providers]]\nname = "p"\nbase_url = "https://x.example"\nauth = { oauth = "openrouter" }\n', /OpenRouter sign-in/);
  bad('[[providers]]\nname = "p"\nbase_url = "https://x.example"\nauth = { value_env = "K" }\n', /auth needs a header/);
  bad(`${oidcTable()}\n[[providers]]\nname = "p"\nbase_url = "https://x.example"\nauth = { oauth = "corp", value_env = "K" }\n`, /exactly one secret source/);
});

test('auth: an oauth credential goes in Authorization: Bearer unless the provider names a header; status asks the resolver', async () => {
  const cfg = ConfigSchema.parse({
    oauth: { corp: { issuer: 'https://id.example.com', client_id: 'x' } },
    providers: [
      { name: 'a', base_url: 'https://a.example', auth: { oauth: 'corp' } },
      { name: 'b', base_url: 'https://b.example', auth: { oauth: 'corp', header: 'api-key' } },
      { name: 'c', base_url: 'https://c.example', auth: { oauth: 'corp', header: 'Authorization', prefix: 'Token ' } },
    ],
  });
  const oauth = { token: async () => 'tok', problem: (n: string) => (n === 'corp' ? undefined : 'x') };
  const src = { env: {}, oauth };
  assert.deepEqual(await authHeaders(cfg.providers[0]!, src), { authorization: 'Bearer tok' });
  assert.deepEqual(await authHeaders(cfg.providers[1]!, src), { 'api-key': 'tok' });
  assert.deepEqual(await authHeaders(cfg.providers[2]!, src), { Authorization: 'Token tok' });
  assert.equal(authProblem(cfg.providers[0]!, src), undefined);
  assert.match(authProblem(cfg.providers[0]!, { env: {} })!, /needs sign-in/);
  await assert.rejects(authHeaders(cfg.providers[0]!, { env: {} }), AuthUnavailableError);
});

// ---------------------------------------------------------------------------------------------------------------
// PKCE, loopback, browser

test('PKCE: S256 of the verifier (RFC 7636 appendix B vector), 43-character random verifiers', () => {
  assert.equal(s256('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'), 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
  const a = pkcePair();
  const b = pkcePair();
  assert.equal(a.verifier.length, 43);
  assert.notEqual(a.verifier, b.verifier);
  assert.equal(a.challenge, createHash('sha256').update(a.verifier).digest('base64url'));
});

function get(port: number, path: string, host = `127.0.0.1:${port}`, method = 'GET'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method, headers: { host } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('loopback listener: 127.0.0.1 only, its own Host only, GET of the callback path with its state only, one answer, then closed', async () => {
  const lb = await startLoopback((p) => p === '/callback', (_p, q) => q.get('state') === 's1');
  assert.match(lb.url('/callback'), /^http:\/\/127\.0\.0\.1:\d+\/callback$/);
  assert.equal((await get(lb.port, '/callback?code=x&state=s1', 'evil.example:80')).status, 421, 'DNS rebinding: another Host is refused');
  assert.equal((await get(lb.port, '/callback?code=x&state=s1', `localhost:${lb.port}`)).status, 421);
  assert.equal((await get(lb.port, '/callback?code=x&state=s1', undefined, 'POST')).status, 405);
  assert.equal((await get(lb.port, '/elsewhere')).status, 404);
  // a made-up state (a page knocking on the port, another local user) is turned away and settles nothing
  let settled = false;
  void lb.callback.then(() => (settled = true));
  for (const q of ['?code=x&state=s2', '?code=x', '?code=x&state=s1x', '?error=access_denied']) {
    const forged = await get(lb.port, `/callback${q}`);
    assert.equal(forged.status, 400, q);
    assert.match(forged.body, /does not carry the state of the sign-in in progress/);
  }
  await new Promise((r) => setImmediate(r));
  assert.equal(settled, false, 'a forged callback does not end the sign-in');
  const first = get(lb.port, '/callback?code=abc&state=s1');
  const cb = await lb.callback;
  assert.equal(cb.params.get('code'), 'abc');
  const second = await get(lb.port, '/callback?code=def&state=s1');
  assert.equal(second.status, 409, 'only the first answer counts');
  cb.respond(true, 'All <good> & "done"');
  const page = await first;
  assert.equal(page.status, 200);
  assert.match(page.body, /All &#60;good&#62; &#38; &#34;done&#34;/, 'messages are escaped');
  await lb.close();
  await assert.rejects(get(lb.port, '/callback'), /ECONNREFUSED/);
});

test('loopback listener: closing while the browser waits tells the tab, and the callback promise rejects', async () => {
  const lb = await startLoopback((p) => p === '/callback');
  const waiting = get(lb.port, '/callback?code=x');
  await lb.callback;
  await lb.close();
  const r = await waiting;
  assert.equal(r.status, 400);
  assert.match(r.body, /cancelled or timed out/);
  const lb2 = await startLoopback(() => true);
  await lb2.close();
  await assert.rejects(lb2.callback, /ended before the browser came back/);
});

test('browser: the URL is one argv entry (no shell), per platform; none on a headless Linux', () => {
  const url = 'https://id.example.com/authorize?a=1&b=$(touch /tmp/x)&c=`id`';
  assert.deepEqual(browserOpener('darwin', {})!.args(url), [url]);
  const win = browserOpener('win32', {})!;
  assert.equal(win.command, 'rundll32');
  assert.deepEqual(win.args(url), ['url.dll,FileProtocolHandler', url]);
  assert.equal(browserOpener('linux', {}), undefined);
  assert.equal(browserOpener('linux', { DISPLAY: ':0' })!.command, 'xdg-open');
  assert.deepEqual(browserOpener('linux', { DISPLAY: ':0' })!.args(url), [url]);
  assert.deepEqual(browserOpener('linux', { WAYLAND_DISPLAY: 'wayland-0' })!.args(url), [url]);
  assert.equal(browserOpener('darwin', { ROUTER67_NO_BROWSER: '1' }), undefined);
});

test('browser: the URL reaches the opener byte for byte, with no shell in between', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'router67-open-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'argv');
  const url = 'https://id.example.com/authorize?a=1&b=$(touch ' + join(dir, 'pwned') + ')&c=`id`;d=|x';
  const opened = await openBrowser(url, {
    command: process.execPath,
    args: (u) => ['-e', `require('fs').writeFileSync(${JSON.stringify(out)}, process.argv[1])`, u],
  });
  assert.equal(opened, true);
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    try {
      if (readFileSync(out, 'utf8')) break;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(readFileSync(out, 'utf8'), url);
  assert.throws(() => readFileSync(join(dir, 'pwned')), /ENOENT/);
  assert.equal(await openBrowser('file:///etc/passwd', { command: process.execPath, args: () => ['-e', ''] }), false, 'only http(s)');
  assert.equal(await openBrowser(url, { command: join(dir, 'no-such-browser'), args: (u) => [u] }), false);
});

// ---------------------------------------------------------------------------------------------------------------
// A scriptable token endpoint (and discovery) for the refresh rules

interface FakeAs {
  issuer: string;
  refreshes: number;
  /** what the next refresh answers */
  next: (n: number) => { status: number; body: Record<string, unknown>; delayMs?: number };
  meta: Record<string, unknown>;
  close(): Promise<void>;
}

async function fakeAs(): Promise<FakeAs> {
  const as: FakeAs = {
    issuer: '',
    refreshes: 0,
    next: (n) => ({ status: 200, body: { access_token: `at-${n}`, refresh_token: `rt-${n}`, token_type: 'Bearer', expires_in: 3600 }, delayMs: 30 }),
    meta: {},
    close: async () => {},
  };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const send = (status: number, b: unknown) => {
        const t = JSON.stringify(b);
        res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(t) });
        res.end(t);
      };
      if (req.url === '/.well-known/openid-configuration') return send(200, { issuer: as.issuer, token_endpoint: `${as.issuer}/token`, authorization_endpoint: `${as.issuer}/auth`, ...as.meta });
      if (req.url === '/token') {
        const p = new URLSearchParams(body);
        if (p.get('grant_type') !== 'refresh_token') return send(400, { error: 'unsupported_grant_type' });
        const n = ++as.refreshes;
        const r = as.next(n);
        setTimeout(() => send(r.status, r.body), r.delayMs ?? 0);
        return;
      }
      send(404, {});
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  as.issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  as.close = () => new Promise((r) => (server.closeAllConnections(), server.close(() => r())));
  return as;
}

function managerFor(as: FakeAs, vault = new MemoryVault(), now = () => Date.now()): { m: OAuthManager; vault: MemoryVault; cfg: Config } {
  const cfg = ConfigSchema.parse({ oauth: { corp: { issuer: as.issuer, client_id: 'router67', scopes: ['openid'] } } });
  return { m: new OAuthManager({ vault, config: () => cfg, configPath: '/nonexistent/config.toml', now }), vault, cfg };
}

const rec = (over: Record<string, unknown> = {}) =>
  JSON.stringify({ v: 1, access_token: 'at-0', refresh_token: 'rt-0', token_type: 'Bearer', expires_at: Date.now() + 3600_000, obtained_at: Date.now() - 1000, issuer: undefined, client_id: 'router67', ...over });

test('refresh: one at a time per credential; 50 concurrent callers share it; the new tokens are stored', async (t) => {
  const as = await fakeAs();
  t.after(() => as.close());
  const { m, vault } = managerFor(as);
  await vault.set(accountOf('corp'), rec({ expires_at: Date.now() - 1 }));
  const tokens = await Promise.all(Array.from({ length: 50 }, () => m.token('corp')));
  assert.equal(as.refreshes, 1);
  assert.ok(tokens.every((x) => x === 'at-1'));
  assert.equal(parseRecord(vault.get(accountOf('corp')))!.refresh_token, 'rt-1');
  // after a 401 with the old token: nothing to do, the new one is already there
  await m.rejected('corp', 'Bearer at-0');
  assert.equal(as.refreshes, 1);
  // after a 401 with the current token: one refresh for all
  await Promise.all(Array.from({ length: 10 }, () => m.rejected('corp', 'Bearer at-1')));
  assert.equal(as.refreshes, 2);
  assert.equal(await m.token('corp'), 'at-2');
});

test('refresh: the keychain is read again first; a newer record from another process means no refresh at all', async (t) => {
  const as = await fakeAs();
  t.after(() => as.close());
  const { m, vault } = managerFor(as);
  await vault.set(accountOf('corp'), rec({ expires_at: Date.now() - 1 }));
  // another process refreshed meanwhile (its write is visible only when read again)
  vault.behind.set(accountOf('corp'), rec({ access_token: 'at-other', refresh_token: 'rt-other', obtained_at: Date.now() }));
  assert.equal(await m.token('corp'), 'at-other');
  assert.equal(as.refreshes, 0);
});

test('refresh: invalid_grant is for good (sign-in needed, tokens dropped); a 5xx or no answer is not', async (t) => {
  const as = await fakeAs();
  t.after(() => as.close());
  const { m, vault } = managerFor(as);
  let changes = 0;
  m.on('change', () => changes++);
  // 503 while the token is only near its end: the old token keeps serving
  await vault.set(accountOf('corp'), rec({ expires_at: Date.now() + 10_000, obtained_at: Date.now() - 3590_000 }));
  as.next = () => ({ status: 503, body: { error: 'temporarily_unavailable' } });
  assert.equal(await m.token('corp'), 'at-0');
  assert.equal(m.problem('corp'), undefined);
  // 503 once it has expired: this request skips the provider, the credential stays
  await vault.set(accountOf('corp'), rec({ expires_at: Date.now() - 1 }));
  await m.reload(['corp']);
  await assert.rejects(m.token('corp'), (e: Error) => e instanceof AuthUnavailableError && /could not be refreshed right now/.test(e.message));
  assert.equal(m.problem('corp'), undefined);
  assert.ok(parseRecord(vault.get(accountOf('corp')))!.refresh_token);
  // invalid_grant: sign-in needed
  as.next = () => ({ status: 400, body: { error: 'invalid_grant', error_description: 'grant request is invalid' } });
  await assert.rejects(m.token('corp'), (e: Error) => e instanceof AuthUnavailableError && /needs sign-in: the provider refused the refresh \(invalid_grant\)/.test(e.message));
  assert.match(m.problem('corp')!, /needs sign-in/);
  const dead = parseRecord(vault.get(accountOf('corp')))!;
  assert.equal(dead.access_token, undefined);
  assert.equal(dead.refresh_token, undefined);
  assert.ok(changes >= 1);
  const before = as.refreshes;
  await assert.rejects(m.token('corp'), /needs sign-in/);
  assert.equal(as.refreshes, before, 'no refresh is tried again');
  assert.equal(m.describe('corp')!.state, 'sign-in needed');
});

test('sign-in calls: an endpoint error that quotes what was sent (code, verifier, client secret) shows none of it', async (t) => {
  const CODE = 'c0de-Zx81kQ29vLmN3';
  const VERIFIER = 'verifier-Pq7sT2uV9wX4yZ6aB8cD1eF3gH5jK';
  const SECRET = 'client-secret-9f8e7d6c5b';
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const p = new URLSearchParams(body);
      const text = JSON.stringify({ error: p.get('code'), error_description: `code ${p.get('code')} does not match verifier ${encodeURIComponent(p.get('code_verifier')!)} for ${p.get('client_secret')}` });
      res.writeHead(400, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
  const r = await httpCall('POST', url, { form: { grant_type: 'authorization_code', code: CODE, code_verifier: VERIFIER, client_secret: SECRET } });
  assert.throws(
    () => expectJson(url, r),
    (e: Error) => {
      assert.match(e.message, /\/token answered 400: code \[redacted\] does not match verifier \[redacted\] for \[redacted\]$/);
      for (const s of [CODE, VERIFIER, encodeURIComponent(VERIFIER), SECRET]) assert.ok(!e.message.includes(s), e.message);
      return true;
    },
  );
});

test('refresh: a token endpoint whose error quotes the tokens back: neither token reaches the error (request log, client) or the daemon log', async (t) => {
  const as = await fakeAs();
  t.after(() => as.close());
  const vault = new MemoryVault();
  const cfg = ConfigSchema.parse({ oauth: { corp: { issuer: as.issuer, client_id: 'router67', scopes: ['openid'] } } });
  const lines: string[] = [];
  const logger = createLogger('debug', (l) => void lines.push(l)); // the daemon's own logger, its own scrubbing included
  const m = new OAuthManager({ vault, config: () => cfg, configPath: '/nonexistent/config.toml', logger });
  const RT = 'rt9Hq2LmX7pV4sK8wN3bZ6cF1dG5hJ0tY';
  const AT = 'at7Pk3Qm9Rw2Tx5Vz8Bn4Cd6Fg1Hj0Lq';
  await vault.set(accountOf('corp'), rec({ access_token: AT, refresh_token: RT, expires_at: Date.now() - 1 }));
  const answers = [
    // not for good (the credential stays): the text quotes both tokens, raw and URL-encoded
    { status: 400, body: { error: 'invalid_request', error_description: `refresh_token ${RT} could not be parsed (for access token ${AT}, ${encodeURIComponent(RT)})` } },
    { status: 503, body: { error: RT, message: `upstream busy for ${AT}` } },
    { status: 500, body: { error: { message: `refresh_token=${RT}` } } },
  ];
  for (const a of answers) {
    as.next = () => a;
    const err = await m.token('corp').then(
      () => assert.fail('the refresh should fail'),
      (e: Error) => e,
    );
    assert.ok(err instanceof AuthUnavailableError);
    assert.match(err.message, /could not be refreshed right now \(http:\/\/127\.0\.0\.1:\d+\/token answered \d{3}/);
    for (const text of [err.message, ...lines]) {
      assert.ok(!text.includes(RT) && !text.includes(AT) && !text.includes(encodeURIComponent(RT)), `a token in: ${text}`);
    }
  }
  assert.match(lines.join('\n'), /answered 400 invalid_request/, 'the OAuth error code is kept');
});

test('refresh: an unreachable token endpoint is not "for good"; a keychain that refuses the write keeps the new tokens in memory', async (t) => {
  const as = await fakeAs();
  const { m, vault } = managerFor(as);
  await vault.set(accountOf('corp'), rec({ expires_at: Date.now() - 1 }));
  vault.fail = true;
  assert.equal(await m.token('corp'), 'at-1', 'rotated tokens are used even though the keychain refused them');
  assert.equal(await m.token('corp'), 'at-1');
  assert.equal(as.refreshes, 1);
  vault.fail = false;
  await as.close();
  clearDiscoveryCache();
  t.after(() => clearDiscoveryCache());
  await m.rejected('corp', 'Bearer at-1').then(
    () => assert.fail('should not succeed'),
    (e: Error) => assert.match(e.message, /could not be refreshed right now/),
  );
  assert.equal(m.problem('corp'), undefined);
});

test('status: never signed in, settings changed since sign-in, no refresh token and expired', async (t) => {
  const as = await fakeAs();
  t.after(() => as.close());
  const { m, vault } = managerFor(as);
  assert.match(m.problem('corp')!, /^OAuth credential "corp" needs sign-in \(router67 login corp\)$/);
  assert.equal(m.describe('corp')!.state, 'signed-out');
  await vault.set(accountOf('corp'), rec({ client_id: 'someone-else' }));
  assert.match(m.problem('corp')!, /client_id changed since sign-in/);
  await vault.set(accountOf('corp'), rec({ refresh_token: undefined, expires_at: Date.now() - 1 }));
  assert.match(m.problem('corp')!, /expired and there is no refresh token/);
  await vault.set(accountOf('corp'), rec());
  assert.equal(m.problem('corp'), undefined);
  assert.equal(m.describe('corp')!.state, 'signed-in');
  assert.ok(m.describe('corp')!.expiresAt);
  assert.equal(m.describe('corp')!.title, new URL(as.issuer).host);
});

test('refresh margin: at most half the lifetime, so a short-lived token is not refreshed on every request', async (t) => {
  const as = await fakeAs();
  t.after(() => as.close());
  let now = Date.now();
  const { m, vault } = managerFor(as, new MemoryVault(), () => now);
  await vault.set(accountOf('corp'), rec({ obtained_at: now, expires_at: now + 30_000 })); // 30 s token, 60 s margin
  assert.equal(await m.token('corp'), 'at-0');
  now += 14_000;
  assert.equal(await m.token('corp'), 'at-0');
  now += 2_000; // past half of its life
  assert.equal(await m.token('corp'), 'at-1');
  assert.equal(as.refreshes, 1);
});

test('discovery: the document must name the configured issuer and allow S256; endpoints must be https (or loopback http)', async (t) => {
  const as = await fakeAs();
  t.after(() => as.close());
  clearDiscoveryCache();
  const cred = (extra = {}) => ConfigSchema.parse({ oauth: { c: { issuer: as.issuer, client_id: 'x', ...extra } } }).oauth.c!;
  const ep = await resolveEndpoints(cred());
  assert.equal(ep.token_endpoint, `${as.issuer}/token`);
  const explicit = await resolveEndpoints(cred({ token_endpoint: 'https://other.example/token' }));
  assert.equal(explicit.token_endpoint, 'https://other.example/token', 'explicit endpoints win');
  for (const [meta, re] of [
    [{ issuer: 'https://evil.example' }, /names issuer "https:\/\/evil\.example"/],
    [{ code_challenge_methods_supported: ['plain'] }, /does not support PKCE with S256/],
    [{ token_endpoint: 'http://id.example.com/token' }, /not an https:\/\/ URL/],
  ] as const) {
    clearDiscoveryCache();
    as.meta = meta;
    await assert.rejects(resolveEndpoints(cred()), re);
  }
  as.meta = {};
  clearDiscoveryCache();
});

// ---------------------------------------------------------------------------------------------------------------
// OpenRouter's config edit

test('OpenRouter: a keychain that refuses the key leaves config.toml byte-identical', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'router67-orcfg-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'config.toml');
  const text = '# keep me\n[daemon]\nlog_level = "info"\n';
  writeFileSync(file, text);
  const vault = new MemoryVault();
  vault.fail = true;
  await assert.rejects(connectOpenRouter(file, { provider: 'openrouter', base: 'https://openrouter.ai', key: 'sk-or-v1-xyz', vault }), /keychain write refused/);
  assert.equal(readFileSync(file, 'utf8'), text);
  assert.equal(vault.data.size, 0);
  vault.fail = false;
  const r = await connectOpenRouter(file, { provider: 'openrouter', base: 'https://openrouter.ai', key: 'sk-or-v1-xyz', vault });
  assert.deepEqual(r, { provider: 'openrouter', created: true, account: 'openrouter' });
  const after = readFileSync(file, 'utf8');
  assert.ok(after.startsWith(text));
  assert.match(after, /base_url = "https:\/\/openrouter\.ai\/api"/);
  assert.ok(!after.includes('sk-or-v1-xyz'));
  assert.equal(vault.get('openrouter'), 'sk-or-v1-xyz');
});

test('the built-in OpenRouter sign-in is always listed; unknown names are refused before anything starts', async () => {
  const cfg = ConfigSchema.parse({});
  const m = new OAuthManager({ vault: new MemoryVault(), config: () => cfg, configPath: '/nonexistent' });
  assert.deepEqual(m.names(), ['openrouter']);
  assert.deepEqual(m.list().map((c) => [c.name, c.type, c.state]), [['openrouter', 'openrouter', 'signed-out']]);
  await assert.rejects(m.login('nope'), /no \[oauth\.nope\] table/);
  await assert.rejects(m.login('openrouter', { device: true }), /no device flow/);
});

test('tray: providers needing sign-in show in the menu (opening the window) and the tooltip', async () => {
  const { trayMenuModel, trayTooltip } = await import('../../main/electron/tray-menu.js');
  const base = {
    intercept: { enabled: false, state: 'off' as const, listen: '127.0.67.1:443' },
    http: '127.0.0.1:6767',
    requestsToday: 0,
    configErrors: 0,
    loginItem: { supported: true, enabled: false },
    busy: false,
  };
  assert.equal(trayMenuModel(base).find((i) => i.id === 'sign-in'), undefined);
  const item = trayMenuModel({ ...base, signInNeeded: ['corp', 'azure'] }).find((i) => i.id === 'sign-in')!;
  assert.equal(item.label, 'Sign-in needed: corp, azure — open router67…');
  assert.equal(item.action, 'open');
  assert.match(trayTooltip({ ...base, signInNeeded: ['corp'] }), /\nSign-in needed: corp$/);
});

test('sign-in needed is not forever: a new sign-in written by another process is found in the keychain (at most every 5 s)', async (t) => {
  const as = await fakeAs();
  t.after(() => as.close());
  let now = Date.now();
  const { m, vault } = managerFor(as, new MemoryVault(), () => now);
  await vault.set(accountOf('corp'), rec({ expires_at: now - 1 }));
  as.next = () => ({ status: 400, body: { error: 'invalid_grant' } });
  await assert.rejects(m.token('corp'), /needs sign-in/);
  // `router67 login corp` in another process; its notice to this process was lost
  vault.behind.set(accountOf('corp'), rec({ access_token: 'at-new', refresh_token: 'rt-new', obtained_at: now + 1, expires_at: now + 3600_000 }));
  now += 6000;
  assert.equal(await m.token('corp'), 'at-new');
  assert.equal(m.problem('corp'), undefined);
});
