// What the window can do, independent of how it is reached: the Electron IPC handlers (main/electron/ipc.ts) and
// the daemon's HTTP + SSE API (main/ui/server.ts) both call this one service. Inputs arrive already parsed
// (main/ui/wire.ts). Nothing returned from here holds a secret value.
import { existsSync, readFileSync } from 'node:fs';
import type { EventEmitter } from 'node:events';
import type {
  ExplainAnswer,
  ExplainRequest,
  ExplainView,
  RoutesDraft,
  RoutesState,
  ConfigDraft,
  EditorState,
  Features,
  FirstRunState,
  InterceptSetup,
  StarterWriteResult,
  InterceptResult,
  Issue,
  LogDetail,
  LogRow,
  ResendRequest,
  ResendResult,
  SaveResult,
  SignInFlow,
  SignInState,
  SignOutResult,
  UiEvent,
  UiStatus,
  BudgetNotice,
  HistoryState,
  UsageQuery,
  UsageReport,
  UsageToday,
} from './types.js';
import type { CoreStatus } from '../core/core.js';
import type { LogEntry } from '../log/request-log.js';
import { ConflictError, InvalidEditError, keychainRefs, loadEditorState, parseToml, planEdit, readConfigText, saveDraft } from '../config/save.js';
import { KeychainUnavailableError, SecretStore } from '../secrets/store.js';
import type { SignInService } from '../oauth/signin.js';
import { CaptureResponse } from './capture.js';
import { loadRoutesState, planRoutesEdit, saveRoutes } from '../config/routes-edit.js';
import { ConfigSchema, type Config } from '../config/schema.js';
import { explainRoute, formatExplain, parseExplainInput, type ExplainInput } from '../routing/explain.js';
import { ConfigExistsError, detectStarter, starterToml, writeNewConfig } from '../config/starter.js';
import { clientTrustLines } from '../intercept/doctor.js';
import type { DetectedClient } from '../intercept/clients.js';

/** The part of the Core the UI uses (the real Core satisfies it). */
export interface UiCore extends Pick<EventEmitter, 'on' | 'off'> {
  readonly configPath: string;
  readonly env: NodeJS.ProcessEnv;
  status(): CoreStatus;
  readonly log: Pick<EventEmitter, 'on' | 'off'> & { recent(limit?: number): LogEntry[]; get(id: string): LogEntry | undefined; readonly capacity?: number };
  reload(): Promise<boolean>;
  /** The routing proxy ("Resend to…" sends a logged request again through it); absent: no resend here. */
  readonly proxy?: {
    dispatch(
      req: { method: string; url: string; headers: Record<string, string> },
      res: never,
      body: Buffer,
      meta: { pin: { provider: string; model: string }; resendOf: string },
    ): Promise<void>;
  };
  /** Routing rules: which route and targets a request would get, with the live state (Core has it). */
  explainRoute?(input: ExplainInput, cfg?: Config): ExplainView;
}

/** The most of a resent request's answer the window is shown. */
const MAX_RESEND_ANSWER = 1024 * 1024;
/** The most bytes of a body the request log keeps (main/proxy/relay/relay.ts MAX_LOGGED_BODY). */
const MAX_LOGGED_BODY = 1024 * 1024;
/** Request headers a resend does not repeat (the proxy adds its own; credentials were redacted anyway). */
const NOT_RESENT = /^(host|content-length|connection|keep-alive|transfer-encoding|te|upgrade|expect|cookie|authorization|x-api-key|api-key|x-goog-api-key|accept-encoding)$/i;

/** Turns interception on/off (the privileged part runs through the OS's admin prompt). */
export interface InterceptControl {
  set(enabled: boolean): Promise<void>;
  /** Whether the one-time setup (`router67 install`: the CA and its trust) is still to do, and for which hosts. */
  setupInfo?(): { needed: boolean; hosts: string[] };
  /** Runs the setup through one OS prompt, then turns interception on. A refused prompt changes nothing. */
  setup?(): Promise<void>;
  /** Re-checks (and repairs) listener, hosts block and watchdog, e.g. after sleep/wake; nothing when off. */
  verify?(): Promise<unknown>;
}

/** An error meaning: the user refused (or cancelled) the admin prompt. Nothing changed. */
export class RefusedError extends Error {
  readonly refused = true;
  constructor(message = 'the administrator prompt was refused') {
    super(message);
    this.name = 'RefusedError';
  }
}

export function isRefusal(e: unknown): boolean {
  if (!e || typeof e !== 'object') return false;
  const x = e as { refused?: unknown; code?: unknown; name?: unknown };
  return x.refused === true || x.code === 'EREFUSED' || x.code === 'ECANCELED' || x.name === 'RefusedError' || x.name === 'ElevationRefused';
}

export interface CaStatus {
  trusted: boolean | null;
  /** false: there is no router67 CA yet (`router67 install` creates it). */
  installed?: boolean;
  detail?: string;
}

/** Usage history as the window sees it (main/usage/history.ts's History satisfies it). */
export interface UsageSource {
  query(q: UsageQuery): Promise<UsageReport>;
  today(): UsageToday;
  readonly state: HistoryState;
}

export interface UiServiceOptions {
  core: UiCore;
  secrets?: SecretStore;
  intercept?: InterceptControl;
  /** CA trust as `doctor` reports it. */
  caStatus?: () => Promise<CaStatus> | CaStatus;
  app: 'electron' | 'daemon';
  /** Sign-in views exist (issue 6). */
  signIn?: boolean;
  /** OAuth sign-in (main/oauth/signin.ts); the Sign-in view shows when it is given. */
  signInService?: SignInService;
  /** Usage history; the Usage view shows when it is given. */
  usage?: UsageSource;
  /** First-run detection: where Ollama is looked for, the installed clients (tests). */
  firstRun?: { ollamaUrl?: string; installedClients?: DetectedClient[]; userHome?: string };
}

/** What Set up interception changes, in two sentences (the window's dialog and the tray's). */
export function setupExplanation(hosts: string[]): string[] {
  const list = hosts.length <= 1 ? (hosts[0] ?? 'the intercepted hosts') : `${hosts.slice(0, -1).join(', ')} and ${hosts[hosts.length - 1]}`;
  return [
    `router67 creates a local certificate authority that can only vouch for ${list}, and asks your system to trust it.`,
    'While router67 runs, a block in the hosts file sends those names to router67; it goes when router67 stops, and your computer asks for your password to make these changes.',
  ];
}

const SECRET_HEADER = /authorization|api[-_]?key|cookie|token|secret|password|session|credential/i;

export function redactHeaders(h: Record<string, string> | undefined): Record<string, string> | undefined {
  if (!h) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) out[k] = SECRET_HEADER.test(k) && !/^\[?redacted/i.test(String(v)) ? '[redacted]' : String(v);
  return out;
}

export function toRow(e: LogEntry): LogRow {
  const { requestHeaders: _h, requestBody: _b, responseBody: _r, ...row } = e;
  return { ...row, attempts: e.attempts.map((a) => ({ ...a })) };
}

export function toDetail(e: LogEntry): LogDetail {
  const d: LogDetail = toRow(e);
  const h = redactHeaders(e.requestHeaders);
  if (h) d.requestHeaders = h;
  const u = redactHeaders(e.upstreamHeaders);
  if (u) d.upstreamHeaders = u;
  const r = redactHeaders(e.responseHeaders);
  if (r) d.responseHeaders = r;
  d.maxBody = MAX_LOGGED_BODY;
  if (e.requestBody !== undefined) d.requestBody = e.requestBody;
  if (e.responseBody !== undefined) d.responseBody = e.responseBody;
  return d;
}

export class UiService {
  private readonly core: UiCore;
  private readonly secrets: SecretStore;
  private ca: CaStatus = { trusted: null };
  private caCheckedAt = 0;
  private interceptBusy = false;

  constructor(private readonly opts: UiServiceOptions) {
    this.core = opts.core;
    this.secrets = opts.secrets ?? SecretStore.none('the keychain is not used by this process');
    void this.refreshCa();
  }

  async refreshCa(): Promise<CaStatus> {
    if (!this.opts.caStatus) return this.ca;
    this.caCheckedAt = Date.now();
    try {
      this.ca = await this.opts.caStatus();
    } catch (e) {
      this.ca = { trusted: null, detail: (e as Error).message };
    }
    return this.ca;
  }

  features(): Features {
    return {
      signIn: this.opts.signIn === true || !!this.opts.signInService,
      interceptToggle: !!this.opts.intercept,
      firstRun: !existsSync(this.core.configPath),
      usage: !!this.opts.usage,
    };
  }

  private setupState(): InterceptSetup {
    const info = this.opts.intercept?.setupInfo?.() ?? { needed: false, hosts: [] };
    return { needed: info.needed, available: !!this.opts.intercept?.setup, hosts: [...info.hosts], explanation: setupExplanation(info.hosts) };
  }

  status(): UiStatus {
    const s = this.core.status();
    if (this.opts.caStatus && Date.now() - this.caCheckedAt > 30_000) void this.refreshCa();
    return {
      version: s.version,
      app: this.opts.app,
      pid: s.pid,
      startedAt: s.startedAt,
      home: s.home,
      configPath: s.configPath,
      http: { ...s.http },
      ...(s.admin ? { admin: { ...s.admin } } : {}),
      intercept: { ...s.intercept },
      ca: { ...this.ca },
      configErrors: s.configErrors.map((i) => ({ ...i })),
      warnings: [...s.warnings],
      providers: s.providers.map((p) => ({
        name: p.name,
        ...(p.format ? { format: p.format } : {}),
        models: [...p.models],
        auth: p.auth,
        ...(p.authDetail ? { authDetail: p.authDetail } : {}),
        ...((p as { authSource?: string }).authSource ? { authSource: (p as { authSource?: string }).authSource } : {}),
        ...(p.health ? { health: { ...p.health, openModels: [...p.health.openModels], rateLimited: p.health.rateLimited.map((r) => ({ ...r })) } } : {}),
      })),
      requests: { ...s.requests },
      ...(this.core.log.capacity ? { logCapacity: this.core.log.capacity } : {}),
      ...(s.budgets ? { budgets: s.budgets.map((b) => ({ ...b })) } : {}),
      ...(s.budgetNotices ? { budgetNotices: s.budgetNotices.map((n) => ({ ...n })) } : {}),
      ...(s.prices ? { prices: { ...s.prices } } : {}),
      keychain: this.secrets.info(),
      ...(this.opts.usage ? { usageToday: this.opts.usage.today(), history: this.opts.usage.state } : {}),
      setup: this.setupState(),
    };
  }

  /** The Usage view's report for a range. */
  usage(q: UsageQuery): Promise<UsageReport> {
    if (!this.opts.usage) return Promise.reject(new Error('usage history is not available in this process'));
    return this.opts.usage.query(q);
  }

  loadConfig(): EditorState {
    const st = loadEditorState(this.core.configPath, {
      hasKeychainSecret: (a) => this.secrets.has(a),
      hasEnv: (n) => !!this.core.env[n],
    });
    return { ...st, keychain: this.secrets.info() };
  }

  validate(draft: ConfigDraft): Issue[] {
    const plan = planEdit(readConfigText(this.core.configPath), this.core.configPath, draft, {
      hasKeychainSecret: (a) => this.secrets.has(a),
    });
    return plan.ok ? [] : plan.issues;
  }

  async save(draft: ConfigDraft): Promise<SaveResult> {
    const file = this.core.configPath;
    const before = keychainAccounts(safeRead(file), file);
    let keychainFailure: { path: (string | number)[]; message: string } | undefined;
    try {
      const out = await saveDraft(file, draft, {
        hasKeychainSecret: (a) => this.secrets.has(a),
        beforeWrite: async (secrets) => {
          for (const s of secrets) {
            try {
              await this.secrets.set(s.account, s.value);
            } catch (e) {
              keychainFailure = { path: s.path, message: (e as Error).message };
              throw e;
            }
          }
        },
      });
      // Keys no provider refers to any more are removed from the keychain.
      const after = keychainAccounts(out.text, file);
      for (const a of before) {
        if (!after.has(a) && this.secrets.has(a)) await this.secrets.delete(a).catch(() => false);
      }
      const reloaded = await this.core.reload();
      return { ok: true, revision: out.revision, reloaded };
    } catch (e) {
      if (e instanceof ConflictError) return { ok: false, kind: 'conflict', message: e.message };
      if (e instanceof InvalidEditError) return { ok: false, kind: 'invalid', issues: e.issues };
      if (e instanceof KeychainUnavailableError && keychainFailure) {
        // a key can come from an environment variable instead; a credential header is kept only in the keychain
        const instead = keychainFailure.path[2] === 'auth' ? 'Use an environment variable instead' : 'A credential header is never written to config.toml';
        return {
          ok: false,
          kind: 'invalid',
          issues: [{ path: keychainFailure.path, message: `${keychainFailure.message}. ${instead} (nothing was saved).` }],
        };
      }
      return { ok: false, kind: 'error', message: (e as Error).message };
    }
  }

  async setIntercept(enabled: boolean): Promise<InterceptResult> {
    const control = this.opts.intercept;
    if (!control) return this.interceptUnchanged('interception cannot be switched from this process');
    return this.switchIntercept(
      () => control.set(enabled),
      (refused, e) =>
        refused
          ? `Interception stays ${this.interceptOn() ? 'on' : 'off'}: the administrator prompt was refused.`
          : `Could not turn interception ${enabled ? 'on' : 'off'}: ${e.message}`,
    );
  }

  /** Set up interception: `install` through one OS prompt, then on. Refused: nothing changed, said calmly. */
  async setupIntercept(): Promise<InterceptResult> {
    const control = this.opts.intercept;
    if (!control?.setup) return this.interceptUnchanged('interception cannot be set up from this process; run "router67 install"');
    const setup = control.setup.bind(control);
    return this.switchIntercept(
      async () => {
        await setup();
        await this.refreshCa();
      },
      (refused, e) =>
        refused
          ? 'Nothing was changed: the password prompt was cancelled. You can set up interception whenever you like.'
          : `Could not set up interception: ${e.message}`,
    );
  }

  private interceptOn(): boolean {
    return this.core.status().intercept.enabled;
  }

  private interceptUnchanged(message: string): InterceptResult {
    return { ok: false, refused: false, enabled: this.interceptOn(), message };
  }

  /** Runs one switch of interception at a time; a failure is said by `failed` (refused: the OS prompt was declined). */
  private async switchIntercept(run: () => Promise<void>, failed: (refused: boolean, e: Error) => string): Promise<InterceptResult> {
    if (this.interceptBusy) return this.interceptUnchanged('interception is already being switched');
    this.interceptBusy = true;
    try {
      await run();
      return { ok: true, enabled: this.interceptOn() };
    } catch (e) {
      const refused = isRefusal(e);
      return { ok: false, refused, enabled: this.interceptOn(), message: failed(refused, e as Error) };
    } finally {
      this.interceptBusy = false;
    }
  }

  /** What the first-run page shows: keys in the environment, Ollama, the installed clients and their trust lines. */
  async firstRun(): Promise<FirstRunState> {
    const d = await detectStarter({ env: this.core.env, ...(this.opts.firstRun?.ollamaUrl ? { ollamaUrl: this.opts.firstRun.ollamaUrl } : {}) });
    const home = this.core.status().home;
    const fr = this.opts.firstRun;
    const { lines, caExists } = await clientTrustLines({
      home,
      env: this.core.env,
      ...(fr?.installedClients ? { installedClients: fr.installedClients } : {}),
      ...(fr?.userHome ? { userHome: fr.userHome } : {}),
    });
    return {
      needed: !existsSync(this.core.configPath),
      configPath: this.core.configPath,
      entries: d.entries.map((e) => ({ ...e, models: [...e.models] })),
      ollama: { ...d.ollama, models: [...d.ollama.models] },
      clients: lines.map((l) => ({ client: l.client, lines: [...l.lines], ...(l.note ? { note: l.note } : {}), trusted: l.detected?.trusted ?? false })),
      caExists,
    };
  }

  /** Writes the starting config from the chosen entries (detected again here: the window sends ids only). */
  async writeStarter(ids: string[]): Promise<StarterWriteResult> {
    const file = this.core.configPath;
    const d = await detectStarter({ env: this.core.env, ...(this.opts.firstRun?.ollamaUrl ? { ollamaUrl: this.opts.firstRun.ollamaUrl } : {}) });
    const { text, providers } = starterToml(d, ids);
    try {
      writeNewConfig(file, text);
    } catch (e) {
      if (e instanceof ConfigExistsError) return { ok: false, exists: true, message: `${file} exists already (written meanwhile?); nothing was written.` };
      return { ok: false, exists: false, message: `Could not write ${file}: ${(e as Error).message}` };
    }
    await this.core.reload();
    return { ok: true, path: file, providers };
  }

  private signIns(): SignInService {
    if (!this.opts.signInService) throw new Error('sign-in is not available in this process');
    return this.opts.signInService;
  }

  signInState(): SignInState {
    return this.signIns().state();
  }

  signInStart(name: string, device: boolean): Promise<SignInFlow> {
    return this.signIns().start(name, device);
  }

  signInCancel(id: string): SignInFlow | null {
    return this.signIns().cancel(id);
  }

  signOut(name: string): Promise<SignOutResult> {
    return this.signIns().signOut(name);
  }

  loadRoutes(): RoutesState {
    return loadRoutesState(this.core.configPath);
  }

  validateRoutes(draft: RoutesDraft): Issue[] {
    const plan = planRoutesEdit(readConfigText(this.core.configPath), this.core.configPath, draft);
    return plan.ok ? [] : plan.issues;
  }

  async saveRoutes(draft: RoutesDraft): Promise<SaveResult> {
    try {
      const out = saveRoutes(this.core.configPath, draft);
      const reloaded = await this.core.reload();
      return { ok: true, revision: out.revision, reloaded };
    } catch (e) {
      if (e instanceof ConflictError) return { ok: false, kind: 'conflict', message: e.message };
      if (e instanceof InvalidEditError) return { ok: false, kind: 'invalid', issues: e.issues };
      return { ok: false, kind: 'error', message: (e as Error).message };
    }
  }

  /** The "test a request" box: explains a body against the saved config, or against the draft being edited. */
  explainRoute(req: ExplainRequest): ExplainAnswer {
    let body: unknown;
    try {
      body = JSON.parse(req.body);
    } catch (e) {
      return { ok: false, message: `the request body is not JSON: ${(e as Error).message}` };
    }
    const input = parseExplainInput({
      body,
      ...(req.path ? { path: req.path } : {}),
      ...(req.headers && Object.keys(req.headers).length ? { headers: req.headers } : {}),
      ...(req.host ? { host: req.host } : {}),
      ...(req.app ? { app: req.app } : {}),
    });
    if (typeof input === 'string') return { ok: false, message: input };
    const file = this.core.configPath;
    const text = readConfigText(file);
    let cfg: Config;
    if (req.draft) {
      const plan = planRoutesEdit(text, file, req.draft);
      if (!plan.ok) return { ok: false, message: `fix the routes first: ${plan.issues[0]?.message ?? 'invalid'}` };
      cfg = ConfigSchema.parse(plan.target);
    } else {
      const r = ConfigSchema.safeParse(parseTomlOrEmpty(text, file));
      if (!r.success) return { ok: false, message: 'config.toml has errors: see Status' };
      cfg = r.data;
    }
    const result = this.core.explainRoute ? this.core.explainRoute(input, cfg) : explainRoute(cfg, input);
    return { ok: true, result, text: formatExplain(result) };
  }

  recentLog(limit: number): LogRow[] {
    return this.core.log.recent(limit).map(toRow);
  }

  logEntry(id: string): LogDetail | null {
    const e = this.core.log.get(id);
    return e ? toDetail(e) : null;
  }

  /**
   * "Resend to…": the logged request body sent again, through the proxy, to exactly one provider under one
   * upstream model. It becomes a log entry of its own (marked as a resend of the original); the answer comes back
   * here, secrets scrubbed by the relays as for any client, its headers redacted. Only when the body was logged.
   */
  async resend(r: ResendRequest): Promise<ResendResult> {
    const e = this.core.log.get(r.id);
    if (!e) return { ok: false, message: 'This request is no longer in memory; only the newest requests can be resent.' };
    if (!this.core.proxy) return { ok: false, message: 'Resending is not available in this process.' };
    if (e.requestBody === undefined)
      return { ok: false, message: 'The request body was not logged, so it cannot be resent. Turn on log_bodies under [daemon] in config.toml to resend later requests.' };
    if (Buffer.byteLength(e.requestBody) >= MAX_LOGGED_BODY) return { ok: false, message: 'The logged request body was cut at 1 MB, so it cannot be resent as it was.' };
    if (e.method !== 'POST') return { ok: false, message: `Only POST requests can be resent (this was ${e.method}).` };
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(e.requestHeaders ?? {})) if (!NOT_RESENT.test(k) && !/^\[?redacted/i.test(v)) headers[k] = v;
    const res = new CaptureResponse(MAX_RESEND_ANSWER);
    const before = new Set(this.core.log.recent(8).map((x) => x.id));
    let entryId: string | undefined;
    const onLog = (x: LogEntry) => {
      if (x.resendOf === e.id && !before.has(x.id)) entryId ??= x.id;
    };
    this.core.on('log', onLog);
    const t0 = Date.now();
    try {
      // the path as the client sent it on the plain endpoint: an intercepted request's host prefix is already cut
      await this.core.proxy.dispatch({ method: 'POST', url: e.host ? e.path.replace(/^\/api(?=\/)/, '') : e.path, headers }, res as never, Buffer.from(e.requestBody), {
        pin: { provider: r.provider, model: r.model },
        resendOf: e.id,
      });
      await res.done;
    } catch (err) {
      return { ok: false, message: `Could not resend: ${(err as Error).message}` };
    } finally {
      this.core.off('log', onLog);
    }
    return {
      ok: true,
      ...(entryId ? { entryId } : {}),
      status: res.statusCode,
      headers: redactHeaders(res.headers) ?? {},
      body: res.body(),
      truncated: res.truncated,
      durationMs: Date.now() - t0,
    };
  }

  /** Live events for one window/stream. Status follows request activity at most twice a second. */
  subscribe(onEvent: (e: UiEvent) => void): () => void {
    let statusTimer: NodeJS.Timeout | undefined;
    const pushStatus = () => {
      statusTimer = undefined;
      onEvent({ type: 'status', status: this.status() });
    };
    const onLog = (e: LogEntry) => {
      onEvent({ type: 'log', entry: toRow(e) });
      statusTimer ??= setTimeout(pushStatus, 500);
    };
    const onStatus = () => {
      clearTimeout(statusTimer);
      pushStatus();
    };
    const onConfig = () => onEvent({ type: 'config', revision: this.loadConfig().revision });
    const onBudget = (n: BudgetNotice) => onEvent({ type: 'budget', notice: { ...n } });
    this.core.on('log', onLog);
    this.core.on('budget', onBudget);
    this.core.on('status', onStatus);
    this.core.on('config', onConfig);
    this.core.on('config-error', onConfig);
    const offSecrets = this.secrets.onChange(onStatus);
    return () => {
      clearTimeout(statusTimer);
      this.core.off('log', onLog);
      this.core.off('budget', onBudget);
      this.core.off('status', onStatus);
      this.core.off('config', onConfig);
      this.core.off('config-error', onConfig);
      offSecrets();
    };
  }
}

function parseTomlOrEmpty(text: string, file: string): Record<string, unknown> {
  const r = parseToml(text, file);
  return 'error' in r ? {} : r.raw;
}

function safeRead(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function keychainAccounts(text: string, file: string): Set<string> {
  const r = parseToml(text, file);
  return 'error' in r ? new Set() : keychainRefs(r.raw);
}
