// `router67 daemon` serves the window on its loopback admin endpoint and prints the ready link.
import type { DaemonHooks } from '../cli/daemon.js';
import { sharedSecretStore } from '../secrets/store.js';
import { signInFor } from '../oauth/attach.js';
import { attachUi } from './attach.js';

export const uiHook: DaemonHooks = {
  async afterStart(core) {
    const secrets = await sharedSecretStore();
    const ui = attachUi(core, { app: 'daemon', secrets, signInService: signInFor(core, secrets) });
    if (ui.link) process.stdout.write(`window: ${ui.link}\n`);
  },
};
