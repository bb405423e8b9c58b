// A local upstream that speaks the real wire formats (Anthropic Messages, OpenAI Chat Completions),
// streaming and not, and misbehaves on demand: 429 with Retry-After, 5xx, reset, drop mid-stream, hang.
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Mode =
  | 'ok'
  | '429'
  | '500'
  | '503-html'
  | '400'
  | 'reset'
  | 'drop-mid-stream'
  | 'drop-before-body'
  | 'close-without-end'
  | 'hang';

export interface Received {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  json?: Record<string, unknown>;
}

export interface MockUpstream {
  name: string;
  url: string;
  mode: Mode;
  requests: Received[];
  /** Resolves when a request's socket closes before its response ended (client went away). */
  aborted: Promise<void>;
  /** Text the model "says". */
  words: string[];
  usage: { input: number; output: number };
  /** When set, the next stream sends its first word, then waits for this before the rest (taken once). */
  gate?: Promise<void>;
  close(): Promise<void>;
}

export async function startMockUpstream(name: string, mode: Mode = 'ok'): Promise<MockUpstream> {
  let resolveAborted!: () => void;
  const m: MockUpstream = {
    name,
    url: '',
    mode,
    requests: [],
    aborted: new Promise((r) => (resolveAborted = r)),
    words: ['Hello', ' from', ` ${name}`, '!'],
    usage: { input: 11, output: 7 },
    close: async () => {},
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      let json: Record<string, unknown> | undefined;
      try {
        json = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
      } catch {
        /* not JSON */
      }
      m.requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body, json });
      res.on('close', () => {
        if (!res.writableFinished) resolveAborted();
      });
      respond(m, req.url ?? '', json ?? {}, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  m.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  m.close = () =>
    new Promise((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return m;
}

function sse(res: ServerResponse, event: string | undefined, data: unknown): void {
  res.write(`${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
}

function respond(m: MockUpstream, path: string, body: Record<string, unknown>, res: ServerResponse): void {
  const anthropic = path.includes('/messages');
  const model = String(body.model ?? '');
  const stream = body.stream === true;
  switch (m.mode) {
    case '429': {
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '30' });
      res.end(JSON.stringify(anthropic ? { type: 'error', error: { type: 'rate_limit_error', message: `${m.name} rate limited` } } : { error: { message: `${m.name} rate limited`, type: 'rate_limit_error' } }));
      return;
    }
    case '500':
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `${m.name} exploded` } }));
      return;
    case '503-html':
      res.writeHead(503, { 'content-type': 'text/html' });
      res.end('<!DOCTYPE html><html><head><title>503 Service Unavailable</title></head><body>down</body></html>');
      return;
    case '400':
      res.writeHead(400, { 'content-type': 'application/json', 'x-upstream': m.name });
      res.end(
        JSON.stringify(
          anthropic
            ? { type: 'error', error: { type: 'invalid_request_error', message: `${m.name}: max_tokens is required` } }
            : { error: { message: `${m.name}: bad request`, type: 'invalid_request_error', param: 'messages', code: null } },
        ),
      );
      return;
    case 'reset':
      res.socket?.destroy();
      return;
    case 'hang':
      return; // never answers; the client or a timeout must end it
    case 'drop-before-body':
      res.writeHead(200, { 'content-type': stream ? 'text/event-stream' : 'application/json' });
      res.flushHeaders();
      setTimeout(() => res.socket?.destroy(), 20);
      return;
  }
  const id = `msg_${m.name}_${m.requests.length}`;
  const text = m.words.join('');
  if (!stream) {
    res.writeHead(200, { 'content-type': 'application/json', 'request-id': id });
    if (anthropic) {
      res.end(
        JSON.stringify({
          id,
          type: 'message',
          role: 'assistant',
          model,
          content: [{ type: 'text', text }],
          stop_reason: 'end_turn',
          stop_sequence: null,
          usage: { input_tokens: m.usage.input, output_tokens: m.usage.output },
        }),
      );
    } else {
      res.end(
        JSON.stringify({
          id: `chatcmpl-${m.name}`,
          object: 'chat.completion',
          created: 1_700_000_000,
          model,
          choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null }, finish_reason: 'stop', logprobs: null }],
          usage: { prompt_tokens: m.usage.input, completion_tokens: m.usage.output, total_tokens: m.usage.input + m.usage.output },
        }),
      );
    }
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const words = [...m.words];
  const dropAfter = m.mode === 'drop-mid-stream' ? 2 : Infinity;
  const cleanClose = m.mode === 'close-without-end';
  if (anthropic) {
    sse(res, 'message_start', {
      type: 'message_start',
      message: { id, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: m.usage.input, output_tokens: 1 } },
    });
    sse(res, 'content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
  } else {
    sse(res, undefined, { id: `chatcmpl-${m.name}`, object: 'chat.completion.chunk', created: 1_700_000_000, model, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] });
  }
  let i = 0;
  const gate = m.gate;
  m.gate = undefined;
  const tick = () => {
    if (i === 1 && gate) {
      void gate.then(() => setTimeout(next, 2));
      return;
    }
    next();
  };
  const next = () => {
    if (i >= dropAfter) {
      res.write('data: {"type":"content_block_delta","ind'); // a torn event, then the connection dies
      setTimeout(() => res.socket?.destroy(), 5);
      return;
    }
    if (i < words.length) {
      const w = words[i++]!;
      if (anthropic) sse(res, 'content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: w } });
      else sse(res, undefined, { id: `chatcmpl-${m.name}`, object: 'chat.completion.chunk', created: 1_700_000_000, model, choices: [{ index: 0, delta: { content: w }, finish_reason: null }] });
      setTimeout(i === 1 ? tick : next, 2);
      return;
    }
    if (cleanClose) {
      res.end();
      return;
    }
    if (anthropic) {
      sse(res, 'content_block_stop', { type: 'content_block_stop', index: 0 });
      sse(res, 'message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: m.usage.output } });
      sse(res, 'message_stop', { type: 'message_stop' });
    } else {
      sse(res, undefined, { id: `chatcmpl-${m.name}`, object: 'chat.completion.chunk', created: 1_700_000_000, model, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] });
      const so = body.stream_options as { include_usage?: boolean } | undefined;
      if (so?.include_usage) {
        sse(res, undefined, {
          id: `chatcmpl-${m.name}`,
          object: 'chat.completion.chunk',
          created: 1_700_000_000,
          model,
          choices: [],
          usage: { prompt_tokens: m.usage.input, completion_tokens: m.usage.output, total_tokens: m.usage.input + m.usage.output },
        });
      }
      sse(res, undefined, '[DONE]');
    }
    res.end();
  };
  setTimeout(tick, 2);
}
