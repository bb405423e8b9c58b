// Opening the system browser (RFC 8252: sign-in happens there, never in an embedded view) from the CLI.
// The URL is one argument of execFile: no shell ever parses it. The Electron app uses shell.openExternal instead.
import { execFile } from 'node:child_process';

export interface Opener {
  command: string;
  args(url: string): string[];
}

/** How to open a URL on this system, or undefined when there is no browser to open (headless Linux, SSH). */
export function browserOpener(platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env): Opener | undefined {
  if (env.ROUTER67_NO_BROWSER === '1') return undefined;
  if (platform === 'darwin') return { command: 'open', args: (u) => [u] };
  // rundll32 hands the URL to the default browser without cmd.exe (whose parser would split it at every &).
  if (platform === 'win32') return { command: 'rundll32', args: (u) => ['url.dll,FileProtocolHandler', u] };
  if (!env.DISPLAY && !env.WAYLAND_DISPLAY) return undefined;
  return { command: 'xdg-open', args: (u) => [u] };
}

/** Opens the URL; resolves false when nothing could be started (the caller has printed the URL anyway). */
export function openBrowser(url: string, opener: Opener | undefined = browserOpener()): Promise<boolean> {
  if (!opener || !/^https?:\/\//i.test(url)) return Promise.resolve(false);
  return new Promise((resolve) => {
    try {
      const child = execFile(opener.command, opener.args(url), { timeout: 30_000, windowsHide: true }, () => {});
      child.once('spawn', () => {
        child.unref();
        resolve(true);
      });
      child.once('error', () => resolve(false));
    } catch {
      resolve(false);
    }
  });
}
