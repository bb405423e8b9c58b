// Which router67 daemon runs for a home folder: its state file (written by the core), when its owner is alive.
import { readFileSync } from 'node:fs';
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
