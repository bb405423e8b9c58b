// /healthz, /readyz and /metrics on the admin endpoint (loopback only, like all of it). Token-protected like the
// rest of the admin API unless `[metrics] require_token = false`, which lets a local Prometheus (or a service
// manager's health check) read these three without it. Read per request, so a config change applies at once.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson, type AdminServer } from '../admin/server.js';
import type { Metrics } from './metrics.js';

export interface Readiness {
  ready: boolean;
  /** Each check and how it stands: "ok", or what is wrong. */
  checks: Record<string, string>;
  /** Why not ready (empty when ready). */
  reasons: string[];
  /** Worth knowing, not a reason to be unready (e.g. a broken config.toml while the last good one runs). */
  warnings: string[];
}

export interface HealthDeps {
  metrics: Metrics;
  readiness(): Readiness;
  /** False: these three routes are served without the admin token. */
  requireToken(): boolean;
}

export function attachHealth(admin: AdminServer, deps: HealthDeps): void {
  const guarded =
    (fn: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>) =>
    (req: IncomingMessage, res: ServerResponse): void | Promise<void> => {
      if (deps.requireToken() && !admin.authorised(req)) return sendJson(res, 401, { error: 'missing or wrong token' });
      return fn(req, res);
    };
  admin.route('GET', '/healthz', guarded((_req, res) => sendJson(res, 200, { status: 'ok', pid: process.pid, uptimeS: Math.round(process.uptime()) })), { public: true });
  admin.route(
    'GET',
    '/readyz',
    guarded((_req, res) => {
      const r = deps.readiness();
      sendJson(res, r.ready ? 200 : 503, r);
    }),
    { public: true },
  );
  admin.route(
    'GET',
    '/metrics',
    guarded(async (_req, res) => {
      const { contentType, body } = await deps.metrics.scrape();
      res.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
      res.end(body);
    }),
    { public: true },
  );
}
