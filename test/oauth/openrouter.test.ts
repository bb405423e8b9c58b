// OpenRouter's PKCE sign-in against a local stand-in of its documented endpoints, with Chromium as the system
// browser and the real keyring: success (a new provider; an existing one updated, the CLI against a running core),
// wrong state, wrong verifier, cancel, time-out, an unwritable config. Nothing is half-stored on any failure.
//
// Outside the keyring wrapper (scripts/with-keyring.sh) this file re-runs itself inside it.
import { after, before, describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'smol-toml';
import type { Browser, Page } from 'playwright-core';
import { loadConfigFile } from '../../main/config/load.js';
import { SignInError } from '../../main/oauth/flows.js';
import { OAuthManager } from '../../main/oauth/manager.js';
import { attachOAuth } from '../../main/oauth/attach.js';
import { mountOAuthReload } from '../../main/oauth/reload.js';
import { SecretStore, type KeytarLike } from '../../main/secrets/store.js';
import { eventually, startCore } from '../helpers/core.js';
import { insideKeyring, runInsideKeyring } from '../helpers/keyring.js';
import { CHROMIUM, launchChromium } from './helpers.js';
import { startOpenRouterStandIn, type OpenRouterStandIn } from './openrouter-standin.js';

const CLI = join(__dirname, '..', '..', 'main', 'cli', 'index.js');

if (!insideKeyring) {
  test('OpenRouter sign-in against a stand-in (Chromium, real keyring): passes inside scripts/with-keyring.sh', { timeout: 200_000 }, (t) => {
    const r = runInsideKeyring(__filename, 190_000, { files: [CHROMIUM] });
    if (r.skipped) return t.skip(r.skipped);
    assert.ok(r.ok, r.out);
  });
} else {
  describe('OpenRouter sign-in', { timeout: 120_000 }, () => {
    let or: OpenRouterStandIn;
    let browser: Browser;
    let page: Page;
    let store: SecretStore;
    let keytar: KeytarLike;
    let dir: string;

    /** Chromium goes where the sign-in sends it and comes back to router67's result page. */
    const follow = async (url: string) => {
      await page.goto(url, { timeout: 15_000 });
      await page.waitForSelector('#result', { timeout: 15_000 });
      return { ok: (await page.getAttribute('#result', 'data-ok')) === 'true', text: (await page.textContent('#message')) ?? '' };
    };
    const setup = (toml: string) => {
      const file = join(dir, `config-${Math.random().toString(36).slice(2)}.toml`);
      writeFileSync(file, toml);
      const config = loadConfigFile(file).config;
      return { file, manager: new OAuthManager({ vault: store, config: () => config, configPath: file }) };
    };
    const table = (name = 'openrouter') => `[oauth.${name}]\ntype = "openrouter"\nbase_url = "${or.base}"\n`;
    const portOf = (url: string) => Number(new URL(new URL(url).searchParams.get('callback_url')!).port);

    before(async () => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      keytar = require('keytar') as KeytarLike;
      or = await startOpenRouterStandIn();
      browser = await launchChromium();
      page = await browser.newPage();
      store = await SecretStore.open();
      assert.equal(store.info().available, true, store.info().reason);
      dir = mkdtempSync(join(tmpdir(), 'router67-or-'));
    });
    after(async () => {
      await browser?.close();
      await or?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('success: the key goes to the keychain and a new "openrouter" provider uses it; the rest of the file is kept', async () => {
      const original = `# my router67 config
intercept_hosts = ["api.anthropic.com", "openrouter.ai"]

[daemon]
log_level = "debug"   # chatty

${table()}
# Anthropic direct
[[providers]]
name = "anthropic"
base_url = "https://api.anthropic.com"
auth = { header = "x-api-key", value_env = "ANTHROPIC_API_KEY" }

[providers.available_models]
"claude-sonnet-4.6" = "claude-sonnet-4-5-20250929"
`;
      const { file, manager } = setup(original);
      let browsing: Promise<{ ok: boolean; text: string }> | undefined;
      const r = await manager.login('openrouter', { open: (url) => ((browsing = follow(url)), true) });
      assert.equal(r.created, true);
      const shown = await browsing;
      assert.equal(shown?.ok, true, shown?.text);
      assert.match(shown!.text, /OpenRouter key/);
      const key = or.keys.at(-1)!;
      assert.equal(await keytar.getPassword('router67', 'openrouter'), key);
      const text = readFileSync(file, 'utf8');
      assert.ok(text.startsWith(original.trimEnd()), 'every byte before the new provider is kept:\n' + text);
      assert.ok(!text.includes(key), 'the key is not in the TOML');
      const doc = JSON.parse(JSON.stringify(parse(text))) as any;
      assert.deepEqual(doc.providers[1], {
        name: 'openrouter',
        base_url: `${or.base}/api`,
        format: 'openai',
        auth: { header: 'Authorization', prefix: 'Bearer ', keychain: 'openrouter' },
      });
      assert.equal(or.callbacks.length, 1);
      assert.match(or.callbacks[0]!, /^http:\/\/127\.0\.0\.1:\d+\/callback\/[A-Za-z0-9_-]{43}$/);
      assert.deepEqual(manager.describe('openrouter')?.state, 'signed-out', 'this manager holds the config as loaded before');
      const fresh = new OAuthManager({ vault: store, config: () => loadConfigFile(file).config, configPath: file });
      assert.equal(fresh.describe('openrouter')?.state, 'signed-in');
    });

    it('success through `router67 login openrouter`: an existing provider switches to the keychain key; the running core routes with it', async () => {
      const original = `${table()}
[[providers]]
name     = "openrouter"
base_url = "${or.base}/api"
auth     = { header = "Authorization", prefix = "Bearer ", value_env = "OPENROUTER_API_KEY" }

[providers.available_models]
"claude-sonnet-4.6" = "anthropic/claude-sonnet-4.6"
`;
      const tc = await startCore(original, { secrets: store.resolver() });
      // as the composition root wires it: the manager, and the route `router67 login` calls afterwards
      const manager = attachOAuth(tc.core, store);
      mountOAuthReload(tc.core.admin!, async () => ({ manager, vault: store }), () => tc.core.emit('status', tc.core.status()));
      try {
        const before = await fetch(`${tc.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'claude-sonnet-4.6', messages: [{ role: 'user', content: 'hi' }] }),
        });
        assert.equal(before.status, 502, 'no key yet');
        await before.arrayBuffer();
        const child = spawn(process.execPath, [CLI, 'login', 'openrouter', '--config', tc.configPath, '--timeout', '60'], {
          env: { ...process.env, ROUTER67_HOME: tc.home, ROUTER67_NO_BROWSER: '1' },
        });
        let out = '';
        let err = '';
        child.stderr.on('data', (d: Buffer) => (err += d.toString()));
        const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
        const url = await new Promise<string>((resolve, reject) => {
          const t = setTimeout(() => reject(new Error(`no URL: ${out} ${err}`)), 20_000);
          child.stdout.on('data', (d: Buffer) => {
            out += d.toString();
            const m = /^\s+(http:\/\/127\.0\.0\.1:\d+\/auth\?\S+)$/m.exec(out);
            if (m) {
              clearTimeout(t);
              resolve(m[1]!);
            }
          });
        });
        const shown = await follow(url);
        assert.equal(shown.ok, true, shown.text);
        assert.equal(await exited, 0, err);
        assert.match(out, /The running router67 uses it now/);
        const key = or.keys.at(-1)!;
        assert.equal(await keytar.getPassword('router67', 'openrouter'), key);
        const doc = JSON.parse(JSON.stringify(parse(readFileSync(tc.configPath, 'utf8')))) as any;
        assert.deepEqual(doc.providers[0].auth, { header: 'Authorization', prefix: 'Bearer ', keychain: 'openrouter' });
        assert.deepEqual(doc.providers[0].available_models, { 'claude-sonnet-4.6': 'anthropic/claude-sonnet-4.6' });
        await eventually(() => assert.equal(tc.core.status().providers[0]!.auth, 'ok'), 5000);
        const r = await fetch(`${tc.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'claude-sonnet-4.6', messages: [{ role: 'user', content: 'hi' }] }),
        });
        assert.equal(r.status, 200);
        assert.equal(((await r.json()) as any).choices[0].message.content, 'hello from openrouter');
        assert.deepEqual(or.chats.at(-1), { key, ok: true });
      } finally {
        await tc.stop();
      }
    });

    /** A failed sign-in: no key in the keychain, the config byte-identical, the loopback port closed. */
    const assertNothingStored = async (file: string, original: string, url: string | undefined, account = 'or-fail') => {
      assert.equal(await keytar.getPassword('router67', account), null);
      assert.equal(readFileSync(file, 'utf8'), original);
      if (url) await assert.rejects(fetch(`http://127.0.0.1:${portOf(url)}/`), 'the loopback listener is closed');
    };

    it('wrong state: a callback that does not carry this sign-in’s state is turned away and the sign-in goes on; the real answer still signs in', async () => {
      const original = table('or-forged');
      const { file, manager } = setup(original);
      let browsing: Promise<{ ok: boolean; text: string }> | undefined;
      const keysBefore = or.exchanges.length;
      let forged: { status: number; text: string } | undefined;
      const r = await manager.login('or-forged', {
        open: (url) => {
          // a forged answer first (right port and path shape, someone else's state, a real-looking code), as a page
          // or another local user could send it; then the user's browser comes back with the real one
          browsing = (async () => {
            const f = await fetch(`http://127.0.0.1:${portOf(url)}/callback/${'A'.repeat(43)}?code=stolen-code`);
            forged = { status: f.status, text: await f.text() };
            return follow(url);
          })();
          return true;
        },
      });
      assert.equal(forged?.status, 400);
      assert.match(forged!.text, /does not carry the state of the sign-in in progress/);
      const shown = await browsing;
      assert.equal(shown?.ok, true, shown?.text);
      assert.equal(r.created, true);
      assert.deepEqual(or.exchanges.slice(keysBefore), [{ status: 200 }], 'only the real code was sent to OpenRouter');
      assert.equal(await keytar.getPassword('router67', 'or-forged'), or.keys.at(-1));
      assert.match(readFileSync(file, 'utf8'), /keychain = "or-forged"/);
      await keytar.deletePassword('router67', 'or-forged');
    });

    it('wrong verifier: a code bound to another PKCE challenge buys no key; nothing is stored', async () => {
      const original = table('or-fail');
      const { file, manager } = setup(original);
      or.mode = 'other-challenge';
      let seen: string | undefined;
      let browsing: Promise<{ ok: boolean; text: string }> | undefined;
      try {
        await assert.rejects(
          manager.login('or-fail', { open: (url) => ((seen = url), (browsing = follow(url)), true) }),
          (e: unknown) => e instanceof SignInError && e.kind === 'failed' && /403/.test(e.message) && /Invalid code_verifier/.test(e.message),
        );
      } finally {
        or.mode = 'approve';
      }
      assert.equal(or.exchanges.at(-1)!.status, 403);
      const shown = await browsing;
      assert.equal(shown?.ok, false);
      await assertNothingStored(file, original, seen);
    });

    it('cancel: nothing is stored and the listener closes', async () => {
      const original = table('or-fail');
      const { file, manager } = setup(original);
      const abort = new AbortController();
      let seen: string | undefined;
      await assert.rejects(
        manager.login('or-fail', {
          signal: abort.signal,
          open: (url) => {
            seen = url;
            setTimeout(() => abort.abort(), 50);
            return true;
          },
        }),
        (e: unknown) => e instanceof SignInError && e.kind === 'cancelled',
      );
      await assertNothingStored(file, original, seen);
    });

    it('time-out: nothing is stored and the listener closes', async () => {
      const original = table('or-fail');
      const { file, manager } = setup(original);
      let seen: string | undefined;
      await assert.rejects(
        manager.login('or-fail', { timeoutMs: 400, open: (url) => ((seen = url), true) }),
        (e: unknown) => e instanceof SignInError && e.kind === 'timeout',
      );
      await assertNothingStored(file, original, seen);
      // the browser arriving late finds nobody
      await assert.rejects(fetch(seen!.replace(/^.*callback_url=([^&]+).*$/, (_, c: string) => decodeURIComponent(c)) + '?code=late'));
    });

    it('a config that cannot be written: the key is not kept in the keychain either', async () => {
      const { file, manager } = setup(table('or-fail'));
      const broken = readFileSync(file, 'utf8') + '\n[[providers]\nname = "oops"\n';
      writeFileSync(file, broken); // broken after loading: the file on disk has a syntax error now
      let browsing: Promise<{ ok: boolean; text: string }> | undefined;
      await assert.rejects(
        manager.login('or-fail', { open: (url) => ((browsing = follow(url)), true) }),
        (e: unknown) => e instanceof SignInError && /fix the file by hand first; the key was not stored/.test(e.message),
      );
      const shown = await browsing;
      assert.equal(shown?.ok, false);
      assert.match(shown!.text, /could not store/);
      await assertNothingStored(file, broken, undefined);
    });

    it('logout removes the key from the keychain and says where the key itself lives', async () => {
      const file = join(dir, 'logout.toml');
      writeFileSync(file, `${table()}\n[[providers]]\nname = "openrouter"\nbase_url = "${or.base}/api"\nauth = { header = "Authorization", prefix = "Bearer ", keychain = "openrouter" }\n`);
      const m = new OAuthManager({ vault: store, config: () => loadConfigFile(file).config, configPath: file });
      assert.equal(m.describe('openrouter')?.state, 'signed-in');
      const r = await m.logout('openrouter');
      assert.equal(r.removed, true);
      assert.match(r.message, /openrouter\.ai\/settings\/keys/);
      assert.equal(await keytar.getPassword('router67', 'openrouter'), null);
      assert.equal(m.describe('openrouter')?.state, 'signed-out');
    });
  });
}
