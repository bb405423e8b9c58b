// `router67 logout <name>`: removes the credential's tokens (or OpenRouter key) from the OS keychain, revoking
// OAuth tokens at the provider when it offers a revocation endpoint.
import { parseArgs } from 'node:util';
import { paths, resolveHome } from '../core/paths.js';
import { cliDispatcher, loadConfigOrDefault, notifyDaemon } from '../oauth/cli.js';
import { OAuthManager } from '../oauth/manager.js';
import { SecretStore } from '../secrets/store.js';
import { EXIT, type Command } from './command.js';

export const logoutCommand: Command = {
  summary: 'sign out: remove a sign-in’s tokens or key from the OS keychain',
  help: `Usage: router67 logout <name> [--config PATH]

Removes what "router67 login <name>" stored in the OS keychain. OAuth tokens are
revoked at the provider when it has a revocation endpoint. An OpenRouter key is
removed from the keychain only; delete the key itself at
https://openrouter.ai/settings/keys. Providers using the credential are kept and
show "sign-in needed" (or a missing key) until you sign in again.

Options:
  --config PATH  config file (default: <home>/config.toml)
  -h, --help     this help

Exit codes: 0 signed out (or was not signed in), 1 failure, 2 usage.`,
  async run(args) {
    const { values, positionals } = parseArgs({ args, options: { config: { type: 'string' } }, strict: true, allowPositionals: true });
    if (positionals.length !== 1) {
      process.stderr.write('router67 logout: name one credential, e.g. "router67 logout openrouter"\n');
      return EXIT.usage;
    }
    const name = positionals[0]!;
    const home = resolveHome();
    const configPath = values.config ?? paths(home).config;
    const config = loadConfigOrDefault(configPath);
    const store = await SecretStore.open();
    if (!store.info().available) {
      process.stderr.write(`router67 logout: the OS keychain is not available (${store.info().reason ?? 'unknown reason'})\n`);
      return EXIT.failure;
    }
    const dispatcher = await cliDispatcher(config);
    const manager = new OAuthManager({ vault: store, config: () => config, configPath, http: () => ({ dispatcher }) });
    if (!manager.credential(name)) {
      process.stderr.write(`router67 logout: no [oauth.${name}] table in ${configPath}; known: ${manager.names().join(', ')}\n`);
      return EXIT.usage;
    }
    try {
      const r = await manager.logout(name);
      process.stdout.write(`${r.message}\n`);
      await notifyDaemon(home, { names: [name], accounts: r.accounts });
      return EXIT.ok;
    } finally {
      await dispatcher.close().catch(() => {});
    }
  },
};
