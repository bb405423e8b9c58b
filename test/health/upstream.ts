// A local upstream for the resilience tests, speaking Anthropic Messages and OpenAI Chat (whole and streamed),
// whose every answer is chosen by a function of the request: ok (optionally slow, held, with rate-limit
// headers), an HTTP error status, a reset before any byte, or a stream cut in the middle. It counts the
// requests in flight at the upstream itself (the number limits must keep under).
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault =
  | { kind: 'ok'; delayMs?: number; hold?: Promise<void>; headers?: Record<string, string> }
  | { kind: 'status'; status: number; headers?: Record<string, string>; delayMs?: number }
  | { kind: 'reset' }
  | { kind: 'drop-mid-stream' };

export interface Upstream {
  name: string;
  url: string;
  /** Requests answered (or cut) so far. */
  count: number;
  inFlight: number;
  maxInFlight: number;
  words: string[];
  plan: (n: number, headers: IncomingHttpHeaders) => Fault;
  close(): Promise<void>;
}

export async function startUpstream(name: string, plan: Upstream['plan'] = () => ({ kind: 'ok' })): Promise<Upstream> {
  const u: Upstream = { name, url: '', count: 0, inFlight: 0, maxInFlight: 0, words: ['Hello', ' from', ` ${name}`, '!'], plan, close: async () => {} };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      u.inFlight++;
      u.maxInFlight = Math.max(u.maxInFlight, u.inFlight);
      let ended = false;
      const end = () => {
        if (!ended) {
          ended = true;
          u.inFlight--;
        }
      };
      res.on('close', end);
      const n = u.count++;
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      } catch {
        /* not JSON */
      }
      const f = u.plan(n, req.headers);
      void answer(u, f, req.url ?? '', body, res);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  u.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  u.close = () =>
    new Promise((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return u;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function sse(res: ServerResponse, event: string | undefined, data: unknown): void {
  res.write(`${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
}

async function answer(u: Upstream, f: Fault, path: string, body: Record<string, unknown>, res: ServerResponse): Promise<void> {
  const anthropic = path.includes('/messages');
  const model = String(body.model ?? '');
  if (f.kind === 'reset') return void res.socket?.destroy();
  if ('delayMs' in f && f.delayMs) await sleep(f.delayMs);
  if (f.kind === 'ok' && f.hold) await f.hold;
  if (res.destroyed) return;
  if (f.kind === 'status') {
    res.writeHead(f.status, { 'content-type': 'application/json', ...f.headers });
    const type = f.status === 429 ? 'rate_limit_error' : f.status >= 500 ? 'api_error' : 'invalid_request_error';
    const message = `${u.name} says ${f.status}`;
    return void res.end(JSON.stringify(anthropic ? { type: 'error', error: { type, message } } : { error: { message, type, code: null } }));
  }
  const headers = f.kind === 'ok' ? (f.headers ?? {}) : {};
  const text = u.words.join('');
  if (body.stream !== true) {
    res.writeHead(200, { 'content-type': 'application/json', ...headers });
    const whole = anthropic
      ? { id: `msg_${u.count}`, type: 'message', role: 'assistant', model, content: [{ type: 'text', text }], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 11, output_tokens: 7 } }
      : {
          id: `chatcmpl-${u.count}`,
          object: 'chat.completion',
          created: 1_700_000_000,
          model,
          choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null }, finish_reason: 'stop', logprobs: null }],
          usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 },
        };
    const s = JSON.stringify(whole);
    if (f.kind === 'drop-mid-stream') {
      res.write(s.slice(0, 20));
      return void setTimeout(() => res.socket?.destroy(), 2);
    }
    return void res.end(s);
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', ...headers });
  if (anthropic) {
    sse(res, 'message_start', {
      type: 'message_start',
      message: { id: 'msg_1', type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 11, output_tokens: 1 } },
    });
    sse(res, 'content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
  } else {
    sse(res, undefined, { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1_700_000_000, model, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] });
  }
  for (let i = 0; i < u.words.length; i++) {
    if (f.kind === 'drop-mid-stream' && i === 2) {
      res.write('data: {"type":"content_block_delta","ind');
      return void setTimeout(() => res.socket?.destroy(), 2);
    }
    const w = u.words[i]!;
    if (anthropic) sse(res, 'content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: w } });
    else sse(res, undefined, { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1_700_000_000, model, choices: [{ index: 0, delta: { content: w }, finish_reason: null }] });
    await sleep(1);
    if (res.destroyed) return;
  }
  if (anthropic) {
    sse(res, 'content_block_stop', { type: 'content_block_stop', index: 0 });
    sse(res, 'message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 7 } });
    sse(res, 'message_stop', { type: 'message_stop' });
  } else {
    sse(res, undefined, { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1_700_000_000, model, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] });
    sse(res, undefined, '[DONE]');
  }
  res.end();
}
