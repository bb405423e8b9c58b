// The composition root: the daemon (main/cli/daemon.ts) and the Electron app (main/electron/app.ts) both build
// router67 here. It starts the core and hands every other part its dependencies explicitly:
//
//   core          config, plain endpoint, proxy, request log, admin endpoint      built at once
//   interception  the Interceptor (hosts block + TLS listener) behind set(on)      built when first switched or
//                                                                                  when a stale block is found
//   secrets       the OS keychain (keytar)                                         when the config uses it, or
//                                                                                  the window / sign-in needs it
//   oauth         the OAuth manager, the core's resolver for `auth.oauth`          when the config has [oauth.*],
//                                                                                  or on POST /api/oauth/reload
//   signIn        the window's sign-in backend                                     with the window
//   history       usage history (usage.db, a worker thread owning SQLite)          built at once; the thread and
//                                                                                  better-sqlite3 on the first
//                                                                                  finished request or query
//   ui            the window's backend: over IPC (app) or on the admin endpoint    app: at start; daemon: on the
//                 (daemon, page + REST + SSE)                                      first request for it
//
// Parts that are built later are loaded later too (require at the point of first use), so a headless daemon
// pays neither the memory nor the start-up time of parts nobody uses yet. Nothing here is module-level state:
// every part belongs to the object compose() returns.
import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RouteTable } from '../admin/server.js';
import { parseConfig } from '../config/load.js';
import { parseConfigOffThread } from '../config/offthread.js';
import type { Config } from '../config/schema.js';
import { Core } from '../core/core.js';
import { paths, resolveHome } from '../core/paths.js';
import type { Logger } from '../log/logger.js';
import { mountOAuthReload } from '../oauth/reload.js';
import type { OAuthManager } from '../oauth/manager.js';
import type { SignInService } from '../oauth/signin.js';
import { headerKeychainRefs } from '../proxy/auth.js';
import { SecretStore } from '../secrets/store.js';
import type { ElevateOptions } from '../system/elevate.js';
import { defaultHostsPath, inspectHostsFile } from '../system/hosts.js';
import { uiLink } from '../ui/link.js';
import type { InterceptControl, UiService, UiServiceOptions } from '../ui/service.js';
import type { SetupOptions } from '../intercept/setup.js';
import { caPaths } from '../tls/paths.js';
import { History } from '../usage/history.js';
import { mountLogStream } from '../usage/log-stream.js';

/* eslint-disable @typescript-eslint/no-require-imports */
const load = {
  interceptor: () => require('../intercept/interceptor.js') as typeof import('../intercept/interceptor.js'),
  oauth: () => require('../oauth/attach.js') as typeof import('../oauth/attach.js'),
  setup: () => require('../intercept/setup.js') as typeof import('../intercept/setup.js'),
  uiAttach: () => require('../ui/attach.js') as typeof import('../ui/attach.js'),
  uiService: () => require('../ui/service.js') as typeof import('../ui/service.js'),
};
/* eslint-enable @typescript-eslint/no-require-imports */

export interface ComposeOptions {
  /** Who reaches the window: the Electron app over IPC, or a browser on the daemon's admin endpoint. */
  ui: 'daemon' | 'electron';
  home?: string;
  configPath?: string;
  env?: NodeJS.ProcessEnv;
  /** Overrides [daemon] http_listen. */
  httpListen?: string;
  logger?: Logger;
  /** The hosts file interception edits (default: the OS's; tests use a scratch file). */
  hostsPath?: string;
  /** Where the TLS listener binds instead of [daemon] listen (tests: 127.0.0.1:0). */
  bind?: string;
  /** How privileged steps run (tests). */
  elevate?: ElevateOptions;
  /** Opens the keychain (default: SecretStore.open(), i.e. keytar). Called at most once. */
  openSecrets?: () => Promise<SecretStore>;
  /** Opens the system browser for sign-in (the app; without it the window opens the link). */
  openExternal?(url: string): Promise<void>;
  /** The window shows CA trust as doctor sees it (default true). */
  caCheck?: boolean;
  /** The page's files for the daemon's window (default dist/renderer). */
  staticDir?: string;
  /** How Set up interception runs `install` (tests: the platform and the exec that answers the OS prompt). */
  install?: Pick<SetupOptions, 'platform' | 'exec' | 'nss' | 'userHome' | 'elevate'>;
  /** First-run detection (tests: a mock Ollama, the installed clients). */
  firstRun?: UiServiceOptions['firstRun'];
}

/** The interception switch. */
export interface Interception extends InterceptControl {
  /** On (the CA must exist: `router67 install`) or off. */
  set(on: boolean): Promise<void>;
  /** Whether `install` is still to do (no router67 CA yet), and the hosts it would cover. */
  setupInfo(): { needed: boolean; hosts: string[] };
  /** `install` (one OS prompt for its privileged steps; refused: nothing changed), then on. */
  setup(): Promise<void>;
  /** Removes hosts blocks left by a router67 that died; a failure is logged, not thrown. */
  removeStale(): Promise<void>;
  /** Off if it was ever switched on; idempotent. */
  off(): Promise<void>;
  /** While on: re-checks and repairs the listener, the hosts block and the watchdog (after sleep/wake). */
  verify(): Promise<void>;
  readonly hostsPath: string;
  /** The TLS listener's address while interception is on. */
  readonly address: { host: string; port: number } | undefined;
}

export interface Composed {
  core: Core;
  interception: Interception;
  secrets(): Promise<SecretStore>;
  oauth(): Promise<OAuthManager>;
  signIn(): Promise<SignInService>;
  ui(): Promise<UiService>;
  /** Usage history: every finished request, in SQLite (main/usage/history.ts). */
  history: History;
  /** The daemon's window link (token included), when the admin endpoint runs. */
  readonly uiLink?: string;
  /** Interception off first (the hosts block goes), then the core drains and stops. Idempotent. */
  stop(opts?: { drainMs?: number }): Promise<void>;
}

/** Whether the config reads the keychain (keys, or OAuth tokens kept there). */
function usesKeychain(c: Config): boolean {
  return (
    Object.keys(c.oauth).length > 0 ||
    c.providers.some((p) => p.auth?.keychain !== undefined || p.auth?.oauth !== undefined || headerKeychainRefs(p).length > 0)
  );
}

async function peekConfig(file: string, offThread: boolean): Promise<{ text: string; config: Config } | undefined> {
  try {
    const text = readFileSync(file, 'utf8');
    return { text, config: offThread ? await parseConfigOffThread(text, file) : parseConfig(text, file) };
  } catch {
    return undefined; // missing or broken: Core.start decides
  }
}

function once<T>(build: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= build());
}

export async function compose(o: ComposeOptions): Promise<Composed> {
  const env = o.env ?? process.env;
  const home = o.home ?? resolveHome(env);
  const configPath = o.configPath ?? paths(home).config;
  let core: Core | undefined;

  // The core resolves keychain secrets synchronously on every request, from the store's cache once it is open.
  let store: SecretStore | undefined;
  const secrets = once(async () => {
    const s = await (o.openSecrets ?? (() => SecretStore.open()))();
    store = s;
    s.onChange(() => core?.emit('status', core.status()));
    return s;
  });
  // Opened before the core starts when the config needs it, so the first requests and warnings see the secrets.
  // The daemon validates in a child process: zod stays out of its memory until its window needs it. The app
  // loads zod anyway (its IPC checks), so it validates in-process.
  const offThread = o.ui === 'daemon';
  const initial = await peekConfig(configPath, offThread);
  if (initial && usesKeychain(initial.config)) await secrets();

  core = await Core.start({
    home,
    configPath,
    env,
    secrets: { get: (account) => store?.get(account) },
    validateOffThread: offThread,
    ...(initial ? { validated: initial } : {}),
    ...(o.httpListen ? { httpListen: o.httpListen } : {}),
    ...(o.logger ? { logger: o.logger } : {}),
  });
  const c = core;

  // Usage history: finished entries are queued here and written by its own thread; a failing database is a
  // status warning (and a log line), never a routing problem.
  const history = new History({ file: History.fileIn(home), retentionDays: c.config.daemon.history_retention_days, logger: c.logger });
  c.log.on('finish', (e) => history.add(e));
  c.warningSources.add(() => history.warning());
  history.onState(() => c.emit('status', c.status()));
  c.on('config', (cfg: Config) => history.setRetention(cfg.daemon.history_retention_days));

  const oauth = once(async () => load.oauth().attachOAuth(c, await secrets()));
  const signIn = once(async () => load.oauth().createSignIn(c, await oauth(), await secrets(), o.openExternal ? { openExternal: o.openExternal } : {}));

  const interception = makeInterception(c, o);

  // The window's routes on the daemon's admin endpoint are mounted on the first request for them.
  const admin = o.ui === 'daemon' ? c.admin : undefined;
  const windowRoutes = admin && new RouteTable((req) => admin.authorised(req));
  const ui = once(async (): Promise<UiService> => {
    const deps = { secrets: await secrets(), intercept: interception, signInService: await signIn(), usage: history };
    if (windowRoutes) {
      return load.uiAttach().attachUi(c, {
        app: 'daemon',
        ...deps,
        ...(o.firstRun ? { firstRun: o.firstRun } : {}),
        router: windowRoutes,
        ...(o.caCheck === false ? { caCheck: false } : {}),
        ...(o.staticDir ? { staticDir: o.staticDir } : {}),
      }).service;
    }
    const caTrust = o.caCheck === false ? undefined : load.uiAttach().caTrust;
    return new (load.uiService().UiService)({
      core: c,
      app: o.ui,
      ...deps,
      ...(o.firstRun ? { firstRun: o.firstRun } : {}),
      ...(caTrust ? { caStatus: () => caTrust(c) } : {}),
    });
  });
  if (admin && windowRoutes) {
    // the page and its files (any path outside /api/) and /api/ui/*; the window's own routes decide the rest
    const WINDOW = /^\/(?!api\/)|^\/api\/ui\//;
    const handler = async (req: IncomingMessage, res: ServerResponse, url: URL) => {
      await ui();
      await windowRoutes.dispatch(req, res, url);
    };
    for (const method of ['GET', 'POST', 'PUT']) admin.route(method, WINDOW, handler, { public: true });
  }

  if (c.admin) {
    // `router67 logs [--follow]`: finished entries as server-sent events
    mountLogStream(c.admin, c.log);
    mountOAuthReload(c.admin, async () => ({ manager: await oauth(), vault: await secrets() }), () => c.emit('status', c.status()));
  }
  const want = (cfg: Config) => {
    if (Object.keys(cfg.oauth).length > 0) return oauth();
    return usesKeychain(cfg) ? secrets() : undefined;
  };
  // A config that starts using the keychain or OAuth later gets them then.
  c.on('config', (cfg: Config) => void want(cfg)?.catch((e: Error) => c.logger.error(e.message)));
  try {
    await want(c.config);
  } catch (e) {
    await c.stop({ drainMs: 0 }).catch(() => {});
    await history.close();
    throw e;
  }

  let stopping: Promise<void> | undefined;
  return {
    core: c,
    interception,
    secrets,
    oauth,
    signIn,
    ui,
    history,
    ...(admin ? { uiLink: uiLink(admin.url, admin.token) } : {}),
    stop: (opts = {}) =>
      (stopping ??= (async () => {
        await interception.off().catch((e: Error) => c.logger.error(e.message));
        await c.stop(opts);
        await history.close();
      })()),
  };
}

function makeInterception(core: Core, o: ComposeOptions): Interception {
  const hostsPath = o.hostsPath ?? defaultHostsPath();
  type Interceptor = import('../intercept/interceptor.js').Interceptor;
  let interceptor: Interceptor | undefined;
  const get = (): Interceptor =>
    (interceptor ??= new (load.interceptor().Interceptor)(core, {
      hostsPath,
      ...(o.bind ? { bind: o.bind } : {}),
      ...(o.elevate ? { elevate: o.elevate } : {}),
    }));
  return {
    hostsPath,
    get address() {
      return interceptor?.address;
    },
    set: (on) => (on ? get().start() : get().stop()),
    setupInfo: () => ({ needed: !existsSync(caPaths(core.home).cert), hosts: [...core.config.intercept_hosts] }),
    async setup() {
      const platform = o.install?.platform ?? process.platform;
      let started = false;
      try {
        await load.setup().install({
          home: core.home,
          configPath: core.configPath,
          hostsPath,
          ...(o.elevate ? { elevate: o.elevate } : {}),
          ...o.install,
          say: (l) => core.logger.info(`set up interception: ${l}`),
          // One prompt: install's privileged steps go with the hosts block's. Not on macOS, where the listen
          // address must be aliased on lo0 before the listener can bind (there the block asks a second time).
          ...(platform === 'darwin'
            ? {}
            : {
                runPrivileged: async (ops) => {
                  await core.reload(); // a config install seeded is read now, not when the watcher gets to it
                  await get().start({ withOps: ops });
                  started = true;
                },
              }),
        });
      } catch (e) {
        // refused: nothing changed, so the state is what it was (off), not a failure
        if ((e as { refused?: boolean }).refused) core.setIntercept({ enabled: false, state: 'off', error: undefined });
        throw e;
      }
      if (!started) {
        await core.reload();
        await get().start();
      }
    },
    async removeStale() {
      let stale = false;
      try {
        stale = inspectHostsFile(hostsPath).some((b) => !b.alive);
      } catch {
        /* unreadable: nothing to do here; doctor reports it */
      }
      if (!stale) return;
      await get()
        .reconcileStale()
        .then(
          () => undefined,
          (e: Error) => core.logger.warn(`stale hosts block not removed: ${e.message}`),
        );
    },
    off: async () => {
      await interceptor?.stop();
    },
    verify: async () => {
      await interceptor?.verify();
    },
  };
}
