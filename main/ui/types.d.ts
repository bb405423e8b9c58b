// The UI's wire contract: the types that cross between the window and the main side, over IPC (Electron) or
// HTTP + SSE (the headless daemon), declared once here by the core (the request log's entries, the status) and
// imported by the renderer. Declarations only (a .d.ts is never emitted, and renderer/tsconfig.json may import it
// from outside its rootDir): both projects use it with `import type`, and no core code reaches the browser.

export type Format = 'anthropic' | 'openai' | 'responses' | 'ollama';

/** Where a provider's secret comes from. `inline` (api_key in the TOML) is kept as found, never written by the app. */
export type SecretSource = 'keychain' | 'env' | 'inline' | 'oauth' | 'none';

export interface AuthDraft {
  source: SecretSource;
  header: string;
  prefix: string;
  /** Environment variable name, when source is `env`. */
  value_env: string;
  /** Keychain account name, when source is `keychain` (empty: the provider's name is used). */
  keychain: string;
  /** OAuth credential name, when source is `oauth` (managed by sign-in; kept as is). */
  oauth: string;
  /** Read only: whether a secret is there (stored in the keychain, env var set, inline key present). */
  secretSet?: boolean;
  /** Write only: a key typed by the user; stored in the keychain on save, never written to the TOML, never sent back. */
  newSecret?: string;
}

export interface ProviderDraft {
  /** Index of this provider in the file the editor loaded; absent for a new one. Unknown keys are kept from it. */
  origin?: number;
  name: string;
  /** The value of a credential query parameter (`?key=…`) is never sent to the window: it reads `••••••••` and
   *  its name is in `hiddenParams`; saving it so keeps the stored value, a typed value replaces it. */
  base_url: string;
  /** Read only: the base_url's query parameters whose (non-empty) value is a credential and is kept back. */
  hiddenParams?: string[];
  /** '' = not set (the core picks by dialect). */
  format: Format | '';
  auth: AuthDraft;
  /** [header name, value] rows. A credential-like header's value is never sent to the window: its row reads '' and
   *  its name is in `hiddenHeaders`; saving the row with '' keeps the stored value, a typed value replaces it. */
  extra_headers: [string, string][];
  /** Read only: the extra headers whose (non-empty) value looks like a credential and is kept back. */
  hiddenHeaders?: string[];
  /** [requested model, upstream model] rows: `available_models`. */
  models: [string, string][];
}

export interface ConfigDraft {
  /** sha256 of the file text the editor loaded; a save against another text is a conflict. */
  revision: string;
  intercept_hosts: string[];
  providers: ProviderDraft[];
}

export interface KeychainInfo {
  available: boolean;
  /** Why not, in words for the user (no secret in it). */
  reason?: string;
}

export interface EditorState extends ConfigDraft {
  path: string;
  keychain: KeychainInfo;
  /** Set when the file cannot be edited here (TOML syntax error): fix it by hand first. */
  blocked?: string;
}

/** A validation message for one field. Path is in draft terms: ['providers', 2, 'base_url'],
 *  ['providers', 0, 'models', 3, 1] (row 3, upstream column), ['intercept_hosts', 1], [] for the whole file. */
export interface Issue {
  path: (string | number)[];
  message: string;
}

export type SaveResult =
  | { ok: true; revision: string; reloaded: boolean }
  | { ok: false; kind: 'invalid'; issues: Issue[] }
  | { ok: false; kind: 'conflict'; message: string }
  | { ok: false; kind: 'error'; message: string };

export interface ConfigIssueView {
  file: string;
  line?: number;
  column?: number;
  path: string;
  message: string;
}

/** What the core reports about itself (main/core/core.ts's CoreStatus) and the window shows (UiStatus). */
export interface StatusBase {
  version: string;
  pid: number;
  startedAt: string;
  home: string;
  configPath: string;
  http: { address: string };
  admin?: { url: string };
  intercept: { enabled: boolean; state: 'off' | 'on' | 'starting' | 'error'; listen: string; error?: string };
  warnings: string[];
  requests: { total: number; today: number; inFlight: number };
  /** How many entries the request log keeps in memory (the window keeps the same number). */
  logCapacity?: number;
  /** Configured budgets with what was spent against them (main/usage/budgets.ts); absent when none. */
  budgets?: BudgetView[];
  /** Budget notices of the current periods (soft limit crossed, hard limit reached), newest last. */
  budgetNotices?: BudgetNotice[];
  /** Where prices come from: the bundled table ("@pydantic/genai-prices 0.1.8 (2026-09-23)") and the [prices] entries. */
  prices?: { source: string; overrides: number };
}

/** One budget limit and what was spent against it in its current period (USD). */
export interface BudgetView {
  scope: 'overall' | 'provider' | 'app';
  /** The provider's or app's name (absent for overall). */
  name?: string;
  period: 'daily' | 'monthly';
  spent: number;
  /** The hard limit, when set. */
  limit?: number;
  /** The soft limit (notice only), when set. */
  soft?: number;
  /** The hard limit is reached: the provider is skipped, or the app's/all requests are refused. */
  over: boolean;
}

/** A budget limit crossed: given once per period and limit. */
export interface BudgetNotice {
  level: 'soft' | 'hard';
  scope: 'overall' | 'provider' | 'app';
  name?: string;
  period: 'daily' | 'monthly';
  spent: number;
  limit: number;
  at: string;
  message: string;
}

export interface ProviderView {
  name: string;
  format?: string;
  models: string[];
  auth: 'ok' | 'missing' | 'sign-in needed';
  authDetail?: string;
  /** Where the key comes from, without it: "env OPENROUTER_API_KEY", "keychain \"x\"", "oauth \"openrouter\"", "none". */
  authSource?: string;
  /** Breakers, limits and rate limits (main/health), summed up. */
  health?: ProviderHealthInfo;
}

/** A provider's resilience state in a line: main/health's snapshot (`health/types.ts`) summed up for the views. */
export interface ProviderHealthInfo {
  /** The provider's breaker (transport errors). */
  breaker: 'closed' | 'open' | 'half-open';
  /** Open: ms until its probe may go. */
  retryInMs: number | null;
  /** Models (upstream names) whose own breaker (5xx) is open or half-open. */
  openModels: string[];
  /** Models skipped as rate-limited (429 Retry-After or rate-limit headers) right now, with the ms left. */
  rateLimited: { model: string; ms: number }[];
  inFlight: number;
  maxInFlight: number | null;
  queued: number;
}

export interface UiStatus extends StatusBase {
  app: 'electron' | 'daemon';
  /** Local CA trust, as `doctor` sees it: null when unknown (no CA yet, or cannot tell). */
  ca: { trusted: boolean | null; installed?: boolean; detail?: string };
  configErrors: ConfigIssueView[];
  providers: ProviderView[];
  keychain: KeychainInfo;
  /** Today's requests and cost from the usage history (issue 11), when it runs. */
  usageToday?: UsageToday;
  history?: HistoryState;
  /** Interception's one-time setup (the local CA, its trust): `needed` until it is done; what it changes, in words. */
  setup: InterceptSetup;
}

export interface InterceptSetup {
  needed: boolean;
  /** Whether this process can run it (the app and the daemon's window can). */
  available: boolean;
  hosts: string[];
  /** Two sentences: what will change. */
  explanation: string[];
}

/** First run (no config file yet): what was found, and the starting config on offer. */
export interface FirstRunEntry {
  /** "env:ANTHROPIC_API_KEY" or "ollama". */
  id: string;
  kind: 'key' | 'ollama';
  provider: string;
  title: string;
  /** The environment variable it refers to (kind key). */
  env?: string;
  /** Whether the variable is set / Ollama answered: only those are offered (ticked by default). */
  found: boolean;
  /** Set when it can be found but is not offered. */
  notOffered?: string;
  base_url: string;
  models: string[];
}

/** Ollama as probed at its URL. */
export interface OllamaFound {
  url: string;
  running: boolean;
  models: string[];
  /** Why it was not found (not running, not Ollama). */
  detail?: string;
}

export interface FirstRunClient {
  client: string;
  lines: string[];
  note?: string;
  trusted: boolean;
}

export interface FirstRunState {
  /** No config file yet. */
  needed: boolean;
  configPath: string;
  entries: FirstRunEntry[];
  ollama: OllamaFound;
  clients: FirstRunClient[];
  /** false: the CA does not exist yet and the lines are as they will be after setup. */
  caExists: boolean;
}

export type StarterWriteResult =
  | { ok: true; path: string; providers: string[] }
  | { ok: false; exists: boolean; message: string };

/** The dialect a request came in ('unknown' when it could not be told). */
export type LogDialect = Format | 'unknown';

/** One try at one provider. */
export interface Attempt {
  provider: string;
  model: string;
  status: number | null;
  error: string | null;
  formatIn?: string;
  formatOut?: string;
  ttfbMs?: number;
  durationMs: number;
  /** Why this target was at this place or skipped (routing/resilience): 'order', 'rule', 'latency 212 ms', 'busy 3', 'cooldown', 'breaker open', … */
  why?: string;
}

/** One exchange, as the request log (main/log/request-log.ts) keeps it. */
export interface LogEntry {
  id: string;
  startedAt: string;
  dialect: LogDialect;
  method: string;
  path: string;
  host?: string;
  model?: string;
  stream: boolean;
  provider?: string;
  upstreamModel?: string;
  status?: number;
  state: 'pending' | 'streaming' | 'done' | 'error';
  attempts: Attempt[];
  ttfbMs?: number;
  durationMs?: number;
  inputTokens?: number;
  outputTokens?: number;
  /** Subsets of inputTokens: read from / written to the provider's prompt cache. */
  cacheReadTokens?: number;
  cacheWriteTokens?: number;
  /** Subset of outputTokens spent on reasoning. */
  reasoningTokens?: number;
  /** Cache affinity: the target ("provider/model") that served this conversation's previous turn, when this turn went elsewhere (its prompt cache missed). */
  cacheMoved?: string;
  /** Cost in USD from the price table and the real token counts; absent when the model's price is unknown. */
  costUsd?: number;
  /** The app behind the connection (Claude Code, Codex, a script by name, …), when known. */
  app?: string;
  /** The `[[routes]]` entry that decided (its name, or "#3"), and its strategy. */
  route?: string;
  strategy?: string;
  bytesIn: number;
  bytesOut: number;
  error?: string;
  passthrough?: boolean;
  /** A translated request: what was mapped, flattened, changed or dropped on the way (tools, state resolved from the store, reasoning, system messages). */
  translationNotes?: string[];
  requestHeaders?: Record<string, string>;
  /** The headers router67 sent upstream on the answering (or last) attempt, secrets redacted. */
  upstreamHeaders?: Record<string, string>;
  /** The upstream's response headers on that attempt, secrets redacted. */
  responseHeaders?: Record<string, string>;
  requestBody?: string;
  responseBody?: string;
  /** Answered by router67 itself, no provider involved: a model list, a 404 for a model no provider serves, a bad request. */
  local?: boolean;
  /** A request the window sent again ("Resend to…"): the id of the original entry. */
  resendOf?: string;
}

/** One row of the live log (no headers, no bodies). */
export type LogRow = Omit<LogEntry, 'requestHeaders' | 'upstreamHeaders' | 'responseHeaders' | 'requestBody' | 'responseBody'>;

/** The detail pane: a row plus redacted request headers and, when log_bodies is on, the bodies. */
export type LogDetail = LogEntry & {
  /** Set when the main side no longer holds this entry's headers and bodies (only the newest `logCapacity` are kept). */
  dropped?: boolean;
  /** The most bytes of a body the log keeps (a body this long was cut). */
  maxBody?: number;
};

/** "Resend to…": the stored request body sent again to one provider under one upstream model. */
export interface ResendRequest {
  id: string;
  provider: string;
  model: string;
}

export type ResendResult =
  | { ok: true; entryId?: string; status: number; headers: Record<string, string>; body: string; truncated: boolean; durationMs: number }
  | { ok: false; message: string };

export type InterceptResult =
  | { ok: true; enabled: boolean }
  | { ok: false; refused: boolean; enabled: boolean; message: string };

/** Which optional views exist. `signIn` turns true once OAuth sign-in (issue 6) is built; until then the view is not shown. */
export interface Features {
  signIn: boolean;
  interceptToggle: boolean;
  /** The Usage view (usage history) exists. */
  usage?: boolean;
  /** No config file when the window opened: the first-run page shows. */
  firstRun: boolean;
}

/** OAuth sign-in (issue 6): a credential router67 can sign in to, and how it stands. No token ever crosses. */
export interface SignInCredential {
  name: string;
  type: 'oidc' | 'openrouter';
  /** "OpenRouter", or the issuer's host. */
  title: string;
  state: 'signed-in' | 'signed-out' | 'sign-in needed';
  detail?: string;
  /** Providers that use it. */
  usedBy: string[];
  /** A device-code sign-in may be offered. */
  device: boolean;
  expiresAt?: string;
}

/** A sign-in in progress (or just ended). */
export interface SignInFlow {
  id: string;
  name: string;
  device: boolean;
  phase: 'starting' | 'browser' | 'device' | 'exchanging' | 'done' | 'failed' | 'cancelled';
  /** The page to open in the system browser (while it is needed). */
  url?: string;
  /** Whether the main side opened it already (the app does; the daemon's page opens it itself). */
  opened: boolean;
  userCode?: string;
  verificationUri?: string;
  message?: string;
  startedAt: string;
  endedAt?: string;
}

export interface SignInState {
  credentials: SignInCredential[];
  flows: SignInFlow[];
  keychain: KeychainInfo;
}

export interface SignOutResult {
  ok: boolean;
  message: string;
}

/** Routing rules (issue 13): one `[[routes]]` entry as the Routes view edits it; `match` and `to` in TOML's inline
 *  syntax, exactly as in config.toml. Unknown keys of the entry are kept from `origin`. */
export interface RouteDraft {
  /** Index in the file the view loaded; absent for a new route. */
  origin?: number;
  name: string;
  /** An inline table, e.g. `{ model = "claude-*-haiku-*" }`; '' matches every request. */
  match: string;
  /** An inline array, e.g. `["cheap", { provider = "deepseek", model = "deepseek-chat" }]`. */
  to: string;
  /** '' = not set (fallback). */
  strategy: '' | 'fallback' | 'round-robin' | 'weighted' | 'least-latency' | 'least-busy' | 'cheapest';
}

export interface RoutesDraft {
  /** sha256 of the file text the view loaded; a save against another text is a conflict. */
  revision: string;
  routes: RouteDraft[];
}

export interface RoutesState extends RoutesDraft {
  path: string;
  /** Provider names, for hints. */
  providers: string[];
  /** Set when the file cannot be edited here (TOML syntax error). */
  blocked?: string;
}

/** A request to explain: the body as JSON text, and optionally the draft to explain it against (unsaved routes). */
export interface ExplainRequest {
  body: string;
  path?: string;
  headers?: Record<string, string>;
  host?: string;
  app?: string;
  draft?: RoutesDraft;
}

/** One target of an explained request, in order. */
export interface ExplainTargetView {
  provider: string;
  model: string;
  why: string;
  /** The live state, in words: "ready", "rate-limited, 12 s left", "2 in flight", "ttfb 212 ms (p95 410 ms)". */
  state: string;
  coolingS?: number;
  inFlight?: number;
  ttfbMs?: number;
  ttfbP95Ms?: number;
  priceUsdPerM?: number;
}

/** What `router67 route --explain` prints, as data. */
export interface ExplainView {
  model: string;
  dialect: string;
  path: string;
  /** The route that matched (name or #N); absent: routed as without routes. */
  route?: string;
  strategy?: string;
  /** What the request looks like to the matchers. */
  facts: { inputTokens: number; images: boolean; tools: boolean; toolResults: boolean; thinking: boolean; stream: boolean };
  targets: ExplainTargetView[];
  notes: string[];
}

export type ExplainAnswer = { ok: true; result: ExplainView; text: string } | { ok: false; message: string };

export type UiEvent =
  | { type: 'log'; entry: LogRow }
  | { type: 'status'; status: UiStatus }
  | { type: 'config'; revision: string }
  /** A budget limit crossed (once per period and limit, as it happens): the window shows it once. */
  | { type: 'budget'; notice: BudgetNotice };

/** The calls the window makes, the same whichever side answers them. */
export interface UiCalls {
  features(): Promise<Features>;
  status(): Promise<UiStatus>;
  loadConfig(): Promise<EditorState>;
  validate(draft: ConfigDraft): Promise<Issue[]>;
  save(draft: ConfigDraft): Promise<SaveResult>;
  setIntercept(enabled: boolean): Promise<InterceptResult>;
  /** Runs `install` (one OS prompt), then turns interception on. */
  setupIntercept(): Promise<InterceptResult>;
  firstRun(): Promise<FirstRunState>;
  /** Writes the starting config with the chosen entries (by id); never over an existing file. */
  writeStarter(ids: string[]): Promise<StarterWriteResult>;
  recentLog(limit: number): Promise<LogRow[]>;
  logEntry(id: string): Promise<LogDetail | null>;
  resend(r: ResendRequest): Promise<ResendResult>;
  openExternal(url: string): Promise<void>;
  signInState(): Promise<SignInState>;
  signInStart(name: string, device: boolean): Promise<SignInFlow>;
  signInCancel(id: string): Promise<SignInFlow | null>;
  signOut(name: string): Promise<SignOutResult>;
  loadRoutes(): Promise<RoutesState>;
  validateRoutes(draft: RoutesDraft): Promise<Issue[]>;
  saveRoutes(draft: RoutesDraft): Promise<SaveResult>;
  explainRoute(req: ExplainRequest): Promise<ExplainAnswer>;
  /** Usage history over a range (issue 11). */
  usage(q: UsageQuery): Promise<UsageReport>;
}

/** What the window uses, whichever side backs it. */
export interface Api extends UiCalls {
  readonly kind: 'ipc' | 'http';
  /** Live events; returns an unsubscribe function. */
  subscribe(onEvent: (e: UiEvent) => void): () => void;
}

/** The functions preload exposes as `window.router67` (same shapes, events by callback). */
export interface Router67Bridge extends UiCalls {
  onEvent(cb: (e: UiEvent) => void): () => void;
}

// ── Usage history (issue 11): the Usage view, the tray's line and `router67 usage` ──

/** Sums over a set of finished requests. `costUsd` is null when none of them had a known price ("—"). */
export interface UsageTotals {
  requests: number;
  errors: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  reasoningTokens: number;
  costUsd: number | null;
  /** How many of the requests had a known price (cost covers only those). */
  costed: number;
}

/** One row of a breakdown; key '' is "unknown" (no app detected, no provider reached, no route). */
export interface UsageGroup extends UsageTotals {
  key: string;
}

/** Error rate and time to first byte (p50/p95, from 5 %-wide histogram buckets) of one provider. */
export interface UsageLatency {
  provider: string;
  requests: number;
  errors: number;
  errorRate: number;
  p50Ms: number | null;
  p95Ms: number | null;
}

export interface UsagePoint extends UsageTotals {
  /** Start of the bucket (ms since the epoch): an hour, or a local day. */
  t: number;
}

/** A range [from, to) in ms since the epoch; step defaults to hours up to two days, days beyond. */
export interface UsageQuery {
  from: number;
  to: number;
  step?: 'hour' | 'day';
}

export interface UsageReport {
  from: number;
  to: number;
  step: 'hour' | 'day';
  totals: UsageTotals;
  byApp: UsageGroup[];
  byProvider: UsageGroup[];
  byModel: UsageGroup[];
  byRoute: UsageGroup[];
  latency: UsageLatency[];
  series: UsagePoint[];
  /** Time the database took for this report. */
  queryMs: number;
  history?: HistoryState;
}

/** The history database as the window, the status and the log report it. */
export interface HistoryState {
  /** off: disabled by config; idle: not opened yet; ok; error: failing (locked, damaged, missing module). */
  state: 'off' | 'idle' | 'ok' | 'error';
  file: string;
  message?: string;
  /** Entries waiting to be written (e.g. while the file is locked). */
  pending?: number;
  /** Entries given up on (the waiting queue is bounded). */
  dropped?: number;
  retentionDays: number;
}

/** Today (since local midnight): the tray's line. */
export interface UsageToday {
  requests: number;
  costUsd: number | null;
  busiestApp?: string;
  busiestAppRequests?: number;
}
