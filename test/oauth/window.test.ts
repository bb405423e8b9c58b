// The Sign-in view in Chromium, served by a real core's daemon UI (HTTP + SSE), against a real OpenID provider:
// the credentials with their state, a sign-in that opens the provider in a new browser tab (the daemon's page opens
// it itself) and follows it to the end, the device code shown, cancel, sign-out. Then the same service over the
// Electron IPC channels (electron mocked): every input parsed, no token in any answer.
import { FakeIpcMain, trusted, untrusted } from '../electron/fake-electron.js';
import { after, before, describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { CH, registerIpc } from '../../main/electron/ipc.js';
import { attachOAuth, createSignIn } from '../../main/oauth/attach.js';
import { accountOf } from '../../main/oauth/record.js';
import { attachUi } from '../../main/ui/attach.js';
import { UiService } from '../../main/ui/service.js';
import { startCore, type TestCore } from '../helpers/core.js';
import { CHROMIUM, MemoryVault, oidcBrowserLogin } from './helpers.js';
import { startOidc, type OidcServer } from './oidc-server.js';
import { startCheckingUpstream, userinfoCheck, type CheckingUpstream } from './upstream.js';
import { skipUnless } from '../helpers/requires.js';
import { launchProfile } from '../helpers/browser.js';

const shots = join(resolve(__dirname, '..', '..', '..'), 'test-output', 'screenshots');

function configFor(oidc: OidcServer, upstream: string): string {
  return `[oauth.corp]
issuer = "${oidc.issuer}"
client_id = "${oidc.clientId}"
scopes = ["openid", "offline_access"]

[[providers]]
name = "corp"
base_url = "${upstream}"
format = "openai"
auth = { oauth = "corp" }

[providers.available_models]
"gpt-corp" = "corp-model"
`;
}

describe('the Sign-in view in Chromium (daemon page, real OpenID provider)', { timeout: 120_000, skip: skipUnless({ files: [CHROMIUM] }) }, () => {
  let oidc: OidcServer;
  let upstream: CheckingUpstream;
  let tc: TestCore;
  let vault: MemoryVault;
  let ctx: BrowserContext;
  let page: Page;
  let profile: string;
  const pageErrors: string[] = [];
  const card = (name: string) => page.locator(`.signin-card[data-name="${name}"]`);
  const chat = async () => {
    const r = await fetch(`${tc.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-corp', messages: [{ role: 'user', content: 'hi' }] }),
    });
    await r.arrayBuffer();
    return { status: r.status, provider: r.headers.get('x-router67-provider') };
  };

  before(async () => {
    mkdirSync(shots, { recursive: true });
    oidc = await startOidc();
    upstream = await startCheckingUpstream('corp', userinfoCheck(oidc.issuer));
    tc = await startCore(configFor(oidc, upstream.url));
    vault = new MemoryVault();
    const ui = attachUi(tc.core, { app: 'daemon', caCheck: false, signInService: createSignIn(tc.core, attachOAuth(tc.core, vault), vault) });
    profile = mkdtempSync(join(tmpdir(), 'r67-chromium-signin-'));
    ctx = await launchProfile(profile, { viewport: { width: 1100, height: 760 } });
    page = ctx.pages()[0] ?? (await ctx.newPage());
    page.setDefaultTimeout(15_000);
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(ui.link!);
    await page.click('#nav-signin');
    await page.waitForSelector('#view-signin:not([hidden]) .signin-card');
  });

  after(async () => {
    await ctx?.close();
    await tc?.stop();
    await upstream?.close();
    await oidc?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('lists OpenRouter (built in) and the configured provider with their state; says what is not offered', async () => {
    assert.equal(await card('openrouter').getAttribute('data-state'), 'signed-out');
    assert.equal(await card('corp').getAttribute('data-state'), 'signed-out');
    assert.match((await card('corp').textContent()) ?? '', /127\.0\.0\.1:\d+ · corp[\s\S]*not signed in[\s\S]*Used bycorp/);
    assert.equal(await card('openrouter').locator('button', { hasText: 'Sign in with a code' }).count(), 0);
    assert.match((await page.textContent('#view-signin')) ?? '', /Not offered: Claude\.ai \(Free, Pro, Max\) and Gemini CLI subscription sign-in/);
    await page.screenshot({ path: join(shots, 'signin-signed-out.png') });
  });

  it('signs in: the provider opens in a new tab, the view follows the progress and shows the result', async () => {
    const tab = ctx.waitForEvent('page');
    await page.click('#signin-corp');
    const popup = await tab;
    await popup.waitForLoadState('domcontentloaded');
    const url = popup.url();
    assert.match(url, new RegExp(`^${oidc.issuer}/`));
    // while the user is at the provider, the view shows the pending step and a cancel button
    await page.waitForSelector('#flow-corp[data-phase="browser"]');
    assert.equal(await card('corp').locator('a.signin-link').count(), 1);
    await page.screenshot({ path: join(shots, 'signin-waiting.png') });
    const shown = await oidcBrowserLogin(popup, url);
    assert.equal(shown.ok, true, shown.text);
    await popup.close();
    await page.waitForSelector('#flow-corp[data-phase="done"]');
    await page.waitForSelector('.signin-card[data-name="corp"][data-state="signed-in"]');
    assert.match((await card('corp').textContent()) ?? '', /router67 is signed in/);
    await page.screenshot({ path: join(shots, 'signin-signed-in.png') });
    assert.deepEqual(await chat(), { status: 200, provider: 'corp' });
    assert.ok(vault.get(accountOf('corp')));
  });

  it('device flow: the view shows the code and the page to enter it on', async () => {
    await page.click('#signin-device-corp');
    await page.waitForSelector('#flow-corp[data-phase="device"] .signin-code');
    const code = (await page.textContent('#flow-corp .signin-code'))!.trim();
    assert.match(code, /^[A-Z0-9-]{4,}$/i);
    await page.screenshot({ path: join(shots, 'signin-device.png') });
    await page.click('#flow-corp button:has-text("Cancel")');
    await page.waitForSelector('#flow-corp[data-phase="cancelled"]');
    assert.equal(await card('corp').getAttribute('data-state'), 'signed-in', 'a cancelled sign-in changes nothing');
  });

  it('signs out: the tokens leave the vault and requests say "sign-in needed"', async () => {
    await page.click('#signout-corp');
    await page.waitForSelector('.signin-card[data-name="corp"][data-state="signed-out"]');
    assert.equal(vault.get(accountOf('corp')), undefined);
    const r = await chat();
    assert.equal(r.status, 502);
    assert.match(tc.core.log.recent(1)[0]!.attempts[0]!.error!, /needs sign-in/);
    assert.deepEqual(pageErrors, []);
  });
});

test('the sign-in channels over Electron IPC: trusted sender only, inputs parsed, no token in any answer', async (t) => {
  const oidc = await startOidc();
  const tc = await startCore(configFor(oidc, 'http://127.0.0.1:9'));
  t.after(async () => {
    await tc.stop();
    await oidc.close();
  });
  const vault = new MemoryVault();
  await vault.set(accountOf('corp'), JSON.stringify({ v: 1, access_token: 'at-SECRET', refresh_token: 'rt-SECRET', obtained_at: Date.now(), expires_at: Date.now() + 3600_000, client_id: oidc.clientId }));
  const opened: string[] = [];
  const service = new UiService({ core: tc.core, app: 'electron', signInService: createSignIn(tc.core, attachOAuth(tc.core, vault), vault, { openExternal: async (u) => void opened.push(u) }) });
  const ipc = new FakeIpcMain();
  registerIpc(ipc, service, { openExternal: async () => {} });
  assert.equal((await ipc.invoke(CH.features, trusted)).signIn, true);
  const st = await ipc.invoke(CH.signInState, trusted);
  assert.deepEqual(
    st.credentials.map((c: { name: string; state: string }) => [c.name, c.state]),
    [
      ['openrouter', 'signed-out'],
      ['corp', 'signed-in'],
    ],
  );
  assert.ok(!JSON.stringify(st).includes('SECRET'));
  // the app opens the system browser itself: the flow says so, and the window does not open it again
  const flow = await ipc.invoke(CH.signInStart, trusted, 'corp', false);
  assert.equal(flow.phase, 'browser');
  assert.equal(flow.opened, true);
  assert.deepEqual(opened, [flow.url]);
  const cancelled = await ipc.invoke(CH.signInCancel, trusted, flow.id);
  assert.equal(cancelled.id, flow.id);
  for (const [ch, args] of [
    [CH.signInStart, ['../etc', false]],
    [CH.signInStart, ['corp', 'yes']],
    [CH.signInStart, [{ name: 'corp' }, false]],
    [CH.signInCancel, ['not-a-uuid']],
    [CH.signOut, ['']],
  ] as const) {
    await assert.rejects(ipc.invoke(ch, trusted, ...args), /invalid input/, `${ch} ${JSON.stringify(args)}`);
  }
  await assert.rejects(ipc.invoke(CH.signOut, untrusted.subframe, 'corp'), /not the router67 window/);
  const out = await ipc.invoke(CH.signOut, trusted, 'corp');
  assert.equal(out.ok, true);
  assert.equal(vault.get(accountOf('corp')), undefined);
});
