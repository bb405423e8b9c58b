// Wiring OAuth into a running core (the daemon or the app): the core gets the manager's resolver, status follows
// the credentials, the admin endpoint learns POST /api/oauth/reload (the CLI calls it after `router67 login` or
// `logout` in its own process, so this process reads the keychain again), and the window gets a SignInService.
import type { IncomingMessage } from 'node:http';
import type { DaemonHooks } from '../cli/daemon.js';
import type { Core } from '../core/core.js';
import { sendJson } from '../admin/server.js';
import { sharedSecretStore } from '../secrets/store.js';
import { OAuthManager, type LoginResult } from './manager.js';
import { SignInService } from './signin.js';
import type { Vault } from './vault.js';

interface Attached {
  manager: OAuthManager;
  vault: Vault;
  signIn?: SignInService;
}

const attached = new WeakMap<Core, Attached>();

function readBody(req: IncomingMessage, max = 64 * 1024): Promise<unknown> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= max) chunks.push(c);
    });
    req.on('error', () => resolve(undefined));
    req.on('end', () => {
      try {
        resolve(size <= max && size > 0 ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined);
      } catch {
        resolve(undefined);
      }
    });
  });
}

/** The core's OAuth manager, created (and attached) on first use. */
export function oauthFor(core: Core, vault: Vault): OAuthManager {
  const have = attached.get(core);
  if (have) return have.manager;
  const manager = new OAuthManager({
    vault,
    config: () => core.config,
    configPath: core.configPath,
    http: () => ({ dispatcher: core.dispatcher }),
    logger: core.logger,
  });
  attached.set(core, { manager, vault });
  core.setOAuth(manager.resolver());
  manager.on('change', () => core.emit('status', core.status()));
  core.admin?.route('POST', '/api/oauth/reload', async (req, res) => {
    const body = (await readBody(req)) as { names?: unknown; accounts?: unknown } | undefined;
    const names = Array.isArray(body?.names) ? body.names.filter((n): n is string => typeof n === 'string').slice(0, 100) : undefined;
    const accounts = Array.isArray(body?.accounts) ? body.accounts.filter((n): n is string => typeof n === 'string').slice(0, 100) : [];
    for (const a of accounts) await vault.reread?.(a).catch(() => undefined);
    await manager.reload(names);
    core.emit('status', core.status());
    sendJson(res, 200, { ok: true });
  });
  return manager;
}

/** The window's sign-in backend for this core. */
export function signInFor(core: Core, vault: Vault, opts: { openExternal?(url: string): Promise<void> } = {}): SignInService {
  const manager = oauthFor(core, vault);
  const a = attached.get(core)!;
  if (!a.signIn) {
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
    a.signIn = signIn;
  }
  return a.signIn;
}

/** `router67 daemon`: OAuth credentials resolve from the shared keychain store. */
export const oauthHook: DaemonHooks = {
  async afterStart(core) {
    oauthFor(core, await sharedSecretStore());
  },
};
