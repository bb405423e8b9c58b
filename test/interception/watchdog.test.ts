// The hosts-block watchdog: what it removes and when (in process, against scratch hosts files), a real watchdog
// process woken by its pipe, the Interceptor starting/releasing it, and the exact commands of the elevated path
// on each platform. The SIGKILL-the-daemon proof runs for real in the namespace test (e2e-ns.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { startCore } from '../helpers/core.js';
import { ensureCa } from '../../main/tls/ca.js';
import { Interceptor } from '../../main/intercept/interceptor.js';
import { applyBlock, parseHosts, type BlockOwner } from '../../main/system/hosts.js';
import { decodeArgs, encodeArgs, runOperation, validate } from '../../main/system/helper.js';
import { elevatedArgv, powershellScript, type HelperCommand } from '../../main/system/elevate.js';
import { spawnWatchdog, watchdogArgv, watchHosts, type SpawnedWatchdog, type SpawnWatchdog, type WatchdogCommand } from '../../main/system/watchdog.js';

const BASE = '127.0.0.1 localhost\n# keep me\n';
const block = (text: string, owner: BlockOwner, hosts = ['api.anthropic.com']) => applyBlock(text, { ip: '127.0.67.1', hosts, owner });

function scratch(): { dir: string; hosts: string; done(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'r67-watchdog-'));
  return { dir, hosts: join(dir, 'hosts'), done: () => rmSync(dir, { recursive: true, force: true }) };
}

test('watch: the pipe closing removes exactly the owner\'s block (another owner\'s, a reused pid\'s stay) and flushes DNS', async () => {
  const s = scratch();
  try {
    const me: BlockOwner = { pid: 4242, start: '100' };
    // Two blocks: ours, and one of a process that reused pid 4242 later (another start time); the file keeps
    // only the first block applied, so build the second by hand below ours.
    const other = block('', { pid: 4242, start: '999' }, ['api.openai.com']);
    writeFileSync(s.hosts, block(BASE, me) + other);
    const input = new PassThrough();
    let flushed = 0;
    const done = watchHosts({ owner: me, pipe: true, flush: true }, { hostsPath: s.hosts, input, isAlive: () => true, pollMs: 20, flush: async () => void flushed++ });
    await new Promise((r) => setTimeout(r, 60)); // a few polls: the owner lives, the block is there
    input.end();
    assert.deepEqual(await done, { end: 'pipe-closed', removed: 1 });
    assert.equal(readFileSync(s.hosts, 'latin1'), BASE + other);
    assert.equal(flushed, 1);
  } finally {
    s.done();
  }
});

test('watch: without a pipe, the owner found dead removes the block; a block already gone just ends it', async () => {
  const s = scratch();
  try {
    const me: BlockOwner = { pid: 4243 };
    writeFileSync(s.hosts, block(BASE, me));
    let alive = true;
    const done = watchHosts({ owner: me, pipe: false, flush: false }, { hostsPath: s.hosts, isAlive: () => alive, pollMs: 10 });
    setTimeout(() => (alive = false), 50);
    assert.deepEqual(await done, { end: 'owner-gone', removed: 1 });
    assert.equal(readFileSync(s.hosts, 'latin1'), BASE);

    // A clean stop removed the block: the watchdog exits without writing (the file's bytes stay as they are).
    writeFileSync(s.hosts, block(BASE, me));
    const gone = watchHosts({ owner: me, pipe: false, flush: false }, { hostsPath: s.hosts, isAlive: () => true, pollMs: 10 });
    writeFileSync(s.hosts, BASE);
    assert.deepEqual(await gone, { end: 'block-gone', removed: 0 });
  } finally {
    s.done();
  }
});

test('a real watchdog process: released after the block was removed it exits; released with the block still there it removes it', async () => {
  const s = scratch();
  try {
    // The watchdog's own code in a child process, on the scratch file (the CLI's `helper watch` only ever edits the OS file).
    const script = join(s.dir, 'watch-child.js');
    writeFileSync(
      script,
      `const { watchHosts } = require(${JSON.stringify(join(__dirname, '..', '..', 'main', 'system', 'watchdog.js'))});
const [hostsPath, , , b64] = process.argv.slice(2);
const args = JSON.parse(Buffer.from(b64.slice(4), 'base64url').toString());
watchHosts({ ...args, flush: false }, { hostsPath }).then((r) => require('fs').writeFileSync(hostsPath + '.result', JSON.stringify(r)));\n`,
    );
    const cmd: WatchdogCommand = { execPath: process.execPath, args: [script, s.hosts] };
    // spawnWatchdog leaves nothing holding this process's event loop; the test waits for the child, so it refs it.
    const exited = (w: SpawnedWatchdog) => (w.child.ref(), new Promise<number | null>((r) => (w.child.exitCode !== null ? r(w.child.exitCode) : w.child.once('exit', r))));
    const me: BlockOwner = { pid: process.pid };

    writeFileSync(s.hosts, block(BASE, me));
    const w1 = spawnWatchdog(cmd, { owner: me, pipe: true });
    assert.ok(w1.pid > 0);
    assert.equal(w1.running, true);
    writeFileSync(s.hosts, BASE); // the clean stop removed the block…
    w1.release(); // …then closes the pipe
    assert.equal(await exited(w1), 0);
    assert.equal(w1.running, false);
    assert.equal(readFileSync(s.hosts, 'latin1'), BASE);

    writeFileSync(s.hosts, block(BASE, me));
    const w2 = spawnWatchdog(cmd, { owner: me, pipe: true });
    w2.release();
    assert.equal(await exited(w2), 0);
    assert.equal(readFileSync(s.hosts, 'latin1'), BASE, 'the pipe closing made it remove the block');
    assert.deepEqual(JSON.parse(readFileSync(`${s.hosts}.result`, 'utf8')), { end: 'pipe-closed', removed: 1 });
  } finally {
    s.done();
  }
});

test('the watch operation: validated, never in a batch, the hosts file is not an argument', () => {
  assert.deepEqual(validate('watch', { owner: { pid: 7 } }).args, { owner: { pid: 7 }, pipe: false, flush: true });
  assert.throws(() => validate('watch', { owner: { pid: 0 } }), /owner\.pid/);
  assert.throws(() => validate('watch', { owner: { pid: 7, start: '1; rm -rf /' } }), /owner\.start/);
  assert.throws(() => validate('watch', { owner: { pid: 7 }, hostsPath: '/etc/passwd' }), /Unrecognized|hostsPath/i);
  assert.throws(() => validate('batch', { ops: [{ op: 'watch', args: { owner: { pid: 7 } } }] }), /op|Invalid/i);
  assert.throws(() => validate('apply-hosts', { ip: '127.0.67.1', hosts: ['api.anthropic.com'], owner: { pid: 7 }, watch: 'yes' }), /watch/);
});

const CMD: HelperCommand = { execPath: '/usr/bin/node', args: ['/opt/router67/dist/main/cli/index.js'] };
const OWNER = { pid: 4321, start: '777' };
const APPLY = { ip: '127.0.67.1', hosts: ['api.anthropic.com'], owner: OWNER, watch: true };

test('exact commands: the watchdog argv, and apply-hosts {watch} through each OS prompt', () => {
  const watch = watchdogArgv(CMD, { owner: OWNER, pipe: true });
  assert.deepEqual(watch, ['/usr/bin/node', '/opt/router67/dist/main/cli/index.js', 'helper', 'watch', encodeArgs({ owner: OWNER, pipe: true })]);
  assert.deepEqual(decodeArgs(watch[4]), { owner: { pid: 4321, start: '777' }, pipe: true });
  const enc = encodeArgs(APPLY);
  assert.deepEqual(elevatedArgv('linux', CMD, 'apply-hosts', APPLY).argv, ['pkexec', '/usr/bin/node', '/opt/router67/dist/main/cli/index.js', 'helper', 'apply-hosts', enc]);
  assert.deepEqual(elevatedArgv('darwin', CMD, 'apply-hosts', APPLY).argv, [
    'osascript',
    '-e',
    `do shell script "'/usr/bin/node' '/opt/router67/dist/main/cli/index.js' 'helper' 'apply-hosts' '${enc}'" with administrator privileges`,
  ]);
  const win: HelperCommand = { execPath: 'C:\\Program Files\\router67\\router67.exe', args: ['C:\\Program Files\\router67\\resources\\app.asar\\dist\\main\\cli\\index.js'], env: { ELECTRON_RUN_AS_NODE: '1' } };
  const w = elevatedArgv('win32', win, 'apply-hosts', APPLY);
  const script = Buffer.from(w.argv[6]!, 'base64').toString('utf16le');
  assert.equal(script, powershellScript(win, [win.execPath, ...win.args, 'helper', 'apply-hosts', enc]));
  // No -Wait: it would wait for the watchdog the helper leaves behind (Start-Process -Wait waits for descendants).
  assert.equal(
    script,
    `$env:ELECTRON_RUN_AS_NODE = '1'; try { $p = Start-Process -FilePath 'C:\\Program Files\\router67\\router67.exe' -ArgumentList '"C:\\Program Files\\router67\\resources\\app.asar\\dist\\main\\cli\\index.js" helper apply-hosts ${enc}' -Verb RunAs -PassThru -WindowStyle Hidden; $h = $p.Handle; $p.WaitForExit(); exit $p.ExitCode } catch { exit 1223 }`,
  );
  assert.doesNotMatch(script, /-Wait\b/);
});

test('elevated apply-hosts {watch}: the helper writes the block, then leaves a pipe-less watchdog for that owner', async () => {
  for (const platform of ['linux', 'darwin', 'win32'] as const) {
    const s = scratch();
    try {
      writeFileSync(s.hosts, BASE);
      const started: string[][] = [];
      const spawnRec: SpawnWatchdog = (cmd, args) => {
        started.push(watchdogArgv(cmd, args));
        return { pid: 99, child: undefined as never, release() {}, running: true };
      };
      const r = await runOperation('apply-hosts', { ...APPLY, flush: false }, { platform, hostsPath: s.hosts, spawnWatchdog: spawnRec });
      assert.deepEqual(r.detail, { changed: true, method: 'rename', watchdog: 99 });
      assert.equal(parseHosts(readFileSync(s.hosts, 'latin1'))[0]!.owner?.pid, 4321);
      assert.equal(started.length, 1);
      // node (or Electron as node) + our CLI, `helper watch`, the owner, no pipe
      assert.deepEqual(started[0]!.slice(0, 2), [process.execPath, join(__dirname, '..', '..', 'main', 'cli', 'index.js')]);
      assert.deepEqual(started[0]!.slice(2, 4), ['helper', 'watch']);
      assert.deepEqual(decodeArgs(started[0]![4]), { owner: OWNER, pipe: false });
      await runOperation('apply-hosts', { ...APPLY, watch: undefined, flush: false }, { platform, hostsPath: s.hosts, spawnWatchdog: spawnRec });
      assert.equal(started.length, 1, 'no watchdog without watch');
    } finally {
      s.done();
    }
  }
});

function fakeSpawner() {
  const events: string[] = [];
  const spawned: { args: { owner: BlockOwner; pipe: boolean }; w: SpawnedWatchdog & { alive: boolean } }[] = [];
  const spawner: SpawnWatchdog = (_cmd, args) => {
    const w = {
      pid: 1000 + spawned.length,
      child: undefined as never,
      alive: true,
      release() {
        events.push(`release ${this.pid}`);
        this.alive = false;
      },
      get running() {
        return this.alive;
      },
    };
    spawned.push({ args, w });
    events.push(`spawn ${w.pid}`);
    return w;
  };
  return { events, spawned, spawner };
}

test('Interceptor: a watchdog with a pipe once the block is written; stop removes the block, then releases it; verify() repairs block and watchdog', async () => {
  const t = await startCore(`intercept_hosts = ["api.anthropic.com", "api.openai.com"]\n[daemon]\nlisten = "127.0.67.1:443"\n`);
  const hostsPath = join(t.home, 'hosts');
  writeFileSync(hostsPath, BASE);
  ensureCa(t.home, ['api.anthropic.com', 'api.openai.com']);
  const f = fakeSpawner();
  const ic = new Interceptor(t.core, { hostsPath, bind: '127.0.0.1:0', watchdog: { spawn: f.spawner } });
  try {
    await ic.start();
    assert.equal(f.spawned.length, 1);
    assert.equal(f.spawned[0]!.args.owner.pid, process.pid);
    assert.equal(f.spawned[0]!.args.pipe, true);
    assert.equal(ic.watchdogPid, 1000);
    assert.equal(parseHosts(readFileSync(hostsPath, 'latin1')).length, 1, 'the block was there before the watchdog started');
    assert.deepEqual(await ic.verify(), { listener: 'ok', block: 'ok', watchdog: 'ok', dns: 'ok' });

    // After a sleep: the block was lost and the watchdog died — both come back.
    writeFileSync(hostsPath, BASE);
    f.spawned[0]!.w.alive = false;
    assert.deepEqual(await ic.verify(), { listener: 'ok', block: 'reapplied', watchdog: 'restarted', dns: 'ok' });
    assert.deepEqual(parseHosts(readFileSync(hostsPath, 'latin1'))[0]!.hosts.sort(), ['api.anthropic.com', 'api.openai.com']);
    assert.equal(ic.watchdogPid, 1001);

    const before = f.events.length;
    let blockAtRelease: number | undefined;
    const w = f.spawned[1]!.w;
    const rel = w.release.bind(w);
    w.release = () => {
      blockAtRelease = parseHosts(readFileSync(hostsPath, 'latin1')).length;
      rel();
    };
    await ic.stop();
    assert.deepEqual(f.events.slice(before), ['release 1001']);
    assert.equal(blockAtRelease, 0, 'the block was removed before the watchdog was released');
    assert.equal(readFileSync(hostsPath, 'latin1'), BASE);
    assert.equal(ic.watchdogPid, undefined);
    assert.deepEqual(await ic.verify(), { listener: 'off', block: 'off', watchdog: 'none', dns: 'off' });
  } finally {
    await ic.stop().catch(() => {});
    await t.stop();
  }
});

test('Interceptor: through the helper (elevated) the block is applied with watch, no pipe here; a scratch hosts file gets no watchdog by default', async () => {
  const t = await startCore(`intercept_hosts = ["api.anthropic.com"]\n[daemon]\nlisten = "127.0.67.1:443"\nupstream_dns = ["127.0.0.1:5353"]\n`);
  const hostsPath = join(t.home, 'hosts');
  writeFileSync(hostsPath, BASE);
  ensureCa(t.home, ['api.anthropic.com']);
  const f = fakeSpawner();
  // privileged: true stands in for an approved prompt (the helper's operation runs in this process).
  const ic = new Interceptor(t.core, { hostsPath, bind: '127.0.0.1:0', elevate: { privileged: true, context: { spawnWatchdog: f.spawner } }, watchdog: {} });
  try {
    await ic.start();
    assert.equal(f.spawned.length, 1);
    assert.deepEqual(f.spawned[0]!.args, { owner: { pid: process.pid, ...(process.platform === 'linux' ? { start: f.spawned[0]!.args.owner.start } : {}) }, pipe: false });
    assert.equal(ic.watchdogPid, 1000);
    // verify() finds all well, starts no second watchdog, and leaves configured name servers alone.
    assert.deepEqual(await ic.verify(), { listener: 'ok', block: 'ok', watchdog: 'elevated', dns: 'configured' });
    assert.equal(f.spawned.length, 1);
    await ic.stop();
    assert.equal(readFileSync(hostsPath, 'latin1'), BASE);
    assert.equal(ic.watchdogPid, undefined);
  } finally {
    await ic.stop().catch(() => {});
  }
  const plain = new Interceptor(t.core, { hostsPath, bind: '127.0.0.1:0' });
  try {
    await plain.start();
    assert.equal(plain.watchdogPid, undefined, 'the watchdog only ever guards the OS hosts file');
  } finally {
    await plain.stop();
    await t.stop();
  }
});

test('a watchdog whose command cannot start shows as not running (verify() starts another)', async () => {
  const w = spawnWatchdog({ execPath: join(tmpdir(), 'r67-no-such-binary'), args: [] }, { owner: { pid: process.pid }, pipe: true });
  await new Promise((r) => w.child.once('error', r));
  assert.equal(w.running, false);
  w.release();
});
