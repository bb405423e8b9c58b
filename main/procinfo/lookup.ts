// The app behind each connection: looked up once per connection (TCP connection or HTTP/2 session), cached on it,
// never per request. The lookup starts with the connection's first request (a connection that never sends one,
// a preconnect or a bare handshake, costs no lookup), runs asynchronously, is time-boxed as a whole, and a request
// waits for it at most `waitMs` (its body upload overlaps that wait); when it is still
// running the request goes on without it (the User-Agent names the app), and later requests on the connection get
// it. A lookup that fails leaves the app unknown; it never fails or slows a request beyond that wait.
import type { IncomingHttpHeaders } from 'node:http';
import type { LinuxProcs } from './linux.js';
import type { ProcInfo } from './name.js';

export type { ProcInfo } from './name.js';

/** The two ends of a connection as this process sees them (net.Socket has these fields). */
export interface ConnectionAddress {
  remoteAddress: string;
  remotePort: number;
  localAddress: string;
  localPort: number;
  /**
   * Behind a redirect rule (nftables dnat, pf rdr): the address and port the client dialled, which its own socket
   * shows as its remote end instead of ours. Set by AppLookup from what the interceptor told it (redirect()).
   */
  dialledAddress?: string;
  dialledPort?: number;
}

/** An address and port. */
export interface Endpoint {
  address: string;
  port: number;
}

/** Runs a program without a shell and resolves its standard output. */
export type Run = (file: string, args: string[]) => Promise<string>;

export interface AppLookupOptions {
  platform?: NodeJS.Platform;
  /** How programs run (macOS, Windows); default execFile, no shell, killed at the time box. */
  run?: Run;
  /** The whole lookup's time box (default 2000 ms; PowerShell starts slowly). */
  timeoutMs?: number;
  /** The longest a request waits for a lookup still running (default 200 ms; an idle machine finds the app in a few ms). */
  waitMs?: number;
  /** Read per connection: false skips lookups (the User-Agent still names the app). */
  enabled?: () => boolean;
  /** Linux: the proc file system. */
  proc?: string;
}

/** What a request carries about its app: known now, or a promise settling within the wait. */
export interface AppMeta {
  app?: string;
  appPending?: Promise<string | undefined>;
}

interface Slot {
  settled: boolean;
  app?: string;
  promise: Promise<string | undefined>;
}

const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;
/** "::ffff:127.0.0.1" → "127.0.0.1" (how a dual-stack socket reports an IPv4 peer). */
const plainIp = (ip: string) => (ip.startsWith('::ffff:') ? ip.slice(7) : ip);
const ANY = new Set(['0.0.0.0', '::', '']);

/* eslint-disable @typescript-eslint/no-require-imports */
/** The naming rules and this platform's lookup are loaded on the first connection, not with the daemon. */
const load = {
  name: () => require('./name.js') as typeof import('./name.js'),
  linux: () => (require('./linux.js') as typeof import('./linux.js')).LinuxProcs,
  darwin: () => (require('./darwin.js') as typeof import('./darwin.js')).lookupDarwin,
  win32: () => (require('./win32.js') as typeof import('./win32.js')).lookupWin32,
};
/* eslint-enable @typescript-eslint/no-require-imports */

export class AppLookup {
  private readonly slots = new WeakMap<object, Slot>();
  /** Lookups done, found, and their times (ms), for `status` and the bench. */
  readonly stats = { lookups: 0, found: 0, totalMs: 0, maxMs: 0 };
  private readonly platform: NodeJS.Platform;
  private readonly timeoutMs: number;
  private readonly waitMs: number;
  private names?: typeof import('./name.js');
  /** Linux: the lookup with the processes that held a client before (looked at first next time); made on the first lookup. */
  private linuxProcs?: LinuxProcs;
  /** Listeners behind a redirect rule: connections accepted on `at` were dialled at `dialled`. */
  private redirects: { at: Endpoint; dialled: Endpoint }[] = [];

  constructor(private readonly opts: AppLookupOptions = {}) {
    this.platform = opts.platform ?? process.platform;
    this.timeoutMs = opts.timeoutMs ?? 2000;
    this.waitMs = opts.waitMs ?? 200;
  }

  /** Linux: the lookup and its counts (tests, bench); undefined before the first lookup. */
  get linux(): LinuxProcs | undefined {
    return this.linuxProcs;
  }

  /**
   * Interception behind a redirect rule: connections accepted on `at` (the listener's address and port) were
   * dialled at `dialled` (e.g. 127.0.67.1:443), which the client's socket shows as its remote end; the lookup then
   * finds its row exactly. `dialled` undefined forgets it (interception stopped).
   */
  redirect(at: Endpoint, dialled: Endpoint | undefined): void {
    const same = (e: Endpoint) => e.port === at.port && plainIp(e.address) === plainIp(at.address);
    this.redirects = this.redirects.filter((r) => !same(r.at));
    if (dialled && !same(dialled)) this.redirects.push({ at, dialled });
  }

  /** The address a connection accepted on localAddress:localPort was dialled at, when a redirect rule sent it. */
  private dialledFor(localAddress: string, localPort: number): Endpoint | undefined {
    for (const r of this.redirects) {
      if (r.at.port === localPort && (ANY.has(r.at.address) || plainIp(r.at.address) === plainIp(localAddress))) return r.dialled;
    }
    return undefined;
  }

  /**
   * The app for a request on this connection; the User-Agent names it when the process is unknown. `host`, the
   * intercepted host the request came to, is carried in the same object (one object per request, not two).
   */
  meta(key: object, sock: Partial<ConnectionAddress>, headers: IncomingHttpHeaders, host?: string): AppMeta & { host?: string } {
    const slot = this.slot(key, sock);
    if (slot.settled) {
      const app = slot.app ?? this.fromUserAgent(headers['user-agent']);
      return host === undefined ? { app } : { host, app };
    }
    const ua = headers['user-agent'];
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), this.waitMs)));
    const appPending = Promise.race([slot.promise, waited]).then((app) => {
      clearTimeout(timer);
      return app ?? this.fromUserAgent(ua);
    });
    return host === undefined ? { appPending } : { host, appPending };
  }

  /** The app a User-Agent names, remembered for the last one seen (a client sends the same one every time). */
  private lastUa?: { ua: string | undefined; app: string | undefined };
  private fromUserAgent(ua: string | undefined): string | undefined {
    const last = this.lastUa;
    if (last && last.ua === ua) return last.app;
    const app = (this.names ??= load.name()).nameFromUserAgent(ua);
    this.lastUa = { ua, app };
    return app;
  }

  private slot(key: object, sock: Partial<ConnectionAddress>): Slot {
    let slot = this.slots.get(key);
    if (slot) return slot;
    const s: Slot = { settled: false, promise: Promise.resolve(undefined) };
    s.promise = this.lookup(sock).then(
      (info) => {
        s.settled = true;
        s.app = info ? (this.names ??= load.name()).nameApp(info) : undefined;
        return s.app;
      },
      () => {
        s.settled = true;
        return undefined;
      },
    );
    this.slots.set(key, (slot = s));
    return slot;
  }

  /** Finds the client process of one connection (undefined when unknown, not loopback, or over the time box). */
  async lookup(sock: Partial<ConnectionAddress>): Promise<ProcInfo | undefined> {
    if (this.opts.enabled && !this.opts.enabled()) return undefined;
    const { remoteAddress, remotePort, localAddress, localPort } = sock;
    if (!remoteAddress || !remotePort || !localAddress || !localPort || !LOOPBACK.test(remoteAddress)) return undefined;
    const conn: ConnectionAddress = { remoteAddress, remotePort, localAddress, localPort };
    const dialled = this.redirects.length ? this.dialledFor(localAddress, localPort) : undefined;
    if (dialled) [conn.dialledAddress, conn.dialledPort] = [dialled.address, dialled.port];
    const t0 = performance.now();
    const ac = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const box = new Promise<undefined>((r) => {
      timer = setTimeout(() => {
        ac.abort();
        r(undefined);
      }, this.timeoutMs);
      timer.unref();
    });
    try {
      const work: Promise<ProcInfo | undefined> =
        this.platform === 'linux'
          ? (this.linuxProcs ??= new (load.linux())({ proc: this.opts.proc })).lookup(conn, ac.signal)
          : this.platform === 'darwin'
            ? load.darwin()(conn, this.runner(ac.signal))
            : this.platform === 'win32'
              ? load.win32()(conn, this.runner(ac.signal))
              : Promise.resolve(undefined);
      const info = await Promise.race([work.catch(() => undefined), box]);
      const ms = performance.now() - t0;
      this.stats.lookups++;
      if (info) this.stats.found++;
      this.stats.totalMs += ms;
      this.stats.maxMs = Math.max(this.stats.maxMs, ms);
      return info;
    } finally {
      clearTimeout(timer);
      // programs still running (macOS, Windows) are killed; the Linux lookup has ended, or the box aborted it
      if (this.platform !== 'linux') ac.abort();
    }
  }

  private runner(signal: AbortSignal): Run {
    if (this.opts.run) return this.opts.run;
    return async (file, args) => {
      const { execFile } = await import('node:child_process');
      return new Promise<string>((resolve, reject) =>
        execFile(file, args, { encoding: 'utf8', windowsHide: true, timeout: this.timeoutMs, maxBuffer: 1 << 20, signal }, (err, stdout) =>
          // lsof exits 1 when nothing matched, with nothing to say
          err && !stdout ? reject(err) : resolve(stdout),
        ),
      );
    };
  }
}
