// What `router67 login` and `router67 logout` share: the config and keychain of this user, a dispatcher that does
// not loop into router67's own TLS listener for intercepted hosts, and telling a running daemon to read the
// keychain again.
import { existsSync } from 'node:fs';
import type { Dispatcher } from 'undici';
import { readToken } from '../admin/server.js';
import { loadConfigFile } from '../config/load.js';
import { ConfigSchema, type Config } from '../config/schema.js';
import { splitHostPort } from '../core/core.js';
import { paths } from '../core/paths.js';
import { runningDaemon } from '../core/running.js';
import { createUpstreamLookup } from '../system/dns.js';

export function loadConfigOrDefault(configPath: string): Config {
  return existsSync(configPath) ? loadConfigFile(configPath).config : ConfigSchema.parse({});
}

/** An Agent whose lookups of intercepted hosts skip the hosts file (as the daemon's do). */
export async function cliDispatcher(config: Config): Promise<Dispatcher> {
  const { Agent } = await import('undici');
  const lookup = createUpstreamLookup({
    interceptHosts: config.intercept_hosts,
    servers: config.daemon.upstream_dns,
    avoid: [splitHostPort(config.daemon.listen).host],
  });
  return new Agent({ connect: { lookup: lookup as never } });
}

/** Asks the running daemon (if any) to read these credentials from the keychain again. True when it did. */
export async function notifyDaemon(home: string, body: { names: string[]; accounts: string[] }): Promise<boolean> {
  const st = runningDaemon(home);
  if (!st?.admin) return false;
  const token = readToken(paths(home).adminToken);
  if (!token) return false;
  try {
    const { request } = await import('undici');
    const r = await request(`${st.admin}/api/oauth/reload`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      headersTimeout: 5000,
      bodyTimeout: 5000,
    });
    await r.body.dump();
    return r.statusCode === 200;
  } catch {
    return false;
  }
}
