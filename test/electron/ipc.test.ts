// The window's boundary: IPC handlers check the sender and parse every input with zod; the page is served only
// from dist/renderer with the CSP; the window is locked down; preload exposes named functions only.
import { electron, exposed, FakeIpcMain, FakeWebContents, ipcRenderer, opened, trusted, untrusted } from './fake-electron.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, sep } from 'node:path';
import { CH, IpcRefused, registerIpc } from '../../main/electron/ipc.js';
import { CSP, resolveAppFile, serveApp } from '../../main/electron/protocol.js';
import { guardContents, windowOptions } from '../../main/electron/window.js';
import { revisionOf } from '../../main/config/save.js';
import { UiService } from '../../main/ui/service.js';
import { FakeCore, FakeIntercept } from '../ui/fake-core.js';

const CONFIG = `[[providers]]
name = "local"
base_url = "http://127.0.0.1:11434"
format = "ollama"

[providers.available_models]
"llama" = "llama3.2:3b"
`;

function setup() {
  const core = new FakeCore(CONFIG);
  const intercept = new FakeIntercept(core);
  const service = new UiService({ core, intercept, app: 'electron' });
  const calls: string[] = [];
  for (const m of ['save', 'validate', 'setIntercept', 'recentLog', 'logEntry', 'resend', 'status', 'loadConfig'] as const) {
    const orig = (service as any)[m].bind(service);
    (service as any)[m] = (...a: unknown[]) => {
      calls.push(m);
      return orig(...a);
    };
  }
  const ipc = new FakeIpcMain();
  const ext: string[] = [];
  const dispose = registerIpc(ipc, service, { openExternal: async (u) => void ext.push(u) });
  return { core, intercept, service, ipc, calls, ext, dispose };
}

test('every channel answers the trusted window', async (t) => {
  const { core, ipc, dispose } = setup();
  t.after(() => core.cleanup());
  assert.deepEqual([...ipc.handlers.keys()].sort(), Object.values(CH).filter((c) => c !== CH.event).sort());
  const st = await ipc.invoke(CH.status, trusted);
  assert.equal(st.app, 'electron');
  const cfg = await ipc.invoke(CH.loadConfig, trusted);
  assert.equal(cfg.providers[0].name, 'local');
  assert.deepEqual(cfg.providers[0].models, [['llama', 'llama3.2:3b']]);
  const { path: _p, keychain: _k, ...draft } = cfg;
  assert.deepEqual(await ipc.invoke(CH.validate, trusted, draft), []);
  await assert.rejects(ipc.invoke(CH.validate, trusted, cfg), /Unrecognized keys/, 'extra keys are refused');
  cfg.providers[0].models.push(['qwen', 'qwen2.5:7b']);
  const saved = await ipc.invoke(CH.save, trusted, { revision: cfg.revision, intercept_hosts: cfg.intercept_hosts, providers: cfg.providers });
  assert.equal(saved.ok, true);
  assert.match(readFileSync(core.configPath, 'utf8'), /"qwen" = "qwen2\.5:7b"/);
  assert.deepEqual(await ipc.invoke(CH.setIntercept, trusted, true), { ok: true, enabled: true });
  assert.deepEqual(await ipc.invoke(CH.recentLog, trusted, 50), []);
  assert.equal(await ipc.invoke(CH.logEntry, trusted, 'nope'), null);
  assert.deepEqual(await ipc.invoke(CH.resend, trusted, { id: 'nope', provider: 'alpha', model: 'm' }), {
    ok: false,
    message: 'This request is no longer in memory; only the newest requests can be resent.',
  });
  await assert.rejects(ipc.invoke(CH.resend, trusted, { id: 'nope', provider: 'alpha' }), (e: Error) => e instanceof IpcRefused, 'zod-checked');
  await assert.rejects(ipc.invoke(CH.resend, untrusted[Object.keys(untrusted)[0] as keyof typeof untrusted], { id: 'nope', provider: 'alpha', model: 'm' }), IpcRefused);
  assert.deepEqual(await ipc.invoke(CH.features, trusted), { signIn: false, interceptToggle: true, firstRun: false, usage: false });
  // routing rules (issue 13): load, validate, save, explain
  const rs = await ipc.invoke(CH.loadRoutes, trusted);
  assert.deepEqual(rs.routes, []);
  const route = { name: 'small', match: '{ model = "llama*" }', to: '["local"]', strategy: 'round-robin' };
  assert.deepEqual(await ipc.invoke(CH.validateRoutes, trusted, { revision: rs.revision, routes: [route] }), []);
  const badRoute = await ipc.invoke(CH.validateRoutes, trusted, { revision: rs.revision, routes: [{ ...route, to: '["nobody"]' }] });
  assert.deepEqual(badRoute[0].path, ['routes', 0, 'to']);
  const savedRoutes = await ipc.invoke(CH.saveRoutes, trusted, { revision: rs.revision, routes: [route] });
  assert.equal(savedRoutes.ok, true, JSON.stringify(savedRoutes));
  assert.match(readFileSync(core.configPath, 'utf8'), /\[\[routes\]\]\nname = "small"/);
  const ex = await ipc.invoke(CH.explainRoute, trusted, { body: JSON.stringify({ model: 'llama', messages: [] }) });
  assert.equal(ex.ok, true, JSON.stringify(ex));
  assert.equal(ex.result.route, 'small');
  assert.match(ex.text, /1\. local → llama3\.2:3b/);
  // the Usage view's range is checked by zod before the service sees it
  await assert.rejects(ipc.invoke(CH.usage, trusted, { from: 10, to: 5 }), /from must be before to/);
  await assert.rejects(ipc.invoke(CH.usage, trusted, { from: 0, to: 5, sql: 'x' }), /Unrecognized key/);
  await assert.rejects(ipc.invoke(CH.usage, trusted, { from: 0, to: 5 }), /usage history is not available/);
  dispose();
  assert.equal(ipc.handlers.size, 0);
});

test('calls from anything but the top frame of router67://app are refused before the service runs', async (t) => {
  const { core, ipc, calls } = setup();
  t.after(() => core.cleanup());
  for (const [name, ev] of Object.entries(untrusted)) {
    for (const ch of [CH.status, CH.save, CH.setIntercept, CH.openExternal]) {
      await assert.rejects(ipc.invoke(ch, ev, true), (e: Error) => e instanceof IpcRefused && /not the router67 window/.test(e.message), `${name} ${ch}`);
    }
  }
  assert.deepEqual(calls, []);
  assert.equal(core.status().intercept.enabled, false);
});

test('malformed inputs are refused by zod; nothing is written', async (t) => {
  const { core, ipc, calls } = setup();
  t.after(() => core.cleanup());
  const before = readFileSync(core.configPath, 'utf8');
  const good = { revision: revisionOf(before), intercept_hosts: [], providers: [] };
  const provider = {
    name: 'x',
    base_url: 'http://127.0.0.1:1',
    format: '',
    auth: { source: 'none', header: '', prefix: '', value_env: '', keychain: '', oauth: '' },
    extra_headers: [],
    models: [],
  };
  const bad: [string, unknown[]][] = [
    [CH.save, [undefined]],
    [CH.save, ['{"revision":"x"}']],
    [CH.save, [{ ...good, revision: 'not-a-hash' }]],
    [CH.save, [{ ...good, extra: 1 }]],
    [CH.save, [{ ...good, providers: [{ ...provider, format: 'grpc' }] }]],
    [CH.save, [{ ...good, providers: [{ ...provider, auth: { ...provider.auth, source: 'file' } }] }]],
    [CH.save, [{ ...good, providers: [{ ...provider, models: [['a']] }] }]],
    [CH.save, [{ ...good, providers: [{ ...provider, name: 'x'.repeat(10_000) }] }]],
    [CH.validate, [{ ...good, providers: 'all' }]],
    [CH.setIntercept, ['yes']],
    [CH.setIntercept, [1]],
    [CH.recentLog, [0]],
    [CH.recentLog, [1e9]],
    [CH.recentLog, ['10']],
    [CH.logEntry, ['../../etc/passwd']],
    [CH.logEntry, [{ id: 1 }]],
    [CH.openExternal, ['file:///etc/passwd']],
    [CH.openExternal, ['javascript:alert(1)']],
    [CH.openExternal, ['router67://app/index.html']],
    // routing rules (issue 13)
    [CH.saveRoutes, [{ revision: 'x', routes: [] }]],
    [CH.saveRoutes, [{ ...good, routes: undefined, providers: undefined, intercept_hosts: undefined }]],
    [CH.validateRoutes, [{ revision: 'a'.repeat(64), routes: [{ name: 'r', match: '', to: '[]', strategy: 'fastest' }] }]],
    [CH.validateRoutes, [{ revision: 'a'.repeat(64), routes: [{ name: 'r', match: '', to: '[]', strategy: '', extra: 1 }] }]],
    [CH.explainRoute, [{ body: {} }]],
    [CH.explainRoute, [{ body: '{}', secret: 1 }]],
  ];
  for (const [ch, args] of bad) {
    await assert.rejects(ipc.invoke(ch, trusted, ...args), (e: Error) => e instanceof IpcRefused && /^invalid input/.test(e.message), `${ch} ${JSON.stringify(args).slice(0, 80)}`);
  }
  assert.deepEqual(calls, []);
  assert.equal(readFileSync(core.configPath, 'utf8'), before);
});

test('external links: only http(s), through the system browser', async (t) => {
  const { core, ipc, ext } = setup();
  t.after(() => core.cleanup());
  await ipc.invoke(CH.openExternal, trusted, 'https://openrouter.ai/keys');
  assert.deepEqual(ext, ['https://openrouter.ai/keys']);
});

test('the app protocol serves only files inside dist/renderer, with the CSP', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'r67-proto-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>x</title>');
  mkdirSync(join(root, 'views'));
  writeFileSync(join(root, 'views', 'log.js'), 'export {}');
  writeFileSync(join(root, '..', 'r67-secret.txt.js'), 'no');
  assert.equal(resolveAppFile('router67://app/', root), join(root, 'index.html'));
  assert.equal(resolveAppFile('router67://app/views/log.js?x=1#y', root), join(root, 'views', 'log.js'));
  for (const u of ['router67://app/../r67-secret.txt.js', 'router67://app/%2e%2e/r67-secret.txt.js', 'router67://app/..%2fr67-secret.txt.js']) {
    const f = resolveAppFile(u, root);
    assert.ok(f === undefined || f.startsWith(root + sep), `${u} -> ${f}`);
    assert.equal((await serveApp(u, root)).status, 404, u);
  }
  for (const u of [
    'router67://app/views/%00.js',
    'router67://other/index.html',
    'https://app/index.html',
    'file:///etc/passwd',
    'router67://app/config.toml',
  ]) {
    assert.equal(resolveAppFile(u, root), undefined, u);
  }
  const ok = await serveApp('router67://app/index.html', root);
  assert.equal(ok.status, 200);
  assert.equal(ok.headers.get('content-type'), 'text/html; charset=utf-8');
  assert.equal(ok.headers.get('content-security-policy'), CSP);
  assert.match(CSP, /script-src 'self';/);
  assert.doesNotMatch(CSP, /unsafe/);
  assert.equal((await serveApp('router67://app/%2e%2e/r67-secret.txt.js', root)).status, 404);
  assert.equal((await serveApp('router67://app/missing.js', root)).status, 404);
  rmSync(join(root, '..', 'r67-secret.txt.js'));
});

test('window: isolated, sandboxed, no node; popups and navigation denied; links to the system browser', () => {
  const o = windowOptions('/p/preload.js', true);
  assert.equal(o.webPreferences!.contextIsolation, true);
  assert.equal(o.webPreferences!.sandbox, true);
  assert.equal(o.webPreferences!.nodeIntegration, false);
  assert.equal(o.webPreferences!.webviewTag, false);
  assert.equal(o.webPreferences!.preload, '/p/preload.js');
  assert.equal(o.show, false);

  const wc = new FakeWebContents();
  const ext: string[] = [];
  guardContents(wc as any, (u) => ext.push(u));
  assert.deepEqual(wc.openHandler!({ url: 'https://example.com/docs' }), { action: 'deny' });
  assert.deepEqual(wc.openHandler!({ url: 'file:///etc/passwd' }), { action: 'deny' });
  assert.deepEqual(wc.openHandler!({ url: 'router67://app/index.html' }), { action: 'deny' });
  assert.deepEqual(ext, ['https://example.com/docs']);
  const nav = (url: string) => {
    let prevented = false;
    wc.emit('will-navigate', { preventDefault: () => (prevented = true) }, url);
    return prevented;
  };
  assert.equal(nav('https://evil.example/'), true);
  assert.equal(nav('file:///etc/passwd'), true);
  assert.equal(nav('router67://app/index.html#log'), false);
  assert.deepEqual(ext, ['https://example.com/docs', 'https://evil.example/']);
  let granted: boolean | undefined;
  wc.permissionHandler!(null, 'media', (b: boolean) => (granted = b));
  assert.equal(granted, false);
  assert.equal(wc.checkHandler!(), false);
});

test('preload exposes named functions only, over our channels, and requires nothing but electron', async () => {
  const file = resolve(__dirname, '..', '..', 'preload', 'index.js');
  const src = readFileSync(file, 'utf8');
  const requires = [...src.matchAll(/require\(["']([^"']+)["']\)/g)].map((m) => m[1]);
  assert.deepEqual(requires, ['electron']);
  require(file);
  const bridge = exposed.get('router67');
  assert.ok(bridge);
  assert.deepEqual([...exposed.keys()], ['router67']);
  // (other views, e.g. sign-in, may add functions of their own)
  for (const k of ['features', 'loadConfig', 'logEntry', 'onEvent', 'openExternal', 'recentLog', 'save', 'setIntercept', 'status', 'validate']) {
    assert.equal(typeof bridge[k], 'function', k);
  }
  assert.ok(!('invoke' in bridge) && !('send' in bridge) && !('on' in bridge) && !('ipcRenderer' in bridge), 'no raw IPC');
  for (const v of Object.values(bridge)) {
    assert.equal(typeof v, 'function');
    assert.notEqual(v, ipcRenderer.invoke);
    assert.notEqual(v, electron.ipcRenderer);
  }
  // every invoke goes to a channel the main side handles
  ipcRenderer.invocations.length = 0;
  await bridge.features();
  await bridge.status();
  await bridge.loadConfig();
  await bridge.validate({});
  await bridge.save({});
  await bridge.setIntercept(true);
  await bridge.recentLog(10);
  await bridge.logEntry('a');
  await bridge.openExternal('https://x');
  const handled = new Set(Object.values(CH));
  for (const [ch] of ipcRenderer.invocations) assert.ok(handled.has(ch as any), ch);
  assert.equal(ipcRenderer.invocations.length, 9);
  // events arrive by callback and can be unsubscribed
  const got: unknown[] = [];
  const off = bridge.onEvent((e: unknown) => got.push(e));
  ipcRenderer.emit(CH.event, {}, { type: 'config', revision: 'r' });
  off();
  ipcRenderer.emit(CH.event, {}, { type: 'config', revision: 's' });
  assert.deepEqual(got, [{ type: 'config', revision: 'r' }]);
  assert.equal(ipcRenderer.listenerCount(CH.event), 0);
  assert.deepEqual(opened, []);
});
