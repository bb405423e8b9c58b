#!/usr/bin/env node
// router67's command line: one entry point, one file per command.
import { VERSION } from '../core/version.js';
import { EXIT, type Command } from './command.js';
import { daemonCommand, daemonHooks } from './daemon.js';
import { statusCommand } from './status.js';
import { installCommand } from './install.js';
import { uninstallCommand } from './uninstall.js';
import { doctorCommand } from './doctor.js';
import { helperCommand } from './helper.js';
import { interceptionHook } from './intercept-hook.js';
import { uiHook } from '../ui/daemon-hook.js';
import { loginCommand } from './login.js';
import { logoutCommand } from './logout.js';
import { oauthHook } from '../oauth/attach.js';

/** Every command; other modules register theirs with one line here. */
export const commands: Record<string, Command> = {
  daemon: daemonCommand,
  status: statusCommand,
  install: installCommand,
  uninstall: uninstallCommand,
  doctor: doctorCommand,
  helper: helperCommand,
  login: loginCommand,
  logout: logoutCommand,
};
daemonHooks.push(oauthHook);
daemonHooks.push(interceptionHook);
daemonHooks.push(uiHook);

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((k) => k.length));
  return `router67 ${VERSION} — a local LLM router

Usage: router67 <command> [options]

Commands:
${Object.entries(commands)
  .map(([k, c]) => `  ${k.padEnd(width)}  ${c.summary}`)
  .join('\n')}

Run "router67 <command> --help" for a command's options.
Files live in ~/.router67 (or $ROUTER67_HOME).`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? rest[0] : undefined;
    if (topic && commands[topic]) {
      process.stdout.write(commands[topic].help + '\n');
      return EXIT.ok;
    }
    process.stdout.write(usage() + '\n');
    return name ? EXIT.ok : EXIT.usage;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(VERSION + '\n');
    return EXIT.ok;
  }
  const cmd = commands[name];
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
