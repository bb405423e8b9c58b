// An upstream that misbehaves the way broken peers do, chosen by the upstream model name the router sends:
//   stall-headers            200 and headers (JSON, or SSE when the request streams), then nothing
//   stall-mid-body           200, half a JSON answer, then nothing
//   stall-after-first-event  a stream's first events (real content), then nothing
//   big:<bytes>[:chunked][:cut=<n>][:status=<code>]
//                            a whole JSON answer (Anthropic or OpenAI Chat shape, by path) of exactly <bytes>
//                            bytes, generated on the fly with backpressure (never held in memory); with
//                            content-length unless :chunked; :cut=<n> destroys the socket after <n> bytes;
//                            :status=<code> answers with that status (default 200)
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface BrokenUpstream {
  url: string;
  /** Upstream model names in the order they were asked for. */
  asked: string[];
  /** Bytes of body written per request (by model name, last one wins). */
  written: Map<string, number>;
  /** Resolves when a response for `model` has been abandoned (socket closed before its end); each counts once. */
  abandoned(model: string): Promise<void>;
  close(): Promise<void>;
}

const FILL = Buffer.alloc(64 * 1024, 'x');

export async function startBrokenUpstream(): Promise<BrokenUpstream> {
  const waiters: { model: string; resolve: () => void }[] = [];
  const abandoned = new Map<string, number>();
  const up: BrokenUpstream = {
    url: '',
    asked: [],
    written: new Map(),
    abandoned: (model) => {
      const n = abandoned.get(model) ?? 0;
      if (n > 0) {
        abandoned.set(model, n - 1);
        return Promise.resolve();
      }
      return new Promise((resolve) => waiters.push({ model, resolve }));
    },
    close: async () => {},
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body: { model?: string; stream?: boolean } = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
      } catch {
        /* not JSON */
      }
      const model = String(body.model ?? '');
      up.asked.push(model);
      res.on('close', () => {
        if (res.writableFinished) return;
        const i = waiters.findIndex((w) => w.model === model);
        if (i >= 0) waiters.splice(i, 1)[0]!.resolve();
        else abandoned.set(model, (abandoned.get(model) ?? 0) + 1);
      });
      respond(req.url ?? '', model, body.stream === true, res, (n) => up.written.set(model, n));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  up.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  up.close = () =>
    new Promise((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return up;
}

function respond(path: string, model: string, stream: boolean, res: ServerResponse, wrote: (n: number) => void): void {
  const anthropic = path.includes('/messages');
  if (model === 'stall-headers') {
    res.writeHead(200, { 'content-type': stream ? 'text/event-stream' : 'application/json' });
    res.flushHeaders();
    return;
  }
  if (model === 'stall-mid-body') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"id":"msg_stall","type":"message","role":"assistant","content":[{"type":"text","text":"half an ans');
    return;
  }
  if (model === 'stall-after-first-event') {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    if (anthropic) {
      res.write(
        `event: message_start\ndata: ${JSON.stringify({ type: 'message_start', message: { id: 'msg_s', type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 3, output_tokens: 1 } } })}\n\n` +
          `event: content_block_start\ndata: ${JSON.stringify({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } })}\n\n` +
          `event: content_block_delta\ndata: ${JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'first words' } })}\n\n`,
      );
    } else {
      res.write(`data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model, choices: [{ index: 0, delta: { role: 'assistant', content: 'first words' }, finish_reason: null }] })}\n\n`);
    }
    return;
  }
  const big = /^big:(\d+)((?::chunked|:cut=\d+|:status=\d+)*)$/.exec(model);
  if (big) {
    const opt = (k: string) => new RegExp(`:${k}=(\\d+)`).exec(big[2]!)?.[1];
    return sendBig(anthropic, Number(big[1]), big[2]!.includes(':chunked'), Number(opt('cut') ?? Infinity), Number(opt('status') ?? 200), res, wrote);
  }
  res.writeHead(500, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ error: { message: `broken upstream: unknown behaviour ${model}` } }));
}

/** A JSON answer of exactly `total` bytes whose text is 'x' repeated, written chunk by chunk as the socket drains. */
function sendBig(anthropic: boolean, total: number, chunked: boolean, cut: number, status: number, res: ServerResponse, wrote: (n: number) => void): void {
  const head = anthropic
    ? '{"id":"msg_big","type":"message","role":"assistant","model":"big","content":[{"type":"text","text":"'
    : '{"id":"chatcmpl-big","object":"chat.completion","created":1,"model":"big","choices":[{"index":0,"message":{"role":"assistant","content":"';
  const tail = anthropic
    ? '"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":3,"output_tokens":5}}'
    : '"},"finish_reason":"stop","logprobs":null}],"usage":{"prompt_tokens":3,"completion_tokens":5,"total_tokens":8}}';
  const fill = total - head.length - tail.length;
  res.writeHead(status, { 'content-type': 'application/json', ...(chunked ? {} : { 'content-length': String(total) }) });
  let sent = 0;
  const write = (b: Buffer | string): boolean => {
    const n = Buffer.byteLength(b);
    if (sent + n > cut) {
      res.write(typeof b === 'string' ? b.slice(0, cut - sent) : b.subarray(0, cut - sent));
      sent = cut;
      wrote(sent);
      setTimeout(() => res.socket?.destroy(), 10);
      return false;
    }
    sent += n;
    wrote(sent);
    return res.write(b);
  };
  let left = fill;
  const pump = (): void => {
    if (sent >= cut || res.destroyed) return;
    while (left > 0) {
      const n = Math.min(left, FILL.length);
      left -= n;
      const ok = write(n === FILL.length ? FILL : FILL.subarray(0, n));
      if (sent >= cut) return;
      if (!ok) return void res.once('drain', pump);
    }
    write(tail);
    if (sent < cut) res.end();
  };
  write(head);
  pump();
}
