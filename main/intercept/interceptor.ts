// Turning interception on and off for a running core.
//
// On:  stale hosts blocks (owner gone) are removed first; the CA is loaded (install creates it); a TLS listener
//      starts on [daemon] listen (or <listen ip>:<redirect_port> behind the nftables/pf rule) with one leaf per
//      SNI; upstream connections get a lookup that bypasses the hosts file; only then is the hosts block written,
//      so the names never point at a port nobody answers.
// Off: the hosts block goes first, then the listener. A sync last resort on process 'exit' removes the block
//      when the file is writable without a prompt (root, or a hosts file the user may write).
// Fail open: with the block, a watchdog starts (main/system/watchdog.ts) that outlives this process and removes
//      the block within POLL_MS when it dies without cleaning up (SIGKILL, crash, out of memory). It gets the
//      rights that wrote the block: started from here with a pipe on its stdin when this process wrote it, by
//      the elevated helper otherwise. Stopping removes the block, then closes the pipe: the watchdog exits.
// verify() (after sleep/wake): the listener still listens, the block is still ours and right, the watchdog runs.
import { closeSync, openSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createSecureServer, type Http2SecureServer, type Http2ServerRequest, type Http2ServerResponse, type Http2Session, type Http2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { ConnectionOptions, TLSSocket } from 'node:tls';
import type { Config } from '../config/schema.js';
import type { Core } from '../core/core.js';
import { splitHostPort } from '../core/core.js';
import { caMatchesHosts, LeafCertStore, loadCa, normalizeHost, type LoadedCa } from '../tls/ca.js';
import { createUpstreamLookup, type UpstreamLookup } from '../system/dns.js';
import { runElevated, type ElevateOptions } from '../system/elevate.js';
import { runOperation, type Operation, type OpResult } from '../system/helper.js';
import { currentOwner, defaultHostsPath, inspectHostsFile, removeHostsFile, sameOwner } from '../system/hosts.js';
import { defaultCliCommand, spawnWatchdog, type SpawnedWatchdog, type SpawnWatchdog, type WatchdogCommand } from '../system/watchdog.js';
import { asH1, h1ShapedClasses } from './h2.js';
import { Passthrough } from './passthrough.js';

/** An HTTP/2 connection with no open stream for this long is closed (HTTP/1.1's keep-alive timeout). */
const IDLE_MS = 65_000;

/** One of the listener's connections: its requests (HTTP/1.1) or streams (HTTP/2) open, the host it named (SNI). */
interface Conn {
  open: number;
  host: string;
}

/** An HTTP/1.1 response or an HTTP/2 stream, and the connection record it counts in (its open ones). */
const CONN = Symbol('connection');
type Counted = object & { [CONN]?: Conn };
function closed(this: Counted): void {
  const c = this[CONN];
  if (c) c.open--;
}

/**
 * An HTTP/2 session's open streams and idle close. node's own session timeout (session.setTimeout) is refreshed on
 * every frame read or written, seven times a request; here the work per request is a time stamp when the last
 * open stream closes, and one timer per session runs at most once per idle period: when it fires, the session is
 * closed if it has had no open stream for `idleMs`, else it waits for the rest of that time (or, busy, for the
 * stream that closes last to start it again).
 */
class H2Idle {
  /** When the last open stream closed (Date.now()). */
  private idleSince = Date.now();
  private timer: NodeJS.Timeout | undefined = undefined;

  constructor(
    private readonly session: Http2Session,
    private readonly c: Conn,
    private readonly idleMs: number,
  ) {
    this.arm(idleMs);
  }

  private readonly check = (): void => {
    this.timer = undefined;
    if (this.c.open > 0) return;
    const left = this.idleSince + this.idleMs - Date.now();
    if (left <= 0) this.session.close();
    else this.arm(left);
  };

  private arm(ms: number): void {
    this.timer = setTimeout(this.check, ms).unref();
  }

  /** A stream opened: counted until it closes. */
  opened(stream: Http2Stream): void {
    this.c.open++;
    stream.on('close', this.closed); // fires once; one listener per session, not a closure per stream
  }

  private readonly closed = (): void => {
    if (--this.c.open > 0) return;
    this.idleSince = Date.now();
    if (this.timer === undefined) this.arm(this.idleMs);
  };

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** The intercepted host a TLS connection named (its SNI), normalized. */
function sniHost(socket: TLSSocket | undefined): string {
  return normalizeHost(String(socket?.servername || ''));
}

export class PromptRefusedError extends Error {
  readonly refused = true;
  constructor(message = 'the administrator prompt was refused') {
    super(message);
    this.name = 'PromptRefusedError';
  }
}

export interface InterceptorOptions {
  /** The hosts file (tests point it at a scratch file; default: the OS's). */
  hostsPath?: string;
  /** How privileged operations run (tests; default: in-process when allowed, else the OS prompt). */
  elevate?: ElevateOptions;
  /** Overrides where the TLS listener binds ("ip:port"); the hosts block still maps to the listen IP. */
  bind?: string;
  /**
   * The hosts-block watchdog. Default: on when hostsPath is the OS's hosts file (the watchdog only ever edits
   * that one); false: none; an object: on, with these parts (tests).
   */
  watchdog?: false | { spawn?: SpawnWatchdog; command?: WatchdogCommand };
  /** Overrides how an upgrade passed through reaches an origin (tests: a local stand-in and its CA). */
  originTls?(host: string): ConnectionOptions;
  /** How long an HTTP/2 connection with no open stream stays open (tests; default 65 s). */
  h2IdleMs?: number;
}

export interface VerifyResult {
  listener: 'ok' | 'relistened' | 'off';
  block: 'ok' | 'reapplied' | 'off';
  watchdog: 'ok' | 'restarted' | 'elevated' | 'none';
  /** The system's name servers for router67's own upstream lookups, read again (a network change may move them). */
  dns: 'ok' | 'updated' | 'configured' | 'off';
}

export interface ListenPlan {
  /** The address intercepted names map to. */
  ip: string;
  /** The port clients connect to (from [daemon] listen). */
  port: number;
  /** Where the listener binds: the same, or ip:redirect_port behind a redirect rule. */
  bindHost: string;
  bindPort: number;
  redirected: boolean;
}

export function listenPlan(cfg: Config, bind?: string): ListenPlan {
  const { host: ip, port } = splitHostPort(cfg.daemon.listen);
  const rp = cfg.daemon.redirect_port;
  const b = bind ? splitHostPort(bind) : { host: ip, port: rp ?? port };
  return { ip, port, bindHost: b.host, bindPort: b.port, redirected: rp !== undefined && rp !== port };
}

/** Privileged operations: in this process when the process may (root, or a hosts file it can write), else elevated. */
export class Privileged {
  constructor(
    private readonly hostsPath: string,
    private readonly opts: ElevateOptions = {},
  ) {}

  canWriteHosts(): boolean {
    if (typeof process.getuid === 'function' && process.getuid() === 0) return true;
    // Opening for writing is the real test (access(W_OK) on Windows only looks at the read-only attribute).
    try {
      closeSync(openSync(this.hostsPath, 'r+'));
      return true;
    } catch {
      return false;
    }
  }

  /** Whether a hosts operation runs in this process (no prompt). */
  hostsInProcess(): boolean {
    return this.opts.privileged === undefined && this.canWriteHosts();
  }

  async run(op: Operation, args: unknown): Promise<OpResult> {
    const hostsOp = op === 'apply-hosts' || op === 'remove-hosts';
    const context = { ...this.opts.context, hostsPath: this.hostsPath };
    if (hostsOp && this.hostsInProcess()) return runOperation(op, args, context);
    const r = await runElevated(op, args, { ...this.opts, context });
    if (r.ok) return r.result ?? { ok: true, op };
    if (r.reason === 'refused') throw new PromptRefusedError(`${op}: ${r.message}`);
    throw new Error(`${op}: ${r.message}`);
  }
}

export class Interceptor {
  private server?: Http2SecureServer;
  /** HTTP/1.1 connections (not upgraded) with their requests in flight; HTTP/2 sessions with their open streams. */
  private readonly h1 = new Map<TLSSocket, Conn>();
  private readonly h2 = new Map<Http2Session, Conn>();
  private store?: LeafCertStore;
  private lookup?: UpstreamLookup;
  private passthrough?: Passthrough;
  private ca?: LoadedCa;
  private blockApplied = false;
  /** The watchdog this process started (pipe held here), or the pid the elevated helper reported. */
  private watchdog?: SpawnedWatchdog;
  private elevatedWatchdog?: number;
  private hosts: string[] = [];
  private plan?: ListenPlan;
  /** Behind a redirect rule: where the listener accepts what clients dial at plan.ip:plan.port (told to core.apps). */
  private redirectedAt?: { address: string; port: number };
  private upstreamDns?: string[];
  private busy: Promise<void> = Promise.resolve();
  private readonly privileged: Privileged;
  readonly hostsPath: string;
  private readonly onConfig = (cfg: Config) => void this.serial(() => this.applyConfig(cfg));
  private readonly onExit = () => this.exitCleanup();

  constructor(
    readonly core: Core,
    private readonly opts: InterceptorOptions = {},
  ) {
    this.hostsPath = opts.hostsPath ?? defaultHostsPath();
    this.privileged = new Privileged(this.hostsPath, opts.elevate);
  }

  get running(): boolean {
    return this.server !== undefined;
  }

  /** The address the TLS listener is bound to (tests use port 0). */
  get address(): { host: string; port: number } | undefined {
    const a = this.server?.address() as AddressInfo | null | undefined;
    return a ? { host: a.address, port: a.port } : undefined;
  }

  /** The hosts-block watchdog's pid while one guards the block (tests, status). */
  get watchdogPid(): number | undefined {
    return this.watchdog?.pid ?? this.elevatedWatchdog;
  }

  private watchdogEnabled(): boolean {
    const w = this.opts.watchdog;
    if (w === false) return false;
    return w !== undefined || this.hostsPath === defaultHostsPath();
  }

  /** Resolves once every config change received so far has been applied to the listener and the block. */
  settled(): Promise<void> {
    return this.busy;
  }

  private serial(fn: () => Promise<void>): Promise<void> {
    const next = this.busy.then(fn, fn);
    this.busy = next.catch(() => {});
    return next;
  }

  /** Removes hosts blocks whose owner is gone. Needs privileges only when there is one. */
  async reconcileStale(): Promise<number> {
    let stale: number;
    try {
      stale = inspectHostsFile(this.hostsPath).filter((b) => !b.alive).length;
    } catch {
      return 0;
    }
    if (stale === 0) return 0;
    this.core.logger.warn(`removing ${stale} stale router67 block(s) from ${this.hostsPath} (their daemon is gone)`);
    await this.privileged.run('remove-hosts', { which: 'stale' });
    return stale;
  }

  /** On. `withOps`: privileged steps (install's) to run in the same OS prompt as the hosts block. */
  start(opts: { withOps?: { op: Operation; args: unknown }[] } = {}): Promise<void> {
    return this.serial(() => this.doStart(opts.withOps));
  }

  stop(): Promise<void> {
    return this.serial(() => this.doStop());
  }

  private async doStart(withOps?: { op: Operation; args: unknown }[]): Promise<void> {
    if (this.server) return;
    const core = this.core;
    core.setIntercept({ enabled: true, state: 'starting', error: undefined });
    try {
      await this.reconcileStale();
      const cfg = core.config;
      const loaded = loadCa(core.home);
      if (!loaded) throw new Error(`no router67 CA in ${core.paths.ca}; run "router67 install" first`);
      if (loaded.repairedKeyMode) core.logger.warn(`${core.paths.ca}/ca.key was readable by others; its mode is 0600 again`);
      this.ca = loaded.ca;
      this.plan = listenPlan(cfg, this.opts.bind);
      this.store = await LeafCertStore.create(loaded.ca, []);
      this.setHosts(cfg.intercept_hosts);
      this.upstreamDns = cfg.daemon.upstream_dns;
      this.lookup = createUpstreamLookup({ interceptHosts: this.hosts, servers: cfg.daemon.upstream_dns, avoid: [this.plan.ip] });
      core.setConnectOptions({ lookup: this.lookup as never });
      this.passthrough = new Passthrough({
        config: () => core.config,
        dispatcher: () => core.dispatcher,
        log: core.log,
        logger: core.logger,
        allowed: (h) => this.store?.intercepts(h) ?? false,
        originTls: (h) => ({ lookup: this.lookup, ...this.opts.originTls?.(h) }),
      });
      core.setPassthrough(this.passthrough.handle);
      const store = this.store;
      // HTTP/2 and HTTP/1.1 (ALPN; a client offering neither gets HTTP/1.1), one handler for both
      const server = createSecureServer(
        { SNICallback: store.SNICallback, allowHTTP1: true, ALPNProtocols: ['h2', 'http/1.1'], noDelay: true, ...h1ShapedClasses },
        (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse) => {
          if (req.httpVersionMajor === 2) {
            const session = (req as Http2ServerRequest).stream.session;
            const pair = asH1(req as Http2ServerRequest, res as Http2ServerResponse);
            // the app behind the session: looked up once per HTTP/2 session (cached on it)
            const host = (session && this.h2.get(session)?.host) ?? sniHost(session?.socket as TLSSocket | undefined);
            core.proxy.handle(pair.req, pair.res, session ? core.apps.meta(session, session.socket, pair.req.headers, host) : { host });
            return;
          }
          const socket = (req as IncomingMessage).socket as TLSSocket;
          let conn = this.h1.get(socket);
          if (!conn) this.h1.set(socket, (conn = { open: 0, host: sniHost(socket) }));
          conn.open++;
          (res as Counted)[CONN] = conn;
          (res as ServerResponse).on('close', closed); // fires once; no closure or once-wrapper per request
          core.proxy.handle(req as IncomingMessage, res as ServerResponse, core.apps.meta(socket, socket, (req as IncomingMessage).headers, conn.host));
        },
      );
      // HTTP/1.1 connections: what node:https did (the HTTP/1.1 fallback reads these from the server)
      Object.assign(server, { keepAliveTimeout: 65_000, requestTimeout: 0, headersTimeout: 60_000 });
      server.on('secureConnection', (socket: TLSSocket) => {
        if (socket.alpnProtocol === 'h2') return;
        this.h1.set(socket, { open: 0, host: sniHost(socket) });
        socket.once('close', () => this.h1.delete(socket));
      });
      server.on('session', (session: Http2Session) => {
        const c: Conn = { open: 0, host: sniHost(session.socket as TLSSocket) };
        this.h2.set(session, c);
        const idle = new H2Idle(session, c, this.opts.h2IdleMs ?? IDLE_MS);
        session.on('stream', (stream: Http2Stream) => idle.opened(stream));
        session.once('close', () => {
          idle.stop();
          this.h2.delete(session);
        });
        session.on('error', (err) => core.logger.debug(`HTTP/2 session: ${err.message}`));
      });
      // WebSocket upgrades (HTTP/1.1): the Responses transport is served (main/ws); anything else goes to the real origin
      const passthrough = this.passthrough;
      server.on('upgrade', (req: IncomingMessage, socket: TLSSocket, head: Buffer) => {
        this.h1.delete(socket); // no longer an HTTP connection of this server's
        const host = sniHost(socket);
        core.ws.upgrade(req, socket, head, core.apps.meta(socket, socket, req.headers, host), passthrough.upgrade);
      });
      server.on('tlsClientError', (err) => core.logger.debug(`TLS handshake refused: ${err.message}`));
      const plan = this.plan;
      await new Promise<void>((resolve, reject) => {
        server.once('error', (err: NodeJS.ErrnoException) => {
          const where = `${plan.bindHost}:${plan.bindPort}`;
          if (err.code === 'EACCES') {
            reject(new Error(`cannot listen on ${where}: port ${plan.bindPort} needs privileges; set [daemon] redirect_port (Linux/macOS) and run "router67 install"`));
          } else if (err.code === 'EADDRNOTAVAIL') {
            reject(new Error(`cannot listen on ${where}: the address is not configured (macOS: run "router67 install" to alias it on lo0)`));
          } else if (err.code === 'EADDRINUSE') reject(new Error(`${where} is already in use (another router67?)`));
          else reject(err);
        });
        server.listen(plan.bindPort, plan.bindHost, () => resolve());
      });
      server.on('error', (err) => core.logger.error(`TLS listener: ${err.message}`));
      this.server = server;
      if (plan.redirected) {
        // the app lookup finds the client's socket by the address it dialled (its row shows that, not our port)
        this.redirectedAt = { address: plan.bindHost, port: this.address!.port };
        core.apps.redirect(this.redirectedAt, { address: plan.ip, port: plan.port });
      }
      await this.applyBlock(withOps);
      core.on('config', this.onConfig);
      process.on('exit', this.onExit);
      const a = this.address!;
      core.logger.info(
        `intercepting ${this.hosts.join(', ')} on ${plan.ip}:${plan.port}${plan.redirected || a.port !== plan.port ? ` (listening on ${a.host}:${a.port})` : ''}`,
      );
      core.setIntercept({ enabled: true, state: 'on', error: undefined });
    } catch (e) {
      await this.teardown().catch(() => {});
      core.setIntercept({ enabled: false, state: 'error', error: (e as Error).message });
      throw e;
    }
  }

  private setHosts(list: string[]): void {
    const all = [...new Set(list.map(normalizeHost))];
    const unpermitted = all.filter((h) => !this.ca!.permittedHosts.some((p) => h === p || h.endsWith(`.${p}`)));
    if (unpermitted.length) {
      this.core.logger.warn(`the router67 CA does not cover ${unpermitted.join(', ')}; run "router67 install" to re-issue it (those hosts are not intercepted)`);
    }
    this.hosts = all.filter((h) => !unpermitted.includes(h));
    if (this.hosts.length === 0) throw new Error('none of intercept_hosts is covered by the router67 CA; run "router67 install"');
    this.store!.setHosts(this.hosts);
    this.lookup?.setInterceptHosts(this.hosts);
  }

  private async applyBlock(withOps: { op: Operation; args: unknown }[] = []): Promise<void> {
    const owner = currentOwner();
    const guard = this.watchdogEnabled() && !this.watchdog && this.elevatedWatchdog === undefined;
    const here = this.privileged.hostsInProcess();
    const args = { ip: this.plan!.ip, hosts: this.hosts, owner, ...(guard && !here ? { watch: true } : {}) };
    let r: OpResult;
    if (withOps.length === 0) r = await this.privileged.run('apply-hosts', args);
    else if (here) {
      await this.privileged.run('batch', { ops: withOps });
      r = await this.privileged.run('apply-hosts', args);
    } else {
      // one prompt: install's steps, then the block (its result, with the watchdog's pid, comes last)
      const b = await this.privileged.run('batch', { ops: [...withOps, { op: 'apply-hosts', args }] });
      r = (Array.isArray(b.detail) ? (b.detail as OpResult[]).at(-1) : undefined) ?? b;
    }
    this.blockApplied = true;
    if (!guard) return;
    if (here) this.startWatchdog(owner);
    else {
      const pid = (r.detail as { watchdog?: unknown } | undefined)?.watchdog;
      this.elevatedWatchdog = typeof pid === 'number' ? pid : 0;
    }
  }

  private startWatchdog(owner = currentOwner()): void {
    const w = this.opts.watchdog || {};
    try {
      this.watchdog = (w.spawn ?? spawnWatchdog)(w.command ?? defaultCliCommand(), { owner, pipe: true });
      this.core.logger.debug(`hosts-block watchdog started (pid ${this.watchdog.pid})`);
    } catch (e) {
      this.core.logger.warn(`no hosts-block watchdog: ${(e as Error).message} (a stale block is removed at the next start)`);
    }
  }

  /** Closes the watchdog's pipe: it exits (after removing the block, if this process could not). */
  private releaseWatchdog(): void {
    this.watchdog?.release();
    this.watchdog = undefined;
    this.elevatedWatchdog = undefined;
  }

  /**
   * Re-checks what can drift while the machine slept or the network changed: the listener still listens, the
   * hosts block is still ours with the current hosts (rewritten if not), the watchdog still runs (restarted if
   * not), and the system's name servers for router67's own lookups are read again (unless upstream_dns is set).
   * Nothing when interception is off.
   */
  verify(): Promise<VerifyResult> {
    let result: VerifyResult = { listener: 'off', block: 'off', watchdog: 'none', dns: 'off' };
    return this.serial(async () => {
      if (!this.server || !this.plan) return;
      let listener: VerifyResult['listener'] = 'ok';
      if (!this.server.listening) {
        const server = this.server;
        const plan = this.plan;
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(plan.bindPort, plan.bindHost, () => (server.off('error', reject), resolve()));
        });
        listener = 'relistened';
        this.core.logger.warn(`the TLS listener had stopped; listening on ${plan.bindHost}:${plan.bindPort} again`);
      }
      const me = currentOwner();
      const want = [...this.hosts].sort().join(',');
      let ok = false;
      try {
        ok = inspectHostsFile(this.hostsPath).some((b) => sameOwner(b.owner, me) && b.ip === this.plan!.ip && [...b.hosts].sort().join(',') === want);
      } catch {
        ok = false;
      }
      let block: VerifyResult['block'] = 'ok';
      if (!ok) {
        this.core.logger.warn(`the hosts block was missing or changed; writing it again`);
        await this.applyBlock();
        block = 'reapplied';
      }
      let watchdog: VerifyResult['watchdog'] = this.elevatedWatchdog !== undefined ? 'elevated' : this.watchdog ? 'ok' : 'none';
      if (this.watchdog && !this.watchdog.running) {
        this.watchdog.release();
        this.startWatchdog();
        watchdog = 'restarted';
      }
      let dns: VerifyResult['dns'] = this.upstreamDns?.length ? 'configured' : 'ok';
      if (dns === 'ok') {
        const fresh = createUpstreamLookup({ interceptHosts: this.hosts, avoid: [this.plan.ip] });
        if (fresh.servers.join(',') !== this.lookup?.servers.join(',')) {
          this.lookup = fresh;
          this.core.setConnectOptions({ lookup: fresh as never });
          this.core.logger.info(`upstream DNS for intercepted hosts now: ${fresh.servers.join(', ')}`);
          dns = 'updated';
        }
      }
      result = { listener, block, watchdog, dns };
    }).then(() => result);
  }

  private async applyConfig(cfg: Config): Promise<void> {
    if (!this.server || !this.ca) return;
    const plan = listenPlan(cfg, this.opts.bind);
    if (plan.ip !== this.plan!.ip || plan.bindPort !== this.plan!.bindPort) {
      this.core.logger.warn(`daemon.listen / redirect_port changed; restart router67 to move the TLS listener`);
    }
    if (JSON.stringify(cfg.daemon.upstream_dns ?? null) !== JSON.stringify(this.upstreamDns ?? null)) {
      this.upstreamDns = cfg.daemon.upstream_dns;
      this.lookup = createUpstreamLookup({ interceptHosts: this.hosts, servers: cfg.daemon.upstream_dns, avoid: [this.plan!.ip] });
      this.core.setConnectOptions({ lookup: this.lookup as never });
      this.core.logger.info(`upstream DNS for intercepted hosts: ${this.lookup.servers.join(', ')}`);
    }
    const before = this.hosts.join(',');
    try {
      this.setHosts(cfg.intercept_hosts);
    } catch (e) {
      this.core.logger.error((e as Error).message);
      return;
    }
    if (this.hosts.join(',') !== before) {
      await this.applyBlock().catch((e: Error) => this.core.logger.error(`hosts block not updated: ${e.message}`));
      this.core.logger.info(`now intercepting ${this.hosts.join(', ')}`);
    }
  }

  private async doStop(): Promise<void> {
    if (!this.server && !this.blockApplied) {
      if (this.core.intercept.state !== 'off') this.core.setIntercept({ enabled: false, state: 'off', error: undefined });
      return;
    }
    let error: Error | undefined;
    try {
      await this.teardown();
    } catch (e) {
      error = e as Error;
    }
    this.core.setIntercept({ enabled: false, state: error ? 'error' : 'off', error: error?.message });
    if (error) throw error;
  }

  /** Block first, then the listener (in-flight requests get a moment to finish). */
  private async teardown(): Promise<void> {
    this.core.off('config', this.onConfig);
    let blockError: Error | undefined;
    if (this.blockApplied) {
      try {
        await this.privileged.run('remove-hosts', { ownerPid: process.pid });
        this.blockApplied = false;
        process.off('exit', this.onExit);
      } catch (e) {
        blockError = e as Error;
      }
    } else process.off('exit', this.onExit);
    // After the removal: the watchdog finds nothing of ours and exits (or removes what we could not).
    this.releaseWatchdog();
    const server = this.server;
    this.server = undefined;
    if (this.redirectedAt) this.core.apps.redirect(this.redirectedAt, undefined);
    this.redirectedAt = undefined;
    if (server) {
      server.close();
      // idle connections now; HTTP/2 sessions get GOAWAY (open streams finish); the rest after a moment
      for (const [socket, c] of this.h1) if (c.open === 0) socket.destroy();
      for (const session of this.h2.keys()) session.close();
      let t: NodeJS.Timeout | undefined;
      await Promise.race([this.passthrough?.idle() ?? Promise.resolve(), new Promise<void>((r) => (t = setTimeout(r, 2000)))]);
      clearTimeout(t);
      for (const socket of this.h1.keys()) socket.destroy();
      for (const session of this.h2.keys()) session.destroy();
      this.h1.clear();
      this.h2.clear();
    }
    // upgraded connections are no longer the server's: the served ones and the piped ones end here
    await this.core.ws.closeAll((m) => m.host !== undefined);
    this.passthrough?.closeUpgrades();
    this.core.setPassthrough(undefined);
    if (blockError) throw blockError;
  }

  /** Last resort on process exit: synchronous, no prompt; only when the file is writable as things are. */
  private exitCleanup(): void {
    if (!this.blockApplied) return;
    try {
      if (this.privileged.canWriteHosts()) removeHostsFile(this.hostsPath, { ownerPid: process.pid });
    } catch {
      /* nothing more can be done here; the next start removes the stale block */
    }
  }

  /** Whether the CA's constraints match the configured hosts (else install should re-issue it). */
  caCoversConfig(): boolean {
    return !!this.ca && caMatchesHosts(this.ca, this.core.config.intercept_hosts);
  }
}
