// Benchmark upstream: a minimal, fast Anthropic-shaped server (JSON and SSE). Run as its own process.
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const JSON_BODY = JSON.stringify({
  id: 'msg_bench',
  type: 'message',
  role: 'assistant',
  model: 'bench',
  content: [{ type: 'text', text: 'Hello from the benchmark upstream.' }],
  stop_reason: 'end_turn',
  stop_sequence: null,
  usage: { input_tokens: 12, output_tokens: 8 },
});

const EVENTS = Number(process.env.BENCH_STREAM_EVENTS ?? 50);
const STREAM: string[] = [
  `event: message_start\ndata: ${JSON.stringify({ type: 'message_start', message: { id: 'msg_bench', type: 'message', role: 'assistant', model: 'bench', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 12, output_tokens: 1 } } })}\n\n`,
  `event: content_block_start\ndata: ${JSON.stringify({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } })}\n\n`,
  ...Array.from({ length: EVENTS }, (_, i) => `event: content_block_delta\ndata: ${JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: ` token${i}` } })}\n\n`),
  `event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n`,
  `event: message_delta\ndata: ${JSON.stringify({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: EVENTS } })}\n\n`,
  `event: message_stop\ndata: {"type":"message_stop"}\n\n`,
];

const OPENAI_STREAM: string[] = [
  ...Array.from({ length: EVENTS }, (_, i) => `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'bench', choices: [{ index: 0, delta: i === 0 ? { role: 'assistant', content: ` token${i}` } : { content: ` token${i}` }, finish_reason: null }] })}\n\n`),
  `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'bench', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`,
  `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'bench', choices: [], usage: { prompt_tokens: 12, completion_tokens: EVENTS, total_tokens: 12 + EVENTS } })}\n\n`,
  'data: [DONE]\n\n',
];

const server = createServer((req, res) => {
  let stream = false;
  let n = 0;
  req.on('data', (c: Buffer) => {
    // "stream":true sits near the start of the bench bodies; look only at the first chunk
    if (n++ === 0) stream = c.includes('"stream":true');
  });
  req.on('end', () => {
    const bytes = Number(req.headers['x-bench-bytes'] ?? 0);
    if (bytes > 0) return void sendLarge(res, bytes);
    if (!stream) {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(JSON_BODY) });
      res.end(JSON_BODY);
      return;
    }
    const events = req.url?.includes('/chat/completions') ? OPENAI_STREAM : STREAM;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    // first event at once (TTFB), the rest on the next ticks, one write per event, as real servers do
    let i = 0;
    const step = () => {
      if (i >= events.length) return void res.end();
      res.write(events[i++]!);
      setImmediate(step);
    };
    step();
  });
});
/** An Anthropic message of exactly `total` bytes ('x' text), written as the socket drains, never held whole. */
function sendLarge(res: ServerResponse, total: number): void {
  const head = '{"id":"msg_large","type":"message","role":"assistant","model":"bench","content":[{"type":"text","text":"';
  const tail = '"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":12,"output_tokens":8}}';
  const fill = Buffer.alloc(64 * 1024, 'x');
  let left = total - head.length - tail.length;
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(total) });
  res.write(head);
  const pump = (): void => {
    while (left > 0) {
      const n = Math.min(left, fill.length);
      left -= n;
      if (!res.write(n === fill.length ? fill : fill.subarray(0, n))) return void res.once('drain', pump);
    }
    res.end(tail);
  };
  pump();
}

server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`LISTEN ${(server.address() as AddressInfo).port}\n`);
});
