// The generic OAuth 2 / OpenID Connect flow end to end, with real parts only: an OpenID provider (oidc-provider)
// on loopback, Chromium completing its login and consent pages, the real keyring (gnome-keyring through
// with-keyring), a real Core routing to an upstream that checks every token at the provider. Sign in, route, expire,
// one refresh under 20 concurrent requests, a 401 answered by one refresh and one retry, revoke, "sign-in needed"
// and the fallback; the CLI's login/logout against the running core; the device flow; cancel and time-out.
//
// Outside the keyring wrapper (scripts/with-keyring.sh) this file re-runs itself inside it.
import { after, before, describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { createLogger } from '../../main/log/logger.js';
import { attachOAuth, createSignIn } from '../../main/oauth/attach.js';
import { mountOAuthReload } from '../../main/oauth/reload.js';
import type { SignInService } from '../../main/oauth/signin.js';
import { SecretStore, type KeytarLike } from '../../main/secrets/store.js';
import { startCore, type TestCore } from '../helpers/core.js';
import { startMockUpstream, type MockUpstream } from '../helpers/mock-upstream.js';
import { insideKeyring, runInsideKeyring } from '../helpers/keyring.js';
import { CHROMIUM, launchChromium, oidcBrowserLogin } from './helpers.js';
import { startOidc, type OidcServer } from './oidc-server.js';
import { startCheckingUpstream, userinfoCheck, type CheckingUpstream } from './upstream.js';
import { OAuthManager } from '../../main/oauth/manager.js';
import { SignInError } from '../../main/oauth/flows.js';

const CLI = join(__dirname, '..', '..', 'main', 'cli', 'index.js');

/** The CLI in a child process, without blocking this process (whose core the CLI talks to). */
function runCli(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (status) => {
      clearTimeout(t);
      resolve({ status, stdout, stderr });
    });
  });
}

if (!insideKeyring) {
  test('OIDC sign-in end to end (real provider, Chromium, real keyring): passes inside scripts/with-keyring.sh', { timeout: 300_000 }, (t) => {
    const r = runInsideKeyring(__filename, 290_000, { files: [CHROMIUM] });
    if (r.skipped) return t.skip(r.skipped);
    assert.ok(r.ok, r.out);
  });
} else {
  describe('OIDC sign-in end to end', { timeout: 240_000 }, () => {
    let oidc: OidcServer;
    let browser: Browser;
    let page: Page;
    let upstream: CheckingUpstream;
    let backup: MockUpstream;
    let store: SecretStore;
    let keytar: KeytarLike;
    let tc: TestCore;
    let signIn: SignInService;
    let browserDone: Promise<{ ok: boolean; text: string }> | undefined;
    /** What "the system browser" does with a URL the sign-in opens. */
    let opener: (url: string) => void = (url) => {
      browserDone = oidcBrowserLogin(page, url);
    };
    const logs: string[] = [];
    let configText = '';

    const record = async () => JSON.parse((await keytar.getPassword('router67', 'oauth:corp')) ?? 'null') as Record<string, any> | null;
    const chat = (n = 1) =>
      Promise.all(
        Array.from({ length: n }, async (_, i) => {
          const r = await fetch(`${tc.url}/v1/chat/completions`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ model: 'gpt-corp', messages: [{ role: 'user', content: `hi ${i}` }] }),
          });
          const body = (await r.json()) as any;
          return { status: r.status, provider: r.headers.get('x-router67-provider'), body };
        }),
      );
    const providerStatus = () => tc.core.status().providers.find((p) => p.name === 'corp')!;
    const revoke = async (token: string) => {
      const r = await fetch(`${oidc.issuer}/token/revocation`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token, token_type_hint: 'refresh_token', client_id: oidc.clientId }).toString(),
      });
      assert.equal(r.status, 200);
    };
    const reloadViaAdmin = async () => {
      const r = await fetch(`${tc.core.admin!.url}/api/oauth/reload`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tc.core.admin!.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ names: ['corp'], accounts: ['oauth:corp'] }),
      });
      assert.equal(r.status, 200);
    };

    before(async () => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      keytar = require('keytar') as KeytarLike;
      oidc = await startOidc();
      browser = await launchChromium();
      page = await browser.newPage();
      upstream = await startCheckingUpstream('corp', userinfoCheck(oidc.issuer));
      backup = await startMockUpstream('backup');
      store = await SecretStore.open();
      assert.equal(store.info().available, true, store.info().reason);
      configText = `# company gateway, signed in with OpenID Connect
[oauth.corp]
issuer = "${oidc.issuer}"
client_id = "${oidc.clientId}"
scopes = ["openid", "offline_access"]

[[providers]]
name = "corp"
base_url = "${upstream.url}"
format = "openai"
auth = { oauth = "corp" }

[providers.available_models]
"gpt-corp" = "corp-model"

[[providers]]
name = "backup"
base_url = "${backup.url}"
format = "openai"
auth = { header = "Authorization", prefix = "Bearer ", api_key = "backup-key" }

[providers.available_models]
"gpt-corp" = "backup-model"
`;
      tc = await startCore(configText, { secrets: store.resolver(), logger: createLogger('debug', (l) => logs.push(l)) });
      // as the composition root wires it: the manager, its reload route and the window's sign-in
      const manager = attachOAuth(tc.core, store);
      mountOAuthReload(tc.core.admin!, async () => ({ manager, vault: store }), () => tc.core.emit('status', tc.core.status()));
      signIn = createSignIn(tc.core, manager, store, { openExternal: async (url) => opener(url) });
    });

    after(async () => {
      await tc?.stop();
      await browser?.close();
      await upstream?.close();
      await backup?.close();
      await oidc?.close();
    });

    it('before sign-in: "sign-in needed", and requests fall back to the next provider', async () => {
      assert.equal(providerStatus().auth, 'sign-in needed');
      const [r] = await chat();
      assert.equal(r!.status, 200);
      assert.equal(r!.provider, 'backup');
      const entry = tc.core.log.recent(1)[0]!;
      assert.match(entry.attempts[0]!.error!, /skipped: OAuth credential "corp" needs sign-in/);
      assert.equal(signIn.state().credentials.find((c) => c.name === 'corp')!.state, 'signed-out');
    });

    it('signs in through the system browser (Chromium: login + consent); tokens go to the keychain only', async (t) => {
      // before the browser comes back, a forged callback (another state, a made-up code) knocks on the loopback
      // port, as a page or another local user could: it is turned away and the sign-in goes on
      const browse = opener;
      let forged: Promise<{ status: number; text: string }> | undefined;
      opener = (url) => {
        const port = Number(/redirect_uri=http%3A%2F%2F127\.0\.0\.1%3A(\d+)/.exec(url)![1]);
        forged = fetch(`http://127.0.0.1:${port}/callback?state=forged&code=stolen`).then(async (r) => ({ status: r.status, text: await r.text() }));
        void forged.then(() => browse(url));
      };
      t.after(() => void (opener = browse));
      const flow = await signIn.start('corp', false);
      assert.equal(flow.phase, 'browser');
      assert.equal(flow.opened, true);
      assert.match(flow.url!, /code_challenge_method=S256/);
      assert.match(flow.url!, /redirect_uri=http%3A%2F%2F127\.0\.0\.1%3A\d+%2Fcallback/);
      const end = await signIn.settled(flow.id);
      assert.equal(end!.phase, 'done', end!.message);
      const f = await forged!;
      assert.equal(f.status, 400);
      assert.match(f.text, /does not carry the state of the sign-in in progress/);
      const page_ = await browserDone!;
      assert.equal(page_.ok, true, page_.text);
      const rec = await record();
      assert.ok(rec?.access_token && rec.refresh_token, 'access and refresh token in the keychain');
      assert.equal(rec.client_id, oidc.clientId);
      assert.ok(rec.expires_at > Date.now());
      assert.equal(readFileSync(tc.configPath, 'utf8'), configText, 'config.toml untouched');
      assert.equal(providerStatus().auth, 'ok');
      const st = signIn.state().credentials.find((c) => c.name === 'corp')!;
      assert.equal(st.state, 'signed-in');
      assert.deepEqual(st.usedBy, ['corp']);
      assert.deepEqual(oidc.grants, ['authorization_code:ok']);
    });

    it('routes a request with the token (Authorization: Bearer by default); the upstream checks it at the provider', async () => {
      const rec = await record();
      const [r] = await chat();
      assert.equal(r!.status, 200);
      assert.equal(r!.provider, 'corp');
      assert.equal(r!.body.choices[0].message.content, 'hello from corp');
      assert.deepEqual(upstream.seen.at(-1), { token: rec!.access_token, ok: true });
    });

    it('expired: exactly one refresh under 20 concurrent requests; the rotated tokens are stored', async () => {
      const old = (await record())!;
      // the token's lifetime is over: at the provider, and in router67's copy (written as another process would)
      await oidc.expireAccessToken(old.access_token);
      await store.set('oauth:corp', JSON.stringify({ ...old, expires_at: Date.now() - 1000 }));
      await reloadViaAdmin();
      const before = oidc.refreshGrants;
      const seenBefore = upstream.seen.length;
      const rs = await chat(20);
      assert.deepEqual(
        rs.map((r) => [r.status, r.provider]),
        Array.from({ length: 20 }, () => [200, 'corp']),
      );
      assert.equal(oidc.refreshGrants - before, 1, 'one refresh');
      const now = (await record())!;
      assert.notEqual(now.access_token, old.access_token);
      assert.notEqual(now.refresh_token, old.refresh_token, 'the refresh token rotated');
      const fresh = upstream.seen.slice(seenBefore);
      assert.equal(fresh.length, 20, 'no request reached the upstream with the expired token');
      assert.ok(fresh.every((s) => s.ok && s.token === now.access_token));
    });

    it('refused by the provider (401) while router67 thought it valid: one refresh, each request retried once', async () => {
      const cur = (await record())!;
      await oidc.expireAccessToken(cur.access_token);
      const before = oidc.refreshGrants;
      const seenBefore = upstream.seen.length;
      const rs = await chat(20);
      assert.ok(rs.every((r) => r.status === 200 && r.provider === 'corp'), JSON.stringify(rs.map((r) => [r.status, r.provider])));
      assert.equal(oidc.refreshGrants - before, 1, 'one refresh');
      const now = (await record())!;
      assert.notEqual(now.refresh_token, cur.refresh_token);
      const seen = upstream.seen.slice(seenBefore);
      assert.equal(seen.filter((s) => !s.ok).length, 20, 'each request was refused once');
      assert.ok(seen.filter((s) => !s.ok).every((s) => s.token === cur.access_token));
      assert.equal(seen.filter((s) => s.ok).length, 20, 'and retried once with the new token');
      assert.ok(seen.filter((s) => s.ok).every((s) => s.token === now.access_token));
      for (const e of tc.core.log.recent(20)) {
        assert.equal(e.attempts.length, 1);
        assert.equal(e.attempts[0]!.status, 200);
      }
    });

    it('revoked: the refresh is refused for good -> "sign-in needed" in status, window and doctor; the chain moves on', async () => {
      const cur = (await record())!;
      await revoke(cur.refresh_token);
      const before = oidc.refreshGrants;
      const [r] = await chat();
      assert.equal(r!.status, 200);
      assert.equal(r!.provider, 'backup');
      const entry = tc.core.log.recent(1)[0]!;
      assert.equal(entry.attempts[0]!.provider, 'corp');
      assert.equal(entry.attempts[0]!.status, 401);
      assert.match(entry.attempts[0]!.error!, /needs sign-in: the provider refused the refresh \(invalid_grant\)/);
      assert.equal(oidc.refreshGrants - before, 1);
      assert.equal(oidc.grants.at(-1), 'refresh_token:error');
      assert.equal(providerStatus().auth, 'sign-in needed');
      assert.match(providerStatus().authDetail!, /router67 login corp/);
      assert.equal(signIn.state().credentials.find((c) => c.name === 'corp')!.state, 'sign-in needed');
      const rec = (await record())!;
      assert.ok(!rec.access_token && !rec.refresh_token && rec.failed, 'the dead tokens are gone from the keychain');
      // the next request goes straight on, with no further refresh attempt
      const [r2] = await chat();
      assert.equal(r2!.provider, 'backup');
      assert.match(tc.core.log.recent(1)[0]!.attempts[0]!.error!, /^skipped: OAuth credential "corp" needs sign-in/);
      assert.equal(oidc.refreshGrants - before, 1);

      const env = { ...process.env, ROUTER67_HOME: tc.home };
      const status = await runCli(['status'], env);
      assert.equal(status.status, 0, status.stderr);
      assert.match(status.stdout, /corp\s+openai\s+auth sign-in needed \(OAuth credential "corp" needs sign-in/);
      const doctor = await runCli(['doctor', '--json', '--config', tc.configPath], env);
      const report = JSON.parse(doctor.stdout) as { checks: { id: string; status: string; message: string; fix?: string }[] };
      const check = report.checks.find((c) => c.id === 'sign-in:corp');
      assert.equal(check?.status, 'warn', doctor.stdout);
      assert.equal(check?.fix, 'router67 login corp');
    });

    it('router67 login (CLI, another process) signs in again; the running core uses it at once; logout revokes and removes', async () => {
      const env = { ...process.env, ROUTER67_HOME: tc.home, ROUTER67_NO_BROWSER: '1' };
      const child: ChildProcess = spawn(process.execPath, [CLI, 'login', 'corp', '--config', tc.configPath, '--timeout', '60'], { env });
      let out = '';
      let err = '';
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
      const url = await new Promise<string>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no URL printed: ${out} ${err}`)), 20_000);
        const look = () => {
          const m = /^\s+(http:\/\/127\.0\.0\.1:\d+\/auth\?\S+)$/m.exec(out);
          if (m) {
            clearTimeout(t);
            resolve(m[1]!);
          }
        };
        child.stdout!.on('data', look);
      });
      const page_ = await oidcBrowserLogin(page, url);
      assert.equal(page_.ok, true, page_.text);
      assert.equal(await exited, 0, err);
      assert.match(out, /router67 is signed in/);
      assert.match(out, /The running router67 uses it now/);
      assert.equal(providerStatus().auth, 'ok');
      const [r] = await chat();
      assert.equal(r!.provider, 'corp');
      const rec = (await record())!;

      const lo = await runCli(['logout', 'corp', '--config', tc.configPath], env);
      assert.equal(lo.status, 0, lo.stderr);
      assert.match(lo.stdout, /revoked at the provider/);
      assert.equal(await keytar.getPassword('router67', 'oauth:corp'), null);
      assert.equal(await oidc.accepts(rec.access_token), false, 'revoking the refresh token ended the grant');
      assert.equal(providerStatus().auth, 'sign-in needed');
      const [r2] = await chat();
      assert.equal(r2!.provider, 'backup');
    });

    it('device flow (RFC 8628): Chromium enters the code; router67 polls and stores the tokens', async () => {
      let devicePage: Promise<void> | undefined;
      opener = () => {}; // the user reads the code off the window and opens the page on "another device"
      const flow = await signIn.start('corp', true);
      assert.equal(flow.phase, 'device');
      assert.match(flow.userCode!, /\S/);
      devicePage = (async () => {
        await page.goto(flow.url!);
        for (let i = 0; i < 6; i++) {
          if (/Sign-in Success|successfully/i.test((await page.textContent('body')) ?? '')) return;
          if (await page.locator('input[name="login"]').count()) {
            await page.fill('input[name="login"]', 'alice');
            await page.fill('input[name="password"]', 'pw');
          }
          await Promise.all([page.waitForLoadState('load'), page.click('button[type="submit"] >> nth=0')]);
        }
      })();
      const end = await signIn.settled(flow.id);
      await devicePage;
      assert.equal(end!.phase, 'done', end!.message);
      assert.ok((await record())?.access_token);
      const [r] = await chat();
      assert.equal(r!.provider, 'corp');
    });

    it('cancel and time-out leave the keychain as it was', async () => {
      const before = await keytar.getPassword('router67', 'oauth:corp');
      let opened = '';
      opener = (url) => void (opened = url); // the user never finishes in the browser
      const flow = await signIn.start('corp', false);
      assert.equal(flow.phase, 'browser');
      assert.equal(opened, flow.url);
      const port = Number(/redirect_uri=http%3A%2F%2F127\.0\.0\.1%3A(\d+)/.exec(flow.url!)![1]);
      const c = signIn.cancel(flow.id);
      assert.ok(c);
      const end = await signIn.settled(flow.id);
      assert.equal(end!.phase, 'cancelled');
      // the loopback listener is gone with it
      await assert.rejects(fetch(`http://127.0.0.1:${port}/callback?state=x&code=y`));
      const m = new OAuthManager({ vault: store, config: () => tc.core.config, configPath: tc.configPath });
      await assert.rejects(m.login('corp', { timeoutMs: 300 }), (e: unknown) => e instanceof SignInError && e.kind === 'timeout');
      assert.equal(await keytar.getPassword('router67', 'oauth:corp'), before);
    });

    it('no token appears in config.toml, the request log, the daemon log, status or the window state', async () => {
      const tokens = new Set<string>(upstream.seen.map((s) => s.token).filter(Boolean));
      const rec = await record();
      for (const k of ['access_token', 'refresh_token', 'id_token']) if (rec?.[k]) tokens.add(rec[k]);
      assert.ok(tokens.size >= 4);
      tc.core.log.flush(); // the request log writes in batches
      const places: [string, string][] = [
        ['config.toml', readFileSync(tc.configPath, 'utf8')],
        ['requests.jsonl', readFileSync(join(tc.home, 'logs', 'requests.jsonl'), 'utf8')],
        ['daemon log', logs.join('')],
        ['status', JSON.stringify(tc.core.status())],
        ['window', JSON.stringify(signIn.state())],
      ];
      for (const [where, text] of places) for (const t of tokens) assert.ok(!text.includes(t), `a token leaked into ${where}`);
      assert.match(logs.join(''), /OAuth corp: token refreshed/);
    });
  });
}
