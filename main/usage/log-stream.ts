// `GET /api/log/stream` on the admin endpoint (token required): finished request-log entries as server-sent events,
// one `entry` event each, for `router67 logs [--follow]`. Query: `app`, `provider` (exact, case-insensitive) filter
// on the daemon's side; `backlog=N` first sends up to N of the most recent finished entries; `follow=0` ends the
// stream after the backlog. Entries are compact (no headers, no bodies) and already scrubbed by the request log.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EventEmitter } from 'node:events';
import type { LogEntry } from '../ui/types.js';

/** The fields `logs` prints (and --json gives). */
export type LogLine = Pick<
  LogEntry,
  | 'id'
  | 'startedAt'
  | 'dialect'
  | 'method'
  | 'path'
  | 'model'
  | 'provider'
  | 'upstreamModel'
  | 'status'
  | 'state'
  | 'ttfbMs'
  | 'durationMs'
  | 'inputTokens'
  | 'outputTokens'
  | 'cacheReadTokens'
  | 'cacheWriteTokens'
  | 'reasoningTokens'
  | 'costUsd'
  | 'app'
  | 'route'
  | 'stream'
  | 'error'
> & { attempts: number };

export function toLogLine(e: LogEntry): LogLine {
  const out: LogLine = { id: e.id, startedAt: e.startedAt, dialect: e.dialect, method: e.method, path: e.path, state: e.state, stream: e.stream, attempts: e.attempts.length };
  for (const k of [
    'model',
    'provider',
    'upstreamModel',
    'status',
    'ttfbMs',
    'durationMs',
    'inputTokens',
    'outputTokens',
    'cacheReadTokens',
    'cacheWriteTokens',
    'reasoningTokens',
    'costUsd',
    'app',
    'route',
    'error',
  ] as const) {
    if (e[k] !== undefined) (out as unknown as Record<string, unknown>)[k] = e[k];
  }
  return out;
}

interface LogSource extends Pick<EventEmitter, 'on' | 'off'> {
  recent(limit?: number): LogEntry[];
}

interface Router {
  route(method: string, path: string, handler: (req: IncomingMessage, res: ServerResponse, url: URL) => void): void;
}

const finished = (e: LogEntry) => e.state === 'done' || e.state === 'error';

export function mountLogStream(admin: Router, log: LogSource): void {
  admin.route('GET', '/api/log/stream', (req, res, url) => {
    const p = url.searchParams;
    const app = p.get('app')?.toLowerCase();
    const provider = p.get('provider')?.toLowerCase();
    const backlog = Math.min(Math.max(Number(p.get('backlog') ?? '0') || 0, 0), 2000);
    const follow = p.get('follow') !== '0';
    const match = (e: LogEntry) => finished(e) && (!app || e.app?.toLowerCase() === app) && (!provider || e.provider?.toLowerCase() === provider);
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      connection: 'keep-alive',
    });
    const send = (e: LogEntry) => res.write(`event: entry\ndata: ${JSON.stringify(toLogLine(e))}\n\n`);
    if (backlog) {
      const older = log.recent().filter(match).slice(0, backlog).reverse();
      for (const e of older) send(e);
    }
    if (!follow) {
      res.end('event: end\ndata: {}\n\n');
      return;
    }
    res.write(': following\n\n');
    const onFinished = (e: LogEntry) => {
      if (match(e)) send(e);
    };
    log.on('finish', onFinished);
    const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
    const done = () => {
      clearInterval(ping);
      log.off('finish', onFinished);
    };
    req.on('close', done);
    res.on('error', done);
  });
}
