// The app's start and quit with `electron` mocked and a real core in a temporary home: single-instance lock,
// no Dock icon, tray + IPC + protocol wired, and Quit turning interception off before the core stops.
import { electron, FakeBrowserWindow, FakeTray, protocolHandlers, schemes, trusted } from './fake-electron.js';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApp, type RunningApp } from '../../main/electron/app.js';
import { CH } from '../../main/electron/ipc.js';
import type { Core } from '../../main/core/core.js';

describe('the Electron app (electron mocked, real core)', () => {
  let home: string;
  const saved = { env: { ...process.env }, signals: {} as Record<string, Function[]> };
  const intercept = { calls: [] as boolean[], core: undefined as Core | undefined, verified: 0 };
  let running: RunningApp | undefined;

  before(() => {
    home = mkdtempSync(join(tmpdir(), 'r67-app-'));
    writeFileSync(join(home, 'config.toml'), `[daemon]\nhttp_listen = "127.0.0.1:0"\nlog_level = "error"\n`);
    process.env.ROUTER67_HOME = home;
    process.env.DBUS_SESSION_BUS_ADDRESS = 'unix:path=/nonexistent/router67-test-bus';
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP']) saved.signals[s] = process.listeners(s as NodeJS.Signals);
  });

  after(async () => {
    await running?.core.stop({ drainMs: 10 }).catch(() => {});
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as NodeJS.Signals[]) {
      for (const l of process.listeners(s)) if (!saved.signals[s]!.includes(l)) process.off(s, l as () => void);
    }
    process.env = saved.env;
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

  it('the first instance starts the core, the tray and IPC, without a Dock icon or a window', async () => {
    running = await startApp({
      interceptControl: (core) => {
        intercept.core = core;
        return {
          set: async (on) => {
            intercept.calls.push(on);
            core.setIntercept({ enabled: on, state: on ? 'on' : 'off' });
          },
          verify: async () => void intercept.verified++,
        };
      },
    });
    assert.ok(running);
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
  });

  it('the tray switches interception and Open shows one window', async () => {
    const tray = FakeTray.instances.at(-1)!;
    await tray.item('intercept').click();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(intercept.calls, [true]);
    assert.equal(tray.item('intercept').checked, true);
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

  it('waking from sleep re-checks interception (listener, hosts block, watchdog)', async () => {
    assert.equal(intercept.verified, 0);
    electron.powerMonitor.emit('resume');
    await new Promise((r) => setImmediate(r));
    assert.equal(intercept.verified, 1);
  });

  it('Quit turns interception off, then stops the core, then quits', async () => {
    const stopped = new Promise<void>((r) => running!.core.once('stopped', () => r()));
    const quits = electron.app.quitCalls;
    FakeTray.instances.at(-1)!.item('quit').click();
    await stopped;
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(intercept.calls, [true, false], 'interception off before exit');
    assert.ok(electron.app.quitCalls >= quits + 2, 'quit again once the core has stopped');
    assert.equal(FakeTray.instances.at(-1)!.destroyed, true);
    assert.equal(FakeBrowserWindow.instances[0]!.destroyed, true);
  });
});
