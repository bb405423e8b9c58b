// The core: config (with hot reload), the routing proxy on the plain local endpoint, the request log,
// the admin endpoint and status. Plain Node: the CLI daemon and the Electron app both run this.
import { healthInfo } from '../health/summary.js';
import type { HealthSnapshot } from '../health/types.js';
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { existsSync, mkdirSync, readFileSync, rmSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, dirname, join } from 'node:path';
import type { Agent as UndiciAgent, Dispatcher } from 'undici';
import { ConfigError, parseConfig, type ConfigIssue } from '../config/load.js';
import { parseConfigOffThread } from '../config/offthread.js';
import type { Config } from '../config/schema.js';
import { AdminServer, ensureToken, readJsonBody, sendJson } from '../admin/server.js';
import { createLogger, type Logger } from '../log/logger.js';
import { RequestLog } from '../log/request-log.js';
import { authProblem, describeAuthSource, type OAuthResolver, type SecretResolver } from '../proxy/auth.js';
import { Proxy, type ProxyDeps } from '../proxy/proxy.js';
import { ResponsesWsGateway } from '../ws/responses-ws.js';
import { Budgets } from '../usage/budgets.js';
import { priceEntry } from '../usage/cost.js';
import { blendedPerMillion, priceSourceLabel } from '../usage/prices.js';
import type { ExplainInput } from '../routing/explain.js';
import { AppLookup } from '../procinfo/lookup.js';
import { Metrics } from '../metrics/metrics.js';
import { attachHealth, type Readiness } from '../metrics/health.js';
import { ensureHome, paths, resolveHome, type Paths } from './paths.js';
import { VERSION } from './version.js';
import type { BudgetNotice, ExplainView, ProviderView, StatusBase } from '../ui/types.js';

// The Agent alone, not undici's index: the index also loads fetch, WebSocket, caches and more, about 20 MB of
// resident memory the daemon never uses. dispatch() is all the proxy needs. Even the Agent alone (client, pool,
// HTTP/1 and HTTP/2 clients, node:http2) costs several MB, so it is loaded and built on the first upstream
// request (the idle-memory target is 55 MB).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const loadAgent = () => require('undici/lib/dispatcher/agent.js') as typeof UndiciAgent;
type Agent = UndiciAgent;
/** `router67 route --explain`, the Routes view: loaded on the first question, not with the daemon. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const loadExplain = () => require('../routing/explain.js') as typeof import('../routing/explain.js');

export interface CoreOptions {
  home?: string;
  configPath?: string;
  env?: NodeJS.ProcessEnv;
  secrets?: SecretResolver;
  oauth?: OAuthResolver;
  /** Overrides [daemon] http_listen (tests use 127.0.0.1:0). */
  httpListen?: string;
  /** Start the admin endpoint (default true). */
  admin?: boolean;
  logger?: Logger;
  /** The clock of breakers, limits, rate-limit foresight and budgets' days and months (tests inject one; default Date.now). */
  now?: () => number;
  /** Watch the config file and apply changes (default true). */
  watch?: boolean;
  /**
   * Validate the config in a short-lived child process (config/offthread.ts), so zod is never loaded into this
   * process: the headless daemon's idle memory. Same results and errors; default false (in-process).
   */
  validateOffThread?: boolean;
  /** A config already validated from this text (the composition root peeks at it); used if the file still says so. */
  validated?: { text: string; config: Config };
}

export interface ProviderStatus extends ProviderView {
  authSource: string;
}

/** The core's status (the window's UiStatus shares its base: main/ui/types.d.ts). */
export interface CoreStatus extends StatusBase {
  configErrors: ConfigIssue[];
  providers: ProviderStatus[];
  /** Breakers, limits and rate-limit foresight in full (main/health/types.ts). */
  health?: HealthSnapshot;
}

export interface DaemonState {
  pid: number;
  startedAt: string;
  http: string;
  admin?: string;
  version: string;
}

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|\[::1\]|::1)$/i;

export function splitHostPort(s: string): { host: string; port: number } {
  const i = s.lastIndexOf(':');
  let host = s.slice(0, i);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return { host, port: Number(s.slice(i + 1)) };
}

export function isLoopbackAddress(host: string): boolean {
  return LOOPBACK.test(host);
}

export class Core extends EventEmitter {
  readonly home: string;
  readonly configPath: string;
  readonly paths: Paths;
  readonly log: RequestLog;
  readonly logger: Logger;
  readonly proxy: Proxy;
  /** The Responses WebSocket transport, for the plain endpoint and the TLS listener. */
  readonly ws: ResponsesWsGateway;
  /** What was spent against the `[budgets]` (main/usage/budgets.ts); its state file is home/budgets.json. */
  readonly budgets: Budgets;
  /** The app behind each connection, for the plain endpoint and the TLS listener (main/procinfo). */
  readonly apps: AppLookup;
  /** Prometheus metrics (prom-client loaded on the first scrape, or at start with [metrics] enabled). */
  readonly metrics: Metrics;
  readonly env: NodeJS.ProcessEnv;
  admin?: AdminServer;
  httpAddress = { host: '', port: 0 };
  /** Interception state; the interception layer updates it through setIntercept(). */
  intercept: CoreStatus['intercept'];
  private cfg: Config;
  private cfgText = '';
  private configErrors: ConfigIssue[] = [];
  private readonly startedAt = new Date().toISOString();
  private server?: Server;
  /** Built on first use (`agent`); undefined until then. */
  private agentInstance?: Agent;
  private watcher?: FSWatcher;
  private reloadTimer?: NodeJS.Timeout;
  private stopping?: Promise<void>;
  private readonly secrets?: SecretResolver;
  private oauth?: OAuthResolver;
  private readonly validateOffThread: boolean;

  private constructor(opts: CoreOptions, config: Config, text: string, missingFile: boolean) {
    super();
    this.env = opts.env ?? process.env;
    this.home = opts.home ?? resolveHome(this.env);
    this.paths = paths(this.home);
    this.configPath = opts.configPath ?? this.paths.config;
    this.cfg = config;
    this.cfgText = text;
    this.secrets = opts.secrets;
    this.oauth = opts.oauth;
    this.validateOffThread = opts.validateOffThread ?? false;
    this.logger = opts.logger ?? createLogger(config.daemon.log_level);
    this.log = new RequestLog({ dir: this.paths.logs });
    this.log.on('entry', (e) => this.emit('log', e));
    this.log.on('file-error', (err: Error) => this.logger.warn(`request log file: ${err.message}`));
    this.intercept = { enabled: false, state: 'off', listen: config.daemon.listen };
    this.budgets = new Budgets({ file: join(this.home, 'budgets.json'), config: () => this.cfg, now: opts.now ? () => new Date(opts.now!()) : undefined, onError: (m) => this.logger.warn(m) });
    this.budgets.on('notice', (n: BudgetNotice) => {
      this.logger.warn(n.message);
      this.emit('budget', n);
      this.emit('status', this.status());
    });
    this.proxy = new Proxy((this.proxyDeps = {
      config: () => this.cfg,
      dispatcher: () => this.agent,
      auth: { env: this.env, secrets: this.secrets, oauth: this.oauth },
      log: this.log,
      logger: this.logger,
      spend: {
        refuse: (app) => this.budgets.refusal(app),
        skip: (provider) => this.budgets.providerBlocked(provider),
        finish: (entry) => this.budgets.add(priceEntry(this.cfg, entry), entry.provider, entry.app),
      },
      now: opts.now,
    }));
    // `strategy = "cheapest"` compares the price table's blended rates (the table loads on the first lookup)
    this.proxy.prices = (provider, model) => blendedPerMillion(this.cfg, provider, model);
    this.apps = new AppLookup({ enabled: () => this.cfg.daemon.identify_apps });
    this.metrics = new Metrics({ log: this.log, inFlight: () => this.proxy.inFlight, appLookups: () => this.apps.stats });
    if (config.metrics?.enabled) this.metrics.enable();
    // breaker state, in flight and queue depth per provider and target (main/health)
    this.metrics.addGauges(() => this.proxy.health.snapshot(this.cfg));
    this.ws = new ResponsesWsGateway({ proxy: this.proxy, config: () => this.cfg, logger: this.logger });
    if (missingFile) this.logger.warn(`no config file at ${this.configPath} yet; running with no providers until one appears`);
  }

  /** Loads the config (a broken file is an error here: there is no last good one yet) and starts listening. */
  static async start(opts: CoreOptions = {}): Promise<Core> {
    const env = opts.env ?? process.env;
    const home = opts.home ?? resolveHome(env);
    const configPath = opts.configPath ?? paths(home).config;
    ensureHome(home);
    let text = '';
    const missing = !existsSync(configPath);
    if (!missing) {
      try {
        text = readFileSync(configPath, 'utf8');
      } catch (e) {
        throw new ConfigError([{ file: configPath, path: '', message: `cannot read: ${(e as Error).message}` }]);
      }
    }
    // A missing file is the empty config: every default.
    const config =
      !missing && opts.validated?.text === text ? opts.validated.config : await validate(opts.validateOffThread, text, configPath);
    const core = new Core({ ...opts, home, configPath }, config, text, missing);
    try {
      await core.listen(opts);
    } catch (e) {
      core.server?.close(); // a later step (the admin port) failed: the plain endpoint must not stay open
      await core.agentInstance?.close().catch(() => {});
      await core.log.close();
      throw e;
    }
    return core;
  }

  get config(): Config {
    return this.cfg;
  }

  /** The Agent the proxy uses upstream; the interception layer may replace it (e.g. with a hosts-bypassing lookup). */
  get dispatcher(): Dispatcher {
    return this.agent;
  }

  private connectOptions?: UndiciAgent.Options['connect'];
  private proxyDeps!: ProxyDeps;

  /** Where requests from the TLS listener that no provider routes go (the interception layer sets it). */
  setPassthrough(fn: ProxyDeps['passthrough']): void {
    this.proxyDeps.passthrough = fn;
  }

  /** Where `auth.oauth` credentials come from (the OAuth layer sets it once it runs); takes effect for new requests. */
  setOAuth(resolver: OAuthResolver): void {
    this.oauth = resolver;
    this.proxyDeps.auth.oauth = resolver;
    this.emit('status', this.status());
  }

  /** Sets the connect options (e.g. a DNS lookup) for upstream connections; takes effect for new requests. */
  setConnectOptions(connect: UndiciAgent.Options['connect']): void {
    this.connectOptions = connect;
    this.replaceAgent();
  }

  /** The upstream Agent, built (and undici loaded) on first use. */
  private get agent(): Agent {
    return (this.agentInstance ??= this.makeAgent(this.cfg));
  }

  private makeAgent(cfg: Config): Agent {
    const Agent = loadAgent();
    return new Agent({
      connections: cfg.daemon.max_connections,
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 120_000,
      connect: this.connectOptions,
    });
  }

  /** New requests get a new Agent (built on first use, with the current config and connect options). */
  private replaceAgent(): void {
    const old = this.agentInstance;
    this.agentInstance = undefined;
    // In-flight requests finish on the old agent; close() waits for them.
    old?.close().catch(() => {});
  }

  private async listen(opts: CoreOptions): Promise<void> {
    const listen = opts.httpListen ?? this.cfg.daemon.http_listen;
    const { host, port } = splitHostPort(listen);
    if (!isLoopbackAddress(host) && !this.cfg.daemon.allow_non_loopback) {
      throw new ConfigError([
        {
          file: this.configPath,
          path: 'daemon.http_listen',
          message: `"${listen}" is not a loopback address; anyone who can reach it could use your keys. Set daemon.allow_non_loopback = true to allow it.`,
        },
      ]);
    }
    const server = createServer({ keepAliveTimeout: 65_000, requestTimeout: 0, headersTimeout: 60_000 }, (req, res) =>
      this.proxy.handle(req, res, this.apps.meta(req.socket, req.socket, req.headers)),
    );
    // the app behind a connection is looked up at its first request, once (cached on the socket: main/procinfo)
    server.on('upgrade', (req, socket, head) => this.ws.upgrade(req, socket, head, this.apps.meta(req.socket, req.socket, req.headers)));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(err.code === 'EADDRINUSE' ? new Error(`${listen} is already in use (is another router67 running?)`) : err),
      );
      server.listen(port, host, () => resolve());
    });
    server.on('error', (err) => this.logger.error(`http server: ${err.message}`));
    this.server = server;
    const a = server.address() as AddressInfo;
    this.httpAddress = { host: a.address, port: a.port };
    if (opts.admin !== false) {
      this.admin = new AdminServer(ensureToken(this.paths.adminToken));
      this.admin.route('GET', '/api/status', (_req, res) => sendJson(res, 200, this.status()));
      this.admin.route('POST', '/api/route/explain', async (req, res) => {
        const body = await readJsonBody(req, this.cfg.daemon.max_request_body_bytes);
        if (!body.ok) return sendJson(res, body.status, { error: body.message });
        const input = loadExplain().parseExplainInput(body.value);
        if (typeof input === 'string') return sendJson(res, 400, { error: input });
        sendJson(res, 200, this.explainRoute(input));
      });
      attachHealth(this.admin, { metrics: this.metrics, readiness: () => this.readiness(), requireToken: () => this.cfg.metrics?.require_token ?? true });
      await this.admin.listen('127.0.0.1', this.cfg.daemon.admin_port ?? 0).catch((err: NodeJS.ErrnoException) => {
        throw err.code === 'EADDRINUSE' ? new Error(`admin port 127.0.0.1:${this.cfg.daemon.admin_port} is already in use ([daemon] admin_port)`) : err;
      });
    }
    this.writeState();
    if (opts.watch !== false) this.watchConfig();
    for (const w of this.warnings()) this.logger.warn(w);
  }

  /** Which route and targets a request would get, and their state now; nothing is sent. */
  explainRoute(input: ExplainInput, cfg: Config = this.cfg): ExplainView {
    return loadExplain().explainRoute(cfg, input, { stats: this.proxy.stats, health: this.proxy.health, prices: this.proxy.prices });
  }

  private writeState(): void {
    mkdirSync(this.paths.run, { recursive: true, mode: 0o700 });
    const state: DaemonState = {
      pid: process.pid,
      startedAt: this.startedAt,
      http: this.httpAddressString(),
      admin: this.admin?.url,
      version: VERSION,
    };
    writeFileSync(this.paths.daemonState, JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
  }

  private httpAddressString(): string {
    const h = this.httpAddress.host.includes(':') ? `[${this.httpAddress.host}]` : this.httpAddress.host;
    return `${h}:${this.httpAddress.port}`;
  }

  private watchConfig(): void {
    const dir = dirname(this.configPath);
    const name = basename(this.configPath);
    mkdirSync(dir, { recursive: true });
    try {
      this.watcher = watch(dir, { persistent: false }, (_ev, file) => {
        if (file && file.toString() !== name) return;
        clearTimeout(this.reloadTimer);
        this.reloadTimer = setTimeout(() => void this.reload(), 75);
      });
      this.watcher.on('error', (err) => this.logger.warn(`config watch: ${err.message}`));
    } catch (err) {
      this.logger.warn(`cannot watch ${dir} for config changes: ${(err as Error).message}`);
    }
  }

  /**
   * Re-reads the config file. A valid change applies to new requests (in-flight ones keep the config they
   * started with); an invalid one keeps the last good config running and is reported. Returns true when the
   * file is valid.
   */
  reload(): Promise<boolean> {
    // One at a time, in order: validation may wait for a child process.
    const run = (this.reloading ?? Promise.resolve(true)).then(() => this.reloadNow());
    this.reloading = run.catch(() => false);
    return run;
  }

  private reloading?: Promise<boolean>;

  private async reloadNow(): Promise<boolean> {
    let text: string;
    try {
      text = readFileSync(this.configPath, 'utf8');
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'ENOENT') return this.configErrors.length === 0; // mid-rename or removed: keep what runs
      return this.reject([{ file: this.configPath, path: '', message: `cannot read: ${err.message}` }]);
    }
    if (text === this.cfgText && this.configErrors.length === 0) return true;
    let next: Config;
    try {
      next = await validate(this.validateOffThread, text, this.configPath);
    } catch (e) {
      if (e instanceof ConfigError) return this.reject(e.issues);
      throw e;
    }
    const prev = this.cfg;
    this.cfg = next;
    this.cfgText = text;
    this.configErrors = [];
    this.logger.level = next.daemon.log_level;
    if (next.daemon.max_connections !== prev.daemon.max_connections) this.replaceAgent();
    if (next.metrics?.enabled) this.metrics.enable();
    if (next.daemon.http_listen !== prev.daemon.http_listen) {
      this.logger.warn(`daemon.http_listen changed to ${next.daemon.http_listen}; restart router67 to move the listener`);
    }
    this.logger.info(`config reloaded from ${this.configPath} (${next.providers.length} providers)`);
    for (const w of this.warnings()) this.logger.warn(w);
    this.emit('config', next);
    this.emit('status', this.status());
    return true;
  }

  private reject(issues: ConfigIssue[]): false {
    this.configErrors = issues;
    this.logger.error(`config not applied; the last good config keeps running:\n${new ConfigError(issues).message}`);
    this.emit('config-error', issues);
    this.emit('status', this.status());
    return false;
  }

  /** Hash of the config text last applied (the editor's revision). */
  get configRevision(): string {
    return createHash('sha256').update(this.cfgText).digest('hex');
  }

  /** Updates interception state (called by the interception layer) and announces it. */
  setIntercept(state: Partial<CoreStatus['intercept']>): void {
    this.intercept = { ...this.intercept, ...state };
    this.emit('status', this.status());
  }

  /** Other parts' warnings for status (e.g. a failing usage history); each returns one line or nothing. */
  readonly warningSources = new Set<() => string | undefined>();

  warnings(): string[] {
    const out: string[] = [];
    for (const w of this.warningSources) {
      const line = w();
      if (line) out.push(line);
    }
    const src = { env: this.env, secrets: this.secrets, oauth: this.oauth };
    for (const p of this.cfg.providers) {
      const problem = authProblem(p, src);
      if (problem) out.push(`provider ${p.name}: ${problem}; it will be skipped until that is fixed`);
    }
    return out;
  }

  status(): CoreStatus {
    const src = { env: this.env, secrets: this.secrets, oauth: this.oauth };
    const health = this.proxy.health.snapshot(this.cfg);
    return {
      version: VERSION,
      pid: process.pid,
      startedAt: this.startedAt,
      home: this.home,
      configPath: this.configPath,
      http: { address: this.httpAddressString() },
      admin: this.admin ? { url: this.admin.url } : undefined,
      intercept: { ...this.intercept, listen: this.cfg.daemon.listen },
      configErrors: this.configErrors,
      warnings: this.warnings(),
      providers: this.cfg.providers.map((p) => {
        const problem = authProblem(p, src);
        return {
          name: p.name,
          format: p.format,
          models: Object.keys(p.available_models),
          auth: problem ? (/sign-in/.test(problem) ? 'sign-in needed' : 'missing') : 'ok',
          authSource: describeAuthSource(p),
          authDetail: problem,
          health: healthInfo(health.providers.find((h) => h.name === p.name)),
        };
      }),
      health,
      requests: { total: this.log.total, today: this.log.today, inFlight: this.proxy.inFlight },
      ...this.budgetStatus(),
    };
  }

  private budgetStatus(): Pick<StatusBase, 'budgets' | 'budgetNotices' | 'prices'> {
    const views = this.budgets.views();
    const notices = this.budgets.notices();
    return {
      ...(views.length ? { budgets: views } : {}),
      ...(notices.length ? { budgetNotices: notices } : {}),
      prices: { source: priceSourceLabel(), overrides: Object.keys(this.cfg.prices ?? {}).length },
    };
  }

  /** For /readyz: config loaded, the plain endpoint listening, the TLS listener up when interception is on. */
  readiness(): Readiness {
    const checks: Record<string, string> = {};
    const reasons: string[] = [];
    const warnings: string[] = [];
    const check = (name: string, ok: boolean, why: string) => {
      checks[name] = ok ? 'ok' : why;
      if (!ok) reasons.push(`${name}: ${why}`);
    };
    check('running', !this.stopping, 'stopping');
    check('config', true, '');
    if (this.configErrors.length) warnings.push(`${this.configPath} has ${this.configErrors.length} error(s); the last good config keeps running`);
    check('http', !!this.server?.listening, `the plain endpoint is not listening on ${this.cfg.daemon.http_listen}`);
    const ic = this.intercept;
    if (ic.enabled) check('intercept', ic.state === 'on', `the TLS listener is ${ic.state}${ic.error ? `: ${ic.error}` : ''}`);
    else checks.intercept = 'off';
    return { ready: reasons.length === 0, checks, reasons, warnings };
  }

  /** Stops accepting, lets in-flight requests finish for up to drainMs, then closes everything. */
  stop(opts: { drainMs?: number } = {}): Promise<void> {
    this.stopping ??= this.doStop(opts.drainMs ?? this.cfg.daemon.drain_timeout_ms);
    return this.stopping;
  }

  private async doStop(drainMs: number): Promise<void> {
    this.watcher?.close();
    clearTimeout(this.reloadTimer);
    const server = this.server;
    if (server) {
      server.close();
      server.closeIdleConnections();
      let timer: NodeJS.Timeout | undefined;
      const drained = await Promise.race([
        this.proxy.idle().then(() => true),
        new Promise<boolean>((r) => (timer = setTimeout(() => r(false), drainMs))),
      ]);
      clearTimeout(timer);
      if (!drained) this.logger.warn(`${this.proxy.inFlight} request(s) still running after ${drainMs} ms; closing them`);
      server.closeAllConnections();
    }
    await this.ws.closeAll();
    await this.admin?.close();
    this.metrics.close();
    await this.agentInstance?.destroy().catch(() => {});
    this.budgets.flush();
    await this.log.close();
    try {
      const st = JSON.parse(readFileSync(this.paths.daemonState, 'utf8')) as DaemonState;
      if (st.pid === process.pid) rmSync(this.paths.daemonState, { force: true });
    } catch {
      /* nothing to clean */
    }
    this.emit('stopped');
  }
}

/** Parses and validates config text, in this thread or in a child process (CoreOptions.validateOffThread). */
function validate(offThread: boolean | undefined, text: string, file: string): Promise<Config> {
  if (offThread) return parseConfigOffThread(text, file);
  try {
    return Promise.resolve(parseConfig(text, file));
  } catch (e) {
    return Promise.reject(e as Error);
  }
}
