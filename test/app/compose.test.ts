// The composition root as the daemon uses it: parts built on first use (the window's backend, OAuth, the keychain
// are neither built nor loaded by a daemon nobody has opened the window of), the window's routes mounted on the
// admin endpoint on the first request for them, the keychain opened before the core starts when the config uses
// it, and later when a config change starts using it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compose } from '../../main/app/compose.js';
import { silentLogger } from '../../main/log/logger.js';
import { SecretStore } from '../../main/secrets/store.js';
import { memoryKeytar } from '../helpers/keyring.js';
import { eventually, tempHome } from '../helpers/core.js';

/** Whether a module of main/ has been loaded into this process. */
function loaded(rel: string): boolean {
  const suffix = join('dist', 'main', rel);
  return Object.keys(require.cache).some((k) => k.endsWith(suffix));
}

const KEYCHAIN_PROVIDER = `
[[providers]]
name = "kc"
base_url = "http://127.0.0.1:9"
auth = { header = "x-api-key", keychain = "kc-key" }
[providers.available_models]
"m" = "m"
`;

test('daemon: the window, OAuth and the keychain are built (and loaded) on the first request for the window', async (t) => {
  const home = tempHome('r67-compose-');
  const configPath = join(home, 'config.toml');
  writeFileSync(configPath, '[daemon]\nlog_level = "error"\n');
  let opened = 0;
  const parts = await compose({
    ui: 'daemon',
    home,
    configPath,
    env: {},
    httpListen: '127.0.0.1:0',
    logger: silentLogger,
    hostsPath: join(home, 'hosts'),
    caCheck: false,
    openSecrets: async () => {
      opened++;
      return SecretStore.open({ keytar: memoryKeytar({}) });
    },
  });
  t.after(async () => {
    await parts.stop({ drainMs: 10 });
    rmSync(home, { recursive: true, force: true });
  });
  const admin = parts.core.admin!;
  assert.ok(parts.uiLink?.startsWith(`${admin.url}/?token=`));
  for (const m of ['ui/service.js', 'ui/server.js', 'ui/attach.js', 'oauth/manager.js', 'oauth/signin.js', 'intercept/interceptor.js']) {
    assert.equal(loaded(m), false, `${m} not loaded yet`);
  }
  assert.equal(opened, 0, 'keychain not opened: the config does not use it');

  // the admin endpoint's own routes are not shadowed by the window's
  assert.equal((await fetch(`${admin.url}/api/status`)).status, 401);
  assert.equal(opened, 0);

  // the link sets the window's session cookie; the window's API answers with it
  const r = await fetch(parts.uiLink!, { redirect: 'manual' });
  assert.equal(r.status, 303);
  const cookie = r.headers.get('set-cookie')!.split(';')[0]!;
  assert.ok(loaded('ui/server.js') && loaded('ui/service.js') && loaded('oauth/signin.js'));
  assert.equal(opened, 1);
  const st = await fetch(`${admin.url}/api/ui/status`, { headers: { cookie } });
  assert.equal(st.status, 200);
  const body = (await st.json()) as { app: string; keychain: { available: boolean } };
  assert.equal(body.app, 'daemon');
  assert.equal(body.keychain.available, true);
  assert.equal((await fetch(`${admin.url}/api/ui/status`)).status, 401, 'the window still wants the token or cookie');
  assert.equal((await fetch(`${admin.url}/nothing-here`, { headers: { cookie } })).status, 404);
  assert.equal(await parts.ui(), await parts.ui(), 'one window backend');
  assert.equal(opened, 1, 'one keychain store');

  // what `router67 login` calls afterwards
  const reload = await fetch(`${admin.url}/api/oauth/reload`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ names: [], accounts: ['x'] }),
  });
  assert.equal(reload.status, 200);
});

test('the keychain opens before the core starts when the config uses it, and when a config change starts using it', async (t) => {
  const home = tempHome('r67-compose-');
  const configPath = join(home, 'config.toml');
  writeFileSync(configPath, KEYCHAIN_PROVIDER);
  let opened = 0;
  const openSecrets = async () => {
    opened++;
    return SecretStore.open({ keytar: memoryKeytar({ 'kc-key': 'secret-value' }) });
  };
  const a = await compose({ ui: 'daemon', home, configPath, env: {}, httpListen: '127.0.0.1:0', logger: silentLogger, openSecrets });
  t.after(() => rmSync(home, { recursive: true, force: true }));
  assert.equal(opened, 1);
  assert.deepEqual(a.core.warnings(), [], 'the key is there from the first moment');
  assert.equal(a.core.status().providers[0]!.auth, 'ok');
  await a.stop({ drainMs: 10 });

  writeFileSync(configPath, '');
  opened = 0;
  const b = await compose({ ui: 'daemon', home, configPath, env: {}, httpListen: '127.0.0.1:0', logger: silentLogger, openSecrets });
  t.after(() => b.stop({ drainMs: 10 }));
  assert.equal(opened, 0);
  writeFileSync(configPath, KEYCHAIN_PROVIDER);
  assert.equal(await b.core.reload(), true);
  await eventually(() => assert.equal(b.core.status().providers[0]?.auth, 'ok'));
  assert.equal(opened, 1);
});
