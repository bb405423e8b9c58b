// The app's start and quit with `electron` mocked, over its real wiring (main/app/compose.ts): a real core in a
// temporary home, the real Interceptor against a scratch hosts file with a TLS listener on an ephemeral port and an
// in-process CA. Single-instance lock, no Dock icon, tray + IPC + protocol wired, a stale hosts block removed at
// start, the tray switching interception (block written, listener up), and Quit removing the block before the
// core stops.
import { electron, FakeBrowserWindow, FakeTray, ProcessState, protocolHandlers, schemes, trusted } from './fake-electron.js';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { startApp, type RunningApp } from '../../main/electron/app.js';
import { CH } from '../../main/electron/ipc.js';
import { applyBlock, parseHosts } from '../../main/system/hosts.js';
import { ensureCa } from '../../main/tls/ca.js';
import { eventually } from '../helpers/core.js';

/** Completes a TLS handshake for `servername` against the listener, trusting only `ca`. */
function handshake(port: number, servername: string, ca: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, servername, ca, ALPNProtocols: ['http/1.1'] }, () => {
      s.end();
      resolve();
    });
    s.once('error', reject);
    s.setTimeout(5000, () => s.destroy(new Error('handshake timed out')));
  });
}

describe('the Electron app (electron mocked, real core and interception wiring)', () => {
  let home: string;
  let hostsPath: string;
  let caPem: string;
  const original = '127.0.0.1 localhost\n# keep me\n';
  const saved = new ProcessState();
  let running: RunningApp | undefined;

  before(() => {
    home = mkdtempSync(join(tmpdir(), 'r67-app-'));
    writeFileSync(join(home, 'config.toml'), `intercept_hosts = ["api.anthropic.com"]\n[daemon]\nhttp_listen = "127.0.0.1:0"\nlog_level = "error"\n`);
    caPem = ensureCa(home, ['api.anthropic.com']).ca.certPem;
    hostsPath = join(home, 'hosts');
    // a block left by a router67 that died (its pid is gone)
    writeFileSync(hostsPath, applyBlock(original, { ip: '127.0.67.1', hosts: ['api.anthropic.com'], owner: { pid: 2 ** 30 } }));
    process.env.ROUTER67_HOME = home;
    process.env.DBUS_SESSION_BUS_ADDRESS = 'unix:path=/nonexistent/router67-test-bus';
    saved.save();
  });

  after(async () => {
    await running?.parts.stop({ drainMs: 10 }).catch(() => {});
    saved.restore();
    rmSync(home, { recursive: true, force: true });
  });

  it('registers the app scheme before ready, as a secure standard origin', () => {
    const s = schemes.find((x) => x.scheme === 'router67');
    assert.ok(s, 'router67:// registered');
    assert.equal(s.privileges.standard, true);
    assert.equal(s.privileges.secure, true);
  });

  it('a second instance quits at once', async () => {
    electron.app.lock = false;
    const quits = electron.app.quitCalls;
    assert.equal(await startApp(), undefined);
    assert.equal(electron.app.quitCalls, quits + 1);
    electron.app.lock = true;
  });

  it('the first instance starts the core, the tray and IPC, without a Dock icon or a window; a stale block goes', async () => {
    // doctor's CA check looks up the intercepted names (DNS): not in a test
    running = await startApp({ hostsPath, bind: '127.0.0.1:0', caCheck: false });
    assert.ok(running);
    assert.equal(running.core.home, home);
    assert.equal(running.parts.interception.hostsPath, hostsPath);
    assert.equal(electron.app.dock.hidden, true);
    assert.ok(running.core.httpAddress.port > 0);
    assert.ok(protocolHandlers.has('router67'));
    assert.equal(FakeBrowserWindow.instances.length, 0, 'a menu-bar app starts without a window');
    const tray = FakeTray.instances.at(-1)!;
    assert.match(tray.item('state').label, /^Not intercepting · local endpoint 127\.0\.0\.1:\d+ · 0 requests today$/);
    assert.match(tray.image.path, /resources[/\\]tray-off\.png$/);
    // IPC answers our page
    const st = await electron.ipcMain.invoke(CH.status, trusted);
    assert.equal(st.app, 'electron');
    assert.equal(st.keychain.available, false);
    assert.equal((await electron.ipcMain.invoke(CH.features, trusted)).interceptToggle, true);
    await eventually(() => assert.equal(readFileSync(hostsPath, 'latin1'), original, 'stale block removed at start'));
  });

  it('the tray turns interception on: the hosts block is written and the TLS listener answers; Open shows one window', async () => {
    const tray = FakeTray.instances.at(-1)!;
    await tray.item('intercept').click();
    await eventually(() => assert.equal(running!.core.status().intercept.state, 'on'), 20_000);
    const blocks = parseHosts(readFileSync(hostsPath, 'latin1'));
    assert.equal(blocks.length, 1);
    assert.equal(blocks[0]!.owner?.pid, process.pid);
    assert.equal(blocks[0]!.ip, '127.0.67.1');
    assert.deepEqual(blocks[0]!.hosts, ['api.anthropic.com']);
    assert.ok(readFileSync(hostsPath, 'latin1').endsWith(original), 'the rest of the file is kept');
    const port = running!.parts.interception.address!.port;
    await handshake(port, 'api.anthropic.com', caPem);
    await eventually(() => assert.equal(tray.item('intercept').checked, true));
    assert.match(tray.image.path, /tray-on\.png$/);
    tray.item('open').click();
    tray.item('open').click();
    assert.equal(FakeBrowserWindow.instances.length, 1);
    const win = FakeBrowserWindow.instances[0]!;
    assert.equal(win.loaded, 'router67://app/index.html');
    assert.equal(win.options.webPreferences.sandbox, true);
    // closing hides it (the app stays in the tray)
    let prevented = false;
    win.emit('close', { preventDefault: () => (prevented = true) });
    assert.equal(prevented, true);
  });

  it('waking from sleep re-checks interception: a hosts block removed meanwhile is written again', async () => {
    writeFileSync(hostsPath, original); // something (a VPN client, a sync tool) rewrote the file while asleep
    electron.powerMonitor.emit('resume');
    await eventually(() => assert.equal(parseHosts(readFileSync(hostsPath, 'latin1'))[0]?.owner?.pid, process.pid));
    assert.ok(readFileSync(hostsPath, 'latin1').endsWith(original));
  });

  it('Quit removes the hosts block and closes the listener before the core stops, then quits', async () => {
    const port = running!.parts.interception.address!.port;
    const core = running!.core;
    // what the hosts file and the switch look like when the core is asked to stop
    const seen: { hosts?: string; state?: string } = {};
    const stop = core.stop.bind(core);
    core.stop = (opts) => {
      seen.hosts = readFileSync(hostsPath, 'latin1');
      seen.state = core.intercept.state;
      return stop(opts);
    };
    const stopped = new Promise<void>((r) => core.once('stopped', () => r()));
    const quits = electron.app.quitCalls;
    FakeTray.instances.at(-1)!.item('quit').click();
    await stopped;
    assert.equal(seen.hosts, original, 'hosts block removed before the core stopped');
    assert.equal(seen.state, 'off');
    await assert.rejects(handshake(port, 'api.anthropic.com', caPem), 'TLS listener closed');
    await eventually(() => assert.ok(electron.app.quitCalls >= quits + 2, 'quit again once the core has stopped'));
    assert.equal(FakeTray.instances.at(-1)!.destroyed, true);
    assert.equal(FakeBrowserWindow.instances[0]!.destroyed, true);
  });
});
