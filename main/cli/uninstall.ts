// `router67 uninstall`: reverses install and anything a daemon left behind.
import { parseArgs } from 'node:util';
import { resolveHome } from '../core/paths.js';
import { PromptRefusedError } from '../intercept/interceptor.js';
import { uninstall } from '../intercept/setup.js';
import { runningDaemon } from '../core/running.js';
import { EXIT, type Command } from './command.js';

export const uninstallCommand: Command = {
  summary: 'undo install: hosts block, CA trust, redirect rule, alias, CA files',
  help: `Usage: router67 uninstall [options]

Removes every change install and the daemon made: the hosts block, the CA from
the system store and your NSS databases, the nftables redirect (Linux), the lo0
alias and pf rule (macOS), and the CA files. Your config.toml and logs stay
unless --purge.

Options:
  --config PATH  config file (default: <home>/config.toml)
  --purge        also delete the whole router67 home folder (config, logs)
  --force        proceed even though a daemon is running
  -h, --help     this help

Exit codes: 0 done, 1 failure (or a daemon is running), 4 administrator prompt refused.`,
  async run(args) {
    const { values } = parseArgs({ args, options: { config: { type: 'string' }, purge: { type: 'boolean' }, force: { type: 'boolean' } }, strict: true });
    const home = resolveHome();
    const d = runningDaemon(home);
    if (d && !values.force) {
      process.stderr.write(`router67 uninstall: a daemon is running (pid ${d.pid}); stop it first (or use --force)\n`);
      return EXIT.failure;
    }
    try {
      await uninstall({ home, configPath: values.config, purge: values.purge, say: (l) => process.stdout.write(`${l}\n`) });
    } catch (e) {
      if (e instanceof PromptRefusedError) {
        process.stderr.write(`router67 uninstall: ${e.message}\n`);
        return EXIT.refused;
      }
      throw e;
    }
    process.stdout.write('router67 is uninstalled.\n');
    return EXIT.ok;
  },
};
