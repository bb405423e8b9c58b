// What `router67 login` and `router67 logout` share: the config and keychain of this user, a dispatcher that does
// not loop into router67's own TLS listener for intercepted hosts, and telling a running daemon to read the
// keychain again.
import { existsSync } from 'node:fs';
import type { Dispatcher } from 'undici';
import { loadConfigFile } from '../config/load.js';
import { ConfigSchema, type Config } from '../config/schema.js';
import { splitHostPort } from '../core/core.js';
import { callDaemon } from '../core/running.js';
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
  try {
    const a = await callDaemon(home, '/api/oauth/reload', { body, timeoutMs: 5000 });
    return a?.status === 200;
  } catch {
    return false;
  }
}
