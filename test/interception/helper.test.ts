import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { aliasPlist } from '../../main/system/redirect.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCa, ensureCa, caPaths, nameConstraintsAsn1 } from '../../main/tls/ca.js';
import { decodeArgs, encodeArgs, runHelper, runOperation, validate, type HelperContext } from '../../main/system/helper.js';
import { appleScriptString, classify, elevatedArgv, powershellScript, runElevated, shQuote, winQuote, type HelperCommand } from '../../main/system/elevate.js';
import type { Exec, Step, TrustAdapter } from '../../main/system/truststore.js';
import forge from 'node-forge';
import { generateKeyPairSync } from 'node:crypto';

const GOOD = { ip: '127.0.67.1', hosts: ['api.anthropic.com'], owner: { pid: 123 } };

test('helper input validation rejects bad input', () => {
  const bad: [string, unknown, RegExp][] = [
    ['apply-hosts', { ...GOOD, ip: '10.0.0.1' }, /loopback/],
    ['apply-hosts', { ...GOOD, ip: '127.0.67.1\n1.2.3.4 evil' }, /loopback/],
    ['apply-hosts', { ...GOOD, hosts: ['api.anthropic.com evil.com'] }, /host name/],
    ['apply-hosts', { ...GOOD, hosts: ['api.anthropic.com\n1.2.3.4 bank.com'] }, /host name/],
    ['apply-hosts', { ...GOOD, hosts: ['$(reboot).com'] }, /host name/],
    ['apply-hosts', { ...GOOD, hosts: [] }, /hosts/],
    ['apply-hosts', { ...GOOD, owner: { pid: -1 } }, /owner\.pid/],
    ['apply-hosts', { ...GOOD, owner: { pid: 1, start: '1 2' } }, /owner\.start/],
    ['apply-hosts', { ...GOOD, hostsFile: '/etc/passwd' }, /hostsFile|Unrecognized/i],
    ['trust-ca', { home: 'relative/home' }, /absolute/],
    ['trust-ca', { home: '/home/me/../../etc' }, /absolute, normalised/],
    ['trust-ca', { home: '/home/me/.router67\0x' }, /absolute/],
    ['trust-ca', {}, /home/],
    ['redirect-on', { ip: '127.0.67.1', port: 80 }, /port/],
    ['redirect-on', { ip: '127.0.67.1', port: '8443' }, /port/],
    ['redirect-on', { ip: '192.168.1.1', port: 8443 }, /loopback/],
    ['remove-hosts', { which: 'everything' }, /which/],
    ['nuke', {}, /unknown helper operation/],
    ['__proto__', {}, /unknown helper operation/],
    ['batch', { ops: [{ op: 'apply-hosts', args: { ...GOOD, ip: '8.8.8.8' } }] }, /loopback/],
    ['batch', { ops: [] }, /ops/],
  ];
  for (const [op, args, re] of bad) assert.throws(() => validate(op, args), re, `${op} ${JSON.stringify(args)}`);
  assert.deepEqual(validate('apply-hosts', GOOD).args, { ...GOOD, flush: true });
  assert.deepEqual(validate('remove-hosts', {}).args, { which: 'all', flush: true });
});

test('arguments travel as JSON or b64:base64url(JSON)', () => {
  const enc = encodeArgs(GOOD);
  assert.match(enc, /^b64:[A-Za-z0-9_-]+$/);
  assert.deepEqual(decodeArgs(enc), GOOD);
  assert.deepEqual(decodeArgs(JSON.stringify(GOOD)), GOOD);
  assert.throws(() => decodeArgs('{nope'), /not valid JSON/);
});

test('runHelper: exit 0 with a JSON result, 2 on invalid input, 1 when the operation fails', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'r67-helper-'));
  try {
    const hostsPath = join(dir, 'hosts');
    writeFileSync(hostsPath, '127.0.0.1 localhost\n');
    const lines: string[] = [];
    const out = (l: string) => lines.push(l);
    const ctx: HelperContext = { hostsPath, exec: async () => ({ code: 0, stdout: '', stderr: '' }) };
    assert.equal(await runHelper(['apply-hosts', encodeArgs({ ...GOOD, flush: false })], ctx, out), 0);
    assert.deepEqual(JSON.parse(lines.pop()!), { ok: true, op: 'apply-hosts', detail: { changed: true, method: 'rename' } });
    assert.match(readFileSync(hostsPath, 'utf8'), /^# >>> router67 begin pid=123 ip=127\.0\.67\.1/);
    assert.equal(await runHelper(['apply-hosts', JSON.stringify({ ...GOOD, ip: '1.1.1.1' })], ctx, out), 2);
    assert.equal(JSON.parse(lines.pop()!).ok, false);
    assert.equal(await runHelper(['remove-hosts', '{}'], ctx, out), 0);
    assert.equal(readFileSync(hostsPath, 'utf8'), '127.0.0.1 localhost\n');
    assert.equal(await runHelper(['trust-ca', JSON.stringify({ home: join(dir, 'nohome') })], ctx, out), 1);
    assert.match(JSON.parse(lines.pop()!).message, /ENOENT/);
    assert.equal(await runHelper([], ctx, out), 2);
    assert.equal(await runHelper(['--help'], ctx, out), 0);
    assert.match(lines.pop()!, /usage: router67 helper/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function recordingAdapter(): TrustAdapter {
  return {
    id: 'debian',
    label: 'test',
    admin: true,
    trust: (ca) => [{ kind: 'run', argv: ['trust', ca.certPath] } as Step],
    untrust: (ca) => [{ kind: 'run', argv: ['untrust', ca.certPath] } as Step],
    check: () => ({ bundle: '/nonexistent' }),
  };
}

/** A self-signed "router67 local CA" with the given permitted DNS names (critical nameConstraints unless told; none for null). */
function lookalikeCa(permitted: string[] | null, o: { critical?: boolean } = {}): string {
  const pem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }) as string;
  const priv = forge.pki.privateKeyFromPem(pem) as forge.pki.rsa.PrivateKey;
  const c = forge.pki.createCertificate();
  c.publicKey = forge.pki.setRsaPublicKey(priv.n, priv.e);
  c.serialNumber = '01';
  c.validity.notBefore = new Date();
  c.validity.notAfter = new Date(Date.now() + 86400_000);
  const subj = [{ name: 'commonName', value: 'router67 local CA attacker' }];
  c.setSubject(subj);
  c.setIssuer(subj);
  c.setExtensions([
    { name: 'basicConstraints', critical: true, cA: true },
    { name: 'keyUsage', critical: true, keyCertSign: true, cRLSign: true },
    ...(permitted ? [{ id: '2.5.29.30', name: 'nameConstraints', critical: o.critical ?? true, value: nameConstraintsAsn1(permitted) }] : []),
  ]);
  c.sign(priv, forge.md.sha256.create());
  return forge.pki.certificateToPem(c);
}

test('trust-ca trusts only <home>/ca/ca.crt and only a router67 CA restricted by nameConstraints', async () => {
  const home = mkdtempSync(join(tmpdir(), 'r67-home-'));
  try {
    const calls: string[][] = [];
    const exec: Exec = async (argv) => {
      calls.push(argv);
      return { code: 0, stdout: '', stderr: '' };
    };
    const ctx: HelperContext = { exec, trustAdapter: recordingAdapter() };
    ensureCa(home, ['api.anthropic.com']);
    await runOperation('trust-ca', { home }, ctx);
    // the store is handed a root-owned copy of the checked certificate, gone afterwards, never the user's path
    assert.equal(calls.length, 1);
    assert.equal(calls[0]![0], 'trust');
    assert.match(calls[0]![1]!, /^\/tmp\/router67-ca-[^/]+\/router67\.crt$/);
    assert.equal(existsSync(calls[0]![1]!), false, 'the staged copy is removed');

    // An unconstrained CA (what an attacker would want trusted) is refused.
    writeFileSync(caPaths(home).cert, lookalikeCa(null));
    await assert.rejects(runOperation('trust-ca', { home }, ctx), /not a router67 CA restricted/);

    // A symlink to elsewhere is refused.
    rmSync(caPaths(home).cert);
    const elsewhere = join(home, 'elsewhere.crt');
    writeFileSync(elsewhere, createCa(['api.anthropic.com']).certPem);
    symlinkSync(elsewhere, caPaths(home).cert);
    await assert.rejects(runOperation('trust-ca', { home }, ctx), /not a regular file/);
    assert.equal(calls.length, 1);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

test('trust-ca refuses a lookalike CA: a whole top-level domain or every name, non-critical constraints, a second certificate appended, a FIFO', async () => {
  const home = mkdtempSync(join(tmpdir(), 'r67-home-'));
  try {
    const calls: string[][] = [];
    const ctx: HelperContext = { exec: async (argv) => (calls.push(argv), { code: 0, stdout: '', stderr: '' }), trustAdapter: recordingAdapter() };
    ensureCa(home, ['api.anthropic.com', 'openrouter.ai']);
    const good = readFileSync(caPaths(home).cert, 'utf8');
    const cases: [string, string, RegExp][] = [
      ['a top-level domain', lookalikeCa(['com']), /permitted name "com" is not a host name of two labels or more/],
      ['every name', lookalikeCa(['']), /permitted name "" is not a host name/],
      ['one good name and a top-level domain', lookalikeCa(['api.anthropic.com', 'io']), /permitted name "io"/],
      ['non-critical constraints', lookalikeCa(['api.anthropic.com'], { critical: false }), /no critical nameConstraints/],
      // the good CA first (what a check of the first certificate sees), an unconstrained one after it
      ['a certificate appended', good + lookalikeCa(['com']), /exactly one certificate/],
      ['not a certificate', 'hello\n', /exactly one certificate/],
    ];
    for (const [what, text, re] of cases) {
      writeFileSync(caPaths(home).cert, text);
      await assert.rejects(runOperation('trust-ca', { home }, ctx), re, what);
    }
    // a FIFO would block a plain read forever: it is refused at once
    unlinkSync(caPaths(home).cert);
    execFileSync('mkfifo', [caPaths(home).cert]);
    await assert.rejects(runOperation('trust-ca', { home }, ctx), /not a regular file/);
    assert.equal(calls.length, 0, 'nothing reached the trust store');
    // two-label names are fine (openrouter.ai)
    rmSync(caPaths(home).cert);
    writeFileSync(caPaths(home).cert, good);
    await runOperation('trust-ca', { home }, ctx);
    assert.equal(calls.length, 1);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

test('trust-ca: the file swapped after the check (a symlink to a root-only file) is not what the store gets', async () => {
  const home = mkdtempSync(join(tmpdir(), 'r67-home-'));
  const anchors = mkdtempSync(join(tmpdir(), 'r67-anchors-'));
  try {
    ensureCa(home, ['api.anthropic.com']);
    const good = readFileSync(caPaths(home).cert, 'utf8');
    const secret = join(anchors, 'shadow');
    writeFileSync(secret, 'root:$6$secret-hash:19000:0:99999:7:::\n', { mode: 0o600 });
    const anchor = join(anchors, 'router67.crt');
    // the Debian adapter's shape: a step before the copy gives the racer its moment (as inotify would)
    const adapter: TrustAdapter = {
      ...recordingAdapter(),
      trust: (ca) => [{ kind: 'run', argv: ['swap'] }, { kind: 'copy', from: ca.certPath, to: anchor, mode: 0o644 }, { kind: 'run', argv: ['update-ca-certificates'] }],
    };
    const exec: Exec = async (argv) => {
      if (argv[0] === 'swap') {
        unlinkSync(caPaths(home).cert);
        symlinkSync(secret, caPaths(home).cert);
      }
      return { code: 0, stdout: '', stderr: '' };
    };
    await runOperation('trust-ca', { home }, { exec, trustAdapter: adapter });
    const got = readFileSync(anchor, 'utf8');
    assert.ok(!got.includes('secret-hash'), 'the root-only file was not copied');
    assert.equal(got.replace(/\s+/g, ''), good.replace(/\s+/g, ''), 'the store got the certificate that was checked');
    assert.equal(statSync(anchor).mode & 0o777, 0o644);
  } finally {
    rmSync(home, { recursive: true, force: true });
    rmSync(anchors, { recursive: true, force: true });
  }
});

test('platform-only operations refuse elsewhere; batch runs several under one prompt', async () => {
  const calls: string[][] = [];
  const exec: Exec = async (argv) => {
    calls.push(argv);
    return { code: 0, stdout: '', stderr: '' };
  };
  await assert.rejects(runOperation('alias-on', { ip: '127.0.67.1' }, { platform: 'linux', exec }), /not available on linux/);
  const launchdDir = mkdtempSync(join(tmpdir(), 'r67-launchd-'));
  try {
    await runOperation('batch', { ops: [{ op: 'alias-on', args: { ip: '127.0.67.1' } }, { op: 'redirect-on', args: { ip: '127.0.67.1', port: 8443 } }, { op: 'flush-dns', args: {} }] }, { platform: 'darwin', exec, launchdDir });
    assert.deepEqual(calls, [
      ['ifconfig', 'lo0', 'alias', '127.0.67.1', 'up'],
      ['pfctl', '-a', 'com.apple/router67', '-f', '-'],
      ['pfctl', '-E'],
      ['dscacheutil', '-flushcache'],
      ['killall', '-HUP', 'mDNSResponder'],
    ]);
    // the boot job that brings the alias back after a reboot: root's file, 0644 (launchd refuses writable ones)
    const plist = join(launchdDir, 'com.router67.lo0-alias.plist');
    assert.equal(readFileSync(plist, 'utf8'), aliasPlist('127.0.67.1'));
    assert.equal(statSync(plist).mode & 0o777, 0o644);
    calls.length = 0;
    await runOperation('alias-off', { ip: '127.0.67.1' }, { platform: 'darwin', exec, launchdDir });
    assert.deepEqual(calls, [
      ['launchctl', 'bootout', 'system/com.router67.lo0-alias'],
      ['ifconfig', 'lo0', '-alias', '127.0.67.1'],
    ]);
    assert.equal(existsSync(plist), false);
  } finally {
    rmSync(launchdDir, { recursive: true, force: true });
  }
});

// ---- elevation ---------------------------------------------------------------------------------

const CMD: HelperCommand = { execPath: '/usr/bin/node', args: ["/opt/router 67/it's/cli/index.js"] };

test('elevation argv: pkexec on Linux', () => {
  const { how, argv } = elevatedArgv('linux', CMD, 'trust-ca', { home: '/home/me/.router67' });
  assert.equal(how, 'pkexec');
  assert.deepEqual(argv, ['pkexec', '/usr/bin/node', "/opt/router 67/it's/cli/index.js", 'helper', 'trust-ca', encodeArgs({ home: '/home/me/.router67' })]);
  const electron = elevatedArgv('linux', { execPath: '/opt/R/router67', args: ['/opt/R/resources/app.asar/dist/main/cli/index.js'], env: { ELECTRON_RUN_AS_NODE: '1' } }, 'flush-dns', {});
  assert.deepEqual(electron.argv.slice(0, 4), ['pkexec', '/usr/bin/env', 'ELECTRON_RUN_AS_NODE=1', '/opt/R/router67']);
  assert.throws(() => elevatedArgv('linux', { ...CMD, env: { 'A B': '1' } }, 'flush-dns', {}), /bad environment name/);
});

test('elevation argv: macOS administrator AppleScript with safe quoting', () => {
  const { how, argv } = elevatedArgv('darwin', CMD, 'flush-dns', {});
  assert.equal(how, 'osascript');
  assert.equal(argv[0], 'osascript');
  assert.equal(argv[1], '-e');
  const enc = encodeArgs({});
  assert.equal(argv[2], `do shell script "'/usr/bin/node' '/opt/router 67/it'\\\\''s/cli/index.js' 'helper' 'flush-dns' '${enc}'" with administrator privileges`);
  assert.equal(shQuote("a'b"), `'a'\\''b'`);
  assert.equal(appleScriptString('say "hi" \\ bye'), '"say \\"hi\\" \\\\ bye"');
});

test('elevation argv: Windows UAC through PowerShell Start-Process -Verb RunAs, script base64-encoded', () => {
  const cmd: HelperCommand = { execPath: 'C:\\Program Files\\nodejs\\node.exe', args: ['C:\\Users\\Me Too\\router67\\dist\\main\\cli\\index.js'] };
  const { how, argv } = elevatedArgv('win32', cmd, 'apply-hosts', GOOD);
  assert.equal(how, 'runas');
  assert.deepEqual(argv.slice(0, 6), ['powershell.exe', '-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-EncodedCommand']);
  const script = Buffer.from(argv[6]!, 'base64').toString('utf16le');
  assert.equal(script, powershellScript(cmd, [cmd.execPath, ...cmd.args, 'helper', 'apply-hosts', encodeArgs(GOOD)]));
  assert.equal(
    script,
    `try { $p = Start-Process -FilePath 'C:\\Program Files\\nodejs\\node.exe' -ArgumentList '"C:\\Users\\Me Too\\router67\\dist\\main\\cli\\index.js" helper apply-hosts ${encodeArgs(GOOD)}' -Verb RunAs -PassThru -WindowStyle Hidden; $h = $p.Handle; $p.WaitForExit(); exit $p.ExitCode } catch { exit 1223 }`,
  );
  assert.equal(winQuote('plain'), 'plain');
  assert.equal(winQuote('a b'), '"a b"');
  assert.equal(winQuote('say "x"'), '"say \\"x\\""');
  assert.equal(winQuote('C:\\dir with space\\'), '"C:\\dir with space\\\\"');
});

test('a refused prompt is told apart from a failure', () => {
  const r = (code: number, stderr = '', stdout = '') => ({ code, stderr, stdout });
  assert.deepEqual(pick(classify('pkexec', r(126, 'Error executing command as another user: Not authorized'))), { ok: false, reason: 'refused' });
  assert.deepEqual(pick(classify('pkexec', r(127, 'Error executing command as another user: Request dismissed'))), { ok: false, reason: 'refused' });
  assert.deepEqual(pick(classify('pkexec', r(127, 'Error executing command as another user: No authentication agent found.'))), { ok: false, reason: 'unavailable' });
  assert.deepEqual(pick(classify('osascript', r(1, '0:66: execution error: User canceled. (-128)'))), { ok: false, reason: 'refused' });
  assert.deepEqual(pick(classify('runas', r(1223))), { ok: false, reason: 'refused' });
  const failed = classify('pkexec', r(1, '', '{"ok":false,"op":"trust-ca","message":"no supported system trust store"}'));
  assert.deepEqual(pick(failed), { ok: false, reason: 'failed' });
  assert.equal(failed.ok === false && failed.message, 'no supported system trust store');
  const ok = classify('osascript', r(0, '', '{"ok":true,"op":"flush-dns"}\n'));
  assert.equal(ok.ok, true);
  assert.deepEqual(ok.result, { ok: true, op: 'flush-dns' });
});

function pick(r: { ok: boolean; reason?: string }): { ok: boolean; reason?: string } {
  return r.ok ? { ok: true } : { ok: false, reason: r.reason! };
}

test('runElevated: in-process when privileged, through the prompt command otherwise', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'r67-elev-'));
  try {
    const hostsPath = join(dir, 'hosts');
    mkdirSync(join(dir, 'x'));
    writeFileSync(hostsPath, '');
    const direct = await runElevated('apply-hosts', { ...GOOD, flush: false }, { privileged: true, context: { hostsPath } });
    assert.equal(direct.ok, true);
    assert.equal(direct.how, 'direct');
    assert.match(readFileSync(hostsPath, 'utf8'), /router67 begin/);
    const bad = await runElevated('apply-hosts', { ...GOOD, ip: '8.8.8.8' }, { privileged: true, context: { hostsPath } });
    assert.equal(bad.ok, false);

    const seen: string[][] = [];
    const viaPrompt = await runElevated('flush-dns', {}, {
      privileged: false,
      platform: 'darwin',
      command: CMD,
      exec: async (argv) => {
        seen.push(argv);
        return { code: 1, stdout: '', stderr: 'execution error: User canceled. (-128)' };
      },
    });
    assert.equal(seen[0]![0], 'osascript');
    assert.deepEqual(pick(viaPrompt), { ok: false, reason: 'refused' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
