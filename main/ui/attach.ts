// Wiring the window's backend to a running core: the UI service (with CA trust from doctor) and, when the core
// runs its loopback admin endpoint, the page + REST + SSE on it.
import type { Core } from '../core/core.js';
import { runDoctor } from '../intercept/doctor.js';
import type { SecretStore } from '../secrets/store.js';
import type { SignInService } from '../oauth/signin.js';
import { UiServer, type AdminRouter } from './server.js';
import { UiService, type CaStatus, type InterceptControl, type UiServiceOptions, type UsageSource } from './service.js';

/** Whether the router67 CA is trusted, as `doctor` sees it. */
export async function caTrust(core: Core): Promise<CaStatus> {
  const r = await runDoctor({ home: core.home, config: core.config, daemon: core.status(), timeoutMs: 2000 });
  const ca = r.checks.find((c) => c.id === 'ca');
  if (ca && ca.status !== 'ok') {
    return { trusted: false, installed: !/^no CA/.test(ca.message), detail: `${ca.message}${ca.fix ? ` — run "${ca.fix}"` : ''}` };
  }
  const t = r.checks.find((c) => c.id === 'ca-trusted');
  if (!t) return { trusted: null, detail: 'cannot tell on this system' };
  return { trusted: t.status === 'ok', installed: true, detail: `${t.message}${t.status !== 'ok' && t.fix ? ` — run "${t.fix}"` : ''}` };
}

export interface AttachOptions {
  app: 'electron' | 'daemon';
  secrets?: SecretStore;
  intercept?: InterceptControl;
  staticDir?: string;
  /** Check CA trust with doctor (default true). */
  caCheck?: boolean;
  /** OAuth sign-in for the window (issue 6). */
  signInService?: SignInService;
  /** Usage history for the Usage view and the tray (main/usage/history.ts). */
  usage?: UsageSource;
  /** First-run detection options (tests). */
  firstRun?: UiServiceOptions['firstRun'];
  /** Where the window's routes go (default: the core's admin endpoint). */
  router?: AdminRouter;
}

export interface AttachedUi {
  service: UiService;
  server?: UiServer;
  /** The ready link (token included) when the admin endpoint runs. */
  link?: string;
}

export function attachUi(core: Core, o: AttachOptions): AttachedUi {
  const service = new UiService({
    core,
    app: o.app,
    ...(o.secrets ? { secrets: o.secrets } : {}),
    ...(o.intercept ? { intercept: o.intercept } : {}),
    ...(o.signInService ? { signInService: o.signInService } : {}),
    ...(o.usage ? { usage: o.usage } : {}),
    ...(o.firstRun ? { firstRun: o.firstRun } : {}),
    ...(o.caCheck === false ? {} : { caStatus: () => caTrust(core) }),
  });
  const admin = core.admin;
  if (!admin) return { service };
  const server = new UiServer(service, { token: admin.token, ...(o.staticDir ? { staticDir: o.staticDir } : {}) });
  server.mount(o.router ?? admin);
  core.once('stopped', () => server.close());
  return { service, server, link: server.link(admin.url) };
}
