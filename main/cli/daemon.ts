// `router67 daemon`: runs the router in the foreground until SIGINT/SIGTERM, then drains and exits.
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { compose, type Composed } from '../app/compose.js';
import { ConfigError } from '../config/load.js';
import { resolveHome } from '../core/paths.js';
import { runningDaemon } from '../core/running.js';
import { createLogger } from '../log/logger.js';
import { EXIT, type Command } from './command.js';

export const daemonCommand: Command = {
  summary: 'run the router in the foreground',
  help: `Usage: router67 daemon [options]

Runs the router until SIGINT or SIGTERM; then it stops accepting, lets in-flight
requests finish (up to [daemon] drain_timeout_ms), and exits.

Options:
  --config PATH       config file (default: $ROUTER67_HOME/config.toml, ~/.router67/config.toml)
  --listen HOST:PORT  plain local endpoint (overrides [daemon] http_listen)
  --log-level LEVEL   error, warn, info, debug (overrides [daemon] log_level)
  --no-intercept      do not take over the intercepted hosts (plain endpoint only)
  -h, --help          this help

The config file is watched: a valid change applies to new requests at once; an
invalid one is reported and the last good config keeps running.

Exit codes: 0 stopped cleanly, 1 failure, 2 usage, 78 config error.`,
  async run(args) {
    const { values: parsed } = parseArgs({
      args,
      options: {
        config: { type: 'string' },
        listen: { type: 'string' },
        'log-level': { type: 'string' },
        'no-intercept': { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    });
    const values = parsed as Record<string, string | boolean | undefined>;
    const home = resolveHome();
    const other = runningDaemon(home);
    if (other) {
      process.stderr.write(`router67: a daemon is already running (pid ${other.pid}, ${other.http}); stop it first\n`);
      return EXIT.failure;
    }
    const level = values['log-level'] as string | undefined;
    if (level && !['error', 'warn', 'info', 'debug', 'trace'].includes(level)) {
      process.stderr.write(`router67: --log-level must be error, warn, info, debug or trace\n`);
      return EXIT.usage;
    }
    const logger = createLogger((level as 'info') ?? 'info');
    let parts: Composed;
    try {
      parts = await compose({
        ui: 'daemon',
        home,
        configPath: values.config as string | undefined,
        httpListen: values.listen as string | undefined,
        logger,
      });
    } catch (e) {
      if (e instanceof ConfigError) {
        process.stderr.write(`router67: config error\n${e.message}\n`);
        return EXIT.config;
      }
      process.stderr.write(`router67: cannot start: ${(e as Error).message}\n`);
      return EXIT.failure;
    }
    const { core, interception } = parts;
    if (!level) logger.level = core.config.daemon.log_level;

    let stopping = false;
    const stop = async (why: string, code: number) => {
      if (stopping) return;
      stopping = true;
      logger.info(`${why}: stopping (draining in-flight requests)`);
      // interception off first (on every exit path handled here), then the core drains and stops
      await parts.stop();
      process.exit(code);
    };
    let signals = 0;
    const onSignal = (sig: NodeJS.Signals) => {
      if (++signals > 1) {
        logger.warn(`${sig} again: exiting now`);
        process.exit(130);
      }
      void stop(sig, 0);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    process.on('SIGHUP', () => void core.reload());
    process.on('uncaughtException', (err) => {
      logger.error(`uncaught error: ${err.stack ?? err.message}`);
      void stop('uncaught error', EXIT.failure);
    });
    process.on('unhandledRejection', (err) => {
      logger.error(`unhandled rejection: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    });

    const firstRun = !existsSync(core.configPath);
    if (firstRun) {
      process.stdout.write(
        `no config at ${core.configPath} yet: running with no providers.\n` +
          `  router67 init     writes a starting config from the API keys in your environment and a running Ollama\n` +
          (parts.uiLink ? `  or open the window below: its first page does the same\n` : ''),
      );
    }
    if (values['no-intercept']) {
      // stale hosts blocks are removed at start even with --no-intercept
      await interception.removeStale();
    } else if (interception.setupInfo().needed) {
      // Not set up yet is not a failure: the plain endpoint runs, and setup is one command (or one button) away.
      await interception.removeStale();
      process.stdout.write(`interception is not set up yet (no local CA): run "router67 install", or use Set up interception… in the window\n`);
    } else {
      try {
        await interception.set(true);
        const st = core.status().intercept;
        process.stdout.write(`intercepting ${core.config.intercept_hosts.join(', ')} on https://${st.listen}\n`);
      } catch (e) {
        // The plain endpoint keeps running; status and doctor show why interception is off.
        logger.error(`interception is off: ${(e as Error).message}`);
      }
    }
    if (parts.uiLink) process.stdout.write(`window: ${parts.uiLink}\n`);
    const st = core.status();
    process.stdout.write(
      `router67 ${st.version} listening on http://${st.http.address} (plain endpoint)\n` +
        `config: ${core.configPath}${st.configErrors.length ? ' (errors)' : ''} · ${core.config.providers.length} providers\n` +
        (st.admin ? `admin: ${st.admin.url}\n` : ''),
    );
    return new Promise<number>(() => {}); // runs until a signal
  },
};
