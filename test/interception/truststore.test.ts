import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCa, parseCa } from '../../main/tls/ca.js';
import {
  archAdapter,
  bundleContains,
  debianAdapter,
  detectLinuxStore,
  fedoraAdapter,
  findNssDbs,
  isTrusted,
  macosAdapter,
  nssAdapter,
  onPath,
  runSteps,
  suseAdapter,
  systemAdapter,
  windowsAdapter,
  writeCombinedBundle,
  type CaRef,
  type Exec,
} from '../../main/system/truststore.js';
import { skipUnless } from '../helpers/requires.js';

const files = createCa(['api.anthropic.com']);
const ca = parseCa(files.certPem, files.keyPem);
const REF: CaRef = { certPath: '/home/me/.router67/ca/ca.crt', certPem: files.certPem, sha1: 'ab12cd34ef' };

test('Debian: copy to /usr/local/share/ca-certificates/router67.crt, update-ca-certificates; untrust removes and rebuilds (--fresh)', () => {
  const a = debianAdapter();
  assert.equal(a.admin, true);
  assert.deepEqual(a.trust(REF), [
    { kind: 'mkdir', path: '/usr/local/share/ca-certificates' },
    { kind: 'copy', from: REF.certPath, to: '/usr/local/share/ca-certificates/router67.crt', mode: 0o644 },
    { kind: 'run', argv: ['update-ca-certificates'] },
  ]);
  assert.deepEqual(a.untrust(REF), [
    { kind: 'remove', path: '/usr/local/share/ca-certificates/router67.crt' },
    { kind: 'run', argv: ['update-ca-certificates', '--fresh'] },
  ]);
  assert.deepEqual(a.check(REF), { bundle: '/etc/ssl/certs/ca-certificates.crt' });
});

test('Fedora: /etc/pki/ca-trust/source/anchors + update-ca-trust extract', () => {
  const a = fedoraAdapter();
  assert.deepEqual(a.trust(REF), [
    { kind: 'mkdir', path: '/etc/pki/ca-trust/source/anchors' },
    { kind: 'copy', from: REF.certPath, to: '/etc/pki/ca-trust/source/anchors/router67.crt', mode: 0o644 },
    { kind: 'run', argv: ['update-ca-trust', 'extract'] },
  ]);
  assert.deepEqual(a.untrust(REF).at(-1), { kind: 'run', argv: ['update-ca-trust', 'extract'] });
  assert.deepEqual(suseAdapter().trust(REF)[1], { kind: 'copy', from: REF.certPath, to: '/etc/pki/trust/anchors/router67.crt', mode: 0o644 });
});

test('Arch: trust anchor --store / --remove', () => {
  const a = archAdapter();
  assert.deepEqual(a.trust(REF), [
    { kind: 'run', argv: ['trust', 'anchor', '--remove', REF.certPath], allowFail: true },
    { kind: 'run', argv: ['trust', 'anchor', '--store', REF.certPath] },
  ]);
  assert.deepEqual(a.untrust(REF), [{ kind: 'run', argv: ['trust', 'anchor', '--remove', REF.certPath], allowFail: true }]);
});

test('macOS: security add-trusted-cert into the System keychain; removal by SHA-1', () => {
  const a = macosAdapter();
  assert.equal(a.admin, true);
  assert.deepEqual(a.trust(REF), [
    { kind: 'run', argv: ['security', 'add-trusted-cert', '-d', '-r', 'trustRoot', '-k', '/Library/Keychains/System.keychain', REF.certPath] },
  ]);
  assert.deepEqual(a.untrust(REF), [
    { kind: 'run', argv: ['security', 'remove-trusted-cert', '-d', REF.certPath], allowFail: true },
    { kind: 'run', argv: ['security', 'delete-certificate', '-Z', 'AB12CD34EF', '/Library/Keychains/System.keychain'], allowFail: true },
  ]);
  assert.deepEqual(a.check(REF), { argv: ['security', 'verify-cert', '-c', REF.certPath] });
});

test('Windows: certutil -addstore -user Root (no admin); removal and check by SHA-1', () => {
  const a = windowsAdapter();
  assert.equal(a.admin, false);
  const ref = { ...REF, certPath: 'C:\\Users\\me\\.router67\\ca\\ca.crt' };
  assert.deepEqual(a.trust(ref), [{ kind: 'run', argv: ['certutil', '-addstore', '-user', 'Root', 'C:\\Users\\me\\.router67\\ca\\ca.crt'] }]);
  assert.deepEqual(a.untrust(ref), [{ kind: 'run', argv: ['certutil', '-delstore', '-user', 'Root', 'ab12cd34ef'], allowFail: true }]);
  assert.deepEqual(a.check(ref), { argv: ['certutil', '-user', '-verifystore', 'Root', 'ab12cd34ef'] });
});

test('NSS: certutil -d sql:<db> -A -t C,, -n router67 -i ca.crt, as the user', () => {
  const a = nssAdapter('/home/me/.pki/nssdb');
  assert.equal(a.admin, false);
  assert.deepEqual(a.trust(REF), [
    { kind: 'run', argv: ['certutil', '-d', 'sql:/home/me/.pki/nssdb', '-D', '-n', 'router67'], allowFail: true },
    { kind: 'run', argv: ['certutil', '-d', 'sql:/home/me/.pki/nssdb', '-A', '-t', 'C,,', '-n', 'router67', '-i', REF.certPath] },
  ]);
  assert.deepEqual(a.untrust(REF), [{ kind: 'run', argv: ['certutil', '-d', 'sql:/home/me/.pki/nssdb', '-D', '-n', 'router67'], allowFail: true }]);
});

test('Linux family detection: os-release first, then tools and folders', () => {
  const ctx = (osRelease: string, cmds: string[], dirs: string[] = []) => ({
    readFile: (p: string) => (p === '/etc/os-release' ? osRelease : undefined),
    which: (c: string) => cmds.includes(c),
    exists: (p: string) => dirs.includes(p),
  });
  assert.equal(detectLinuxStore(ctx('ID=debian\n', ['update-ca-certificates'])), 'debian');
  assert.equal(detectLinuxStore(ctx('ID=ubuntu\nID_LIKE=debian\n', ['update-ca-certificates'])), 'debian');
  assert.equal(detectLinuxStore(ctx('ID="fedora"\n', ['update-ca-trust'])), 'fedora');
  assert.equal(detectLinuxStore(ctx('ID="rocky"\nID_LIKE="rhel centos fedora"\n', ['update-ca-trust'])), 'fedora');
  assert.equal(detectLinuxStore(ctx('ID=arch\n', ['trust'])), 'arch');
  assert.equal(detectLinuxStore(ctx('ID="opensuse-tumbleweed"\nID_LIKE="opensuse suse"\n', ['update-ca-certificates'])), 'suse');
  assert.equal(detectLinuxStore(ctx('ID=somethingelse\n', ['update-ca-trust'], ['/etc/pki/ca-trust/source/anchors'])), 'fedora');
  assert.equal(detectLinuxStore(ctx('ID=alpine\n', ['update-ca-certificates'], ['/usr/local/share/ca-certificates'])), 'debian');
  assert.equal(detectLinuxStore(ctx('ID=x\n', [])), undefined);
  assert.equal(systemAdapter({ platform: 'darwin' })!.id, 'macos');
  assert.equal(systemAdapter({ platform: 'win32' })!.id, 'windows');
  // whatever Linux this is, the adapter is the one its own detection names (no distribution is assumed)
  const here = detectLinuxStore();
  if (here) assert.equal(systemAdapter({ platform: 'linux' })!.id, here);
});

test('runSteps runs argument arrays, honours allowFail, stops at the first failure', async () => {
  const calls: string[][] = [];
  const exec: Exec = async (argv) => {
    calls.push(argv);
    return { code: argv[1] === 'fail' ? 3 : 0, stdout: '', stderr: 'boom' };
  };
  await runSteps([{ kind: 'run', argv: ['x', 'fail'], allowFail: true }, { kind: 'run', argv: ['x', 'ok'] }], exec);
  assert.deepEqual(calls, [['x', 'fail'], ['x', 'ok']]);
  await assert.rejects(runSteps([{ kind: 'run', argv: ['x', 'fail'] }, { kind: 'run', argv: ['never'] }], exec), /x fail failed \(exit 3\): boom/);
  assert.equal(calls.length, 3);
});

test('NSS for real: a fresh database trusts the CA, then forgets it', { skip: skipUnless({ tools: ['certutil'] }) }, async () => {
  const home = mkdtempSync(join(tmpdir(), 'r67-nss-'));
  try {
    const db = join(home, '.pki', 'nssdb');
    mkdirSync(db, { recursive: true });
    const init = spawnSync('certutil', ['-N', '-d', `sql:${db}`, '--empty-password'], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(init.status, 0, init.stderr);
    assert.deepEqual(findNssDbs(home), [db]);
    const certPath = join(home, 'ca.crt');
    writeFileSync(certPath, files.certPem);
    const ref: CaRef = { certPath, certPem: files.certPem, sha1: ca.sha1 };
    const a = nssAdapter(db);
    assert.equal(await isTrusted(a, ref), false);
    await runSteps(a.trust(ref));
    await runSteps(a.trust(ref)); // idempotent
    assert.equal(await isTrusted(a, ref), true);
    const list = spawnSync('certutil', ['-d', `sql:${db}`, '-L'], { encoding: 'utf8' }).stdout;
    assert.match(list, /router67\s+C,,/);
    await runSteps(a.untrust(ref));
    assert.equal(await isTrusted(a, ref), false);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

test('bundleContains and the combined bundle (system roots + our CA, never ours alone)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'r67-bundle-'));
  try {
    const sys = join(dir, 'system.pem');
    const other = createCa(['example.org']).certPem;
    writeFileSync(sys, other + files.certPem); // our CA already in the system bundle: not duplicated
    const out = join(dir, 'bundle.pem');
    writeCombinedBundle(out, files.certPem, { systemBundle: sys });
    let text = readFileSync(out, 'utf8');
    assert.equal(bundleContains(text, files.certPem), true);
    assert.equal(bundleContains(text, other), true);
    assert.equal((text.match(/BEGIN CERTIFICATE/g) ?? []).length, 2, 'our CA once, after the system roots');
    writeCombinedBundle(out, files.certPem, { platform: 'linux' });
    text = readFileSync(out, 'utf8');
    assert.equal(bundleContains(text, files.certPem), true);
    assert.ok((text.match(/BEGIN CERTIFICATE/g) ?? []).length > 50, 'system roots included');
    assert.equal(bundleContains(other, files.certPem), false);
    writeCombinedBundle(out, files.certPem, { platform: 'darwin' });
    assert.ok((readFileSync(out, 'utf8').match(/BEGIN CERTIFICATE/g) ?? []).length > 50, "Node's roots where no system bundle file exists");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
