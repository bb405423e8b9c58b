// The app behind a TLS-listener connection, for real: tls-ns-inner.ts inside a private network namespace (the
// machine's network is never touched), so the listener binds 127.0.67.1:443 as interception does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { skipUnless } from '../helpers/requires.js';

const skip = skipUnless({ linux: true, root: true, tools: ['unshare', 'ip'] });

test('TLS listener inside a network namespace: the client processes are named (HTTP/1.1 and HTTP/2), also behind the redirect rule', { skip, timeout: 120_000 }, (t) => {
  const inner = join(__dirname, 'tls-ns-inner.js');
  const r = spawnSync('unshare', ['--net', '--fork', process.execPath, '--test', '--test-reporter=spec', '--test-timeout=90000', inner], {
    encoding: 'utf8',
    timeout: 110_000,
    killSignal: 'SIGKILL',
    env: { PATH: process.env.PATH, LANG: 'C' },
  });
  if (r.status !== 0) process.stderr.write(`${r.stdout}\n${r.stderr}\n`);
  assert.equal(r.signal, null, 'the namespace run was killed (timeout)');
  assert.equal(r.status, 0, 'the scenario failed (its report is above)');
  for (const m of r.stdout.matchAll(/TLS lookups[^\n]*/g)) t.diagnostic(m[0]);
  for (const m of r.stdout.matchAll(/# SKIP ([^\n]*)/g)) t.diagnostic(`skipped in the namespace: ${m[1]}`);
});
