// Runs the end-to-end interception scenario (e2e-ns.ts) inside its own mount + network namespace, so the
// machine's /etc/hosts, trust store, nftables and network are never touched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { skipUnless } from '../helpers/requires.js';

const skip = skipUnless({ linux: true, root: true, tools: ['unshare', 'nft', 'curl', 'update-ca-certificates', 'setpriv', 'ip'] });

test('end to end in a private mount + network namespace: install, daemon, curl + SDKs, Claude Code + Codex, passthrough, signals, fail open, uninstall', { skip, timeout: 480_000 }, (t) => {
  const inner = join(__dirname, 'e2e-ns.js');
  const r = spawnSync('unshare', ['--mount', '--net', '--fork', process.execPath, '--test', '--test-reporter=spec', '--test-timeout=450000', inner], {
    encoding: 'utf8',
    timeout: 470_000,
    killSignal: 'SIGKILL',
    env: { PATH: process.env.PATH, LANG: 'C', ...(process.env.CI ? { CI: process.env.CI } : {}), ...(process.env.ROUTER67_REQUIRE_CLIENTS ? { ROUTER67_REQUIRE_CLIENTS: process.env.ROUTER67_REQUIRE_CLIENTS } : {}) },
  });
  if (r.status !== 0) process.stderr.write(`${r.stdout}\n${r.stderr}\n`);
  assert.equal(r.signal, null, 'the namespace run was killed (timeout)');
  assert.equal(r.status, 0, 'the scenario failed (its report is above)');
  assert.match(r.stdout, /unprivileged daemon on a high port behind the nftables rule/);
  assert.match(r.stdout, /✔ fail open: SIGKILL the daemon while a client streams/);
  for (const m of r.stdout.matchAll(/fail open: block gone[^\n]*/g)) t.diagnostic(m[0]);
});
