// Linux: the client's socket in /proc/net/tcp{,6} (its local address is the connection's remote one) gives its inode
// and owner; the process holding that inode is found in /proc/<pid>/fd. All reads are asynchronous (the event loop
// keeps serving between short synchronous slices: on a busy machine a thread-pool round trip per read costs far
// more than the read), and processes that held a client before are looked at first.
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import type { ProcInfo } from './name.js';
import type { ConnectionAddress } from './lookup.js';

/** "0100007F:1A0B" (little-endian IPv4 words as /proc prints them) → ["127.0.0.1", 6667]; IPv6 likewise. */
export function decodeProcAddress(hex: string): [string, number] {
  const [a, p] = hex.split(':') as [string, string];
  const port = parseInt(p, 16);
  const words: number[] = [];
  for (let i = 0; i < a.length; i += 8) {
    const w = a.slice(i, i + 8);
    // each 32-bit word is in host order (little-endian on every platform Node runs Linux on)
    for (let j = 6; j >= 0; j -= 2) words.push(parseInt(w.slice(j, j + 2), 16));
  }
  if (words.length === 4) return [words.join('.'), port];
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((words[i]! << 8) | words[i + 1]!).toString(16));
  return [normalizeIp(groups.join(':')), port];
}

/** "::ffff:127.0.0.1" and its long forms → "127.0.0.1"; IPv6 in the shortest lower-case form. */
export function normalizeIp(ip: string): string {
  const v4 = /^(?:0{1,4}:){5}ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip) ?? /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (v4) return v4[1]!;
  const mapped = /^(?:0{1,4}:){5}ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(ip);
  if (mapped) {
    const a = parseInt(mapped[1]!, 16);
    const b = parseInt(mapped[2]!, 16);
    return `${a >> 8}.${a & 255}.${b >> 8}.${b & 255}`;
  }
  if (!ip.includes(':')) return ip;
  // expand, then compress the longest run of zero groups
  const [head, tail] = ip.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const full = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const g = full.map((x) => parseInt(x, 16).toString(16));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === '0') j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  if (best < 0) return g.join(':');
  return `${g.slice(0, best).join(':')}::${g.slice(best + bestLen).join(':')}`;
}

/** The client's socket: established, local end = the connection's remote end; prefers the remote end = ours. */
export function findSocket(table: string, conn: ConnectionAddress): { inode: number; uid: number } | undefined {
  const want = normalizeIp(conn.remoteAddress);
  let fallback: { inode: number; uid: number } | undefined;
  for (const line of table.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || f[3] !== '01') continue; // 01 = ESTABLISHED
    const [lip, lport] = decodeProcAddress(f[1]!);
    if (lport !== conn.remotePort || lip !== want) continue;
    const found = { inode: Number(f[9]), uid: Number(f[7]) };
    if (!found.inode) continue;
    const [rip, rport] = decodeProcAddress(f[2]!);
    if (rport === conn.localPort && rip === normalizeIp(conn.localAddress)) return found;
    fallback ??= found; // the connection was redirected (nftables): the client still sees the address it dialled
  }
  return fallback;
}

/** Pids that held a client recently: looked at first next time. */
const recent: number[] = [];

function remember(pid: number): void {
  const i = recent.indexOf(pid);
  if (i >= 0) recent.splice(i, 1);
  recent.unshift(pid);
  if (recent.length > 16) recent.pop();
}

/**
 * Whether a process holds the socket. Its fd links are read synchronously: one process at a time is a short
 * slice (well under a millisecond for most), far cheaper than a thread-pool round trip per link; the caller
 * yields to the event loop between slices.
 */
function holds(pid: number, link: string, proc: string): boolean {
  let fds: string[];
  try {
    fds = readdirSync(`${proc}/${pid}/fd`);
  } catch {
    return false; // gone, or another user's
  }
  for (const fd of fds) {
    try {
      if (readlinkSync(`${proc}/${pid}/fd/${fd}`) === link) return true;
    } catch {
      /* closed meanwhile */
    }
  }
  return false;
}

const yieldNow = () => new Promise<void>((r) => setImmediate(r));

function readOr<T>(read: () => T, fallback: T): T {
  try {
    return read();
  } catch {
    return fallback;
  }
}

export interface LinuxOptions {
  /** The proc file system (tests: a fake tree). */
  proc?: string;
  /** Gives up (undefined) when this signal aborts. */
  signal?: AbortSignal;
}

/** The process at the other end of a loopback connection to this one, or undefined. */
export async function lookupLinux(conn: ConnectionAddress, opts: LinuxOptions = {}): Promise<ProcInfo | undefined> {
  const proc = opts.proc ?? '/proc';
  const v6 = conn.remoteAddress.includes(':') && !/^::ffff:\d/i.test(conn.remoteAddress);
  const files = v6 ? ['tcp6'] : ['tcp', 'tcp6'];
  let sock: { inode: number; uid: number } | undefined;
  for (const f of files) {
    const table = readOr(() => readFileSync(`${proc}/net/${f}`, 'latin1'), '');
    sock = findSocket(table, conn);
    if (sock) break;
  }
  if (!sock) return undefined;
  const link = `socket:[${sock.inode}]`;
  let found: number | undefined;
  await yieldNow();
  // the socket's owner is the process's: other users' processes are never opened. Newest process first (a
  // /proc/<pid> entry's ctime is about its start): a client usually started after the processes around it.
  const owned: { pid: number; started: number }[] = [];
  for (const name of readOr(() => readdirSync(proc), [] as string[])) {
    if (!/^\d+$/.test(name)) continue;
    const st = readOr(() => statSync(`${proc}/${name}`), undefined);
    if (st && st.uid === sock.uid) owned.push({ pid: Number(name), started: st.ctimeMs });
  }
  owned.sort((a, b) => b.started - a.started);
  // processes that held a client before come first
  const candidates = [...recent.filter((pid) => owned.some((o) => o.pid === pid)), ...owned.map((o) => o.pid).filter((pid) => !recent.includes(pid))];
  let slice = performance.now();
  for (const pid of candidates) {
    if (opts.signal?.aborted) return undefined;
    if (holds(pid, link, proc)) {
      found = pid;
      break;
    }
    if (performance.now() - slice > 2) {
      await yieldNow(); // let requests through between slices of about 2 ms
      slice = performance.now();
    }
  }
  if (found !== undefined) {
    const pid = found;
    remember(pid);
    const exe = readOr(() => readlinkSync(`${proc}/${pid}/exe`), '');
    const cmdline = readOr(() => readFileSync(`${proc}/${pid}/cmdline`, 'utf8'), '');
    const argv = cmdline ? cmdline.replace(/\0$/, '').split('\0') : [];
    const comm = exe ? '' : readOr(() => readFileSync(`${proc}/${pid}/comm`, 'utf8'), '').trim();
    return { pid, exe: exe.replace(/ \(deleted\)$/, '') || comm, argv };
  }
  return undefined;
}
