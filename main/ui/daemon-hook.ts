// `router67 daemon` serves the window on its loopback admin endpoint and prints the ready link.
import type { DaemonHooks } from '../cli/daemon.js';
import { sharedSecretStore } from '../secrets/store.js';
import { signInFor } from '../oauth/attach.js';
import { attachUi } from './attach.js';
import { daemonInterceptControl } from '../cli/intercept-hook.js';

export const uiHook: DaemonHooks = {
  async afterStart(core) {
    const secrets = await sharedSecretStore();
    // the interception hook runs first (see main/cli/index.ts), so its switch exists by now
    const intercept = daemonInterceptControl();
    const ui = attachUi(core, { app: 'daemon', secrets, signInService: signInFor(core, secrets), ...(intercept ? { intercept } : {}) });
    if (ui.link) process.stdout.write(`window: ${ui.link}\n`);
  },
};
