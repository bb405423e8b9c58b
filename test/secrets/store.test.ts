// SecretStore against a real Secret Service (gnome-keyring via with-keyring) and without one.
// When this file is not already running inside with-keyring, it re-runs itself there, so `node --test` alone
// still exercises the real keyring.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { KeychainUnavailableError, SecretStore, type KeytarLike } from '../../main/secrets/store.js';

const root = resolve(__dirname, '..', '..', '..');
const inside = process.env.ROUTER67_TEST_IN_KEYRING === '1';

function withKeyringTool(): string | undefined {
  const candidates = [process.env.ROUTER67_WITH_KEYRING, join(root, '..', 'shared', 'tools', 'with-keyring'), '/work/shared/tools/with-keyring'];
  return candidates.find((c): c is string => !!c && existsSync(c));
}

if (!inside) {
  test('real keyring: the suite passes inside with-keyring', { timeout: 60_000 }, (t) => {
    const tool = withKeyringTool();
    if (!tool) {
      t.skip('with-keyring (shared/tools) not found');
      return;
    }
    const env: NodeJS.ProcessEnv = { ...process.env, ROUTER67_TEST_IN_KEYRING: '1' };
    delete env.NODE_TEST_CONTEXT; // a nested test run, not a sub-process of this one's runner
    const r = spawnSync(tool, [process.execPath, '--test', '--test-reporter=tap', __filename], {
      env,
      encoding: 'utf8',
      timeout: 55_000,
    });
    const out = `${r.stdout}\n${r.stderr}`;
    assert.equal(r.status, 0, out);
    assert.match(out, /# pass [1-9]/);
    assert.match(out, /# fail 0/);
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
