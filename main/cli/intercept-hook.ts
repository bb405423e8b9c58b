// The daemon's interception: on after the core starts (unless --no-intercept), off before it stops and on
// every exit path the daemon handles (SIGINT, SIGTERM, uncaught error). Stale hosts blocks are removed at
// start even with --no-intercept.
import { Interceptor } from '../intercept/interceptor.js';
import type { DaemonHooks } from './daemon.js';

let interceptor: Interceptor | undefined;

/** The daemon's interception switch, for its window (undefined before the daemon started). */
export function daemonInterceptControl(): { set(enabled: boolean): Promise<void> } | undefined {
  const i = interceptor;
  return i && { set: (on) => (on ? i.start() : i.stop()) };
}

export const interceptionHook: DaemonHooks = {
  async afterStart(core, opts) {
    interceptor = new Interceptor(core);
    if (opts['no-intercept']) {
      await interceptor.reconcileStale().catch((e: Error) => core.logger.warn(`stale hosts block not removed: ${e.message}`));
      return;
    }
    try {
      await interceptor.start();
      const st = core.status().intercept;
      process.stdout.write(`intercepting ${core.config.intercept_hosts.join(', ')} on https://${st.listen}\n`);
    } catch (e) {
      // The plain endpoint keeps running; status and doctor show why interception is off.
      core.logger.error(`interception is off: ${(e as Error).message}`);
    }
  },
  async beforeStop() {
    await interceptor?.stop();
  },
};
