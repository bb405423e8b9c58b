// The hosts-file block that sends intercepted host names to router67's listener.
//
// Text is handled as latin1 so that every byte of the file (whatever its encoding, a BOM, CRLF or
// bare CR, no trailing newline) survives exactly: removing our block restores the file byte for byte,
// and applying the same block twice changes nothing.
//
// The block goes first in the file (after a BOM, if any), so its entries win over any line for the
// same names further down (resolvers use the first match). Each host gets two lines:
//   127.0.67.1         api.anthropic.com
//   ::ffff:127.0.67.1  api.anthropic.com
// The IPv6 line answers AAAA lookups locally, so a resolver that asks DNS for AAAA when the hosts file
// only has an IPv4 entry (macOS) cannot hand a client the real origin's IPv6 address. It is the
// IPv4-mapped form of the listen address rather than `::1`: router67 does not listen on `::1` (something
// else might), while a dual-stack client connecting to ::ffff:127.0.67.1 reaches the IPv4 listener (and the
// Linux nftables rule, which matches IPv4 packets). Where a stack refuses v4-mapped destinations (Windows
// sockets default to IPV6_V6ONLY), the connect fails at once and clients fall back to the IPv4 entry —
// either way no connection leaves the machine.
import { randomBytes } from 'node:crypto';
import { closeSync, fchmodSync, fchownSync, fstatSync, fsyncSync, ftruncateSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { hostNameProblem } from './hostname.js';

export const BEGIN_TAG = '# >>> router67 begin';
export const END_TAG = '# <<< router67 end';
const BOM = '\xEF\xBB\xBF';

export interface BlockOwner {
  pid: number;
  /** Linux: the process start time from /proc/<pid>/stat, so a reused pid is not mistaken for the owner. */
  start?: string;
}

export interface BlockSpec {
  ip: string;
  hosts: string[];
  owner: BlockOwner;
}

export interface ParsedBlock {
  /** Byte offsets of the block in the (latin1) text: [start, end). */
  start: number;
  end: number;
  owner?: BlockOwner;
  ip?: string;
  hosts: string[];
  /** The end marker was missing; only the begin line and the entry lines right after it were taken. */
  unterminated: boolean;
}

export function ipv4Mapped(ip: string): string {
  return `::ffff:${ip}`;
}

export function renderBlock(spec: BlockSpec, eol: string): string {
  for (const h of spec.hosts) {
    const problem = hostNameProblem(h);
    if (problem) throw new Error(`hosts block refused: ${problem}`);
  }
  const owner = `pid=${spec.owner.pid}${spec.owner.start ? ` start=${spec.owner.start}` : ''}`;
  const lines = [`${BEGIN_TAG} ${owner} ip=${spec.ip} >>> managed by router67, removed when it stops; do not edit`];
  const width = Math.max(spec.ip.length, ipv4Mapped(spec.ip).length) + 1;
  for (const h of spec.hosts) {
    lines.push(`${spec.ip.padEnd(width)}${h}`);
    lines.push(`${ipv4Mapped(spec.ip).padEnd(width)}${h}`);
  }
  lines.push(`${END_TAG} <<<`);
  return lines.map((l) => l + eol).join('');
}

interface Line {
  start: number;
  /** Offset just past the line's '\n' (or the end of the text). */
  end: number;
  /** The line without its line ending. */
  text: string;
}

function splitLines(s: string): Line[] {
  const out: Line[] = [];
  // A byte-order mark is not part of the first line's text (and is never removed with a block).
  let i = s.startsWith(BOM) ? BOM.length : 0;
  while (i < s.length) {
    const nl = s.indexOf('\n', i);
    const end = nl === -1 ? s.length : nl + 1;
    let text = s.slice(i, nl === -1 ? s.length : nl);
    if (text.endsWith('\r')) text = text.slice(0, -1);
    out.push({ start: i, end, text });
    i = end;
  }
  return out;
}

function isBegin(text: string): boolean {
  return text.trimStart().startsWith(BEGIN_TAG);
}
function isEnd(text: string): boolean {
  return text.trimStart().startsWith(END_TAG);
}

function parseBegin(text: string): { owner?: BlockOwner; ip?: string } {
  const pid = /\bpid=(\d{1,10})\b/.exec(text);
  const start = /\bstart=(\d{1,20})\b/.exec(text);
  const ip = /\bip=([0-9.]{7,15})\b/.exec(text);
  const r: { owner?: BlockOwner; ip?: string } = {};
  if (pid) r.owner = { pid: Number(pid[1]), ...(start ? { start: start[1]! } : {}) };
  if (ip) r.ip = ip[1]!;
  return r;
}

function entryHosts(text: string, ip: string | undefined): string[] | undefined {
  const m = /^\s*(\S+)\s+(.+?)\s*$/.exec(text);
  if (!m) return undefined;
  if (ip && m[1] !== ip && m[1] !== ipv4Mapped(ip)) return undefined;
  return m[2]!.split(/\s+/);
}

/** Finds every router67 block in the text. */
export function parseHosts(text: string): ParsedBlock[] {
  const lines = splitLines(text);
  const blocks: ParsedBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (!isBegin(line.text)) continue;
    const head = parseBegin(line.text);
    const hosts = new Set<string>();
    let j = i + 1;
    while (j < lines.length && !isEnd(lines[j]!.text) && !isBegin(lines[j]!.text)) j++;
    if (j < lines.length && isEnd(lines[j]!.text)) {
      for (let k = i + 1; k < j; k++) for (const h of entryHosts(lines[k]!.text, undefined) ?? []) hosts.add(h);
      blocks.push({ start: line.start, end: lines[j]!.end, ...head, hosts: [...hosts], unterminated: false });
      i = j;
    } else {
      // No end marker (hand-edited): take the begin line and the entry lines for our address right after it.
      let k = i + 1;
      while (k < lines.length) {
        const hs = head.ip ? entryHosts(lines[k]!.text, head.ip) : undefined;
        if (!hs) break;
        hs.forEach((h) => hosts.add(h));
        k++;
      }
      blocks.push({ start: line.start, end: lines[k - 1]!.end, ...head, hosts: [...hosts], unterminated: true });
      i = k - 1;
    }
  }
  return blocks;
}

/** Removes the given blocks (default: all router67 blocks); every other byte is kept. */
export function removeBlocks(text: string, blocks: ParsedBlock[] = parseHosts(text)): string {
  let out = '';
  let at = 0;
  for (const b of blocks) {
    out += text.slice(at, b.start);
    at = b.end;
  }
  return out + text.slice(at);
}

/** The line ending the file already uses (the first one found), else the platform's. */
export function detectEol(text: string, platform: NodeJS.Platform = process.platform): string {
  const nl = text.indexOf('\n');
  if (nl === -1) return platform === 'win32' ? '\r\n' : '\n';
  return nl > 0 && text[nl - 1] === '\r' ? '\r\n' : '\n';
}

/** Replaces every router67 block by one for `spec`, placed first in the file (after a BOM). */
export function applyBlock(text: string, spec: BlockSpec, platform: NodeJS.Platform = process.platform): string {
  const rest = removeBlocks(text);
  const bom = rest.startsWith(BOM) ? BOM : '';
  const body = rest.slice(bom.length);
  return bom + renderBlock(spec, detectEol(body, platform)) + body;
}

// ---------------------------------------------------------------------------------------------
// Owner liveness

/** Linux: a process's start time (clock ticks since boot), from /proc; undefined elsewhere or when gone. */
export function processStartToken(pid: number): string | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}

export function currentOwner(pid = process.pid): BlockOwner {
  const start = processStartToken(pid);
  return start ? { pid, start } : { pid };
}

/** True when the owner process still runs (a pid reused by another process counts as dead on Linux). */
export function ownerAlive(owner: BlockOwner | undefined): boolean {
  if (!owner || !Number.isInteger(owner.pid) || owner.pid <= 0) return false;
  try {
    process.kill(owner.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (owner.start !== undefined) {
    const now = processStartToken(owner.pid);
    if (now !== undefined && now !== owner.start) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// File I/O

export function defaultHostsPath(platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env): string {
  if (platform === 'win32') return join(env.SystemRoot ?? env.SYSTEMROOT ?? 'C:\\Windows', 'System32', 'drivers', 'etc', 'hosts');
  return '/etc/hosts';
}

export interface WriteOps {
  /** Replaceable for tests (to simulate a bind-mounted file where rename fails). */
  rename?: (from: string, to: string) => void;
}

export type WriteMethod = 'rename' | 'in-place';

/** Errors after which writing in place is tried: a bind mount (EBUSY, EXDEV), an unwritable folder. */
const IN_PLACE_CODES = new Set(['EBUSY', 'EXDEV', 'EPERM', 'EACCES', 'EROFS', 'ENOTSUP', 'EINVAL']);

/**
 * Writes the file without ever leaving it half-written where the system allows: a temporary file in the
 * same folder with the original's mode and owner, fsync, rename over. When the rename (or creating the
 * temporary file) fails — /etc/hosts bind-mounted into a container or namespace, a folder we cannot
 * write — the content is written in place with one write and a truncate.
 */
export function writeFilePreserving(path: string, data: Buffer, ops: WriteOps = {}): WriteMethod {
  const st = statSync(path);
  const mode = st.mode & 0o7777;
  const tmp = join(dirname(path), `.${basename(path)}.router67-${process.pid}-${randomBytes(3).toString('hex')}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', mode);
  } catch (e) {
    if (!IN_PLACE_CODES.has((e as NodeJS.ErrnoException).code ?? '')) throw e;
  }
  if (fd !== undefined) {
    let renamed = false;
    try {
      writeAll(fd, data);
      if (process.platform !== 'win32') {
        fchmodSync(fd, mode);
        const t = fstatSync(fd);
        if (t.uid !== st.uid || t.gid !== st.gid) fchownSync(fd, st.uid, st.gid);
      }
      fsyncSync(fd);
      closeSync(fd);
      fd = undefined;
      (ops.rename ?? renameSync)(tmp, path);
      renamed = true;
    } catch (e) {
      if (!IN_PLACE_CODES.has((e as NodeJS.ErrnoException).code ?? '')) throw e;
    } finally {
      if (!renamed) cleanup(fd, tmp);
    }
    if (renamed) return 'rename';
  }
  const fdw = openSync(path, 'r+');
  try {
    writeAll(fdw, data, 0);
    ftruncateSync(fdw, data.length);
    fsyncSync(fdw);
  } finally {
    closeSync(fdw);
  }
  return 'in-place';
}

function cleanup(fd: number | undefined, tmp: string): void {
  if (fd !== undefined) {
    try {
      closeSync(fd);
    } catch {
      /* closed */
    }
  }
  try {
    unlinkSync(tmp);
  } catch {
    /* gone */
  }
}

function writeAll(fd: number, data: Buffer, position?: number): void {
  let off = 0;
  while (off < data.length) {
    off += writeSync(fd, data, off, data.length - off, position === undefined ? null : position + off);
  }
}

export interface HostsChange {
  changed: boolean;
  method?: WriteMethod;
  /** Blocks removed (remove operations). */
  removed?: ParsedBlock[];
}

function readLatin1(path: string): string {
  return readFileSync(path).toString('latin1');
}

/** Writes (or refreshes) our block in the hosts file. No write when the content would not change. */
export function applyHostsFile(path: string, spec: BlockSpec, ops?: WriteOps): HostsChange {
  const before = readLatin1(path);
  const after = applyBlock(before, spec);
  if (after === before) return { changed: false };
  return { changed: true, method: writeFilePreserving(path, Buffer.from(after, 'latin1'), ops) };
}

export interface RemoveOptions extends WriteOps {
  /** 'all' (default): every router67 block. 'stale': only blocks whose owner no longer runs. */
  which?: 'all' | 'stale';
  /** Only blocks owned by this pid (e.g. a daemon removing its own block). */
  ownerPid?: number;
  isAlive?: (owner: BlockOwner | undefined) => boolean;
  /** Only blocks of exactly this owner: same pid and, when both have one, the same start token (the watchdog). */
  owner?: BlockOwner;
}

/** Whether a block's owner is `owner` (pid equal; start tokens equal when both are known). */
export function sameOwner(a: BlockOwner | undefined, owner: BlockOwner): boolean {
  if (!a || a.pid !== owner.pid) return false;
  return a.start === undefined || owner.start === undefined || a.start === owner.start;
}

export function removeHostsFile(path: string, opts: RemoveOptions = {}): HostsChange {
  const before = readLatin1(path);
  const alive = opts.isAlive ?? ownerAlive;
  const blocks = parseHosts(before).filter((b) => {
    if (opts.ownerPid !== undefined && b.owner?.pid !== opts.ownerPid) return false;
    if (opts.owner !== undefined && !sameOwner(b.owner, opts.owner)) return false;
    if (opts.which === 'stale' && alive(b.owner)) return false;
    return true;
  });
  if (blocks.length === 0) return { changed: false, removed: [] };
  const after = removeBlocks(before, blocks);
  return { changed: true, method: writeFilePreserving(path, Buffer.from(after, 'latin1'), opts), removed: blocks };
}

/** The router67 blocks present in the hosts file, with whether each owner is alive. */
export function inspectHostsFile(path: string): (ParsedBlock & { alive: boolean })[] {
  return parseHosts(readLatin1(path)).map((b) => ({ ...b, alive: ownerAlive(b.owner) }));
}
