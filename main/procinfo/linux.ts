// Linux: the client's socket in /proc/net/tcp{,6} (its local address is the connection's remote one) gives its inode
// and owner; the process holding that inode is found in /proc/<pid>/fd. Reads are synchronous, in short slices with
// the event loop served in between (on a busy machine a thread-pool round trip per read costs far more than the
// read). What makes it cheap (LinuxProcs, one per AppLookup):
// - the table is searched for the client's "address:port" as /proc prints it, read in chunks, and the reading stops
//   at the row (or at the connection's own row no longer established: the client closed it). The row's remote end
//   is ours, or behind a redirect rule the address the client dialled, which the interceptor tells AppLookup (without
//   it a redirected row is only taken once the whole table is read). No line is split or
//   decoded but the rows that match. The kernel producing the table is the lookup's largest cost: it walks its
//   whole connection hash table (262,144 buckets on a machine with a few GB) and prints every TIME_WAIT socket, so
//   reading half of it on average instead of all of both tables is most of the saving; lookups started in the same
//   turn of the event loop share one read;
// - processes that held a client before (their start time checked, so a reused pid is another process) are looked
//   at first, their fds in the order most likely to hold the new socket (new fd numbers, fds that held a client,
//   fds that were sockets) — every link read afresh, the cache only orders them;
// - only when none of them holds it is the table read again (a client that already closed its end holds nothing:
//   no process-wide scan) and then every process of the socket's owner looked at, newest first.
import { closeSync, openSync, readdirSync, readFileSync, readlinkSync, readSync, statSync } from 'node:fs';
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
  const g = ipv6Groups(ip).map((x) => parseInt(x, 16).toString(16));
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

/** An IPv6 address's groups as written, "::" expanded to the zero groups it stands for. */
function ipv6Groups(ip: string): string[] {
  const [head, tail] = ip.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  return tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
}

/** An address's bytes: 4 for IPv4 (and IPv4-mapped IPv6), 16 for IPv6; undefined when it is not an address. */
export function ipBytes(ip: string): number[] | undefined {
  const n = normalizeIp(ip);
  if (!n.includes(':')) {
    const p = n.split('.').map((x) => (/^\d{1,3}$/.test(x) ? Number(x) : NaN));
    return p.length === 4 && p.every((x) => x <= 255) ? p : undefined;
  }
  const groups = ipv6Groups(n);
  if (groups.length !== 8 || !groups.every((g) => /^[0-9a-f]{1,4}$/i.test(g))) return undefined;
  return groups.flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 255]);
}

const hex2 = (b: number) => b.toString(16).toUpperCase().padStart(2, '0');

/** An address and port as /proc/net/tcp{,6} prints them: each 32-bit word in host (little-endian) order, upper case. */
export function procAddress(bytes: number[], port: number): string {
  let a = '';
  for (let i = 0; i < bytes.length; i += 4) a += hex2(bytes[i + 3]!) + hex2(bytes[i + 2]!) + hex2(bytes[i + 1]!) + hex2(bytes[i]!);
  return `${a}:${port.toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * What the client's local address looks like in a table: /proc/net/tcp has IPv4 sockets, tcp6 IPv6 ones (an IPv4
 * client on an IPv6 socket appears there IPv4-mapped). `table` undefined: either form (a table of unknown kind).
 */
export function clientNeedles(conn: ConnectionAddress, table?: 'tcp' | 'tcp6'): string[] {
  const b = ipBytes(conn.remoteAddress);
  if (!b || !(conn.remotePort > 0 && conn.remotePort < 65536)) return [];
  const forms = b.length === 4 ? [...(table !== 'tcp6' ? [b] : []), ...(table !== 'tcp' ? [[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, ...b]] : [])] : table === 'tcp' ? [] : [b];
  return forms.map((f) => procAddress(f, conn.remotePort));
}

export interface SocketRow {
  inode: number;
  uid: number;
}

/** One connection's search through the tables. */
export interface SocketSearch {
  conn: ConnectionAddress;
  /** Its client address:port as the table being read prints it (clientNeedles). */
  needles: string[];
  /** The needles as searched for in the bytes read. */
  patterns?: Buffer[];
  /** Our end and (behind a redirect rule) the address the client dialled, as the client's row shows them. */
  ends?: [string, number][];
  /** The row whose remote end is ours, or the address the client dialled (conn.dialledAddress:dialledPort). */
  exact?: SocketRow;
  /** The exact row was found by the dialled address (a redirected connection). */
  dialled?: boolean;
  /** The first established row from the client's address whose remote end is another (a redirected connection). */
  fallback?: SocketRow;
  /** The exact row is no longer established: the client closed its end, no process holds it. */
  closed?: boolean;
}

const settled = (s: SocketSearch) => s.exact !== undefined || s.closed === true;

/** The search's answer: the exact row, else (unless the client closed) the redirected one. */
export const foundRow = (s: SocketSearch): SocketRow | undefined => s.exact ?? (s.closed ? undefined : s.fallback);

/**
 * The remote ends that make a socket of the client's the one of this connection: ours, then (behind a redirect
 * rule) the address it dialled when known. Linux's rows and macOS's lsof lines are both matched against these.
 */
export function connEnds(c: ConnectionAddress): [string, number][] {
  const ends: [string, number][] = [[normalizeIp(c.localAddress), c.localPort]];
  if (c.dialledAddress && c.dialledPort) ends.push([normalizeIp(c.dialledAddress), c.dialledPort]);
  return ends;
}

/** Goes through the rows of `region` (whole lines) whose local address is one of a search's needles, in table order. */
function searchRegion(region: Buffer, searches: SocketSearch[]): void {
  for (const s of searches) {
    if (settled(s)) continue;
    const hits: [number, string][] = [];
    s.patterns ??= s.needles.map((n) => Buffer.from(`: ${n} `, 'latin1')); // "   7: 0100007F:C822 0100007F:1A6F 01 …": only the local address follows ": "
    s.ends ??= connEnds(s.conn);
    s.patterns.forEach((pat, i) => {
      for (let at = region.indexOf(pat); at >= 0; at = region.indexOf(pat, at + pat.length)) hits.push([at, s.needles[i]!]);
    });
    if (hits.length > 1) hits.sort((x, y) => x[0] - y[0]);
    for (const [at, needle] of hits) {
      const end = region.indexOf(10, at);
      const f = region.toString('latin1', region.lastIndexOf(10, at) + 1, end < 0 ? region.length : end).trim().split(/\s+/);
      if (f.length < 10 || f[1] !== needle) continue;
      const [rip, rport] = decodeProcAddress(f[2]!);
      const which = s.ends.findIndex(([ip, port]) => rport === port && rip === ip);
      const exact = which >= 0;
      const inode = Number(f[9]);
      if (f[3] !== '01' || !inode) {
        // 01 = ESTABLISHED; the connection's own row in another state (FIN_WAIT, TIME_WAIT…): the client has closed
        if (!exact) continue;
        s.closed = true;
        break;
      }
      const row = { inode, uid: Number(f[7]) };
      if (exact) {
        s.exact = row;
        if (which > 0) s.dialled = true;
        break;
      }
      s.fallback ??= row; // redirected (nftables) with the dialled address unknown: the client still sees the address it dialled
    }
  }
}

/** The client's socket: established, local end = the connection's remote end; prefers the remote end = ours (or the dialled address). */
export function findSocket(table: string, conn: ConnectionAddress): SocketRow | undefined {
  const s: SocketSearch = { conn, needles: clientNeedles(conn) };
  searchRegion(Buffer.from(table, 'latin1'), [s]);
  return foundRow(s);
}

/**
 * Searches a table file for several connections at once, read in chunks of `chunk` bytes; stops reading once every
 * search is settled (its row found, or found closed). A redirected connection's row is exact when the address the
 * client dialled is known (conn.dialledAddress); otherwise it is only taken once the whole table is read. A row split across two reads is carried over whole. Bytes read are added to `count`.
 */
export function searchTableFile(path: string, searches: SocketSearch[], chunk = 65536, count?: { bytes: number }): void {
  if (searches.every(settled)) return;
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return;
  }
  try {
    let buf = Buffer.allocUnsafe(Math.max(chunk, 256));
    let have = 0; // bytes at the start of buf: a partial line carried over
    for (;;) {
      if (have === buf.length) buf = Buffer.concat([buf, Buffer.allocUnsafe(buf.length)]); // a line longer than the buffer
      const n = readSync(fd, buf, have, buf.length - have, null);
      if (count) count.bytes += n;
      const end = have + n;
      const cut = n === 0 ? end : buf.lastIndexOf(10, end - 1) + 1; // whole lines, unless the file ended
      if (cut > 0) {
        searchRegion(buf.subarray(0, cut), searches);
        if (searches.every(settled)) return;
        buf.copy(buf, 0, cut, end);
      }
      have = end - cut;
      if (n === 0) return;
    }
  } catch {
    /* unreadable: what was found stands */
  } finally {
    closeSync(fd);
  }
}

/** One connection's socket row in the tables of a proc tree: tcp then tcp6 for IPv4 (an IPv6 socket may hold an IPv4-mapped address), tcp6 for IPv6. */
export function findSocketIn(proc: string, conn: ConnectionAddress, chunk?: number, count?: { bytes: number }): SocketRow | undefined {
  return foundRow(searchTables(proc, [conn], chunk, count)[0]!);
}

function searchTables(proc: string, conns: ConnectionAddress[], chunk?: number, count?: { bytes: number }): SocketSearch[] {
  const all = conns.map((conn): SocketSearch => ({ conn, needles: [] }));
  for (const table of ['tcp', 'tcp6'] as const) {
    // a table is read for the searches it may answer that the one before did not
    const open = all.filter((s) => !settled(s) && !s.fallback);
    for (const s of open) {
      s.needles = clientNeedles(s.conn, table);
      s.patterns = undefined;
    }
    searchTableFile(`${proc}/net/${table}`, open.filter((s) => s.needles.length), chunk, count);
  }
  return all;
}

/** A process that held a client: its fd links when last read (only to order the next look; every match is read afresh). */
interface Known {
  pid: number;
  /** /proc/<pid>/stat's start time: a pid reused by another process has another. */
  start: string;
  links: Map<string, string>;
  /** The fds listed last time. */
  listed: Set<string>;
  /** Fds that held a client's socket. */
  hits: Set<string>;
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
  /** Bytes per read of /proc/net/tcp{,6} (tests: small, to split rows across reads). */
  chunkBytes?: number;
}

/** Processes remembered as clients, most recent first. */
const KNOWN_MAX = 16;

/** The Linux lookup with what it learnt: the processes that held a client before and their fds. One per AppLookup. */
export class LinuxProcs {
  private readonly proc: string;
  private readonly chunk: number;
  private known: Known[] = [];
  private batch?: { conns: ConnectionAddress[]; rows: Promise<SocketSearch[]> };
  /**
   * Found through a known process / through the scan; gone: none of the known held it and the client had closed
   * its end by the second look (no scan); reads of the tables (one per batch) and bytes read; rows found exactly
   * by the address the client dialled (redirect mode), and redirected rows taken after the whole table was read.
   */
  readonly stats = { known: 0, scanned: 0, gone: 0, tableReads: 0, tableBytes: 0, dialled: 0, fallbacks: 0 };

  constructor(opts: Omit<LinuxOptions, 'signal'> = {}) {
    this.proc = opts.proc ?? '/proc';
    this.chunk = opts.chunkBytes ?? 65536;
  }

  /**
   * The client's socket row. Lookups started in the same turn of the event loop (a client opening several
   * connections at once) share one read of the tables.
   */
  socket(conn: ConnectionAddress): Promise<SocketRow | undefined> {
    let batch = this.batch;
    if (!batch) {
      const b: { conns: ConnectionAddress[]; rows: Promise<SocketSearch[]> } = { conns: [], rows: Promise.resolve([]) };
      b.rows = new Promise((resolve) =>
        setImmediate(() => {
          if (this.batch === b) this.batch = undefined;
          const count = { bytes: 0 };
          const rows = searchTables(this.proc, b.conns, this.chunk, count);
          for (const s of rows) {
            if (s.dialled) this.stats.dialled++;
            else if (!s.exact && !s.closed && s.fallback) this.stats.fallbacks++;
          }
          resolve(rows);
          this.stats.tableReads++;
          this.stats.tableBytes += count.bytes;
        }),
      );
      this.batch = batch = b;
    }
    const i = batch.conns.push(conn) - 1;
    return batch.rows.then((rows) => foundRow(rows[i]!));
  }

  /** The process at the other end of a loopback connection to this one, or undefined. */
  async lookup(conn: ConnectionAddress, signal?: AbortSignal): Promise<ProcInfo | undefined> {
    const sock = await this.socket(conn);
    if (!sock) return undefined;
    const link = `socket:[${sock.inode}]`;
    let slice = performance.now();
    const pace = async (): Promise<boolean> => {
      if (performance.now() - slice > 2) {
        await yieldNow(); // let requests through between slices of about 2 ms
        slice = performance.now();
      }
      return !signal?.aborted;
    };
    // processes that held a client before: the same process (start time) of the socket's owner
    const looked = new Set<number>();
    for (const k of [...this.known]) {
      const start = this.startOf(k.pid);
      if (start === undefined || start !== k.start) {
        this.forget(k); // exited, or the pid is another process's now
        continue;
      }
      if (readOr(() => statSync(`${this.proc}/${k.pid}`).uid, -1) !== sock.uid) continue;
      looked.add(k.pid);
      if (this.holdsKnown(k, link)) {
        this.stats.known++;
        this.remember(k);
        return this.info(k.pid);
      }
      if (!(await pace())) return undefined;
    }
    // none of them: is the socket still held at all? (a client that closed its end leaves none, or another socket)
    if (looked.size && (await this.socket(conn))?.inode !== sock.inode) {
      this.stats.gone++;
      return undefined;
    }
    await yieldNow();
    // the socket's owner is the process's: other users' processes are never opened. Newest process first (a
    // /proc/<pid> entry's ctime is about its start): a client usually started after the processes around it.
    const owned: { pid: number; started: number }[] = [];
    for (const name of readOr(() => readdirSync(this.proc), [] as string[])) {
      if (!/^\d+$/.test(name) || looked.has(Number(name))) continue;
      const st = readOr(() => statSync(`${this.proc}/${name}`), undefined);
      if (st && st.uid === sock.uid) owned.push({ pid: Number(name), started: st.ctimeMs });
    }
    owned.sort((a, b) => b.started - a.started);
    slice = performance.now();
    for (const { pid } of owned) {
      if (signal?.aborted) return undefined;
      const k = this.holdsFresh(pid, link);
      if (k) {
        this.stats.scanned++;
        this.remember(k);
        return this.info(pid);
      }
      if (!(await pace())) return undefined;
    }
    return undefined;
  }

  /** The pids remembered, most recent first (tests, status). */
  knownPids(): number[] {
    return this.known.map((k) => k.pid);
  }

  private startOf(pid: number): string | undefined {
    const stat = readOr(() => readFileSync(`${this.proc}/${pid}/stat`, 'latin1'), undefined);
    if (stat === undefined) return readOr(() => (statSync(`${this.proc}/${pid}`), ''), undefined); // a tree without stat files (tests)
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? ''; // field 22, starttime (clock ticks after boot)
  }

  private remember(k: Known): void {
    this.known = [k, ...this.known.filter((x) => x.pid !== k.pid)].slice(0, KNOWN_MAX);
  }

  private forget(k: Known): void {
    this.known = this.known.filter((x) => x !== k);
  }

  /**
   * Whether a known process holds the socket: its fds in the order most likely to (numbers not listed before, fds
   * that held a client, fds that were sockets, fds never read, the rest), each link read now.
   */
  private holdsKnown(k: Known, link: string): boolean {
    let fds: string[];
    try {
      fds = readdirSync(`${this.proc}/${k.pid}/fd`);
    } catch {
      return false;
    }
    const listed = new Set(fds);
    for (const fd of k.links.keys()) if (!listed.has(fd)) k.links.delete(fd);
    for (const fd of k.hits) if (!listed.has(fd)) k.hits.delete(fd);
    const tier = (fd: string): number => {
      if (!k.listed.has(fd)) return 0;
      if (k.hits.has(fd)) return 1;
      const was = k.links.get(fd);
      return was === undefined ? 3 : was.startsWith('socket:') ? 2 : 4;
    };
    const order = fds.map((fd) => [tier(fd), fd] as const).sort((a, b) => a[0] - b[0]);
    k.listed = listed;
    for (const [, fd] of order) {
      const now = readOr(() => readlinkSync(`${this.proc}/${k.pid}/fd/${fd}`), undefined);
      if (now === undefined) {
        k.links.delete(fd); // closed meanwhile
        continue;
      }
      k.links.set(fd, now);
      if (now === link) {
        k.hits.add(fd);
        return true;
      }
    }
    return false;
  }

  /** Whether a process not known yet holds the socket; if so, what is remembered of it. */
  private holdsFresh(pid: number, link: string): Known | undefined {
    let fds: string[];
    try {
      fds = readdirSync(`${this.proc}/${pid}/fd`);
    } catch {
      return undefined; // gone, or another user's
    }
    const links = new Map<string, string>();
    for (const fd of fds) {
      const now = readOr(() => readlinkSync(`${this.proc}/${pid}/fd/${fd}`), undefined);
      if (now === undefined) continue; // closed meanwhile
      links.set(fd, now);
      if (now === link) {
        const start = this.startOf(pid);
        return start === undefined ? undefined : { pid, start, links, listed: new Set(fds), hits: new Set([fd]) };
      }
    }
    return undefined;
  }

  private info(pid: number): ProcInfo {
    const exe = readOr(() => readlinkSync(`${this.proc}/${pid}/exe`), '');
    const cmdline = readOr(() => readFileSync(`${this.proc}/${pid}/cmdline`, 'utf8'), '');
    const argv = cmdline ? cmdline.replace(/\0$/, '').split('\0') : [];
    const comm = exe ? '' : readOr(() => readFileSync(`${this.proc}/${pid}/comm`, 'utf8'), '').trim();
    return { pid, exe: exe.replace(/ \(deleted\)$/, '') || comm, argv };
  }
}

/** One lookup with nothing learnt before (tests; AppLookup keeps one LinuxProcs). */
export async function lookupLinux(conn: ConnectionAddress, opts: LinuxOptions = {}): Promise<ProcInfo | undefined> {
  return new LinuxProcs(opts).lookup(conn, opts.signal);
}
