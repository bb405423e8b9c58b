// SecretStore against a real Secret Service (gnome-keyring via with-keyring) and without one.
// When this file is not already running inside with-keyring, it re-runs itself there, so `node --test` alone
// still exercises the real keyring.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { KeychainUnavailableError, SecretStore, type KeytarLike } from '../../main/secrets/store.js';
import { UiService } from '../../main/ui/service.js';
import { FakeCore } from '../ui/fake-core.js';
import { runInsideKeyring } from '../helpers/keyring.js';

const root = resolve(__dirname, '..', '..', '..');
const inside = process.env.ROUTER67_TEST_IN_KEYRING === '1';

if (!inside) {
  test('real keyring: the suite passes inside with-keyring', { timeout: 60_000 }, (t) => {
    const r = runInsideKeyring(__filename, 55_000);
    if (r.skipped) {
      t.skip(r.skipped);
      return;
    }
    assert.ok(r.ok, r.out);
  });

  test('no Secret Service: the store says why and refuses writes', { timeout: 30_000 }, () => {
    const env: NodeJS.ProcessEnv = { ...process.env, DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/router67-bus' };
    delete env.DISPLAY;
    delete env.WAYLAND_DISPLAY;
    const script = `
      const { SecretStore } = require(${JSON.stringify(join(root, 'dist', 'main', 'secrets', 'store.js'))});
      (async () => {
        const s = await SecretStore.open({ timeoutMs: 5000 });
        let err = null;
        try { await s.set('p', 'sk-never-stored-123'); } catch (e) { err = e.name + ': ' + e.message; }
        console.log(JSON.stringify({ info: s.info(), err, get: s.resolver().get('p') ?? null }));
      })();`;
    const r = spawnSync(process.execPath, ['-e', script], { env, encoding: 'utf8', timeout: 25_000 });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
    assert.equal(out.info.available, false);
    assert.ok(out.info.reason.length > 0);
    assert.match(out.err, /^KeychainUnavailableError: the OS keychain is not available/);
    assert.ok(!out.err.includes('sk-never-stored-123'));
    assert.equal(out.get, null);
  });

  test('a keychain that never answers is reported unavailable, not waited on forever', async () => {
    const stuck: KeytarLike = {
      findCredentials: () => new Promise(() => {}),
      getPassword: () => new Promise(() => {}),
      setPassword: () => new Promise(() => {}),
      deletePassword: () => new Promise(() => {}),
    };
    const s = await SecretStore.open({ keytar: stuck, timeoutMs: 50 });
    assert.equal(s.info().available, false);
    assert.match(s.info().reason!, /did not answer/);
    await assert.rejects(s.set('a', 'b'), KeychainUnavailableError);
  });
}

if (inside) {
  test('secrets are stored in the Secret Service and read back through the sync resolver', async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const keytar = require('keytar') as KeytarLike;
    const s = await SecretStore.open();
    assert.deepEqual(s.info(), { available: true });
    const resolver = s.resolver();
    assert.equal(resolver.get('groq'), undefined);

    const secret = 'gsk_ünïcode "quoted" \\ key';
    await s.set('groq', secret);
    assert.equal(resolver.get('groq'), secret);
    assert.equal(s.has('groq'), true);
    // really in the keyring, under service router67
    assert.equal(await keytar.getPassword('router67', 'groq'), secret);

    // a second store (another process start) loads it
    const again = await SecretStore.open();
    assert.equal(again.resolver().get('groq'), secret);
    assert.deepEqual(again.accounts(), ['groq']);

    // overwrite, then delete
    let changes = 0;
    s.onChange(() => changes++);
    await s.set('groq', 'second');
    assert.equal(await keytar.getPassword('router67', 'groq'), 'second');
    assert.equal(await s.delete('groq'), true);
    assert.equal(resolver.get('groq'), undefined);
    assert.equal(await keytar.getPassword('router67', 'groq'), null);
    assert.equal(changes, 2);
  });

  test('other services in the keyring are not read', async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const keytar = require('keytar') as KeytarLike;
    await keytar.setPassword('some-other-app', 'groq', 'not-ours');
    const s = await SecretStore.open();
    assert.equal(s.get('groq'), undefined);
  });

  test('bad input is refused without echoing the secret', async () => {
    const s = await SecretStore.open();
    await assert.rejects(s.set('', 'sk-visible?'), (e: Error) => !e.message.includes('sk-visible?'));
    await assert.rejects(s.set('bad\naccount', 'sk-visible?'), (e: Error) => !e.message.includes('sk-visible?'));
    await assert.rejects(s.set('ok', ''), /empty secret/);
  });
}

const PROVIDER_TOML = `# keys live in the keychain
[[providers]]
name = "groq"
base_url = "https://api.groq.com/openai"
format = "openai"
auth = { header = "Authorization", prefix = "Bearer ", api_key = "gsk_INLINE_OLD" }

[providers.available_models]
"llama" = "llama-3.3-70b"
`;

if (!inside) {
  test('without a keychain, a typed key is refused on its field and nothing is written', async (t) => {
    const core = new FakeCore(PROVIDER_TOML);
    t.after(() => core.cleanup());
    const svc = new UiService({ core, secrets: SecretStore.none('no Secret Service is running'), app: 'daemon' });
    const ed = svc.loadConfig();
    assert.deepEqual(ed.keychain, { available: false, reason: 'no Secret Service is running' });
    const { path: _p, keychain: _k, ...draft } = ed;
    draft.providers[0]!.auth = { ...draft.providers[0]!.auth, source: 'keychain', newSecret: 'gsk_TYPED_NEW' };
    const r = await svc.save(draft);
    assert.equal(r.ok, false);
    assert.ok(!r.ok && r.kind === 'invalid');
    const issue = (r as { issues: { path: unknown[]; message: string }[] }).issues[0]!;
    assert.deepEqual(issue.path, ['providers', 0, 'auth', 'newSecret']);
    assert.match(issue.message, /keychain is not available.*environment variable/);
    assert.ok(!issue.message.includes('gsk_TYPED_NEW'));
    assert.equal(readFileSync(core.configPath, 'utf8'), PROVIDER_TOML);
    assert.equal(core.reloads, 0);
  });
}

if (inside) {
  test('the window stores typed keys in the keychain, never in the file or back in the window', async (t) => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const keytar = require('keytar') as KeytarLike;
    const core = new FakeCore(PROVIDER_TOML);
    t.after(() => core.cleanup());
    const store = await SecretStore.open();
    const svc = new UiService({ core, secrets: store, app: 'electron' });

    // moving an inline key into the keychain
    let ed = svc.loadConfig();
    assert.equal(ed.providers[0]!.auth.source, 'inline');
    assert.ok(!JSON.stringify(ed).includes('gsk_INLINE_OLD'), 'the window never receives a stored key');
    let { path: _p, keychain: _k, ...draft } = ed;
    draft.providers[0]!.auth.source = 'keychain';
    let r = await svc.save(draft);
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.equal(await keytar.getPassword('router67', 'groq'), 'gsk_INLINE_OLD');
    let text = readFileSync(core.configPath, 'utf8');
    assert.ok(!text.includes('gsk_INLINE_OLD'));
    assert.match(text, /keychain = "groq"/);
    assert.equal(core.reloads, 1);

    // typing a new key replaces it; the window only learns that one is set
    ed = svc.loadConfig();
    assert.equal(ed.providers[0]!.auth.secretSet, true);
    ({ path: _p, keychain: _k, ...draft } = ed);
    draft.providers[0]!.auth.newSecret = 'gsk_TYPED_NEW';
    r = await svc.save(draft);
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.equal(await keytar.getPassword('router67', 'groq'), 'gsk_TYPED_NEW');
    assert.equal(store.resolver().get('groq'), 'gsk_TYPED_NEW', 'the core resolves it at once');
    text = readFileSync(core.configPath, 'utf8');
    assert.ok(!text.includes('gsk_TYPED_NEW'));
    assert.ok(!JSON.stringify(svc.loadConfig()).includes('gsk_TYPED_NEW'));
    assert.ok(!JSON.stringify(svc.status()).includes('gsk_TYPED_NEW'));

    // a keychain provider with no key stored is reported, not saved
    ({ path: _p, keychain: _k, ...draft } = svc.loadConfig());
    draft.providers.push({ ...draft.providers[0]!, origin: undefined, name: 'other', auth: { ...draft.providers[0]!.auth, keychain: '', newSecret: undefined } });
    delete draft.providers[1]!.origin;
    delete draft.providers[1]!.auth.newSecret;
    const issues = svc.validate(draft);
    assert.deepEqual(issues.map((i) => i.path), [['providers', 1, 'auth', 'newSecret']]);

    // removing the provider removes its key from the keychain
    ({ path: _p, keychain: _k, ...draft } = svc.loadConfig());
    draft.providers = [];
    r = await svc.save(draft);
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.equal(await keytar.getPassword('router67', 'groq'), null);
  });
}
