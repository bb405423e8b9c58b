// POST /api/oauth/reload on the admin endpoint: `router67 login` and `logout` run in their own process and call it
// afterwards, so this process reads those keychain accounts again and reloads the named credentials. Kept apart
// from the manager so the route can exist before OAuth is first needed (the composition root builds it then).
import { readJsonBody, sendJson, type AdminServer } from '../admin/server.js';
import type { OAuthManager } from './manager.js';
import type { Vault } from './vault.js';

export interface OAuthReloadTarget {
  manager: Pick<OAuthManager, 'reload'>;
  vault: Pick<Vault, 'reread'>;
}

/** Adds the route; `target` supplies the manager and keychain (built on first use), `done` runs after a reload. */
export function mountOAuthReload(admin: Pick<AdminServer, 'route'>, target: () => Promise<OAuthReloadTarget>, done: () => void): void {
  admin.route('POST', '/api/oauth/reload', async (req, res) => {
    const read = await readJsonBody(req, 64 * 1024);
    const body = (read.ok ? read.value : undefined) as { names?: unknown; accounts?: unknown } | null | undefined;
    const names = Array.isArray(body?.names) ? body.names.filter((n): n is string => typeof n === 'string').slice(0, 100) : undefined;
    const accounts = Array.isArray(body?.accounts) ? body.accounts.filter((n): n is string => typeof n === 'string').slice(0, 100) : [];
    const { manager, vault } = await target();
    for (const a of accounts) await vault.reread?.(a).catch(() => undefined);
    await manager.reload(names);
    done();
    sendJson(res, 200, { ok: true });
  });
}
