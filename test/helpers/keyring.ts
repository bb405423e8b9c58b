// Running a test file against a real, throwaway Secret Service (scripts/with-keyring.sh).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { KeytarLike } from '../../main/secrets/store.js';
import { missing, type Needs } from './requires.js';

const root = resolve(__dirname, '..', '..', '..');

/** The wrapper that provides the Secret Service (ROUTER67_WITH_KEYRING overrides it). */
export function withKeyringTool(): string | undefined {
  const candidates = [process.env.ROUTER67_WITH_KEYRING, join(root, 'scripts', 'with-keyring.sh')];
  return candidates.find((c): c is string => !!c && existsSync(c));
}

/** True inside the wrapper's run of a test file. */
export const insideKeyring = process.env.ROUTER67_TEST_IN_KEYRING === '1';

/** Runs `file` with node's test runner inside the wrapper; ok when it passed at least one test and failed none. */
export function runInsideKeyring(file: string, timeoutMs: number, needs: Needs = {}): { ok: boolean; out: string; skipped?: string } {
  const tool = withKeyringTool();
  const why = !tool
    ? 'scripts/with-keyring.sh not found'
    : missing({ ...needs, tools: ['gnome-keyring-daemon', 'dbus-run-session', ...(needs.tools ?? [])], modules: ['keytar', ...(needs.modules ?? [])] });
  if (why) {
    // .ci/run installs every part: there, a missing one fails the test instead of skipping it
    if (process.env.CI === 'true' || process.env.CI === '1') return { ok: false, out: `CI must not skip: ${why}` };
    process.stderr.write(`router67 tests: skipping a keychain test file: ${why}\n`);
    return { ok: true, out: '', skipped: why };
  }
  const env: NodeJS.ProcessEnv = { ...process.env, ROUTER67_TEST_IN_KEYRING: '1' };
  delete env.NODE_TEST_CONTEXT; // a nested test run, not a sub-process of this one's runner
  const r = spawnSync(tool!, [process.execPath, '--test', '--test-reporter=tap', '--test-timeout=120000', file], { env, encoding: 'utf8', timeout: timeoutMs });
  const out = `${r.stdout}\n${r.stderr}`;
  return { ok: r.status === 0 && /# fail 0/.test(out) && /# pass [1-9]/.test(out), out };
}

/** A keychain in memory (for tests that need one that works, not the real Secret Service). */
export function memoryKeytar(entries: Record<string, string> = {}): KeytarLike {
  const m = new Map(Object.entries(entries));
  return {
    getPassword: async (_s, a) => m.get(a) ?? null,
    setPassword: async (_s, a, p) => void m.set(a, p),
    deletePassword: async (_s, a) => m.delete(a),
    findCredentials: async () => [...m].map(([account, password]) => ({ account, password })),
  };
}
