// `doctor`'s view of sign-ins: one line per provider that uses an OAuth credential (as the running daemon sees it,
// or from the keychain when none runs), with the command that fixes it.
import type { Config } from '../config/schema.js';
import type { CoreStatus } from '../core/core.js';
import type { Check } from '../intercept/doctor.js';
import { OAuthManager } from './manager.js';
import type { Vault } from './vault.js';

export function signInChecks(config: Config, o: { daemon?: CoreStatus; vault?: Vault; configPath: string }): Check[] {
  const users = config.providers.filter((p) => p.auth?.oauth !== undefined);
  if (users.length === 0) return [];
  const manager = o.vault ? new OAuthManager({ vault: o.vault, config: () => config, configPath: o.configPath }) : undefined;
  return users.map((p): Check => {
    const cred = p.auth!.oauth!;
    const seen = o.daemon?.providers.find((x) => x.name === p.name);
    const problem = seen ? (seen.auth === 'ok' ? undefined : (seen.authDetail ?? seen.auth)) : manager?.problem(cred);
    if (!seen && !manager) return { id: `sign-in:${p.name}`, status: 'skip', message: `provider ${p.name}: OAuth credential "${cred}" not checked (no keychain here)` };
    return problem
      ? { id: `sign-in:${p.name}`, status: 'warn', message: `provider ${p.name}: ${problem}`, fix: `router67 login ${cred}` }
      : { id: `sign-in:${p.name}`, status: 'ok', message: `provider ${p.name}: signed in ("${cred}")` };
  });
}
