// The OpenAI Responses WebSocket transport (`GET /v1/responses` with `Upgrade: websocket`), Codex's default.
//
// After the upgrade, each client message {"type":"response.create", …create params…} is one request: it is
// routed exactly like POST /v1/responses with that body (stream forced on) through the Proxy — routing,
// fallback, translation, passthrough of unrouted models on intercepted hosts, the request log — and each
// SSE event of the answer goes back as one text message (the event's JSON). Requests on a connection run
// one after another, in the order they came. Errors are `{"type":"error","status":…,"error":{…}}`
// messages (what Codex maps to an HTTP error of that status); the connection stays open after them.
//
// Connection-local state, as OpenAI's WebSocket mode keeps it: the last completed response (its full input
// and output items). A later response.create with `previous_response_id` equal to it and only the new input
// items is expanded here into the full conversation, so every provider (and every format) gets the whole
// context; an unknown id is passed on when store is on, and refused as previous_response_not_found when it
// is off (nobody could resolve it). `generate: false` (Codex's warm-up) is answered here, without a provider:
// response.created + response.completed with no output, remembered as the previous response.
//
// The `ws` package is loaded on the first upgrade only (idle memory). Browsers (an Origin header) are
// refused on the plain endpoint; on an intercepted host they, other paths and models no provider serves go
// to the real origin unchanged (main/intercept/passthrough.ts).
import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocket, WebSocketServer } from 'ws';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import { errorBody } from '../proxy/dialect.js';
import { hostAllowed } from '../proxy/guard.js';
import type { Proxy, RequestMeta } from '../proxy/proxy.js';
import { WsResponseSink } from './sink.js';

const MAX_MESSAGE = 64 * 1024 * 1024;
const DROPPED_HEADERS = new Set([
  'connection',
  'upgrade',
  'sec-websocket-key',
  'sec-websocket-version',
  'sec-websocket-extensions',
  'sec-websocket-protocol',
  'content-length',
  'transfer-encoding',
  'accept-encoding',
]);

export type UpgradePassthrough = (req: IncomingMessage, socket: Duplex, head: Buffer, meta: { host: string }) => void;

export interface WsGatewayDeps {
  proxy: Proxy;
  config(): Config;
  logger: Logger;
  /** Loads the `ws` package (tests: a failing one). */
  loadWs?(): WsModule;
}

type WsModule = typeof import('ws');
let wsModule: WsModule | undefined;
function loadWs(): WsModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (wsModule ??= require('ws') as WsModule);
}

/** Is this the Responses WebSocket endpoint? (the path, any query) */
export function isResponsesPath(url: string | undefined): boolean {
  return (url ?? '').split('?', 1)[0]!.replace(/\/+$/, '') === '/v1/responses';
}

/** The model Codex may name in `x-codex-turn-metadata` (a JSON object), if any. */
export function modelHint(headers: IncomingHttpHeaders): string | undefined {
  const raw = headers['x-codex-turn-metadata'];
  const v = Array.isArray(raw) ? raw[0] : raw;
  if (!v) return undefined;
  try {
    const j = JSON.parse(v) as { model?: unknown };
    return typeof j.model === 'string' && j.model ? j.model : undefined;
  } catch {
    return undefined;
  }
}

/** A plain HTTP answer on a socket that asked to upgrade (the upgrade is refused). */
export function refuseUpgrade(socket: Duplex, status: number, reason: string, body: string): void {
  if (socket.destroyed) return;
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
  socket.on('error', () => {});
}

export class ResponsesWsGateway {
  private wss?: WebSocketServer;
  private readonly sessions = new Set<ResponsesWsSession>();

  constructor(private readonly deps: WsGatewayDeps) {}

  /** Open Responses WebSocket connections. */
  get connections(): number {
    return this.sessions.size;
  }

  /**
   * An upgrade request on the plain endpoint (meta without host) or the TLS listener (meta.host). On an
   * intercepted host, what router67 does not serve goes to `passthrough` (the real origin).
   */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, meta: RequestMeta = {}, passthrough?: UpgradePassthrough): void {
    socket.on('error', () => socket.destroy());
    const intercepted = meta.host !== undefined;
    const served = isResponsesPath(req.url);
    const browser = req.headers.origin !== undefined;
    if (intercepted && passthrough && (!served || browser || !this.mayServe(req))) return passthrough(req, socket, head, { host: meta.host! });
    // the plain endpoint answers only to its own host names, as for HTTP (proxy/guard.ts): DNS rebinding
    if (!intercepted && !hostAllowed(req.headers.host, this.deps.config().daemon)) {
      return refuseUpgrade(socket, 421, 'Misdirected Request', errorBody('openai', 421, `router67 answers only to loopback host names and the configured http_listen host, not "${String(req.headers.host).slice(0, 100)}"`));
    }
    if (!served) {
      const path = (req.url ?? '/').split('?', 1)[0];
      return refuseUpgrade(socket, 404, 'Not Found', errorBody('openai', 404, `router67 serves WebSocket upgrades only at /v1/responses, not ${path}`));
    }
    if (browser) {
      return refuseUpgrade(socket, 403, 'Forbidden', errorBody('responses', 403, 'router67 does not accept WebSocket connections from web pages'));
    }
    let wss: WebSocketServer;
    try {
      wss = this.server();
    } catch (err) {
      // 426 makes Codex fall back to HTTPS at once instead of retrying the upgrade
      this.deps.logger.error(`Responses WebSocket unavailable (the ws package did not load: ${(err as Error).message})`);
      return refuseUpgrade(socket, 426, 'Upgrade Required', errorBody('responses', 426, 'router67 cannot serve WebSockets here; use HTTPS'));
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const s = new ResponsesWsSession(ws, req, meta, this.deps);
      this.sessions.add(s);
      ws.once('close', () => this.sessions.delete(s));
    });
  }

  /** Closes connections (all, or those `which` picks): 1001 "going away"; ends them hard after `graceMs`. */
  closeAll(which: (meta: RequestMeta) => boolean = () => true, graceMs = 500): Promise<void> {
    const closing = [...this.sessions].filter((s) => which(s.meta));
    return Promise.all(closing.map((s) => s.close(graceMs))).then(() => {});
  }

  private server(): WebSocketServer {
    if (this.wss) return this.wss;
    const { WebSocketServer } = (this.deps.loadWs ?? loadWs)();
    this.wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE, perMessageDeflate: false, clientTracking: false });
    return this.wss;
  }

  /** On an intercepted host: serve unless the handshake names a model nobody routes, or nothing is routed at all. */
  private mayServe(req: IncomingMessage): boolean {
    const providers = this.deps.config().providers;
    const hint = modelHint(req.headers);
    if (hint !== undefined) return providers.some((p) => Object.hasOwn(p.available_models, hint));
    return providers.some((p) => Object.keys(p.available_models).length > 0);
  }
}

interface Previous {
  id: string;
  input: unknown[];
  output: unknown[];
}

class ResponsesWsSession {
  private readonly queue: Record<string, unknown>[] = [];
  private running = false;
  private closed = false;
  private current?: WsResponseSink;
  private previous?: Previous;
  private readonly url: string;
  private readonly headers: IncomingHttpHeaders;

  constructor(
    private readonly ws: WebSocket,
    req: IncomingMessage,
    readonly meta: RequestMeta,
    private readonly deps: WsGatewayDeps,
  ) {
    this.url = req.url ?? '/v1/responses';
    this.headers = requestHeaders(req.headers);
    ws.on('message', (data, isBinary) => this.onMessage(data as Buffer | Buffer[] | ArrayBuffer, isBinary));
    ws.on('close', () => {
      this.closed = true;
      this.queue.length = 0;
      this.current?.clientClosed();
    });
    ws.on('error', () => {});
  }

  close(graceMs: number): Promise<void> {
    if (this.closed || this.ws.readyState === this.ws.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => this.ws.terminate(), graceMs);
      this.ws.once('close', () => {
        clearTimeout(t);
        resolve();
      });
      this.ws.close(1001, 'router67 is stopping');
    });
  }

  private onMessage(data: Buffer | Buffer[] | ArrayBuffer, isBinary: boolean): void {
    if (isBinary) return this.error(400, 'router67 expects text messages (JSON events) on this WebSocket');
    const text = Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8');
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      return this.error(400, 'the message is not valid JSON', 'invalid_json');
    }
    if (!msg || typeof msg !== 'object' || Array.isArray(msg)) return this.error(400, 'a message must be a JSON object with a "type"', 'invalid_event');
    const type = (msg as { type?: unknown }).type;
    if (type === 'response.processed') return; // Codex's acknowledgement of a finished response: nothing to do
    if (type !== 'response.create') {
      return this.error(400, `unsupported event type ${JSON.stringify(type)}; router67 accepts "response.create"`, 'unsupported_event_type');
    }
    this.queue.push(msg as Record<string, unknown>);
    void this.drain();
  }

  private async drain(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (let next = this.queue.shift(); next !== undefined && !this.closed; next = this.queue.shift()) await this.create(next);
    } finally {
      this.running = false;
    }
  }

  /** One response.create: expanded, then routed like POST /v1/responses; its events go back as messages. */
  private async create(msg: Record<string, unknown>): Promise<void> {
    // `background` is a transport choice of HTTP; on the socket every response streams
    const { type: _type, generate, background: _background, ...body } = msg;
    if (typeof body.model !== 'string' || !body.model) return this.error(400, 'response.create needs a string "model"', 'missing_model');
    let input = normalizeInput(body.input);
    if (input === undefined) return this.error(400, '"input" must be a string or an array of items', 'invalid_input');
    const prev = body.previous_response_id;
    if (typeof prev === 'string' && prev) {
      if (this.previous?.id === prev) {
        // with store off the provider keeps no items: their ids would be refused ("Item with id … not found")
        const output = body.store === false ? this.previous.output.map(unstored) : this.previous.output;
        input = [...this.previous.input, ...output, ...input];
        delete body.previous_response_id;
      } else if (body.store === false) {
        return this.error(400, `previous response ${prev} is not the last response on this connection (store is off, so nothing else could resolve it); send the full input`, 'previous_response_not_found', 'previous_response_id');
      }
    }
    body.input = input;
    body.stream = true;
    this.previous = undefined;
    if (generate === false) return this.warmup(body.model, input);

    const sink = new WsResponseSink({ send: (t, sent) => this.send(t, sent) }, body.model);
    this.current = sink;
    try {
      await this.deps.proxy
        .dispatch({ method: 'POST', url: this.url, headers: this.headers }, sink as unknown as ServerResponse, Buffer.from(JSON.stringify(body)), this.meta)
        .catch((err: unknown) => {
          this.deps.logger.error(`internal error on a Responses WebSocket request: ${(err as Error)?.message ?? String(err)}`);
          if (!sink.headersSent) sink.writeHead(500, { 'content-type': 'application/json' }).end(errorBody('responses', 500, 'router67 internal error'));
          else sink.destroy();
        });
      if (!sink.writableEnded && !sink.destroyed) sink.destroy(); // a relay that never ended its answer: the client hears so
      const r = await sink.done;
      if (r.terminal === 'completed' && r.responseId) this.previous = { id: r.responseId, input, output: r.output };
    } finally {
      this.current = undefined;
    }
  }

  /** `generate: false`: a response with no output, so the next request can name it as previous. */
  private warmup(model: string, input: unknown[]): void {
    const id = `resp_${randomBytes(12).toString('hex')}`;
    const created_at = Math.floor(Date.now() / 1000);
    const response = { id, object: 'response', created_at, status: 'in_progress', model, output: [], usage: null, error: null, incomplete_details: null };
    this.send(JSON.stringify({ type: 'response.created', sequence_number: 0, response }));
    const done = { ...response, status: 'completed', usage: { input_tokens: 0, output_tokens: 0, total_tokens: 0 } };
    this.send(JSON.stringify({ type: 'response.completed', sequence_number: 1, response: done }));
    this.previous = { id, input, output: [] };
  }

  private error(status: number, message: string, code?: string, param?: string): void {
    const error = { type: status === 404 ? 'not_found_error' : 'invalid_request_error', code: code ?? null, message, param: param ?? null };
    this.send(JSON.stringify({ type: 'error', status, error }));
  }

  private send(text: string, sent?: () => void): void {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) {
      sent?.();
      return;
    }
    this.ws.send(text, () => sent?.());
  }
}

/** The handshake's headers, fit for the POST each message becomes (no upgrade headers, no WebSocket beta). */
function requestHeaders(h: IncomingHttpHeaders): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  for (const k in h) {
    if (DROPPED_HEADERS.has(k)) continue;
    out[k] = h[k];
  }
  const beta = out['openai-beta'];
  if (beta !== undefined) {
    const kept = String(beta)
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s && !/^responses_websockets\b/i.test(s));
    if (kept.length) out['openai-beta'] = kept.join(', ');
    else delete out['openai-beta'];
  }
  out['content-type'] = 'application/json';
  out.accept = 'text/event-stream';
  return out;
}

/** `input` as a list of items (a string is one user message); undefined when it is neither. */
function normalizeInput(input: unknown): unknown[] | undefined {
  if (input === undefined || input === null) return [];
  if (typeof input === 'string') return [{ type: 'message', role: 'user', content: input }];
  return Array.isArray(input) ? input : undefined;
}

/** An output item as input when nothing is stored upstream: without its server `id` and `status`, as Codex sends items. */
function unstored(item: unknown): unknown {
  if (!item || typeof item !== 'object' || Array.isArray(item)) return item;
  const { id: _id, status: _status, ...rest } = item as Record<string, unknown>;
  return rest;
}
