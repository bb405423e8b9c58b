// The Linux lookup's cheap paths on a fake /proc tree: the table searched in chunks (a row split across reads,
// IPv6 and IPv4-mapped rows, the connection's own row already closing), the processes that held a client looked at
// first (and what happens when they no longer hold it, or their pid is another program's now), one table read for
// lookups started together.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clientNeedles, findSocket, findSocketIn, LinuxProcs, procAddress } from '../../main/procinfo/linux.js';
import { AppLookup, type ConnectionAddress } from '../../main/procinfo/lookup.js';

const uid = process.getuid!();
const HEAD4 = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
const HEAD6 = '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';

/** A table row as the kernel prints it (local and remote as /proc prints them). */
const row = (sl: number, local: string, remote: string, st: string, inode: number, u = uid) =>
  `${String(sl).padStart(4)}: ${local} ${remote} ${st} 00000000:00000000 00:00000000 00000000 ${String(u).padStart(5)}        0 ${inode} 1 0000000000000000 20 4 30 10 -1\n`;
const v4 = (ip: string, port: number) => procAddress(ip.split('.').map(Number), port);
/** `n` TIME_WAIT rows of other connections (inode 0), as a table holds after a load. */
const noise = (n: number, from = 0) => Array.from({ length: n }, (_, i) => row(from + i, v4('127.0.0.1', 20000 + i), v4('127.0.0.1', 6767), '06', 0)).join('');

const conn = (remotePort: number, over: Partial<ConnectionAddress> = {}): ConnectionAddress => ({ remoteAddress: '127.0.0.1', remotePort, localAddress: '127.0.0.1', localPort: 6767, ...over });

/** A fake /proc: tables, and processes with fd links, exe, cmdline and a stat with their start time. */
class FakeProc {
  readonly root = mkdtempSync(join(tmpdir(), 'r67-proc-'));
  constructor() {
    mkdirSync(join(this.root, 'net'));
    this.tables(HEAD4, HEAD6);
  }
  tables(tcp: string, tcp6: string): void {
    writeFileSync(join(this.root, 'net', 'tcp'), tcp);
    writeFileSync(join(this.root, 'net', 'tcp6'), tcp6);
  }
  process(pid: number, start: number, exe: string, argv: string[], links: string[]): void {
    const dir = join(this.root, String(pid));
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(join(dir, 'fd'), { recursive: true });
    links.forEach((l, i) => symlinkSync(l, join(dir, 'fd', String(i))));
    symlinkSync(exe, join(dir, 'exe'));
    writeFileSync(join(dir, 'cmdline'), `${argv.join('\0')}\0`);
    writeFileSync(join(dir, 'stat'), `${pid} (${exe.split('/').pop()}) S 1 ${pid} ${pid} 0 -1 4194304 100 0 0 0 1 2 0 0 20 0 1 0 ${start} 1000000 100\n`);
  }
  link(pid: number, fd: number, to: string | undefined): void {
    const p = join(this.root, String(pid), 'fd', String(fd));
    rmSync(p, { force: true });
    if (to) symlinkSync(to, p);
  }
  exit(pid: number): void {
    rmSync(join(this.root, String(pid)), { recursive: true, force: true });
  }
  close(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

test('Linux table search: the needle is the client address:port as /proc prints it; IPv6 and IPv4-mapped forms', () => {
  assert.equal(procAddress([127, 0, 0, 1], 51234), '0100007F:C822');
  assert.deepEqual(clientNeedles(conn(51234), 'tcp'), ['0100007F:C822']);
  assert.deepEqual(clientNeedles(conn(51234), 'tcp6'), ['0000000000000000FFFF00000100007F:C822']);
  assert.deepEqual(clientNeedles(conn(51234, { remoteAddress: '::ffff:127.0.0.1' }), 'tcp'), ['0100007F:C822']);
  assert.deepEqual(clientNeedles(conn(51234, { remoteAddress: '::1' }), 'tcp6'), ['00000000000000000000000001000000:C822']);
  assert.deepEqual(clientNeedles(conn(51234, { remoteAddress: '::1' }), 'tcp'), []);
  assert.deepEqual(clientNeedles(conn(51234, { remoteAddress: 'not-an-ip' })), []);
});

test('Linux table search: a row split across two reads is found wherever the cut falls; reading stops at the row', async () => {
  const proc = new FakeProc();
  try {
    const target = row(2, '0100007F:C822', '0100007F:1A6F', '01', 7777);
    const tcp = HEAD4 + noise(2) + target + noise(400, 3);
    proc.tables(tcp, HEAD6);
    assert.deepEqual(findSocket(tcp, conn(51234)), { inode: 7777, uid });
    const at = tcp.indexOf(target);
    assert.ok(at > 256, 'the first read (at least 256 bytes) ends inside or after the row');
    // the first read ends at byte `chunk`: every offset of the row, and its line end, are a cut
    for (let chunk = at; chunk <= at + target.length + 1; chunk++) assert.deepEqual(findSocketIn(proc.root, conn(51234), chunk), { inode: 7777, uid }, `chunk ${chunk}`);
    // and in the middle of a long table, at other sizes
    const mid = HEAD4 + noise(300) + row(300, '0100007F:C822', '0100007F:1A6F', '01', 7777) + noise(300, 301);
    proc.tables(mid, HEAD6);
    for (const chunk of [300, 1000, 4096, 65536, 1 << 20]) assert.deepEqual(findSocketIn(proc.root, conn(51234), chunk), { inode: 7777, uid }, `chunk ${chunk}`);
    // the reading stopped at the row: the 300 rows after it were not read
    const lp = new LinuxProcs({ proc: proc.root, chunkBytes: 4096 });
    assert.deepEqual(await lp.socket(conn(51234)), { inode: 7777, uid });
    assert.ok(lp.stats.tableBytes < mid.indexOf('0100007F:C822') + 4096 + 256, `read ${lp.stats.tableBytes} of ${mid.length} bytes`);
    assert.equal(findSocketIn(proc.root, conn(51235), 300), undefined, 'no row: both tables read to the end, nothing found');
  } finally {
    proc.close();
  }
});

test('Linux table search: IPv6 and IPv4-mapped rows in tcp6; a redirected row only when there is no exact one; a closing row is nobody', () => {
  const proc = new FakeProc();
  try {
    const mapped = (ip: string, port: number) => procAddress([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, ...ip.split('.').map(Number)], port);
    const six = (port: number) => procAddress([...Array(15).fill(0), 1], port);
    proc.tables(
      HEAD4 + noise(50),
      HEAD6 +
        row(0, six(6767), six(40001), '01', 100) +
        row(1, six(40001), six(6767), '01', 101) +
        row(2, mapped('127.0.0.1', 40002), mapped('127.0.0.1', 6767), '01', 102),
    );
    // an IPv6 client (the server sees ::1)
    assert.deepEqual(findSocketIn(proc.root, conn(40001, { remoteAddress: '::1', localAddress: '::1' }), 64), { inode: 101, uid });
    // an IPv4 client on an IPv6 socket: not in tcp, IPv4-mapped in tcp6 (the server sees either form)
    assert.deepEqual(findSocketIn(proc.root, conn(40002), 64), { inode: 102, uid });
    assert.deepEqual(findSocketIn(proc.root, conn(40002, { remoteAddress: '::ffff:127.0.0.1', localAddress: '::ffff:127.0.0.1' }), 64), { inode: 102, uid });
    // redirected: the client's row names the address it dialled; taken only when no row has our end
    const redirected = row(0, '0100007F:9C43', '0143007F:01BB', '01', 200);
    proc.tables(HEAD4 + redirected + noise(20) + row(30, '0100007F:9C43', '0100007F:1A6F', '01', 201), HEAD6);
    assert.deepEqual(findSocketIn(proc.root, conn(40003), 300), { inode: 201, uid });
    proc.tables(HEAD4 + redirected + noise(20), HEAD6);
    assert.deepEqual(findSocketIn(proc.root, conn(40003), 300), { inode: 200, uid });
    // the connection's own row no longer established (the client closed): nobody holds it, nothing else is taken
    proc.tables(HEAD4 + redirected + row(21, '0100007F:9C43', '0100007F:1A6F', '06', 0) + noise(20), HEAD6);
    assert.equal(findSocketIn(proc.root, conn(40003), 300), undefined);
  } finally {
    proc.close();
  }
});

test('Linux lookup: a known client is found without a scan; one that no longer holds the socket falls back to the scan', async () => {
  const proc = new FakeProc();
  try {
    proc.tables(HEAD4 + noise(30) + row(30, '0100007F:C822', '0100007F:1A6F', '01', 3333) + row(31, '0100007F:C823', '0100007F:1A6F', '01', 3334), HEAD6);
    proc.process(10, 500, '/usr/bin/bash', ['bash'], ['/dev/null', 'pipe:[1]']);
    proc.process(42, 1000, '/usr/bin/python3.12', ['python3', '/home/u/agent.py'], ['/dev/null', 'pipe:[9]', 'socket:[3333]']);
    const lp = new LinuxProcs({ proc: proc.root, chunkBytes: 512 });
    assert.deepEqual(await lp.lookup(conn(51234)), { pid: 42, exe: '/usr/bin/python3.12', argv: ['python3', '/home/u/agent.py'] });
    assert.deepEqual([lp.stats.scanned, lp.stats.known], [1, 0]);
    assert.deepEqual(lp.knownPids(), [42]);

    // a second connection of the same process on a new fd: found through the known process, no scan (a scan
    // would name the decoy: it holds the socket too, and is newer)
    proc.link(42, 3, 'socket:[3334]');
    proc.process(90, 1500, '/usr/bin/decoy', ['decoy'], ['socket:[3334]']);
    assert.equal((await lp.lookup(conn(51235)))?.pid, 42);
    assert.deepEqual([lp.stats.scanned, lp.stats.known], [1, 1]);

    // the fd number that held a client now holds a file, the new connection is another process's: not the known one
    proc.link(42, 2, '/tmp/x.log');
    proc.link(42, 3, undefined);
    proc.tables(HEAD4 + row(0, '0100007F:C824', '0100007F:1A6F', '01', 5555) + noise(30, 1), HEAD6);
    proc.process(77, 2000, '/usr/bin/node', ['node', '/home/u/batch.js'], ['/dev/null', 'socket:[5555]']);
    assert.deepEqual(await lp.lookup(conn(51236)), { pid: 77, exe: '/usr/bin/node', argv: ['node', '/home/u/batch.js'] });
    assert.deepEqual([lp.stats.scanned, lp.stats.known], [2, 1]);
    assert.deepEqual(lp.knownPids(), [77, 42]);

    // the known ones do not hold it and the client has closed by the second look: nobody, and no scan
    const lp2 = new LinuxProcs({ proc: proc.root });
    assert.equal((await lp2.lookup(conn(51236)))?.pid, 77);
    proc.link(77, 1, undefined);
    proc.process(78, 2100, '/usr/bin/node', ['node', 'decoy.js'], ['socket:[5555]']); // would be found by a scan
    const tables = HEAD4 + row(0, '0100007F:C824', '0100007F:1A6F', '01', 5555);
    proc.tables(tables, HEAD6);
    // the first look sees the row established; the second (after the known ones missed) sees it closing
    let reads = 0;
    const real = lp2.socket.bind(lp2);
    lp2.socket = async (c) => {
      if (reads++ === 1) proc.tables(HEAD4 + row(0, '0100007F:C824', '0100007F:1A6F', '06', 0), HEAD6);
      return real(c);
    };
    assert.equal(await lp2.lookup(conn(51236)), undefined);
    assert.deepEqual([lp2.stats.gone, lp2.stats.scanned], [1, 1]);
  } finally {
    proc.close();
  }
});

test('Linux lookup: a pid reused by another program is that program (not the one remembered); an exited one is forgotten', async () => {
  const proc = new FakeProc();
  try {
    proc.tables(HEAD4 + row(0, '0100007F:C822', '0100007F:1A6F', '01', 3333), HEAD6);
    proc.process(42, 1000, '/usr/bin/python3.12', ['python3', '/home/u/agent.py'], ['/dev/null', 'socket:[3333]']);
    const lp = new LinuxProcs({ proc: proc.root });
    assert.equal((await lp.lookup(conn(51234)))?.exe, '/usr/bin/python3.12');

    // pid 42 exits; the pid is reused by curl, which holds the new connection on the same fd number
    proc.process(42, 5000, '/usr/bin/curl', ['curl', '-s', 'http://127.0.0.1:6767'], ['/dev/null', 'socket:[4444]']);
    proc.tables(HEAD4 + row(0, '0100007F:C823', '0100007F:1A6F', '01', 4444), HEAD6);
    assert.deepEqual(await lp.lookup(conn(51235)), { pid: 42, exe: '/usr/bin/curl', argv: ['curl', '-s', 'http://127.0.0.1:6767'] });
    assert.deepEqual([lp.stats.scanned, lp.stats.known], [2, 0], 'the remembered process was dropped (another start time): found by the scan');

    // reused again by a program that does not hold the new socket; another process does
    proc.process(42, 6000, '/usr/bin/python3.12', ['python3', '/home/u/agent.py'], ['/dev/null', 'socket:[4444]']);
    proc.process(50, 6100, '/usr/bin/node', ['node', '/home/u/batch.js'], ['socket:[5555]']);
    proc.tables(HEAD4 + row(0, '0100007F:C824', '0100007F:1A6F', '01', 5555), HEAD6);
    assert.equal((await lp.lookup(conn(51236)))?.pid, 50);
    assert.deepEqual(lp.knownPids(), [50]);

    // pid 50 exits: forgotten at the next lookup
    proc.exit(50);
    proc.link(42, 1, 'socket:[6666]');
    proc.tables(HEAD4 + row(0, '0100007F:C825', '0100007F:1A6F', '01', 6666), HEAD6);
    assert.equal((await lp.lookup(conn(51237)))?.pid, 42);
    assert.deepEqual(lp.knownPids(), [42]);
  } finally {
    proc.close();
  }
});

test('Linux lookup: lookups started together share one read of the tables', async () => {
  const proc = new FakeProc();
  try {
    proc.tables(HEAD4 + noise(40) + row(40, '0100007F:C822', '0100007F:1A6F', '01', 3333) + row(41, '0100007F:C823', '0100007F:1A6F', '01', 3334), HEAD6);
    proc.process(42, 1000, '/usr/bin/python3.12', ['python3', '/home/u/agent.py'], ['socket:[3333]', 'socket:[3334]']);
    const lp = new LinuxProcs({ proc: proc.root, chunkBytes: 512 });
    const [a, b, c] = await Promise.all([lp.lookup(conn(51234)), lp.lookup(conn(51235)), lp.lookup(conn(51299))]);
    assert.deepEqual([a?.pid, b?.pid, c], [42, 42, undefined]);
    assert.equal(lp.stats.tableReads, 1);
  } finally {
    proc.close();
  }
});

test('Linux table search, redirect mode: the row showing the dialled address is exact and the reading stops there; closed; unknown dialled address → fallback after the whole table', async () => {
  const proc = new FakeProc();
  try {
    // the listener accepts on 127.0.67.1:8443; the client dialled 127.0.67.1:443 (nftables dnat) and its row shows that
    const dialled = { dialledAddress: '127.0.67.1', dialledPort: 443 };
    const accepted = (port: number, over: Partial<ConnectionAddress> = {}) => conn(port, { localAddress: '127.0.67.1', localPort: 8443, ...over });
    const client = row(300, v4('127.0.0.1', 40003), v4('127.0.67.1', 443), '01', 200);
    const tcp = HEAD4 + noise(300) + client + noise(300, 301);
    proc.tables(tcp, HEAD6);
    const at = tcp.indexOf(client);

    const known = { bytes: 0 };
    assert.deepEqual(findSocketIn(proc.root, accepted(40003, dialled), 4096, known), { inode: 200, uid });
    assert.ok(known.bytes < at + 4096 + 256, `dialled address known: read ${known.bytes} of ${tcp.length} bytes (the row is at ${at})`);
    const unknown = { bytes: 0 };
    assert.deepEqual(findSocketIn(proc.root, accepted(40003), 4096, unknown), { inode: 200, uid }, 'unknown: the fallback, as before');
    assert.equal(unknown.bytes, tcp.length, 'unknown: the table read to the end (tcp6 not: the fallback is in tcp)');
    // a row of the client's to another address (same source port) is not the exact one; the dialled one after it is
    proc.tables(HEAD4 + row(0, v4('127.0.0.1', 40003), v4('127.0.0.9', 443), '01', 199) + noise(20, 1) + client, HEAD6);
    assert.deepEqual(findSocketIn(proc.root, accepted(40003, dialled), 300), { inode: 200, uid });
    assert.deepEqual(findSocketIn(proc.root, accepted(40003), 300), { inode: 199, uid }, 'unknown: the first redirected-looking row');
    // REDIRECT may make our socket's local address 127.0.0.1: the client's row still shows what it dialled
    assert.deepEqual(findSocketIn(proc.root, accepted(40003, { ...dialled, localAddress: '127.0.0.1' }), 300), { inode: 200, uid });
    // an IPv4 client on an IPv6 socket: the dialled address IPv4-mapped in tcp6
    const mapped = (ip: string, port: number) => procAddress([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, ...ip.split('.').map(Number)], port);
    proc.tables(HEAD4 + noise(20), HEAD6 + row(0, mapped('127.0.0.1', 40004), mapped('127.0.67.1', 443), '01', 300));
    assert.deepEqual(findSocketIn(proc.root, accepted(40004, dialled), 300), { inode: 300, uid });

    // closed: the client's row to the dialled address no longer established → nobody; the reading stops there too
    const closing = row(300, v4('127.0.0.1', 40003), v4('127.0.67.1', 443), '06', 0);
    const other = row(0, v4('127.0.0.1', 40003), v4('127.0.0.9', 443), '01', 199);
    const tcpClosed = HEAD4 + other + noise(299, 1) + closing + noise(300, 301);
    proc.tables(tcpClosed, HEAD6);
    const closed = { bytes: 0 };
    assert.equal(findSocketIn(proc.root, accepted(40003, dialled), 4096, closed), undefined);
    assert.ok(closed.bytes < tcpClosed.indexOf(closing) + 4096 + 256, `closed: read ${closed.bytes} of ${tcpClosed.length} bytes`);
    // without the dialled address the closing row is not recognised: the other row is taken (the old behaviour)
    assert.deepEqual(findSocketIn(proc.root, accepted(40003), 4096), { inode: 199, uid });
  } finally {
    proc.close();
  }
});

test('AppLookup in redirect mode: told where the listener accepts what clients dial, finds the row exactly; forgotten when cleared', async () => {
  const proc = new FakeProc();
  try {
    const tcp = HEAD4 + noise(1000) + row(1000, v4('127.0.0.1', 40010), v4('127.0.67.1', 443), '01', 4010) + row(1001, v4('127.0.0.1', 40011), v4('127.0.67.1', 443), '01', 4011) + noise(1000, 1002);
    proc.tables(tcp, HEAD6);
    proc.process(42, 1000, '/usr/bin/python3.12', ['python3', '/home/u/agent.py'], ['socket:[4010]', 'socket:[4011]', 'socket:[4012]']);
    const apps = new AppLookup({ platform: 'linux', proc: proc.root });
    apps.redirect({ address: '127.0.67.1', port: 8443 }, { address: '127.0.67.1', port: 443 });
    const sock = (port: number, localAddress = '127.0.67.1') => ({ remoteAddress: '127.0.0.1', remotePort: port, localAddress, localPort: 8443 });
    assert.equal((await apps.lookup(sock(40010)))?.pid, 42);
    const lp = apps.linux!;
    assert.deepEqual([lp.stats.dialled, lp.stats.fallbacks], [1, 0]);
    assert.ok(lp.stats.tableBytes < tcp.indexOf('0100007F:9C4A') + 65536 + 256, `read ${lp.stats.tableBytes} of ${tcp.length} bytes`);
    // a connection accepted elsewhere (the plain endpoint) is not taken for a redirected one
    assert.equal((await apps.lookup({ remoteAddress: '127.0.0.1', remotePort: 40011, localAddress: '127.0.0.1', localPort: 6767 }))?.pid, 42);
    assert.deepEqual([lp.stats.dialled, lp.stats.fallbacks], [1, 1]);
    // interception stopped: forgotten
    apps.redirect({ address: '127.0.67.1', port: 8443 }, undefined);
    const before = lp.stats.tableBytes;
    assert.equal((await apps.lookup(sock(40011)))?.pid, 42);
    assert.deepEqual([lp.stats.dialled, lp.stats.fallbacks], [1, 2]);
    assert.equal(lp.stats.tableBytes - before, tcp.length, 'the whole table read');
    // a listener on every address matches by port
    apps.redirect({ address: '0.0.0.0', port: 8443 }, { address: '127.0.67.1', port: 443 });
    assert.equal((await apps.lookup(sock(40011, '127.0.0.1')))?.pid, 42);
    assert.deepEqual([lp.stats.dialled, lp.stats.fallbacks], [2, 2]);
  } finally {
    proc.close();
  }
});
