// Requests on the TLS listener that no provider routes (another model, GET /v1/models, files, batches,
// count_tokens...) go to the real origin of the host the client asked for, unchanged: same method, path,
// query, headers (the client's own credentials included; only hop-by-hop headers are dropped) and body.
// The upstream dispatcher resolves intercepted names without the hosts file and verifies the origin's
// certificate normally. The response is relayed as it arrives, with backpressure.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import type { Dispatcher } from 'undici';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import type { Dialect, LogEntry, RequestLog } from '../log/request-log.js';
import { dialectFor, errorBody } from '../proxy/dialect.js';
import { clientSecrets } from '../proxy/auth.js';
import { describeTransportError } from '../proxy/errors.js';
import { redactHeaders, responseHeaders, upstreamHeaders } from '../proxy/headers.js';
import { cancelOnClientGone, exchange, type UpstreamResponse } from '../proxy/upstream.js';

export interface PassthroughDeps {
  config(): Config;
  dispatcher(): Dispatcher;
  log: RequestLog;
  logger: Logger;
  /** Hosts a request may be passed to (the intercepted ones). */
  allowed(host: string): boolean;
  /** TLS options for an upgrade's own connection to the origin (the hosts-bypassing lookup; tests: a stand-in). */
  originTls?(host: string): ConnectionOptions;
}

/** Milliseconds since `t0`, to 0.01 ms. */
const msSince = (t0: number): number => Math.round((performance.now() - t0) * 100) / 100;

/** A whole HTTP/1.1 response with a JSON body, written straight to an upgrade's socket (which then closes). */
const rawJson = (status: string, body: string): string =>
  `HTTP/1.1 ${status}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;

export class Passthrough {
  inFlight = 0;
  private waiters: (() => void)[] = [];
  private readonly tunnels = new Set<{ client: Duplex; origin: TLSSocket }>();

  constructor(private readonly deps: PassthroughDeps) {}

  idle(): Promise<void> {
    return this.inFlight === 0 ? Promise.resolve() : new Promise((r) => this.waiters.push(r));
  }

  readonly handle = async (req: IncomingMessage, res: ServerResponse, body: Buffer, meta: { host: string; app?: string }): Promise<void> => {
    const host = meta.host.toLowerCase();
    const url = req.url ?? '/';
    const dialect = dialectFor(url, host);
    const cfg = this.deps.config();
    if (!this.deps.allowed(host)) {
      const msg = `router67 does not intercept ${host}`;
      res.writeHead(421, { 'content-type': 'application/json' });
      res.end(errorBody(dialect, 421, msg));
      return;
    }
    const entry = this.begin(req, host, dialect, false, meta.app);
    entry.bytesIn = body.length;
    // the client's own key goes to the real origin, but never into the log (the path's ?key= is cut at begin)
    this.deps.log.addSecrets(entry, clientSecrets(req.headers), 8);
    this.inFlight++;
    const t0 = performance.now();
    const { cancel, dispose } = cancelOnClientGone(res, () => new Error('client disconnected'));
    try {
      let resp: UpstreamResponse;
      try {
        const method = (req.method ?? 'GET') as Dispatcher.HttpMethod;
        resp = await exchange(
          this.deps.dispatcher(),
          {
            origin: `https://${host}`,
            path: url,
            method,
            headers: upstreamHeaders(req.headers, false, {}),
            body: body.length > 0 || !['GET', 'HEAD'].includes(method) ? body : null,
            headersTimeout: cfg.daemon.first_byte_timeout_ms,
            bodyTimeout: cfg.daemon.idle_timeout_ms, // idle time between body chunks, as on routed requests
          },
          cancel,
        );
      } catch (err) {
        const why = describeTransportError(err);
        entry.error = `passthrough to ${host} failed: ${why}`;
        entry.state = 'error';
        entry.status = 502;
        this.deps.logger.warn(this.deps.log.scrubText(entry, entry.error));
        if (!res.headersSent && !cancel.cancelled) {
          const b = errorBody(dialect, 502, `router67 could not reach the real ${host}: ${why}`);
          res.writeHead(502, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(b) });
          res.end(b);
        } else res.destroy();
        return;
      }
      entry.status = resp.statusCode;
      entry.ttfbMs = msSince(t0);
      const ct = resp.headers['content-type'];
      entry.stream = /event-stream|ndjson/i.test(Array.isArray(ct) ? (ct[0] ?? '') : (ct ?? ''));
      res.writeHead(resp.statusCode, responseHeaders(resp.headers, false));
      await new Promise<void>((resolve) => {
        const onDrain = () => resp.resume();
        res.on('drain', onDrain);
        resp.attach({
          data: (c) => {
            entry.bytesOut += c.length;
            if (!res.write(c)) resp.pause();
          },
          end: () => {
            res.off('drain', onDrain);
            res.end();
            resolve();
          },
          error: (err) => {
            res.off('drain', onDrain);
            entry.error = `passthrough stream from ${host} failed: ${describeTransportError(err)}`;
            res.destroy();
            resolve();
          },
        });
      });
      entry.state = entry.error || resp.statusCode >= 400 ? 'error' : 'done';
    } finally {
      dispose();
      entry.durationMs = msSince(t0);
      if (entry.state === 'pending' || entry.state === 'streaming') entry.state = entry.error ? 'error' : 'done';
      this.deps.log.finish(entry);
      if (--this.inFlight === 0) for (const w of this.waiters.splice(0)) w();
    }
  };

  /** The log entry of a request passed to `host`'s real origin. */
  private begin(req: IncomingMessage, host: string, dialect: Dialect, stream: boolean, app?: string): LogEntry {
    return this.deps.log.begin({
      dialect,
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      host,
      app,
      stream,
      passthrough: true,
      requestHeaders: redactHeaders(req.headers),
    });
  }

  /** Upgraded connections piped to their origin right now. */
  get upgrades(): number {
    return this.tunnels.size;
  }

  /** Ends every piped upgrade (interception is stopping). */
  closeUpgrades(): void {
    for (const t of this.tunnels) {
      t.client.destroy();
      t.origin.destroy();
    }
    this.tunnels.clear();
  }

  /**
   * An upgrade (WebSocket) router67 does not serve: the request goes to the real origin byte for byte (its
   * Upgrade/Connection/Sec-WebSocket-* headers included), and from then on both directions are piped as they
   * are — the origin's 101 and every frame after it — so the upgrade works as if nothing were in between.
   */
  readonly upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer, meta: { host: string }): void => {
    const host = meta.host.toLowerCase();
    const url = req.url ?? '/';
    const dialect = dialectFor(url, host);
    if (!this.deps.allowed(host)) {
      socket.end(rawJson('421 Misdirected Request', errorBody(dialect, 421, `router67 does not intercept ${host}`)));
      return;
    }
    const entry = this.begin(req, host, dialect, true);
    entry.bytesIn = head.length;
    // as for a passed-through request: the client's own key goes to its origin, never into the log
    this.deps.log.addSecrets(entry, clientSecrets(req.headers), 8);
    const t0 = performance.now();
    let connected = false;
    let finished = false;
    const origin = tlsConnect({ host, port: 443, servername: host, ALPNProtocols: ['http/1.1'], ...this.deps.originTls?.(host) });
    const tunnel = { client: socket, origin };
    this.tunnels.add(tunnel);
    const finish = (error?: string) => {
      if (finished) return;
      finished = true;
      this.tunnels.delete(tunnel);
      if (error && !entry.error) entry.error = error;
      entry.durationMs = msSince(t0);
      entry.state = entry.error || (entry.status ?? 0) >= 400 ? 'error' : 'done';
      this.deps.log.finish(entry);
    };
    origin.once('secureConnect', () => {
      connected = true;
      origin.setNoDelay(true);
      (socket as Partial<Pick<TLSSocket, 'setNoDelay'>>).setNoDelay?.(true);
      const lines = [`${req.method ?? 'GET'} ${url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      origin.write(lines.join('\r\n') + '\r\n\r\n');
      if (head.length) origin.write(head);
      origin.once('data', (first: Buffer) => {
        const m = /^HTTP\/1\.[01] (\d{3})/.exec(first.toString('latin1', 0, 16));
        if (m) entry.status = Number(m[1]);
        entry.ttfbMs = msSince(t0);
        entry.state = entry.status === 101 ? 'streaming' : entry.state;
        this.deps.log.update(entry);
      });
      origin.on('data', (c: Buffer) => (entry.bytesOut += c.length));
      socket.on('data', (c: Buffer) => (entry.bytesIn += c.length));
      origin.pipe(socket);
      socket.pipe(origin);
    });
    origin.on('error', (err) => {
      const why = describeTransportError(err);
      if (!connected) {
        entry.status = 502;
        this.deps.logger.warn(`upgrade passthrough to ${host} failed: ${why}`);
        if (!socket.destroyed) socket.end(rawJson('502 Bad Gateway', errorBody(dialect, 502, `router67 could not reach the real ${host}: ${why}`)));
      } else socket.destroy();
      finish(`upgrade passthrough to ${host} failed: ${why}`);
    });
    socket.on('error', () => origin.destroy());
    socket.on('close', () => {
      origin.destroy();
      finish();
    });
    origin.on('close', () => {
      if (connected) socket.end();
      finish();
    });
  };
}
