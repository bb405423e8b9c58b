#!/usr/bin/env node
// router67's command line: one entry point, one file per command.
import { VERSION } from '../core/version.js';
import { EXIT, type Command } from './command.js';

/* eslint-disable @typescript-eslint/no-require-imports */
/**
 * Every command, loaded when it runs (the daemon does not load install's or login's code); other modules
 * register theirs with one line here.
 */
export const commands: Record<string, () => Command> = {
  daemon: () => (require('./daemon.js') as typeof import('./daemon.js')).daemonCommand,
  status: () => (require('./status.js') as typeof import('./status.js')).statusCommand,
  init: () => (require('./init.js') as typeof import('./init.js')).initCommand,
  install: () => (require('./install.js') as typeof import('./install.js')).installCommand,
  uninstall: () => (require('./uninstall.js') as typeof import('./uninstall.js')).uninstallCommand,
  doctor: () => (require('./doctor.js') as typeof import('./doctor.js')).doctorCommand,
  helper: () => (require('./helper.js') as typeof import('./helper.js')).helperCommand,
  login: () => (require('./login.js') as typeof import('./login.js')).loginCommand,
  logout: () => (require('./logout.js') as typeof import('./logout.js')).logoutCommand,
  route: () => (require('./route.js') as typeof import('./route.js')).routeCommand,
  schema: () => (require('./schema.js') as typeof import('./schema.js')).schemaCommand,
  usage: () => (require('./usage.js') as typeof import('./usage.js')).usageCommand,
  logs: () => (require('./logs.js') as typeof import('./logs.js')).logsCommand,
};
/* eslint-enable @typescript-eslint/no-require-imports */

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((k) => k.length));
  return `router67 ${VERSION} — a local LLM router

Usage: router67 <command> [options]

Commands:
${Object.entries(commands)
  .map(([k, c]) => `  ${k.padEnd(width)}  ${c().summary}`)
  .join('\n')}

Run "router67 <command> --help" for a command's options.
Files live in ~/.router67 (or $ROUTER67_HOME).`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? rest[0] : undefined;
    if (topic && Object.hasOwn(commands, topic)) {
      process.stdout.write(commands[topic]!().help + '\n');
      return EXIT.ok;
    }
    process.stdout.write(usage() + '\n');
    return name ? EXIT.ok : EXIT.usage;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(VERSION + '\n');
    return EXIT.ok;
  }
  const cmd = Object.hasOwn(commands, name) ? commands[name]!() : undefined;
  if (!cmd) {
    process.stderr.write(`router67: unknown command "${name}"\n\n${usage()}\n`);
    return EXIT.usage;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(cmd.help + '\n');
    return EXIT.ok;
  }
  try {
    return await cmd.run(rest);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`router67 ${name}: ${err.message}\nRun "router67 ${name} --help".\n`);
      return EXIT.usage;
    }
    process.stderr.write(`router67 ${name}: ${err.message}\n`);
    return EXIT.failure;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: Error) => {
      process.stderr.write(`router67: ${err.message}\n`);
      process.exitCode = EXIT.failure;
    },
  );
}
