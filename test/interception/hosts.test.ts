import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chownSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import {
  applyBlock,
  applyHostsFile,
  currentOwner,
  inspectHostsFile,
  ownerAlive,
  parseHosts,
  removeBlocks,
  removeHostsFile,
  renderBlock,
  writeFilePreserving,
  type BlockSpec,
} from '../../main/system/hosts.js';
import { skipUnless } from '../helpers/requires.js';

const SPEC: BlockSpec = { ip: '127.0.67.1', hosts: ['api.anthropic.com', 'api.openai.com', 'openrouter.ai'], owner: { pid: 4242, start: '998877' } };

// ---- random hosts files ----------------------------------------------------------------------

const lineArb = fc.oneof(
  fc.constantFrom(
    '127.0.0.1\tlocalhost',
    '::1     localhost ip6-localhost ip6-loopback',
    '# The following lines are desirable for IPv6 capable hosts',
    '#',
    '',
    '   ',
    '10.0.0.5 build-server build-server.lan # trailing comment',
    '# BEGIN SECTION docker',
    '# END SECTION docker',
    '### Start of SwitchHosts ###',
    '### End of SwitchHosts ###',
    '# >>> other-tool begin >>>',
    '# <<< other-tool end <<<',
    '# router67 was here (a comment that mentions us)',
    '127.0.67.1 api.anthropic.com',
    '\t# indented comment\t',
    '# Copyright (c) 1993-2009 Microsoft Corp.',
    'ff02::1 ip6-allnodes',
  ),
  // arbitrary bytes (latin1), no line feeds
  fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b).toString('latin1').replace(/\n/g, '')),
  fc.string({ maxLength: 40 }).map((s) => s.replace(/\n/g, '')),
);

const fileArb = fc
  .record({
    bom: fc.boolean(),
    lines: fc.array(fc.tuple(lineArb, fc.constantFrom('\n', '\r\n', '\r\n', '\n')), { maxLength: 25 }),
    trailing: fc.boolean(),
    crlf: fc.boolean(),
  })
  .map(({ bom, lines, trailing, crlf }) => {
    let s = bom ? '\xEF\xBB\xBF' : '';
    lines.forEach(([l, eol], i) => {
      s += l;
      if (i < lines.length - 1 || trailing) s += crlf ? '\r\n' : eol;
    });
    return s;
  })
  .filter((s) => !s.includes('router67 begin') && !s.includes('router67 end'));

const specArb = fc.record({
  ip: fc.constantFrom('127.0.67.1', '127.0.0.2', '127.1.2.3'),
  hosts: fc.uniqueArray(fc.constantFrom('api.anthropic.com', 'api.openai.com', 'openrouter.ai', 'api.mistral.ai', 'generativelanguage.googleapis.com'), { minLength: 1 }),
  owner: fc.record({ pid: fc.integer({ min: 1, max: 4_000_000 }) }),
});

test('property: removing our block restores every byte; applying twice changes nothing', () => {
  fc.assert(
    fc.property(fileArb, specArb, (file, spec) => {
      const once = applyBlock(file, spec);
      assert.equal(applyBlock(once, spec), once, 'idempotent');
      assert.equal(removeBlocks(once), file, 'round trip');
      const blocks = parseHosts(once);
      assert.equal(blocks.length, 1);
      assert.deepEqual(blocks[0]!.hosts.sort(), [...spec.hosts].sort());
      assert.equal(blocks[0]!.owner?.pid, spec.owner.pid);
      assert.equal(blocks[0]!.ip, spec.ip);
      // Every byte outside the block is the original's, in order.
      assert.equal(once.slice(0, blocks[0]!.start) + once.slice(blocks[0]!.end), file);
      // A new owner replaces the block instead of adding one.
      const again = applyBlock(once, { ...spec, owner: { pid: spec.owner.pid + 1 } });
      assert.equal(parseHosts(again).length, 1);
      assert.equal(removeBlocks(again), file);
    }),
    { numRuns: 1500 },
  );
});

test('property: a block found anywhere (e.g. moved by hand) is removed without touching the rest', () => {
  fc.assert(
    fc.property(fileArb, specArb, fc.nat(), (file, spec, pick) => {
      // Insert a block at a line boundary, with the line ending the file uses there.
      const boundaries = [0];
      for (let i = 0; i < file.length; i++) if (file[i] === '\n') boundaries.push(i + 1);
      const at = boundaries[pick % boundaries.length]!;
      const eol = file.includes('\r\n') ? '\r\n' : '\n';
      const withBlock = file.slice(0, at) + renderBlock(spec, eol) + file.slice(at);
      if (at === 0 && file.startsWith('\xEF\xBB\xBF')) return; // a block before the BOM is not a case we produce
      assert.equal(removeBlocks(withBlock), file);
      const reapplied = applyBlock(withBlock, spec);
      assert.equal(removeBlocks(reapplied), file);
      assert.equal(parseHosts(reapplied).length, 1);
    }),
    { numRuns: 800 },
  );
});

test('the block: marked with router67 and the owner pid, IPv4 and IPv4-mapped IPv6 line per host, file line endings, first in file', () => {
  const text = '# hosts\r\n127.0.0.1 localhost\r\n';
  const out = applyBlock(text, SPEC);
  assert.equal(
    out,
    '# >>> router67 begin pid=4242 start=998877 ip=127.0.67.1 >>> managed by router67, removed when it stops; do not edit\r\n' +
      '127.0.67.1        api.anthropic.com\r\n' +
      '::ffff:127.0.67.1 api.anthropic.com\r\n' +
      '127.0.67.1        api.openai.com\r\n' +
      '::ffff:127.0.67.1 api.openai.com\r\n' +
      '127.0.67.1        openrouter.ai\r\n' +
      '::ffff:127.0.67.1 openrouter.ai\r\n' +
      '# <<< router67 end <<<\r\n' +
      text,
  );
  assert.ok(applyBlock('', SPEC, 'linux').endsWith('<<<\n'));
  assert.ok(applyBlock('', SPEC, 'win32').endsWith('<<<\r\n'));
  // A BOM stays first.
  assert.ok(applyBlock('\xEF\xBB\xBF127.0.0.1 localhost', SPEC).startsWith('\xEF\xBB\xBF# >>> router67 begin'));
});

test('an unterminated block (end marker deleted by hand) loses only its own lines', () => {
  const block = renderBlock(SPEC, '\n').split('\n').slice(0, -2).join('\n') + '\n'; // no end marker
  const file = '127.0.0.1 localhost\n' + block + '10.1.1.1 keep.me\n# comment\n';
  const blocks = parseHosts(file);
  assert.equal(blocks.length, 1);
  assert.equal(blocks[0]!.unterminated, true);
  assert.equal(removeBlocks(file), '127.0.0.1 localhost\n10.1.1.1 keep.me\n# comment\n');
});

// ---- owner liveness ----------------------------------------------------------------------------

function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8', timeout: 10_000 });
  return Number(r.stdout);
}

test('owner liveness: this process is alive, an exited one is not, a reused pid (other start time) is not', () => {
  assert.equal(ownerAlive(currentOwner()), true);
  assert.equal(ownerAlive({ pid: deadPid() }), false);
  assert.equal(ownerAlive(undefined), false);
  if (process.platform === 'linux') {
    assert.ok(currentOwner().start);
    assert.equal(ownerAlive({ pid: process.pid, start: '1' }), false);
  }
});

// ---- file I/O --------------------------------------------------------------------------------------

function tmpdirFor(): string {
  return mkdtempSync(join(tmpdir(), 'r67-hosts-'));
}

test('write-and-rename keeps mode and owner; nothing is left behind', () => {
  const dir = tmpdirFor();
  try {
    const f = join(dir, 'hosts');
    writeFileSync(f, '127.0.0.1 localhost\n# no trailing newline', { mode: 0o604 });
    const isRoot = process.getuid?.() === 0;
    if (isRoot) chownSync(f, 65534, 65534);
    const before = statSync(f);
    const r = applyHostsFile(f, SPEC);
    assert.deepEqual(r, { changed: true, method: 'rename' });
    const after = statSync(f);
    assert.equal(after.mode & 0o7777, 0o604);
    assert.equal(after.uid, before.uid);
    assert.equal(after.gid, before.gid);
    assert.notEqual(after.ino, before.ino, 'replaced by rename');
    assert.deepEqual(applyHostsFile(f, SPEC), { changed: false }, 'second apply writes nothing');
    const rm = removeHostsFile(f);
    assert.equal(rm.changed, true);
    assert.equal(readFileSync(f, 'utf8'), '127.0.0.1 localhost\n# no trailing newline');
    assert.equal(statSync(f).mode & 0o7777, 0o604);
    assert.deepEqual(readdirSync(dir), ['hosts']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('when rename fails (EBUSY, as on a bind-mounted /etc/hosts) the file is written in place', () => {
  const dir = tmpdirFor();
  try {
    const f = join(dir, 'hosts');
    const original = '# long original content\n' + '10.0.0.1 a.example\n'.repeat(200);
    writeFileSync(f, original, { mode: 0o644 });
    const ino = statSync(f).ino;
    const busy = () => {
      const e = new Error('EBUSY: resource busy or locked, rename') as NodeJS.ErrnoException;
      e.code = 'EBUSY';
      throw e;
    };
    const r = applyHostsFile(f, SPEC, { rename: busy });
    assert.deepEqual(r, { changed: true, method: 'in-place' });
    assert.equal(statSync(f).ino, ino);
    assert.equal(readFileSync(f, 'latin1'), applyBlock(original, SPEC));
    // Removal (shorter content) truncates correctly in place.
    const rm = removeHostsFile(f, { rename: busy });
    assert.equal(rm.method, 'in-place');
    assert.equal(readFileSync(f, 'latin1'), original);
    assert.deepEqual(readdirSync(dir), ['hosts'], 'temporary file removed');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a real bind-mounted file (mount namespace): rename fails, in-place write succeeds', { skip: skipUnless({ linux: true, root: true, tools: ['unshare', 'mount'] }) }, () => {
  const dir = tmpdirFor();
  try {
    const target = join(dir, 'hosts');
    const source = join(dir, 'hosts.src');
    writeFileSync(target, 'original target\n');
    writeFileSync(source, '127.0.0.1 localhost\r\n', { mode: 0o644 });
    const mod = join(__dirname, '..', '..', 'main', 'system', 'hosts.js');
    const script = `
      const { execFileSync } = require('node:child_process');
      execFileSync('mount', ['--make-rprivate', '/']);
      execFileSync('mount', ['--bind', ${JSON.stringify(source)}, ${JSON.stringify(target)}]);
      const h = require(${JSON.stringify(mod)});
      const r = h.applyHostsFile(${JSON.stringify(target)}, ${JSON.stringify(SPEC)});
      process.stdout.write(JSON.stringify(r));`;
    const r = spawnSync('unshare', ['--mount', '--fork', process.execPath, '-e', script], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { changed: true, method: 'in-place' });
    assert.equal(readFileSync(source, 'latin1'), applyBlock('127.0.0.1 localhost\r\n', SPEC));
    assert.equal(readFileSync(target, 'utf8'), 'original target\n', 'the mount point itself was not replaced');
    assert.deepEqual(readdirSync(dir).sort(), ['hosts', 'hosts.src']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('stale blocks (owner gone) are removed; a live owner keeps its block', () => {
  const dir = tmpdirFor();
  try {
    const f = join(dir, 'hosts');
    const base = '127.0.0.1 localhost\n';
    writeFileSync(f, applyBlock(base, { ...SPEC, owner: { pid: deadPid() } }));
    assert.equal(inspectHostsFile(f)[0]!.alive, false);
    assert.equal(removeHostsFile(f, { which: 'stale' }).changed, true);
    assert.equal(readFileSync(f, 'utf8'), base);
    writeFileSync(f, applyBlock(base, { ...SPEC, owner: currentOwner() }));
    assert.equal(inspectHostsFile(f)[0]!.alive, true);
    assert.equal(removeHostsFile(f, { which: 'stale' }).changed, false);
    assert.equal(removeHostsFile(f, { ownerPid: process.pid + 1 }).changed, false, 'another owner\'s block is kept');
    assert.equal(removeHostsFile(f, { ownerPid: process.pid }).changed, true);
    assert.equal(readFileSync(f, 'utf8'), base);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
