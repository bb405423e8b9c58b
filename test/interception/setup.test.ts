// install / uninstall for macOS and Windows, checked on the exact commands they would run (the Linux path runs
// for real in the end-to-end test). Nothing here touches the machine: commands go to a recording stub.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { install, uninstall, SEED_CONFIG } from '../../main/intercept/setup.js';
import { decodeArgs } from '../../main/system/helper.js';
import { parseConfig } from '../../main/config/load.js';
import { inspectCaCert } from '../../main/tls/ca.js';
import type { Exec } from '../../main/system/truststore.js';

function recorder(trusted: (argv: string[]) => boolean = () => false) {
  const calls: string[][] = [];
  const exec: Exec = async (argv) => {
    calls.push(argv);
    if (argv[0] === 'certutil' && argv.includes('-verifystore')) return { code: trusted(argv) ? 0 : 1, stdout: '', stderr: '' };
    if (argv[0] === 'security' && argv[1] === 'verify-cert') return { code: trusted(argv) ? 0 : 1, stdout: '', stderr: '' };
    return { code: 0, stdout: '{"ok":true,"op":"batch"}\n', stderr: '' };
  };
  return { calls, exec };
}

test('the seeded config is router67\'s example and valid', () => {
  const c = parseConfig(SEED_CONFIG, 'seed.toml');
  assert.deepEqual(c.intercept_hosts, ['api.anthropic.com', 'api.openai.com', 'openrouter.ai']);
  assert.deepEqual(c.providers.map((p) => [p.name, p.auth?.value_env]), [['anthropic', 'ANTHROPIC_API_KEY'], ['openrouter', 'OPENROUTER_API_KEY']]);
});

test('Windows: install trusts in the user Root store without elevation; re-issue removes the old CA; uninstall removes it', async () => {
  const home = mkdtempSync(join(tmpdir(), 'r67-setup-'));
  try {
    const { calls, exec } = recorder();
    const r1 = await install({ home, platform: 'win32', exec });
    assert.equal(r1.configSeeded, true);
    assert.equal(existsSync(join(home, 'config.toml')), true);
    assert.deepEqual(r1.privilegedOps, []);
    const cert = join(home, 'ca', 'ca.crt');
    const sha1 = inspectCaCert(readFileSync(cert, 'utf8')).sha1;
    assert.deepEqual(calls, [
      ['certutil', '-user', '-verifystore', 'Root', sha1],
      ['certutil', '-addstore', '-user', 'Root', cert],
    ]);
    assert.match(readFileSync(join(home, 'ca', 'bundle.pem'), 'utf8'), /BEGIN CERTIFICATE/);

    // intercept_hosts changes: a new CA; the old one leaves the store.
    writeFileSync(join(home, 'config.toml'), SEED_CONFIG.replace('"openrouter.ai"]', '"openrouter.ai", "api.mistral.ai"]'));
    calls.length = 0;
    const r2 = await install({ home, platform: 'win32', exec });
    assert.equal(r2.caReissued, true);
    const sha1b = inspectCaCert(readFileSync(cert, 'utf8')).sha1;
    assert.notEqual(sha1b, sha1);
    assert.deepEqual(calls, [
      ['certutil', '-delstore', '-user', 'Root', sha1],
      ['certutil', '-addstore', '-user', 'Root', cert],
    ]);

    const { calls: ucalls, exec: uexec } = recorder(() => true);
    writeFileSync(join(home, 'hosts'), '127.0.0.1 localhost\r\n');
    await uninstall({ home, platform: 'win32', exec: uexec, hostsPath: join(home, 'hosts') });
    assert.deepEqual(ucalls.filter((c) => c.includes('-delstore')), [
      ['certutil', '-delstore', '-user', 'Root', sha1b],
      ['certutil', '-delstore', '-user', 'Root', sha1],
    ]);
    assert.equal(existsSync(join(home, 'ca')), false);
    assert.equal(existsSync(join(home, 'config.toml')), true, 'config kept');
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

test('macOS: one administrator prompt for trust + lo0 alias (+ pf redirect); nothing when already set up', async () => {
  const home = mkdtempSync(join(tmpdir(), 'r67-setup-'));
  try {
    writeFileSync(join(home, 'config.toml'), SEED_CONFIG.replace('# redirect_port = 8443', 'redirect_port = 8443'));
    const { calls, exec } = recorder();
    const r = await install({ home, platform: 'darwin', exec, elevate: { privileged: false, exec, command: { execPath: '/usr/local/bin/node', args: ['/opt/router67/cli.js'] } } });
    assert.deepEqual(r.privilegedOps, ['trust-ca', 'alias-on', 'redirect-on']);
    const prompt = calls.find((c) => c[0] === 'osascript')!;
    assert.ok(prompt, 'elevated through osascript');
    const m = /'helper' 'batch' '(b64:[A-Za-z0-9_-]+)'/.exec(prompt[2]!)!;
    assert.deepEqual(decodeArgs(m[1]), {
      ops: [
        { op: 'trust-ca', args: { home } },
        { op: 'alias-on', args: { ip: '127.0.67.1' } },
        { op: 'redirect-on', args: { ip: '127.0.67.1', port: 8443 } },
      ],
    });
    assert.match(prompt[2]!, / with administrator privileges$/);
    assert.equal(calls.filter((c) => c[0] === 'osascript').length, 1, 'one prompt');
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

test('a refused prompt is reported as such', async () => {
  const home = mkdtempSync(join(tmpdir(), 'r67-setup-'));
  try {
    const exec: Exec = async (argv) =>
      argv[0] === 'osascript' ? { code: 1, stdout: '', stderr: 'execution error: User canceled. (-128)' } : { code: 1, stdout: '', stderr: '' };
    await assert.rejects(install({ home, platform: 'darwin', exec, elevate: { privileged: false, exec } }), (e: Error & { refused?: boolean }) => e.refused === true);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});
