// `router67 install`: CA, trust, redirect / alias as the platform needs, seed config. Idempotent.
import { parseArgs } from 'node:util';
import { ConfigError } from '../config/load.js';
import { resolveHome } from '../core/paths.js';
import { PromptRefusedError } from '../intercept/interceptor.js';
import { install } from '../intercept/setup.js';
import { EXIT, type Command } from './command.js';

export const installCommand: Command = {
  summary: 'set up interception: local CA, trust, port redirect; seeds config.toml',
  help: `Usage: router67 install [options]

One-time setup for transparent interception (safe to run again; it changes only
what is missing):
  - seeds config.toml (router67's example, keys from environment variables) if none exists
  - creates the router67 root CA in <home>/ca, limited by nameConstraints to
    intercept_hosts (re-issued when intercept_hosts changes)
  - trusts it in the system store (Debian/Ubuntu, Fedora/RHEL, Arch, openSUSE,
    macOS System keychain, Windows current-user Root) and in your NSS databases
  - Linux: with [daemon] redirect_port, an nftables rule sending <listen ip>:443
    to that port, so the daemon runs unprivileged
  - macOS: aliases the listen IP on lo0 (and a pf redirect with redirect_port)
  - writes <home>/ca/bundle.pem (system roots + the CA) for Python and curl
Privileged steps run through the OS prompt (pkexec, administrator dialog, UAC)
in one batch, or directly when run as root.

Options:
  --config PATH  config file (default: <home>/config.toml)
  --no-nss       leave NSS databases (Chromium, Firefox) alone
  -h, --help     this help

Exit codes: 0 done, 1 failure, 4 administrator prompt refused, 78 config error.`,
  async run(args) {
    const { values } = parseArgs({ args, options: { config: { type: 'string' }, 'no-nss': { type: 'boolean' } }, strict: true });
    const home = resolveHome();
    try {
      await install({ home, configPath: values.config, nss: !values['no-nss'], say: (l) => process.stdout.write(`${l}\n`) });
    } catch (e) {
      if (e instanceof ConfigError) {
        process.stderr.write(`router67: config error\n${e.message}\n`);
        return EXIT.config;
      }
      if (e instanceof PromptRefusedError) {
        process.stderr.write(`router67 install: ${e.message}; nothing was changed\n`);
        return EXIT.refused;
      }
      throw e;
    }
    process.stdout.write('router67 is installed. Start it with "router67 daemon"; check with "router67 doctor".\n');
    return EXIT.ok;
  },
};
