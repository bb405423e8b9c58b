// Wiring OAuth into a running core (the daemon or the app): the core gets the manager's resolver, status follows
// the credentials, and the window gets a SignInService. The composition root (main/app/compose.ts) builds each
// once per core, when first needed; POST /api/oauth/reload is in ./reload.ts.
import type { Core } from '../core/core.js';
import { OAuthManager, type LoginResult } from './manager.js';
import { SignInService } from './signin.js';
import type { Vault } from './vault.js';

/** A new OAuth manager for this core, set as the core's resolver for `auth.oauth` credentials. Call once per core. */
export function attachOAuth(core: Core, vault: Vault): OAuthManager {
  const manager = new OAuthManager({
    vault,
    config: () => core.config,
    configPath: core.configPath,
    http: () => ({ dispatcher: core.dispatcher }),
    logger: core.logger,
  });
  core.setOAuth(manager.resolver());
  manager.on('change', () => core.emit('status', core.status()));
  return manager;
}

/** The window's sign-in backend over this core's manager; closed when the core stops. Call once per core. */
export function createSignIn(
  core: Core,
  manager: OAuthManager,
  vault: Vault,
  opts: { openExternal?(url: string): Promise<void> } = {},
): SignInService {
  const signIn = new SignInService({
    manager,
    keychain: () => vault.info(),
    ...(opts.openExternal ? { openExternal: opts.openExternal } : {}),
    // OpenRouter's sign-in edits the config: apply it now instead of waiting for the file watcher.
    afterLogin: async (r: LoginResult) => {
      if (r.type === 'openrouter') await core.reload();
    },
  });
  core.once('stopped', () => signIn.close());
  return signIn;
}
