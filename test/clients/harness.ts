// Shared by the real-client tests: where the clients are installed (test/clients/node_modules, from this
// folder's own package.json), whether to skip (a developer machine without them) or fail (CI), and a bounded
// process runner that kills the client's whole process group when it ends or times out.
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export const ROOT = join(__dirname, '..', '..', '..');
export const CLIENTS_DIR = join(ROOT, 'test', 'clients');
export const NODE_MODULES = join(CLIENTS_DIR, 'node_modules');
export const CLAUDE_BIN = join(NODE_MODULES, '@anthropic-ai', 'claude-code', 'bin', 'claude.exe');
export const CODEX_BIN = join(NODE_MODULES, '.bin', 'codex');

const PACKAGES = ['@anthropic-ai/claude-code', '@openai/codex', 'ai', '@ai-sdk/openai', '@ai-sdk/anthropic', '@langchain/openai', '@langchain/anthropic', '@langchain/core'];

/** Why the clients cannot run here, or undefined when they are all installed. */
export function clientsMissing(): string | undefined {
  if (!existsSync(NODE_MODULES)) return `the real clients are not installed (run: npm ci --prefix test/clients)`;
  const gone = PACKAGES.filter((p) => !existsSync(join(NODE_MODULES, p, 'package.json')));
  if (gone.length) return `missing in test/clients/node_modules: ${gone.join(', ')} (run: npm ci --prefix test/clients)`;
  for (const bin of [CLAUDE_BIN, CODEX_BIN]) {
    try {
      accessSync(bin, constants.X_OK);
    } catch {
      return `${bin} is not executable`;
    }
  }
  return undefined;
}

/** Under CI (CI=true, as CI sets, or ROUTER67_REQUIRE_CLIENTS=1) a missing client fails instead of skipping. */
export function clientsRequired(): boolean {
  return process.env.CI === 'true' || process.env.ROUTER67_REQUIRE_CLIENTS === '1';
}

/** The `skip` option for the client tests: a reason on a machine without the clients, false otherwise. */
export function skipUnlessInstalled(): string | false {
  const why = clientsMissing();
  if (!why || clientsRequired()) return false;
  return why;
}

/** The installed version of a client package. */
export function clientVersion(pkg: string): string {
  return (JSON.parse(readFileSync(join(NODE_MODULES, pkg, 'package.json'), 'utf8')) as { version: string }).version;
}

/** The client libraries, imported from test/clients/node_modules (see load.mjs). */
export async function loadLibs(): Promise<any> {
  return import(pathToFileURL(join(CLIENTS_DIR, 'load.mjs')).href);
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/**
 * Runs a client to completion in its own process group; on timeout (or once it exits) the whole group is
 * killed, so nothing it started (shells, helpers) outlives the test.
 */
export function runClient(cmd: string, args: string[], opts: { env: NodeJS.ProcessEnv; cwd: string; timeoutMs: number }): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: opts.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const killGroup = () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
    };
    const t = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, opts.timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(t);
      killGroup();
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

/** The last `n` characters of a client's output, for assertion messages. */
export function tail(s: string, n = 1500): string {
  return s.length > n ? `…${s.slice(-n)}` : s;
}
