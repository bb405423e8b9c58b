// Where router67 keeps its files: ~/.router67, or $ROUTER67_HOME.
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export function resolveHome(env: NodeJS.ProcessEnv = process.env): string {
  const h = env.ROUTER67_HOME;
  return h && h.trim() ? resolve(h) : join(homedir(), '.router67');
}

export interface Paths {
  home: string;
  config: string;
  logs: string;
  run: string;
  ca: string;
  adminToken: string;
  daemonState: string;
}

export function paths(home: string): Paths {
  return {
    home,
    config: join(home, 'config.toml'),
    logs: join(home, 'logs'),
    run: join(home, 'run'),
    ca: join(home, 'ca'),
    adminToken: join(home, 'run', 'admin.token'),
    daemonState: join(home, 'run', 'daemon.json'),
  };
}

/**
 * Creates router67's home when it does not exist yet, 0700 (only its owner may look inside: keys, logs, usage);
 * an existing one is left as it is. Everything that writes into the home calls this first.
 */
export function ensureHome(home: string): void {
  mkdirSync(home, { recursive: true, mode: 0o700 });
}
