// Which router67 daemon runs for a home folder: its state file (written by the core), when its owner is alive.
import { readFileSync } from 'node:fs';
import { readToken } from '../admin/server.js';
import type { DaemonState } from './core.js';
import { paths } from './paths.js';

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The running daemon's state file, when its owner is alive (and not this process). */
export function runningDaemon(home: string): DaemonState | undefined {
  try {
    const st = JSON.parse(readFileSync(paths(home).daemonState, 'utf8')) as DaemonState;
    return st.pid !== process.pid && pidAlive(st.pid) ? st : undefined;
  } catch {
    return undefined;
  }
}

/** The running daemon's answer on its admin API: the status, and the body read as JSON (throws when it is not). */
export interface DaemonAnswer {
  status: number;
  json(): unknown;
}

/**
 * Calls the running daemon's admin API (loopback, with the token from the home folder): GET, or POST with `body` as
 * JSON. Undefined when no daemon runs or it refuses the connection; a token that cannot be read is an error with
 * `noToken: 'throw'`, else counts as no daemon. Other failures throw.
 */
export async function callDaemon(
  home: string,
  path: string,
  o: { body?: unknown; timeoutMs: number; noToken?: 'throw' | 'none' },
): Promise<DaemonAnswer | undefined> {
  const st = runningDaemon(home);
  if (!st?.admin) return undefined;
  const tokenFile = paths(home).adminToken;
  const token = readToken(tokenFile);
  if (!token) {
    if (o.noToken === 'throw') throw new Error(`cannot read the admin token at ${tokenFile}`);
    return undefined;
  }
  try {
    // loaded here, not at the top: the daemon imports this module too and should not carry all of undici
    const { request } = await import('undici');
    const post = o.body !== undefined;
    const r = await request(`${st.admin}${path}`, {
      method: post ? 'POST' : 'GET',
      headers: post ? { authorization: `Bearer ${token}`, 'content-type': 'application/json' } : { authorization: `Bearer ${token}` },
      ...(post ? { body: JSON.stringify(o.body) } : {}),
      headersTimeout: o.timeoutMs,
      bodyTimeout: o.timeoutMs,
    });
    const text = await r.body.text();
    return { status: r.statusCode, json: () => JSON.parse(text) as unknown };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ECONNREFUSED') return undefined;
    throw e;
  }
}
