// macOS: lsof (no shell) lists the TCP sockets bound to the client's address and port; the one whose local end is
// the client's belongs to the client process. ps then gives its executable and command line. lsof filters by the
// client's end itself, so a redirected connection (pf rdr: the client's socket shows the address it dialled as its
// remote end) costs nothing more; when several sockets share the client's end, the one whose remote end is ours or
// the dialled address is taken first.
import type { ProcInfo } from './name.js';
import type { ConnectionAddress, Run } from './lookup.js';
import { connEnds, normalizeIp } from './linux.js';

const hostPort = (ip: string, port: number) => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);

/** The lsof arguments: established TCP sockets on the client's address and port, machine-readable (pid, command, name). */
export function lsofArgs(conn: ConnectionAddress): string[] {
  return ['-nP', `-iTCP@${hostPort(normalizeIp(conn.remoteAddress), conn.remotePort)}`, '-sTCP:ESTABLISHED', '-Fpcn'];
}

const endOf = (s: string): string | undefined => {
  const m = /^\[?(.*?)\]?:(\d+)$/.exec(s);
  return m ? hostPort(normalizeIp(m[1]!), Number(m[2])) : undefined;
};

/**
 * The pid whose socket has the client's end as its local address, from lsof -F output (p, c, f, n lines): the one
 * whose remote end is ours (or the address the client dialled, behind a redirect rule), else the first.
 */
export function parseLsof(out: string, conn: ConnectionAddress): { pid: number; command: string } | undefined {
  const want = hostPort(normalizeIp(conn.remoteAddress), conn.remotePort);
  const ours = connEnds(conn).map(([ip, port]) => hostPort(ip, port));
  let pid = 0;
  let command = '';
  let first: { pid: number; command: string } | undefined;
  for (const line of out.split('\n')) {
    const tag = line[0];
    const v = line.slice(1).trim();
    if (tag === 'p') [pid, command] = [Number(v), ''];
    else if (tag === 'c') command = v;
    else if (tag === 'n' && pid) {
      const arrow = v.indexOf('->');
      if (arrow < 0 || endOf(v.slice(0, arrow)) !== want) continue;
      const remote = endOf(v.slice(arrow + 2).replace(/\s.*$/, ''));
      if (remote !== undefined && ours.includes(remote)) return { pid, command };
      first ??= { pid, command };
    }
  }
  return first;
}

/** ps arguments for one process's executable path (comm) and its command line (args). */
export const psCommArgs = (pid: number): string[] => ['-ww', '-o', 'comm=', '-p', String(pid)];
export const psArgsArgs = (pid: number): string[] => ['-ww', '-o', 'args=', '-p', String(pid)];

export async function lookupDarwin(conn: ConnectionAddress, run: Run): Promise<ProcInfo | undefined> {
  const found = parseLsof(await run('lsof', lsofArgs(conn)), conn);
  if (!found) return undefined;
  const [comm, args] = await Promise.all([run('ps', psCommArgs(found.pid)).catch(() => ''), run('ps', psArgsArgs(found.pid)).catch(() => '')]);
  const exe = comm.trim() || found.command;
  const line = args.trim();
  // ps joins the arguments with spaces; an executable path with spaces is the one case worth recovering
  const argv = line.startsWith(exe) && exe.includes(' ') ? [exe, ...line.slice(exe.length).trim().split(/\s+/).filter(Boolean)] : line ? line.split(/\s+/) : [exe];
  return { pid: found.pid, exe, argv };
}
