// Tests that need a part of the system (root, a Debian package, a built native module) skip with a one-line
// reason where it is missing, so `npm test` passes on a fresh machine. Under CI (CI=true, where .ci/run
// installs everything) a missing part is a failure, never a silent skip.
import { test } from 'node:test';
import { existsSync } from 'node:fs';
import { onPath } from '../../main/system/truststore.js';

export interface Needs {
  linux?: boolean;
  root?: boolean;
  /** Commands that must be on PATH. */
  tools?: string[];
  /** Files that must exist (e.g. /usr/bin/chromium). */
  files?: string[];
  /** Node modules that must load (e.g. keytar, built from source). */
  modules?: string[];
}

/** Why this machine cannot run a test that needs `n`, or undefined when it can. */
export function missing(n: Needs): string | undefined {
  if (n.linux && process.platform !== 'linux') return 'Linux only';
  if (n.root && process.getuid?.() !== 0) return 'needs root';
  const tools = (n.tools ?? []).filter((t) => !onPath(t));
  if (tools.length) return `missing command${tools.length > 1 ? 's' : ''} ${tools.join(', ')} (see .ci/run for the packages)`;
  const files = (n.files ?? []).filter((f) => !existsSync(f));
  if (files.length) return `missing ${files.join(', ')} (see .ci/run for the packages)`;
  for (const m of n.modules ?? []) {
    try {
      require(m);
    } catch {
      return `the ${m} module does not load (its native part is not built; see .ci/run)`;
    }
  }
  return undefined;
}

const reported = new Set<string>();

/**
 * The `skip` option for a test that needs `n`: false when the machine has it all; else the reason (printed once),
 * except under CI, where a failing test named after the missing part is added instead of a skip.
 */
export function skipUnless(n: Needs): string | false {
  const why = missing(n);
  if (!why) return false;
  if (process.env.CI === 'true' || process.env.CI === '1') {
    if (!reported.has(why)) {
      reported.add(why);
      test(`CI has every system part the tests need: ${why}`, () => {
        throw new Error(`CI must not skip: ${why}`);
      });
    }
    return why;
  }
  if (!reported.has(why)) {
    reported.add(why);
    process.stderr.write(`router67 tests: skipping what ${why.startsWith('needs') || why.startsWith('Linux') ? `is "${why}"` : `needs it: ${why}`}\n`);
  }
  return why;
}
