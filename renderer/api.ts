// The one Api the views use, with two backings: the Electron preload bridge (IPC) and the headless daemon's
// HTTP + SSE API (same origin, session cookie set by the token link).
import type * as ui from '../main/ui/types.js';

export type Api = ui.Api;

declare global {
  interface Window {
    router67?: ui.Router67Bridge;
  }
}

/** Only the draft's own fields cross the boundary (the main side refuses anything else). */
export function draftOnly(d: ui.ConfigDraft): ui.ConfigDraft {
  return {
    revision: d.revision,
    intercept_hosts: [...d.intercept_hosts],
    providers: d.providers.map((p) => {
      const auth: ui.ConfigDraft['providers'][number]['auth'] = {
        source: p.auth.source,
        header: p.auth.header,
        prefix: p.auth.prefix,
        value_env: p.auth.value_env,
        keychain: p.auth.keychain,
        oauth: p.auth.oauth,
      };
      if (p.auth.newSecret) auth.newSecret = p.auth.newSecret;
      return {
        ...(p.origin !== undefined ? { origin: p.origin } : {}),
        name: p.name,
        base_url: p.base_url,
        format: p.format,
        auth,
        extra_headers: p.extra_headers.map(([k, v]) => [k, v] as [string, string]),
        models: p.models.map(([k, v]) => [k, v] as [string, string]),
      };
    }),
  };
}

/** Only the routes draft's own fields cross the boundary. */
export function routesOnly(d: ui.RoutesDraft): ui.RoutesDraft {
  return {
    revision: d.revision,
    routes: d.routes.map((r) => ({ ...(r.origin !== undefined ? { origin: r.origin } : {}), name: r.name, match: r.match, to: r.to, strategy: r.strategy })),
  };
}

function explainOnly(r: ui.ExplainRequest): ui.ExplainRequest {
  return { ...r, ...(r.draft ? { draft: routesOnly(r.draft) } : {}) };
}

/** The preload bridge as the Api: the same calls, drafts trimmed to their own fields. */
export class IpcApi implements Api {
  readonly kind = 'ipc' as const;
  constructor(private readonly b: ui.Router67Bridge) {}
  features = () => this.b.features();
  status = () => this.b.status();
  loadConfig = () => this.b.loadConfig();
  validate = (d: ui.ConfigDraft) => this.b.validate(draftOnly(d));
  save = (d: ui.ConfigDraft) => this.b.save(draftOnly(d));
  setIntercept = (on: boolean) => this.b.setIntercept(on);
  setupIntercept = () => this.b.setupIntercept();
  firstRun = () => this.b.firstRun();
  writeStarter = (ids: string[]) => this.b.writeStarter([...ids]);
  recentLog = (limit: number) => this.b.recentLog(limit);
  logEntry = (id: string) => this.b.logEntry(id);
  resend = (r: ui.ResendRequest) => this.b.resend({ id: r.id, provider: r.provider, model: r.model });
  subscribe = (fn: (e: ui.UiEvent) => void) => this.b.onEvent(fn);
  openExternal = (url: string) => this.b.openExternal(url);
  signInState = () => this.b.signInState();
  signInStart = (name: string, device: boolean) => this.b.signInStart(name, device);
  signInCancel = (id: string) => this.b.signInCancel(id);
  signOut = (name: string) => this.b.signOut(name);
  loadRoutes = () => this.b.loadRoutes();
  validateRoutes = (d: ui.RoutesDraft) => this.b.validateRoutes(routesOnly(d));
  saveRoutes = (d: ui.RoutesDraft) => this.b.saveRoutes(routesOnly(d));
  explainRoute = (r: ui.ExplainRequest) => this.b.explainRoute(explainOnly(r));
  usage = (q: ui.UsageQuery) => this.b.usage({ from: q.from, to: q.to, ...(q.step ? { step: q.step } : {}) });
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export class HttpApi implements Api {
  readonly kind = 'http' as const;
  constructor(private readonly base = '/api/ui') {}

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const init: RequestInit = {
      method,
      credentials: 'same-origin',
      cache: 'no-store',
      headers: { accept: 'application/json', 'x-router67': '1', ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    };
    if (body !== undefined) init.body = JSON.stringify(body);
    const res = await fetch(this.base + path, init);
    const text = await res.text();
    let data: unknown = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      /* not JSON */
    }
    if (!res.ok) {
      const msg = (data as { error?: string } | null)?.error ?? `${res.status} ${res.statusText}`;
      throw new HttpError(res.status, res.status === 401 ? 'session expired: open the link that `router67` prints again' : msg);
    }
    return data as T;
  }

  features(): Promise<ui.Features> {
    return this.call('GET', '/features');
  }
  status(): Promise<ui.UiStatus> {
    return this.call('GET', '/status');
  }
  loadConfig(): Promise<ui.EditorState> {
    return this.call('GET', '/config');
  }
  validate(d: ui.ConfigDraft): Promise<ui.Issue[]> {
    return this.call('POST', '/config/validate', draftOnly(d));
  }
  save(d: ui.ConfigDraft): Promise<ui.SaveResult> {
    return this.call('PUT', '/config', draftOnly(d));
  }
  setIntercept(enabled: boolean): Promise<ui.InterceptResult> {
    return this.call('POST', '/intercept', { enabled });
  }
  setupIntercept(): Promise<ui.InterceptResult> {
    return this.call('POST', '/intercept/setup', {});
  }
  firstRun(): Promise<ui.FirstRunState> {
    return this.call('GET', '/firstrun');
  }
  writeStarter(ids: string[]): Promise<ui.StarterWriteResult> {
    return this.call('POST', '/firstrun', { ids });
  }
  recentLog(limit: number): Promise<ui.LogRow[]> {
    return this.call('GET', `/log?limit=${limit}`);
  }
  logEntry(id: string): Promise<ui.LogDetail | null> {
    return this.call('GET', `/log/${encodeURIComponent(id)}`);
  }
  resend(r: ui.ResendRequest): Promise<ui.ResendResult> {
    return this.call('POST', '/log/resend', { id: r.id, provider: r.provider, model: r.model });
  }
  subscribe(fn: (e: ui.UiEvent) => void): () => void {
    const es = new EventSource(`${this.base}/events`, { withCredentials: false });
    const on = (type: ui.UiEvent['type']) => (m: MessageEvent<string>) => {
      try {
        const data = JSON.parse(m.data) as unknown;
        if (type === 'log') fn({ type, entry: data as ui.LogRow });
        else if (type === 'status') fn({ type, status: data as ui.UiStatus });
        else if (type === 'budget') fn({ type, notice: data as ui.BudgetNotice });
        else fn({ type, revision: (data as { revision: string }).revision });
      } catch {
        /* ignore a broken frame */
      }
    };
    es.addEventListener('log', on('log'));
    es.addEventListener('status', on('status'));
    es.addEventListener('config', on('config'));
    es.addEventListener('budget', on('budget'));
    let opened = 0;
    es.addEventListener('open', () => {
      // After a reconnect the views re-read what they may have missed.
      if (opened++ > 0) fn({ type: 'config', revision: '' });
    });
    return () => es.close();
  }
  async openExternal(url: string): Promise<void> {
    if (/^https?:\/\//i.test(url)) window.open(url, '_blank', 'noopener,noreferrer');
  }
  signInState(): Promise<ui.SignInState> {
    return this.call('GET', '/signin');
  }
  signInStart(name: string, device: boolean): Promise<ui.SignInFlow> {
    return this.call('POST', '/signin/start', { name, device });
  }
  signInCancel(id: string): Promise<ui.SignInFlow | null> {
    return this.call('POST', '/signin/cancel', { id });
  }
  signOut(name: string): Promise<ui.SignOutResult> {
    return this.call('POST', '/signin/logout', { name });
  }
  loadRoutes(): Promise<ui.RoutesState> {
    return this.call('GET', '/routes');
  }
  validateRoutes(d: ui.RoutesDraft): Promise<ui.Issue[]> {
    return this.call('POST', '/routes/validate', routesOnly(d));
  }
  saveRoutes(d: ui.RoutesDraft): Promise<ui.SaveResult> {
    return this.call('PUT', '/routes', routesOnly(d));
  }
  explainRoute(r: ui.ExplainRequest): Promise<ui.ExplainAnswer> {
    return this.call('POST', '/routes/explain', explainOnly(r));
  }
  usage(q: ui.UsageQuery): Promise<ui.UsageReport> {
    return this.call('GET', `/usage?from=${q.from}&to=${q.to}${q.step ? `&step=${q.step}` : ''}`);
  }
}

export function createApi(): Api {
  return window.router67 ? new IpcApi(window.router67) : new HttpApi();
}
