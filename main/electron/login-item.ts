// Launch at login. macOS and Windows: Electron's login item settings. Linux: an XDG autostart entry in
// $XDG_CONFIG_HOME/autostart (default ~/.config/autostart), pointing at $APPIMAGE when the app runs from an AppImage.
// Both directions are idempotent. No electron import: the app object is passed in.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface LoginItemApp {
  getLoginItemSettings(opts?: { path?: string; args?: string[] }): { openAtLogin: boolean };
  setLoginItemSettings(s: { openAtLogin: boolean; openAsHidden?: boolean; path?: string; args?: string[] }): void;
}

export interface LoginItemEnv {
  platform: NodeJS.Platform;
  env: NodeJS.ProcessEnv;
  app: LoginItemApp;
  /** The executable (process.execPath). */
  execPath: string;
  /** When running unpackaged (`electron .`), the app folder to pass along. */
  appPath?: string;
  home?: string;
}

export const DESKTOP_FILE = 'router67.desktop';

export function autostartPath(env: NodeJS.ProcessEnv, home = homedir()): string {
  const base = env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.startsWith('/') ? env.XDG_CONFIG_HOME : join(home, '.config');
  return join(base, 'autostart', DESKTOP_FILE);
}

/** Quotes one argument for a desktop entry's Exec key (Desktop Entry spec: quoting, then string escaping). */
export function quoteExecArg(arg: string): string {
  let out = arg;
  if (/[\s"'\\><~|&;$*?#()`%=]/.test(arg) || arg === '') {
    out = '"' + arg.replace(/(["`$\\])/g, '\\$1') + '"';
  }
  // '%' introduces field codes; the string level then escapes backslashes.
  return out.replace(/%/g, '%%').replace(/\\/g, '\\\\');
}

export function launchCommand(e: LoginItemEnv): string[] {
  if (e.platform === 'linux' && e.env.APPIMAGE) return [e.env.APPIMAGE];
  return e.appPath ? [e.execPath, e.appPath] : [e.execPath];
}

export function desktopEntry(argv: string[]): string {
  return [
    '[Desktop Entry]',
    'Type=Application',
    'Version=1.0',
    'Name=router67',
    'Comment=Local LLM router (menu-bar app)',
    `Exec=${argv.map(quoteExecArg).join(' ')}`,
    'Icon=router67',
    'Terminal=false',
    'Categories=Network;Utility;',
    'X-GNOME-Autostart-enabled=true',
    '',
  ].join('\n');
}

export function loginItemSupported(platform: NodeJS.Platform): boolean {
  return platform === 'darwin' || platform === 'win32' || platform === 'linux';
}

export function getLoginItem(e: LoginItemEnv): boolean {
  if (e.platform === 'linux') {
    const file = autostartPath(e.env, e.home);
    if (!existsSync(file)) return false;
    const text = readFileSync(file, 'utf8');
    return !/^Hidden\s*=\s*true\s*$/m.test(text) && !/^X-GNOME-Autostart-enabled\s*=\s*false\s*$/m.test(text);
  }
  if (e.platform === 'win32') return e.app.getLoginItemSettings({ path: e.execPath, args: e.appPath ? [e.appPath] : [] }).openAtLogin;
  return e.app.getLoginItemSettings().openAtLogin;
}

export function setLoginItem(e: LoginItemEnv, enabled: boolean): void {
  if (e.platform === 'linux') {
    const file = autostartPath(e.env, e.home);
    if (!enabled) {
      rmSync(file, { force: true });
      return;
    }
    const text = desktopEntry(launchCommand(e));
    mkdirSync(join(file, '..'), { recursive: true });
    if (!existsSync(file) || readFileSync(file, 'utf8') !== text) writeFileSync(file, text, { mode: 0o644 });
    return;
  }
  if (e.platform === 'win32') {
    e.app.setLoginItemSettings({ openAtLogin: enabled, path: e.execPath, args: e.appPath ? [e.appPath] : [] });
    return;
  }
  e.app.setLoginItemSettings({ openAtLogin: enabled, openAsHidden: true });
}
