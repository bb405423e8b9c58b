// `router67 doctor [--json]`: checks interception end to end, with a fix for each failure.
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfigFile } from '../config/load.js';
import { ConfigSchema, type Config } from '../config/schema.js';
import { paths, resolveHome } from '../core/paths.js';
import { formatDoctor, runDoctor } from '../intercept/doctor.js';
import { fetchStatus } from './status.js';
import { signInChecks } from '../oauth/doctor.js';
import { SecretStore } from '../secrets/store.js';
import { EXIT, type Command } from './command.js';

export const doctorCommand: Command = {
  summary: 'check the interception setup (CA, trust, hosts, listener, DNS) and print client settings',
  help: `Usage: router67 doctor [--json] [--config PATH]

One line per check, with the fix when it fails: CA present and its key mode, CA
limited to intercept_hosts, CA trusted by the OS store (and NSS databases), hosts
block present/absent as expected and owned by a live daemon, each intercepted
host resolving to the listen IP, the TLS listener answering, the nftables
redirect where used, upstream DNS bypassing the hosts file, and each installed
Codex CLI / Claude Code (on PATH or in npm's global folder) trusting the CA. Then
the lines that make each client trust the router67 CA: the installed Codex and
Claude Code (the exact line each needs, or none), Node, Python/curl, macOS GUI apps.

Options:
  --json         machine-readable report
  --config PATH  config file (default: <home>/config.toml)
  -h, --help     this help

Exit codes: 0 all checks pass, 1 a check failed, 78 config error.`,
  async run(args) {
    const { values } = parseArgs({ args, options: { json: { type: 'boolean' }, config: { type: 'string' } }, strict: true });
    const home = resolveHome();
    const configPath = values.config ?? paths(home).config;
    let config: Config;
    try {
      config = existsSync(configPath) ? loadConfigFile(configPath).config : ConfigSchema.parse({});
    } catch (e) {
      if (e instanceof ConfigError) {
        process.stderr.write(`router67: config error\n${e.message}\n`);
        return EXIT.config;
      }
      throw e;
    }
    const daemon = await fetchStatus(home).catch(() => undefined);
    const report = await runDoctor({ home, config, daemon });
    // sign-ins (OAuth): the daemon's view, or the keychain's when no daemon runs
    const vault = !daemon && config.providers.some((p) => p.auth?.oauth !== undefined) ? await SecretStore.open() : undefined;
    report.checks.push(...signInChecks(config, { daemon, configPath, ...(vault ? { vault } : {}) }));
    process.stdout.write(values.json ? JSON.stringify(report, null, 2) + '\n' : formatDoctor(report));
    return report.ok ? EXIT.ok : EXIT.failure;
  },
};
