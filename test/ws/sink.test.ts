// The ServerResponse stand-in that turns what the relays write into WebSocket messages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { WsResponseSink } from '../../main/ws/sink.js';

function sink() {
  const sent: any[] = [];
  const s = new WsResponseSink({ send: (t, done) => (sent.push(JSON.parse(t)), setImmediate(done)) }, 'm');
  return { s, sent };
}

const sse = (evs: object[]) => evs.map((e: any) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`).join('');
const created = { type: 'response.created', response: { id: 'resp_1', status: 'in_progress' } };
const item = { type: 'message', id: 'msg_1', role: 'assistant', content: [{ type: 'output_text', text: 'hi' }] };
const completed = { type: 'response.completed', response: { id: 'resp_1', status: 'completed', output: [item] } };

test('SSE split anywhere (even inside a UTF-8 character) comes out one message per event; output items and id are kept', async () => {
  const { s, sent } = sink();
  const bytes = Buffer.from(sse([created, { type: 'response.output_text.delta', delta: 'héllo ✓' }, { type: 'response.output_item.done', item }, completed]) + ': keep-alive\n\ndata: [DONE]\n\n');
  s.writeHead(200, { 'content-type': 'text/event-stream' });
  for (let i = 0; i < bytes.length; i += 7) s.write(bytes.subarray(i, i + 7));
  s.end();
  const r = await s.done;
  assert.deepEqual(sent.map((m) => m.type), ['response.created', 'response.output_text.delta', 'response.output_item.done', 'response.completed']);
  assert.equal(sent[1].delta, 'héllo ✓');
  assert.equal(r.terminal, 'completed');
  assert.equal(r.responseId, 'resp_1');
  assert.deepEqual(r.output, [item]);
  assert.equal(s.writableFinished, true);
});

test('a gzip-compressed stream is decoded; a corrupt one ends with an error message and still settles', async () => {
  const a = sink();
  a.s.writeHead(200, { 'content-type': 'text/event-stream', 'content-encoding': 'gzip' });
  a.s.write(gzipSync(sse([created, completed])));
  a.s.end();
  assert.equal((await a.s.done).terminal, 'completed');
  assert.deepEqual(a.sent.map((m) => m.type), ['response.created', 'response.completed']);

  const b = sink();
  b.s.writeHead(200, { 'content-type': 'text/event-stream', 'content-encoding': 'gzip' });
  b.s.write(Buffer.from('this is not gzip at all'));
  b.s.end();
  const r = await b.s.done;
  assert.equal(r.terminal, 'error');
  assert.equal(b.sent.at(-1).type, 'error');
});

test('an error answer is one error message with its status; a stream without its end gets one; the client leaving emits close', async () => {
  const a = sink();
  a.s.writeHead(429, { 'content-type': 'application/json' });
  a.s.end(JSON.stringify({ error: { message: 'slow down', type: 'rate_limit_error', code: 'rate_limit_exceeded' } }));
  await a.s.done;
  assert.deepEqual(a.sent, [{ type: 'error', status: 429, error: { type: 'rate_limit_error', code: 'rate_limit_exceeded', message: 'slow down', param: null } }]);

  const b = sink();
  b.s.writeHead(200, { 'content-type': 'text/event-stream' });
  b.s.write(sse([created]));
  b.s.end();
  await b.s.done;
  assert.equal(b.sent.at(-1).type, 'error', 'never a clean end without response.completed');

  const c = sink();
  let closed = 0;
  c.s.on('close', () => closed++);
  c.s.writeHead(200, { 'content-type': 'text/event-stream' });
  c.s.write(sse([created]));
  c.s.clientClosed();
  const r = await c.s.done;
  assert.equal(r.clientGone, true);
  assert.equal(closed, 1);
  assert.equal(c.s.writableFinished, false, 'the proxy sees an unfinished answer and cancels the upstream');
  assert.equal(c.s.write('more'), false);
});

test('backpressure: write() returns false past the high-water mark and drain follows once the socket took it', async () => {
  const pending: (() => void)[] = [];
  const s = new WsResponseSink({ send: (_t, done) => pending.push(done) }, 'm');
  s.writeHead(200, { 'content-type': 'text/event-stream' });
  const big = `data: ${JSON.stringify({ type: 'response.output_text.delta', delta: 'x'.repeat(600 * 1024) })}\n\n`;
  assert.equal(s.write(big), true);
  assert.equal(s.write(big), false);
  const drained = new Promise((r) => s.once('drain', r));
  for (const d of pending.splice(0)) d();
  await drained;
});
