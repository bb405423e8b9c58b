// What the app gets from the rest of router67: the interception switch (the Interceptor, whose privileged steps
// run through the OS admin prompt; a refused prompt is a PromptRefusedError) and CA trust from doctor.
import type { Core } from '../core/core.js';
import { Interceptor } from '../intercept/interceptor.js';
import { caTrust } from '../ui/attach.js';
import type { AppHooks } from './app.js';

export function appHooks(): AppHooks {
  return {
    interceptControl(core: Core) {
      const interceptor = new Interceptor(core);
      // A hosts block left by a router67 that died is removed at start.
      void interceptor.reconcileStale().catch((e: Error) => core.logger.warn(`stale hosts block not removed: ${e.message}`));
      return { set: (on) => (on ? interceptor.start() : interceptor.stop()), verify: () => interceptor.verify() };
    },
    caStatus: (core) => caTrust(core),
  };
}
