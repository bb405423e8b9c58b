// The Electron app: a menu-bar (tray) app around the core, which runs in this process (entry: main.ts). Thin: the
// core, the UI service, the menu model and the login item logic live elsewhere and are tested without Electron.
import { app, dialog, ipcMain, Menu, Notification, powerMonitor, protocol, shell } from 'electron';
import { join } from 'node:path';
import { ConfigError } from '../config/load.js';
import { Core } from '../core/core.js';
import { sharedSecretStore } from '../secrets/store.js';
import { signInFor } from '../oauth/attach.js';
import { UiService, type InterceptControl } from '../ui/service.js';
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

export interface AppHooks {
  /** Builds the interception switch for a started core (the privileged helper runs behind it). */
  interceptControl?(core: Core): InterceptControl | undefined;
  caStatus?(core: Core): Promise<{ trusted: boolean | null; detail?: string }>;
}

export interface RunningApp {
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

export async function startApp(hooks: AppHooks = {}): Promise<RunningApp | undefined> {
  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return undefined;
  }
  await app.whenReady();
  app.dock?.hide(); // menu-bar app: no Dock icon on macOS
  Menu.setApplicationMenu(null);
  protocol.handle(APP_SCHEME, (req) => serveApp(req.url, RENDERER));

  const secrets = await sharedSecretStore();
  let core: Core;
  try {
    core = await Core.start({ secrets: secrets.resolver() });
  } catch (e) {
    const msg = e instanceof ConfigError ? e.message : (e as Error).message;
    dialog.showErrorBox('router67 cannot start', msg);
    app.exit(1);
    return undefined;
  }
  secrets.onChange(() => core.emit('status', core.status()));

  const intercept = hooks.interceptControl?.(core);
  const service = new UiService({
    core,
    secrets,
    ...(intercept ? { intercept } : {}),
    ...(hooks.caStatus ? { caStatus: () => hooks.caStatus!(core) } : {}),
    // OAuth sign-in runs in the system browser (RFC 8252), opened from here.
    signInService: signInFor(core, secrets, { openExternal: (url) => shell.openExternal(url) }),
    app: 'electron',
  });
  registerIpc(ipcMain, service, { openExternal: (url) => shell.openExternal(url) });

  const window = new MainWindow(PRELOAD, service);
  const loginEnv: LoginItemEnv = {
    platform: process.platform,
    env: process.env,
    app,
    execPath: process.execPath,
    ...(app.isPackaged ? {} : { appPath: app.getAppPath() }),
  };
  let shuttingDown: Promise<void> | undefined;
  const shutdown = () =>
    (shuttingDown ??= (async () => {
      // Interception off first (hosts block removed), then the core drains and stops.
      if (intercept && core.status().intercept.enabled) await intercept.set(false).catch(() => {});
      await core.stop({ drainMs: 3000 }).catch(() => {});
    })());

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
      if (Notification.isSupported()) new Notification({ title, body, silent: true }).show();
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
  powerMonitor.on('resume', () => void intercept?.verify?.().catch((e: Error) => core.logger.warn(`interception check after resume: ${e.message}`)));
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => app.quit());

  if (process.argv.includes('--show')) window.show();
  return { core, service, tray, window, shutdown };
}
