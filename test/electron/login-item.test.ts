// Launch at login on each platform: XDG autostart on Linux (against a temporary config home), Electron's login
// item settings on macOS and Windows. On and off are idempotent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  autostartPath,
  desktopEntry,
  getLoginItem,
  quoteExecArg,
  setLoginItem,
  type LoginItemApp,
  type LoginItemEnv,
} from '../../main/electron/login-item.js';

function fakeApp(): LoginItemApp & { calls: any[]; gets: any[]; open: boolean } {
  const a = {
    calls: [] as any[],
    gets: [] as any[],
    open: false,
    getLoginItemSettings(opts?: unknown) {
      a.gets.push(opts);
      return { openAtLogin: a.open };
    },
    setLoginItemSettings(s: any) {
      a.calls.push(s);
      a.open = s.openAtLogin;
    },
  };
  return a;
}

function tmp(t: { after(fn: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'r67-login-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

test('Linux: an autostart entry in $XDG_CONFIG_HOME/autostart, on and off idempotently', (t) => {
  const dir = tmp(t);
  const app = fakeApp();
  const e: LoginItemEnv = { platform: 'linux', env: { XDG_CONFIG_HOME: join(dir, 'cfg') }, app, execPath: '/opt/router67/router67' };
  const file = join(dir, 'cfg', 'autostart', 'router67.desktop');
  assert.equal(autostartPath(e.env), file);
  assert.equal(getLoginItem(e), false);
  setLoginItem(e, true);
  assert.equal(getLoginItem(e), true);
  const text = readFileSync(file, 'utf8');
  assert.match(text, /^\[Desktop Entry\]\nType=Application\n/);
  assert.match(text, /\nExec=\/opt\/router67\/router67\n/);
  const mtime = statSync(file).mtimeMs;
  setLoginItem(e, true); // again: same file, untouched
  assert.equal(readFileSync(file, 'utf8'), text);
  assert.equal(statSync(file).mtimeMs, mtime);
  setLoginItem(e, false);
  assert.equal(existsSync(file), false);
  assert.equal(getLoginItem(e), false);
  setLoginItem(e, false); // again: no error
  assert.equal(app.calls.length, 0, 'Electron login items are not used on Linux');
});

test('Linux: $APPIMAGE is what starts at login when set; default config home is ~/.config', (t) => {
  const dir = tmp(t);
  const e: LoginItemEnv = {
    platform: 'linux',
    env: { APPIMAGE: '/home/me/Apps/router67 1.0.AppImage' },
    app: fakeApp(),
    execPath: '/tmp/.mount_router67/router67',
    home: dir,
  };
  setLoginItem(e, true);
  const file = join(dir, '.config', 'autostart', 'router67.desktop');
  assert.match(readFileSync(file, 'utf8'), /\nExec="\/home\/me\/Apps\/router67 1\.0\.AppImage"\n/);
});

test('Linux: unpackaged runs pass the app folder; a disabled entry reads as off', (t) => {
  const dir = tmp(t);
  const e: LoginItemEnv = { platform: 'linux', env: { XDG_CONFIG_HOME: dir }, app: fakeApp(), execPath: '/usr/lib/electron/electron', appPath: '/src/router67' };
  setLoginItem(e, true);
  const file = join(dir, 'autostart', 'router67.desktop');
  assert.match(readFileSync(file, 'utf8'), /\nExec=\/usr\/lib\/electron\/electron \/src\/router67\n/);
  writeFileSync(file, readFileSync(file, 'utf8') + 'Hidden=true\n');
  assert.equal(getLoginItem(e), false);
  setLoginItem(e, true);
  assert.equal(getLoginItem(e), true, 'enabling rewrites a hidden entry');
});

test('Exec quoting follows the desktop entry spec', () => {
  assert.equal(quoteExecArg('/usr/bin/router67'), '/usr/bin/router67');
  assert.equal(quoteExecArg('/a b/c'), '"/a b/c"');
  assert.equal(quoteExecArg('/a/$HOME`x`"q"'), '"/a/\\\\$HOME\\\\`x\\\\`\\\\"q\\\\""');
  assert.equal(quoteExecArg('/100%/x'), '"/100%%/x"');
  assert.equal(quoteExecArg('C:\\x'), '"C:\\\\\\\\x"');
  assert.match(desktopEntry(['/x y/z', '--flag']), /\nExec="\/x y\/z" --flag\n/);
});

test('macOS: Electron login item, opened hidden; idempotent', () => {
  const app = fakeApp();
  const e: LoginItemEnv = { platform: 'darwin', env: {}, app, execPath: '/Applications/router67.app/Contents/MacOS/router67' };
  assert.equal(getLoginItem(e), false);
  setLoginItem(e, true);
  setLoginItem(e, true);
  assert.equal(getLoginItem(e), true);
  setLoginItem(e, false);
  assert.equal(getLoginItem(e), false);
  assert.deepEqual(app.calls, [
    { openAtLogin: true, openAsHidden: true },
    { openAtLogin: true, openAsHidden: true },
    { openAtLogin: false, openAsHidden: true },
  ]);
});

test('Windows: Electron login item with the executable path (and app folder when unpackaged)', () => {
  const app = fakeApp();
  const e: LoginItemEnv = { platform: 'win32', env: {}, app, execPath: 'C:\\Program Files\\router67\\router67.exe' };
  setLoginItem(e, true);
  assert.equal(getLoginItem(e), true);
  assert.deepEqual(app.calls[0], { openAtLogin: true, path: 'C:\\Program Files\\router67\\router67.exe', args: [] });
  assert.deepEqual(app.gets.at(-1), { path: 'C:\\Program Files\\router67\\router67.exe', args: [] });
  const dev: LoginItemEnv = { ...e, appPath: 'C:\\src\\router67' };
  setLoginItem(dev, false);
  assert.deepEqual(app.calls[1], { openAtLogin: false, path: 'C:\\Program Files\\router67\\router67.exe', args: ['C:\\src\\router67'] });
});
