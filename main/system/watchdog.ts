// The hosts-block watchdog: `router67 helper watch b64:{"owner":{"pid":N,"start":"…"},"pipe":true}`.
//
// If router67 dies without cleaning up (SIGKILL, a crash, out of memory), its hosts block would send every
// LLM call on the machine to a port nobody answers. A small process that outlives it removes the block:
//
//   - it is started, detached (its own session), right after the block is written, by whoever wrote it: the
//     daemon itself when it may write the hosts file (root, or a file the user may write), else the elevated
//     helper that applied the block (`apply-hosts` with "watch": true) — so it runs with exactly the rights
//     that wrote the block, and no second prompt is needed;
//   - with "pipe": true its stdin is a pipe whose write end only the daemon holds: when the daemon dies by any
//     means the kernel closes it and the EOF wakes the watchdog at once;
//   - it also checks, every POLL_MS, that the owner still runs (pid + Linux start time, so a reused pid is not
//     mistaken for it) — the way it learns of the death where no pipe crosses the elevation (osascript, UAC);
//   - on the owner's death or EOF it removes the blocks of exactly that owner (never another router67's),
//     flushes the DNS cache, and exits; when the block is gone (a clean stop removed it) it just exits.
// The hosts file is the OS's own, never an argument. Nothing is run through a shell.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Writable } from 'node:stream';
import type { BlockOwner, WriteOps } from './hosts.js';
import { defaultHostsPath, ownerAlive, parseHosts, removeHostsFile, sameOwner } from './hosts.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** How often the owner and the hosts file are looked at (the 2 s bound holds without the pipe too). */
export const POLL_MS = 250;

export interface WatchArgs {
  owner: BlockOwner;
  /** Watch stdin for EOF (only when the daemon holds the other end of a pipe). */
  pipe: boolean;
  flush: boolean;
}

export type WatchEnd = 'owner-gone' | 'pipe-closed' | 'block-gone';

export interface WatchOptions {
  hostsPath?: string;
  hostsWriteOps?: WriteOps;
  /** The read end of the daemon's pipe (default: process.stdin). */
  input?: NodeJS.ReadableStream;
  pollMs?: number;
  isAlive?: (owner: BlockOwner) => boolean;
  /** Flushes the DNS cache after a removal. */
  flush?: () => Promise<void>;
  log?: (line: string) => void;
}

/** Waits until the owner is gone (or tells us it is, by closing the pipe), removes its block, resolves. */
export function watchHosts(args: WatchArgs, o: WatchOptions = {}): Promise<{ end: WatchEnd; removed: number }> {
  const hostsPath = o.hostsPath ?? defaultHostsPath();
  const alive = o.isAlive ?? ownerAlive;
  const input = args.pipe ? (o.input ?? process.stdin) : undefined;
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = async (end: WatchEnd) => {
      if (done) return;
      done = true;
      clearInterval(timer);
      input?.removeListener('end', onEof);
      input?.removeListener('close', onEof);
      input?.removeListener('error', onEof);
      if (input && 'destroy' in input) (input as NodeJS.ReadableStream & { destroy(): void }).destroy();
      if (end === 'block-gone') return resolve({ end, removed: 0 });
      try {
        const r = removeHostsFile(hostsPath, { owner: args.owner, ...o.hostsWriteOps });
        const removed = r.removed?.length ?? 0;
        if (removed > 0) {
          o.log?.(`router67 (pid ${args.owner.pid}) is gone; removed its hosts block from ${hostsPath}`);
          if (args.flush) await o.flush?.().catch(() => {});
        }
        resolve({ end, removed });
      } catch (e) {
        reject(e as Error);
      }
    };
    const present = (): boolean => {
      try {
        return parseHosts(readFileSync(hostsPath).toString('latin1')).some((b) => sameOwner(b.owner, args.owner));
      } catch {
        return true; // unreadable for a moment: keep watching
      }
    };
    const tick = () => {
      if (!alive(args.owner)) void finish('owner-gone');
      else if (!present()) void finish('block-gone');
    };
    const onEof = () => void finish('pipe-closed');
    const timer = setInterval(tick, o.pollMs ?? POLL_MS);
    if (input) {
      input.on('end', onEof);
      input.on('close', onEof);
      input.on('error', onEof);
      input.on('data', () => {}); // nothing is ever sent; reading is what notices the EOF
      input.resume();
    }
    tick();
  });
}

// ---------------------------------------------------------------------------------------------
// Starting it

/** How to start our own CLI (same shape as elevate's HelperCommand). */
export interface WatchdogCommand {
  execPath: string;
  args: string[];
  env?: Record<string, string>;
}

/** Our own CLI: node (or Electron as node) + dist/main/cli/index.js. */
export function defaultCliCommand(): WatchdogCommand {
  const cli = join(__dirname, '..', 'cli', 'index.js');
  const cmd: WatchdogCommand = { execPath: process.execPath, args: [cli] };
  if (process.versions.electron) cmd.env = { ELECTRON_RUN_AS_NODE: '1' };
  return cmd;
}

/** The exact argv of the watchdog (the helper's `watch` operation, its argument base64url JSON). */
export function watchdogArgv(cmd: WatchdogCommand, args: { owner: BlockOwner; pipe: boolean }): string[] {
  const json = JSON.stringify({ owner: args.owner, pipe: args.pipe });
  return [cmd.execPath, ...cmd.args, 'helper', 'watch', `b64:${Buffer.from(json, 'utf8').toString('base64url')}`];
}

export interface SpawnedWatchdog {
  pid: number;
  child: ChildProcess;
  /** Tells the watchdog to go: closes the pipe (call after the block was removed). */
  release(): void;
  /** Whether the process still runs. */
  readonly running: boolean;
}

export type SpawnWatchdog = (cmd: WatchdogCommand, args: { owner: BlockOwner; pipe: boolean }) => SpawnedWatchdog;

/**
 * Starts the watchdog detached (own session/process group: a terminal's Ctrl-C or a closed terminal does not
 * reach it), stdout/stderr to nowhere, and — with pipe — stdin a pipe this process keeps the write end of.
 * Nothing here holds this process's event loop open.
 */
export const spawnWatchdog: SpawnWatchdog = (cmd, args) => {
  const [file, ...rest] = watchdogArgv(cmd, args);
  const child = spawn(file!, rest, {
    detached: true,
    stdio: [args.pipe ? 'pipe' : 'ignore', 'ignore', 'ignore'],
    env: { ...process.env, ...cmd.env },
    windowsHide: true,
  });
  child.on('error', () => {}); // a missing binary shows as an exited watchdog (verify() starts another)
  const stdin = child.stdin as (Writable & { unref?: () => void }) | null;
  stdin?.on('error', () => {});
  stdin?.unref?.();
  child.unref();
  let exited = false;
  child.once('exit', () => (exited = true));
  return {
    pid: child.pid ?? 0,
    child,
    release: () => stdin?.destroy(),
    get running() {
      return !exited && child.exitCode === null && child.signalCode === null && child.pid !== undefined;
    },
  };
};
