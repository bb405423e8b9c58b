// POST /api/oauth/reload on the admin endpoint: `router67 login` and `logout` run in their own process and call it
// afterwards, so this process reads those keychain accounts again and reloads the named credentials. Kept apart
// from the manager so the route can exist before OAuth is first needed (the composition root builds it then).
import type { IncomingMessage } from 'node:http';
import { sendJson, type AdminServer } from '../admin/server.js';
import type { OAuthManager } from './manager.js';
import type { Vault } from './vault.js';

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

export interface OAuthReloadTarget {
  manager: Pick<OAuthManager, 'reload'>;
  vault: Pick<Vault, 'reread'>;
}

/** Adds the route; `target` supplies the manager and keychain (built on first use), `done` runs after a reload. */
export function mountOAuthReload(admin: Pick<AdminServer, 'route'>, target: () => Promise<OAuthReloadTarget>, done: () => void): void {
  admin.route('POST', '/api/oauth/reload', async (req, res) => {
    const body = (await readBody(req)) as { names?: unknown; accounts?: unknown } | undefined;
    const names = Array.isArray(body?.names) ? body.names.filter((n): n is string => typeof n === 'string').slice(0, 100) : undefined;
    const accounts = Array.isArray(body?.accounts) ? body.accounts.filter((n): n is string => typeof n === 'string').slice(0, 100) : [];
    const { manager, vault } = await target();
    for (const a of accounts) await vault.reread?.(a).catch(() => undefined);
    await manager.reload(names);
    done();
    sendJson(res, 200, { ok: true });
  });
}
