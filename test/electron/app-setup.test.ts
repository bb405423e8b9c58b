// The app on a first run (electron mocked, real core and interception wiring): no config and no CA yet. The window
// opens by itself on Get started; the tray says "not set up" (not a failure) and offers Set up interception…,
// which shows what will change in a native dialog, then runs install and turns interception on through one OS
// prompt (mocked at the OS boundary: the exec that runs pkexec).
import { electron, FakeBrowserWindow, FakeTray, messageBoxAnswer, messageBoxes, notifications, ProcessState, trusted } from './fake-electron.js';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApp, type RunningApp } from '../../main/electron/app.js';
import { CH } from '../../main/electron/ipc.js';
import type { Exec } from '../../main/system/truststore.js';
import { eventually } from '../helpers/core.js';

describe('the Electron app on a first run: Set up interception from the tray', () => {
  let home: string;
  let running: RunningApp | undefined;
  const saved = new ProcessState();
  const prompts: string[][] = [];
  let answer: 'accept' | 'refuse' = 'refuse';
  const exec: Exec = async (argv) => {
    if (argv[0] !== 'pkexec') return { code: 1, stdout: '', stderr: '' };
    prompts.push(argv);
    if (answer === 'refuse') return { code: 126, stdout: '', stderr: 'Not authorized' };
    return { code: 0, stdout: JSON.stringify({ ok: true, op: argv.at(-2), detail: [{ ok: true, op: 'trust-ca' }, { ok: true, op: 'apply-hosts' }] }) + '\n', stderr: '' };
  };

  before(() => {
    home = mkdtempSync(join(tmpdir(), 'r67-app-first-'));
    writeFileSync(join(home, 'hosts'), '127.0.0.1 localhost\n');
    process.env.ROUTER67_HOME = home;
    process.env.DBUS_SESSION_BUS_ADDRESS = 'unix:path=/nonexistent/router67-test-bus';
    saved.save();
  });

  after(async () => {
    await running?.parts.stop({ drainMs: 10 }).catch(() => {});
    saved.restore();
    rmSync(home, { recursive: true, force: true });
  });

  it('opens its window on the first run; the tray is neutral and offers Set up interception…', async () => {
    running = await startApp({
      hostsPath: join(home, 'hosts'),
      bind: '127.0.0.1:0',
      caCheck: false,
      httpListen: '127.0.0.1:0',
      elevate: { privileged: false, platform: 'linux', exec },
      install: { platform: 'linux', nss: false, exec },
    });
    assert.ok(running);
    assert.equal(FakeBrowserWindow.instances.length, 1);
    const win = FakeBrowserWindow.instances[0]!;
    assert.equal(win.loaded, 'router67://app/index.html', 'no config: the window opens (on Get started)');
    win.emit('ready-to-show');
    assert.equal(win.visible, true);
    assert.equal((await electron.ipcMain.invoke(CH.features, trusted)).firstRun, true);
    const tray = FakeTray.instances.at(-1)!;
    assert.match(tray.item('state').label, /^Interception not set up · local endpoint/);
    assert.equal(tray.item('intercept').label, 'Set up interception…');
    assert.match(tray.image.path, /tray-off\.png$/);
  });

  it('Cancel in the dialog: nothing runs', async () => {
    messageBoxAnswer.response = 1;
    await FakeTray.instances.at(-1)!.item('intercept').click();
    await eventually(() => assert.equal(messageBoxes.length, 1));
    const box = messageBoxes[0];
    assert.deepEqual(box.buttons, ['Set up…', 'Cancel']);
    assert.match(box.detail, /local certificate authority that can only vouch for api\.anthropic\.com, api\.openai\.com and openrouter\.ai/);
    assert.match(box.detail, /While router67 runs, a block in the hosts file/);
    await new Promise((r) => setImmediate(r));
    assert.equal(prompts.length, 0);
  });

  it('the prompt refused: nothing changed, one calm notification', async () => {
    messageBoxAnswer.response = 0;
    answer = 'refuse';
    const before = notifications.length;
    const tray = FakeTray.instances.at(-1)!;
    await tray.item('intercept').click();
    await eventually(() => assert.equal(notifications.length, before + 1));
    assert.equal(prompts.length, 1);
    assert.match(notifications.at(-1).body, /^Nothing was changed: the password prompt was cancelled/);
    assert.equal(existsSync(join(home, 'ca')), false);
    assert.equal(running!.core.status().intercept.state, 'off');
    await eventually(() => assert.equal(tray.item('intercept').label, 'Set up interception…'));
    assert.match(tray.image.path, /tray-off\.png$/);
  });

  it('the prompt accepted: one prompt, then interception is on', async () => {
    answer = 'accept';
    const tray = FakeTray.instances.at(-1)!;
    await tray.item('intercept').click();
    await eventually(() => assert.equal(running!.core.status().intercept.state, 'on'), 20_000);
    assert.equal(prompts.length, 2, 'one more prompt for all of it');
    assert.ok(existsSync(join(home, 'ca', 'ca.crt')));
    await eventually(() => assert.equal(tray.item('intercept').checked, true));
    assert.equal(tray.item('intercept').type, 'checkbox');
    assert.match(tray.image.path, /tray-on\.png$/);
    assert.ok(readFileSync(join(home, 'config.toml'), 'utf8').includes('intercept_hosts'), 'install seeded a config');
  });
});
