// `router67 daemon` serves the window on its loopback admin endpoint and prints the ready link.
import type { DaemonHooks } from '../cli/daemon.js';
import { sharedSecretStore } from '../secrets/store.js';
import { attachUi } from './attach.js';

export const uiHook: DaemonHooks = {
  async afterStart(core) {
    const ui = attachUi(core, { app: 'daemon', secrets: await sharedSecretStore() });
    if (ui.link) process.stdout.write(`window: ${ui.link}\n`);
  },
};
