// The Electron app: a menu-bar (tray) app around the core, which runs in this process (entry: main.ts). Thin: the
// parts (core, interception, keychain, sign-in, UI service) are built by the composition root (main/app/compose.ts),
// as for the daemon; the menu model and the login item logic live elsewhere and are tested without Electron.
import { app, dialog, ipcMain, Menu, Notification, powerMonitor, protocol, shell } from 'electron';
import { join } from 'node:path';
import { compose, type ComposeOptions, type Composed } from '../app/compose.js';
import { ConfigError } from '../config/load.js';
import type { Core } from '../core/core.js';
import type { UiService } from '../ui/service.js';
import { registerIpc } from './ipc.js';
import { getLoginItem, loginItemSupported, setLoginItem, type LoginItemEnv } from './login-item.js';
import { APP_SCHEME, serveApp } from './protocol.js';
import { TrayController } from './tray.js';
import { MainWindow } from './window.js';

const DIST = join(__dirname, '..', '..'); // dist/
const RENDERER = join(DIST, 'renderer');
const PRELOAD = join(DIST, 'preload', 'index.js');

export function resourcesDir(): string {
  return app.isPackaged ? join(process.resourcesPath, 'icons') : join(DIST, '..', 'resources');
}

/** What the app's parts are built with; tests pass a home, a scratch hosts file and a TLS bind address. */
export type AppOptions = Omit<ComposeOptions, 'ui' | 'openExternal'>;

export interface RunningApp {
  parts: Composed;
  core: Core;
  service: UiService;
  tray: TrayController;
  window: MainWindow;
  shutdown(): Promise<void>;
}

// Must happen before 'ready': the page's origin (router67://app) behaves like https (secure, fetch, ES modules).
protocol.registerSchemesAsPrivileged([
  { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, codeCache: true } },
]);

export async function startApp(opts: AppOptions = {}): Promise<RunningApp | undefined> {
  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return undefined;
  }
  await app.whenReady();
  app.dock?.hide(); // menu-bar app: no Dock icon on macOS
  Menu.setApplicationMenu(null);
  protocol.handle(APP_SCHEME, (req) => serveApp(req.url, RENDERER));

  let parts: Composed;
  try {
    // OAuth sign-in runs in the system browser (RFC 8252), opened from here.
    parts = await compose({ ...opts, ui: 'electron', openExternal: (url) => shell.openExternal(url) });
  } catch (e) {
    const msg = e instanceof ConfigError ? e.message : (e as Error).message;
    dialog.showErrorBox('router67 cannot start', msg);
    app.exit(1);
    return undefined;
  }
  const { core } = parts;
  // A hosts block left by a router67 that died is removed at start.
  void parts.interception.removeStale();
  // the tray shows today's requests and cost from the usage history: open it now (a headless daemon opens it
  // with the first finished request instead)
  parts.history.start();
  const service = await parts.ui();
  registerIpc(ipcMain, service, { openExternal: (url) => shell.openExternal(url) });

  const window = new MainWindow(PRELOAD, service);
  const loginEnv: LoginItemEnv = {
    platform: process.platform,
    env: process.env,
    app,
    execPath: process.execPath,
    ...(app.isPackaged ? {} : { appPath: app.getAppPath() }),
  };
  // Interception off first (hosts block removed), then the core drains and stops.
  const shutdown = () => parts.stop({ drainMs: 3000 }).catch(() => {});

  const tray = new TrayController({
    service,
    resources: resourcesDir(),
    platform: process.platform,
    loginItem: {
      supported: loginItemSupported(process.platform),
      get: () => getLoginItem(loginEnv),
      set: (on) => setLoginItem(loginEnv, on),
    },
    open: () => window.show(),
    quit: () => app.quit(),
    notify: (title, body) => {
      if (!Notification.isSupported()) return false;
      new Notification({ title, body, silent: true }).show();
      return true;
    },
    confirmSetup: async (explanation) => {
      const r = await dialog.showMessageBox({
        type: 'info',
        title: 'Set up interception',
        message: 'Set up interception?',
        detail: explanation.join('\n\n'),
        buttons: ['Set up…', 'Cancel'],
        defaultId: 0,
        cancelId: 1,
        noLink: true,
      });
      return r.response === 0;
    },
  });
  core.on('status', () => tray.render());
  core.log.on('entry', () => scheduleTrayRender());
  let trayTimer: NodeJS.Timeout | undefined;
  const scheduleTrayRender = () => {
    trayTimer ??= setTimeout(() => {
      trayTimer = undefined;
      tray.render();
    }, 1000);
  };

  app.on('second-instance', () => window.show());
  app.on('window-all-closed', () => {
    /* stay in the tray */
  });
  let finished = false;
  app.on('before-quit', (e) => {
    window.quitting = true;
    if (finished) return;
    e.preventDefault();
    void shutdown().finally(() => {
      finished = true;
      clearTimeout(trayTimer);
      tray.destroy();
      window.destroy();
      app.quit();
    });
  });
  // OS logout/shutdown and signals end the same way.
  powerMonitor.on('shutdown', (...args: unknown[]) => {
    // Linux/macOS: preventDefault() delays the shutdown until interception is off (the typings omit the event)
    (args[0] as { preventDefault?(): void } | undefined)?.preventDefault?.();
    app.quit();
  });
  app.on('session-end' as 'quit', () => app.quit());
  // After sleep/wake the hosts block, the TLS listener and the watchdog are checked again (and repaired).
  powerMonitor.on('resume', () => void parts.interception.verify().catch((e: Error) => core.logger.warn(`interception check after resume: ${e.message}`)));
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => app.quit());

  // First run (no config yet): the window opens on its Get started page instead of waiting in the tray.
  if (process.argv.includes('--show') || service.features().firstRun) window.show();
  return { parts, core, service, tray, window, shutdown };
}
