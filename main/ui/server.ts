// The daemon serves the app's window on its loopback admin endpoint: the page (dist/renderer) and a REST + SSE
// API over the same UiService the Electron app uses.
//
// Access: the admin server already refuses any Host that is not loopback (DNS rebinding). On top of that every UI
// route needs either the admin token (Authorization: Bearer) or this run's session cookie. The cookie is set by the
// link the CLI prints, http://127.0.0.1:PORT/?token=…, which answers with HttpOnly + SameSite=Strict and a redirect
// that drops the token from the address bar. Writes also need the `x-router67` header and, when the browser
// sends one, a same-origin Origin. No CORS header is ever sent.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join, normalize, sep } from 'node:path';
import type { z } from 'zod';
import { readJsonBody } from '../admin/server.js';
import type { UiEvent } from './types.js';
import { CSP, pageFile } from './page.js';
import { uiLink } from './link.js';
import type { UiService } from './service.js';
import { ConfigDraftSchema, describeInputError, EmptyBody, ExplainRequestSchema, RoutesDraftSchema, InterceptBody, StarterBody, LogIdInput, LogLimitInput, ResendInput, SignInCancelBody, SignInStartBody, SignOutBody, UsageQueryInput } from './wire.js';

export const UI_COOKIE = 'router67_ui';

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>;

/** The part of main/admin/server.ts's AdminServer used here. */
export interface AdminRouter {
  route(method: string, path: string | RegExp, handler: Handler, opts?: { public?: boolean }): void;
}

export interface UiServerOptions {
  /** The admin token from the home folder. */
  token: string;
  /** Built page files (dist/renderer). */
  staticDir?: string;
  /** Largest accepted request body. */
  maxBody?: number;
}

export const DEFAULT_STATIC_DIR = join(__dirname, '..', '..', 'renderer');

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'cache-control': 'no-store',
};

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, extra: Record<string, string> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type, 'content-length': Buffer.byteLength(body), ...extra });
  res.end(body);
}

function json(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(body ?? null));
}

const SIGN_IN_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>router67</title>
<meta name="color-scheme" content="light dark"></head><body style="font: 14px system-ui, sans-serif; margin: 3em; max-width: 38em">
<h1 style="font-size: 18px">router67</h1>
<p>This page needs the link that <code>router67 daemon</code> prints when it starts
(<code>http://127.0.0.1:…/?token=…</code>). The token is in <code>~/.router67/run/admin.token</code>.</p>
</body></html>`;

export class UiServer {
  readonly session = randomBytes(32).toString('hex');
  private readonly staticDir: string;
  private readonly maxBody: number;
  private readonly streams = new Set<ServerResponse>();

  constructor(
    private readonly service: UiService,
    private readonly opts: UiServerOptions,
  ) {
    this.staticDir = normalize((opts.staticDir ?? DEFAULT_STATIC_DIR) + sep);
    this.maxBody = opts.maxBody ?? 4 * 1024 * 1024;
  }

  /** Whether the request carries the admin token or this run's session cookie. */
  authorised(req: IncomingMessage): boolean {
    const auth = req.headers.authorization;
    if (auth?.startsWith('Bearer ') && same(auth.slice(7).trim(), this.opts.token)) return true;
    const c = cookie(req, UI_COOKIE);
    return !!c && same(c, this.session);
  }

  /** The ready link for a base URL such as http://127.0.0.1:PORT. */
  link(base: string): string {
    return uiLink(base, this.opts.token);
  }

  mount(admin: AdminRouter): void {
    const guard =
      (h: Handler, write = false): Handler =>
      async (req, res, url) => {
        if (!this.authorised(req)) return json(res, 401, { error: 'missing or wrong token' });
        if (write && !this.sameOriginWrite(req)) return json(res, 403, { error: 'cross-site request refused' });
        await h(req, res, url);
      };
    const pub = { public: true };
    /** A write: a JSON body checked against `schema`, answered with what `run` returns. */
    const write = <T extends z.ZodType>(method: string, path: string, schema: T, run: (b: z.infer<T>) => unknown) =>
      admin.route(
        method,
        path,
        guard(async (req, res) => {
          const b = await this.body(req, res, schema);
          if (b !== undefined) json(res, 200, await run(b));
        }, true),
        pub,
      );

    admin.route('GET', '/', (req, res, url) => this.root(req, res, url), pub);
    admin.route('GET', /^\/(?!api\/)[A-Za-z0-9_./-]+\.(?:html|js|css|svg|png|map)$/, guard((req, res, url) => this.file(res, url.pathname)), pub);

    admin.route('GET', '/api/ui/features', guard((_q, res) => json(res, 200, this.service.features())), pub);
    admin.route('GET', '/api/ui/status', guard((_q, res) => json(res, 200, this.service.status())), pub);
    admin.route('GET', '/api/ui/config', guard((_q, res) => json(res, 200, this.service.loadConfig())), pub);
    write('POST', '/api/ui/config/validate', ConfigDraftSchema, (d) => this.service.validate(d));
    write('PUT', '/api/ui/config', ConfigDraftSchema, (d) => this.service.save(d));
    write('POST', '/api/ui/intercept', InterceptBody, (b) => this.service.setIntercept(b.enabled));
    write('POST', '/api/ui/intercept/setup', EmptyBody, () => this.service.setupIntercept());
    admin.route('GET', '/api/ui/firstrun', guard(async (_q, res) => json(res, 200, await this.service.firstRun())), pub);
    write('POST', '/api/ui/firstrun', StarterBody, (b) => this.service.writeStarter(b.ids));
    admin.route(
      'GET',
      '/api/ui/log',
      guard((_q, res, url) => {
        const r = LogLimitInput.safeParse(Number(url.searchParams.get('limit') ?? '2000'));
        if (!r.success) return json(res, 400, { error: describeInputError(r.error) });
        json(res, 200, this.service.recentLog(r.data));
      }),
      pub,
    );
    admin.route(
      'GET',
      /^\/api\/ui\/log\/[^/]+$/,
      guard((_q, res, url) => {
        let id: string;
        try {
          id = decodeURIComponent(url.pathname.slice('/api/ui/log/'.length));
        } catch {
          return json(res, 400, { error: 'bad id' });
        }
        const r = LogIdInput.safeParse(id);
        if (!r.success) return json(res, 400, { error: describeInputError(r.error) });
        json(res, 200, this.service.logEntry(r.data));
      }),
      pub,
    );
    write('POST', '/api/ui/log/resend', ResendInput, (b) => this.service.resend(b));
    admin.route('GET', '/api/ui/events', guard((req, res) => this.events(req, res)), pub);
    // OAuth sign-in (issue 6)
    admin.route('GET', '/api/ui/signin', guard((_q, res) => json(res, 200, this.service.signInState())), pub);
    write('POST', '/api/ui/signin/start', SignInStartBody, (b) => this.service.signInStart(b.name, b.device));
    write('POST', '/api/ui/signin/cancel', SignInCancelBody, (b) => this.service.signInCancel(b.id));
    write('POST', '/api/ui/signin/logout', SignOutBody, (b) => this.service.signOut(b.name));
    // Routing rules (issue 13)
    admin.route('GET', '/api/ui/routes', guard((_q, res) => json(res, 200, this.service.loadRoutes())), pub);
    write('POST', '/api/ui/routes/validate', RoutesDraftSchema, (d) => this.service.validateRoutes(d));
    write('PUT', '/api/ui/routes', RoutesDraftSchema, (d) => this.service.saveRoutes(d));
    write('POST', '/api/ui/routes/explain', ExplainRequestSchema, (r) => this.service.explainRoute(r));
    // Usage history (issue 11): GET /api/ui/usage?from=MS&to=MS[&step=hour|day]
    admin.route(
      'GET',
      '/api/ui/usage',
      guard(async (_q, res, url) => {
        const p = url.searchParams;
        const r = UsageQueryInput.safeParse({
          from: Number(p.get('from')),
          to: Number(p.get('to')),
          ...(p.has('step') ? { step: p.get('step') } : {}),
        });
        if (!r.success) return json(res, 400, { error: describeInputError(r.error) });
        try {
          json(res, 200, await this.service.usage(r.data));
        } catch (e) {
          json(res, 503, { error: (e as Error).message });
        }
      }),
      pub,
    );
  }

  /** Ends every open event stream (the admin server is closing). */
  close(): void {
    for (const s of this.streams) s.end();
    this.streams.clear();
  }

  private sameOriginWrite(req: IncomingMessage): boolean {
    if (req.headers['x-router67'] !== '1') return false;
    const site = req.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `http://${req.headers.host}`) return false;
    return true;
  }

  private async root(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const t = url.searchParams.get('token');
    if (t !== null) {
      if (!same(t, this.opts.token)) return send(res, 401, 'text/html; charset=utf-8', SIGN_IN_PAGE);
      res.writeHead(303, {
        ...SECURITY_HEADERS,
        location: '/',
        'set-cookie': `${UI_COOKIE}=${this.session}; HttpOnly; SameSite=Strict; Path=/`,
        'content-length': 0,
      });
      res.end();
      return;
    }
    if (!this.authorised(req)) return send(res, 401, 'text/html; charset=utf-8', SIGN_IN_PAGE);
    await this.file(res, '/index.html');
  }

  private async file(res: ServerResponse, pathname: string): Promise<void> {
    let rel: string;
    try {
      rel = decodeURIComponent(pathname);
    } catch {
      return json(res, 400, { error: 'bad path' });
    }
    const page = pageFile(this.staticDir, rel);
    if (!page) return json(res, 404, { error: 'not found' });
    let body: Buffer;
    try {
      body = await readFile(page.file);
    } catch {
      return json(res, 404, { error: 'not found' });
    }
    send(res, 200, page.type, body);
  }

  private async body<T extends z.ZodType>(req: IncomingMessage, res: ServerResponse, schema: T): Promise<z.infer<T> | undefined> {
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
      json(res, 415, { error: 'expected application/json' });
      req.resume();
      return undefined;
    }
    const body = await readJsonBody(req, this.maxBody);
    if (!body.ok) {
      // a request cut off gets no answer (nobody is there to read it)
      if (body.reason !== 'cut-off') json(res, body.status, { error: body.reason === 'too-large' ? 'request body too large' : 'invalid JSON' });
      return undefined;
    }
    const r = schema.safeParse(body.value);
    if (!r.success) {
      json(res, 400, { error: describeInputError(r.error) });
      return undefined;
    }
    return r.data as z.infer<T>;
  }

  private events(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': 'text/event-stream; charset=utf-8',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write('retry: 2000\n\n');
    this.streams.add(res);
    const send = (e: UiEvent) => {
      const data = e.type === 'log' ? e.entry : e.type === 'status' ? e.status : e.type === 'budget' ? e.notice : { revision: e.revision };
      res.write(`event: ${e.type}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    const off = this.service.subscribe(send);
    const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
    const done = () => {
      clearInterval(ping);
      off();
      this.streams.delete(res);
    };
    req.on('close', done);
    res.on('error', done);
  }
}
