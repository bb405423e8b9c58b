// A local OpenAI Responses upstream (POST /v1/responses, streaming) for the WebSocket transport tests.
// The model picks the behaviour: "up-ok" streams one message (its text counts the input items it got),
// "up-slow" sends the first events and then waits until the client goes away, "up-500" fails,
// "up-whole" answers with one JSON body although asked to stream, "up-drop" dies mid-stream.
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ResponsesUpstream {
  url: string;
  requests: { path: string; headers: IncomingHttpHeaders; json: any }[];
  /** Resolves when a response was cut off by the client going away. */
  aborted: Promise<void>;
  /** Resolves when "up-slow" has sent its first delta. */
  slowStarted: Promise<void>;
  close(): Promise<void>;
}

let seq = 0;

export async function startResponsesUpstream(): Promise<ResponsesUpstream> {
  let onAborted!: () => void;
  let onSlow!: () => void;
  const u: ResponsesUpstream = {
    url: '',
    requests: [],
    aborted: new Promise((r) => (onAborted = r)),
    slowStarted: new Promise((r) => (onSlow = r)),
    close: async () => {},
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let json: any;
      try {
        json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        json = undefined;
      }
      u.requests.push({ path: req.url ?? '', headers: req.headers, json });
      res.on('close', () => {
        if (!res.writableFinished) onAborted();
      });
      answer(json ?? {}, res, onSlow);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  u.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  u.close = () =>
    new Promise((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return u;
}

function answer(body: any, res: ServerResponse, onSlow: () => void): void {
  const model = String(body.model ?? '');
  if (model === 'up-500') {
    res.writeHead(500, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { message: 'upstream exploded', type: 'server_error', param: null, code: null } }));
    return;
  }
  const n = Array.isArray(body.input) ? body.input.length : 1;
  const id = `resp_up${++seq}`;
  const itemId = `msg_up${seq}`;
  const text = `Hello from responses (${n} items)`;
  let sn = 0;
  const ev = (type: string, fields: Record<string, unknown>) => res.write(`event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: sn++, ...fields })}\n\n`);
  const base = { id, object: 'response', created_at: 1_700_000_000, model, status: 'in_progress', output: [] as unknown[], usage: null };
  if (model === 'up-whole') {
    // an upstream that ignores stream: true and answers with the whole response
    const part = { type: 'output_text', text, annotations: [] };
    const item = { id: itemId, type: 'message', status: 'completed', role: 'assistant', content: [part] };
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ...base, status: 'completed', output: [item], usage: { input_tokens: 9, output_tokens: 4, total_tokens: 13 } }));
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  ev('response.created', { response: base });
  ev('response.in_progress', { response: base });
  ev('response.output_item.added', { output_index: 0, item: { id: itemId, type: 'message', status: 'in_progress', role: 'assistant', content: [] } });
  ev('response.content_part.added', { item_id: itemId, output_index: 0, content_index: 0, part: { type: 'output_text', text: '', annotations: [] } });
  ev('response.output_text.delta', { item_id: itemId, output_index: 0, content_index: 0, delta: text.slice(0, 5), logprobs: [] });
  if (model === 'up-drop') {
    res.write('event: response.output_text.delta\ndata: {"type":"response.output_te'); // torn, then gone
    setTimeout(() => res.socket?.destroy(), 5);
    return;
  }
  if (model === 'up-slow') {
    onSlow();
    return; // the rest never comes; the client must go away
  }
  ev('response.output_text.delta', { item_id: itemId, output_index: 0, content_index: 0, delta: text.slice(5), logprobs: [] });
  ev('response.output_text.done', { item_id: itemId, output_index: 0, content_index: 0, text, logprobs: [] });
  const part = { type: 'output_text', text, annotations: [] };
  ev('response.content_part.done', { item_id: itemId, output_index: 0, content_index: 0, part });
  const item = { id: itemId, type: 'message', status: 'completed', role: 'assistant', content: [part] };
  ev('response.output_item.done', { output_index: 0, item });
  ev('response.completed', { response: { ...base, status: 'completed', output: [item], usage: { input_tokens: 9, output_tokens: 4, total_tokens: 13 } } });
  res.end();
}
