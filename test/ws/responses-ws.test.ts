// The Responses WebSocket transport on the plain endpoint: response.create routed like POST /v1/responses
// (same-format and translated), several turns per connection with previous_response_id, Codex's warm-up,
// the error messages Codex reads, a client leaving mid-stream, and upgrades that are refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { ResponsesWS } from 'openai/resources/responses/ws';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startCore, provider, eventually } from '../helpers/core.js';
import { silentLogger } from '../../main/log/logger.js';
import { ResponsesWsGateway } from '../../main/ws/responses-ws.js';
import { startMockUpstream } from '../helpers/mock-upstream.js';
import { startResponsesUpstream } from './upstream.js';
import { connect, open } from './client.js';

const types = (evs: any[]) => evs.map((e) => e.type);
const text = (evs: any[]) => evs.filter((e) => e.type === 'response.output_text.delta').map((e) => e.delta).join('');

async function setup() {
  const resp = await startResponsesUpstream();
  const anth = await startMockUpstream('anth');
  const toml =
    provider('resp', resp.url, { 'gpt-r': 'up-ok', 'gpt-slow': 'up-slow', 'gpt-down': 'up-500', 'gpt-whole': 'up-whole', 'gpt-drop': 'up-drop' }, 'format = "responses"') +
    provider('anth', anth.url, { 'claude-r': 'anth-model' }, 'format = "anthropic"');
  const t = await startCore(toml);
  const wsUrl = `ws://127.0.0.1:${t.core.httpAddress.port}/v1/responses`;
  return {
    t,
    resp,
    anth,
    wsUrl,
    close: async () => {
      await t.stop();
      await resp.close();
      await anth.close();
    },
  };
}

test('response.create to a Responses provider: the event sequence, the upstream request, the log; a second turn chains on previous_response_id', async () => {
  const s = await setup();
  try {
    const c = await open(s.wsUrl, {
      headers: { authorization: 'Bearer client-key', 'openai-beta': 'responses_websockets=2026-02-06', 'x-codex-turn-metadata': '{"turn_id":"t1"}' },
    });
    const first = await c.turn({ type: 'response.create', model: 'gpt-r', input: 'hi', store: false, instructions: 'be brief', tools: [] });
    assert.deepEqual(types(first), [
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    assert.equal(text(first), 'Hello from responses (1 items)');
    const up = s.resp.requests[0]!;
    assert.equal(up.path, '/v1/responses');
    assert.equal(up.json.stream, true, 'stream forced on');
    assert.equal(up.json.type, undefined, 'the event type is not part of the body');
    assert.equal(up.json.model, 'up-ok');
    assert.deepEqual(up.json.input, [{ type: 'message', role: 'user', content: 'hi' }]);
    assert.equal(up.headers['x-api-key'], 'key-resp', 'the provider credential');
    assert.equal(up.headers.authorization, undefined, "the client's own key does not go to a provider");
    assert.equal(up.headers['openai-beta'], undefined, 'the WebSocket beta is not sent over HTTP');
    assert.equal(up.headers.upgrade, undefined);
    assert.equal(up.headers['sec-websocket-key'], undefined);
    assert.equal(up.headers['x-codex-turn-metadata'], '{"turn_id":"t1"}');
    const entry = s.t.core.log.recent(1)[0]!;
    assert.equal(entry.model, 'gpt-r');
    assert.equal(entry.provider, 'resp');
    assert.equal(entry.path, '/v1/responses');
    assert.equal(entry.state, 'done');

    // Turn 2 on the same connection: only the new item and previous_response_id, as Codex sends them.
    const done = first.at(-1);
    const outItem = first.find((e) => e.type === 'response.output_item.done').item;
    const next = { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'and again' }] };
    const second = await c.turn({ type: 'response.create', model: 'gpt-r', input: [next], previous_response_id: done.response.id, store: false, instructions: 'be brief', tools: [] });
    assert.equal(second.at(-1).type, 'response.completed');
    const up2 = s.resp.requests[1]!;
    assert.equal(up2.json.previous_response_id, undefined, 'expanded here: the provider gets the whole conversation');
    const { id: _id, status: _status, ...asInput } = outItem;
    assert.deepEqual(up2.json.input, [{ type: 'message', role: 'user', content: 'hi' }, asInput, next], 'store is off: the output item comes back without its id');
    assert.equal(text(second), 'Hello from responses (3 items)');
    const pong = new Promise<Buffer>((r) => c.ws.once('pong', r));
    c.ws.ping('are you there');
    assert.equal(String(await pong), 'are you there', 'pings are answered');
    c.send({ type: 'response.processed', response_id: second.at(-1).response.id }); // acknowledged silently:
    const [after] = await c.turn({ type: 'response.create', model: 'no-such-model', input: 'hi' });
    assert.equal(after.status, 404, 'the next message answers the next request');
    assert.equal((await c.close()).code, 1000);
    await eventually(() => assert.equal(s.t.core.ws.connections, 0));
  } finally {
    await s.close();
  }
});

test('response.create translated to an Anthropic provider; Codex warm-up (generate: false) is answered locally and chained', async () => {
  const s = await setup();
  try {
    const c = await open(s.wsUrl);
    const input = [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hello' }] }];
    const warm = await c.turn({ type: 'response.create', model: 'claude-r', input, generate: false, store: false, stream: true });
    assert.deepEqual(types(warm), ['response.created', 'response.completed']);
    assert.deepEqual(warm[1].response.output, []);
    assert.equal(s.anth.requests.length, 0, 'a warm-up costs no provider call');

    const evs = await c.turn({ type: 'response.create', model: 'claude-r', input: [], previous_response_id: warm[1].response.id, store: false, stream: true });
    assert.equal(evs[0].type, 'response.created');
    assert.equal(evs.at(-1).type, 'response.completed');
    assert.ok(types(evs).includes('response.output_item.done'));
    assert.equal(text(evs), 'Hello from anth!');
    assert.equal(s.anth.requests.length, 1);
    const up = s.anth.requests[0]!;
    assert.equal(up.path.split('?')[0], '/v1/messages');
    assert.equal(up.json!.stream, true);
    assert.equal(up.json!.model, 'anth-model');
    assert.deepEqual(up.json!.messages, [{ role: 'user', content: [{ type: 'text', text: 'hello' }] }], 'the warm-up input reached the provider');
    const entry = s.t.core.log.recent(1)[0]!;
    assert.equal(entry.provider, 'anth');
    assert.equal(entry.model, 'claude-r');
    await c.close();
  } finally {
    await s.close();
  }
});

test('errors arrive as {"type":"error","status":…} messages and the connection stays usable', async () => {
  const s = await setup();
  try {
    const c = await open(s.wsUrl);
    const [unknown] = await c.turn({ type: 'response.create', model: 'no-such-model', input: 'hi' });
    assert.equal(unknown.type, 'error');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.error.code, 'model_not_found');
    assert.match(unknown.error.message, /no-such-model/);

    const [failed] = await c.turn({ type: 'response.create', model: 'gpt-down', input: 'hi' });
    assert.equal(failed.type, 'error');
    assert.equal(failed.status, 502);
    assert.equal(failed.error.code, 'all_providers_failed');
    assert.match(failed.error.message, /upstream exploded/);

    const [notFound] = await c.turn({ type: 'response.create', model: 'gpt-r', input: [], previous_response_id: 'resp_elsewhere', store: false });
    assert.equal(notFound.status, 400);
    assert.equal(notFound.error.code, 'previous_response_not_found');

    // store on: an id from elsewhere may be the provider's own; it is passed on
    const stored = await c.turn({ type: 'response.create', model: 'gpt-r', input: [], previous_response_id: 'resp_stored', store: true });
    assert.equal(stored.at(-1).type, 'response.completed');
    assert.equal(s.resp.requests.at(-1)!.json.previous_response_id, 'resp_stored');

    const [bad] = await c.turn('{not json');
    assert.equal(bad.status, 400);
    const [other] = await c.turn({ type: 'response.cancel' });
    assert.equal(other.status, 400);
    assert.match(other.error.message, /response\.create/);

    const ok = await c.turn({ type: 'response.create', model: 'gpt-r', input: 'still there?' });
    assert.equal(ok.at(-1).type, 'response.completed');
    await c.close();
  } finally {
    await s.close();
  }
});

test('a whole answer (stream ignored) is replayed as the event sequence; a stream that dies midway ends with an error event', async () => {
  const s = await setup();
  try {
    const c = await open(s.wsUrl);
    const whole = await c.turn({ type: 'response.create', model: 'gpt-whole', input: 'hi' });
    assert.equal(whole[0].type, 'response.created');
    assert.ok(types(whole).includes('response.output_item.done'));
    assert.equal(whole.at(-1).type, 'response.completed');
    assert.equal(text(whole), 'Hello from responses (1 items)');
    // chained on, like any completed response
    const next = await c.turn({ type: 'response.create', model: 'gpt-r', input: 'more', previous_response_id: whole.at(-1).response.id, store: false });
    assert.equal(next.at(-1).type, 'response.completed');
    assert.equal(s.resp.requests.at(-1)!.json.input.length, 3);

    const dropped = await c.turn({ type: 'response.create', model: 'gpt-drop', input: 'hi' });
    const last = dropped.at(-1);
    assert.equal(last.type, 'error', 'never a clean end');
    assert.match(last.message ?? last.error?.message, /upstream|stream/i);
    await c.close();
  } finally {
    await s.close();
  }
});

test('the official SDK (openai ResponsesWS) gets its events, and an error as its error event', async () => {
  const s = await setup();
  try {
    const client = new OpenAI({ apiKey: 'client-key', baseURL: `http://127.0.0.1:${s.t.core.httpAddress.port}/v1` });
    const rws = new ResponsesWS(client);
    const errors: Error[] = [];
    rws.on('error', (e) => errors.push(e));
    const completed = new Promise<any>((r) => rws.on('response.completed', r));
    const deltas: string[] = [];
    rws.on('response.output_text.delta', (e) => deltas.push(e.delta));
    rws.send({ type: 'response.create', model: 'claude-r', input: 'hi' });
    const done = await completed;
    assert.equal(done.response.status, 'completed');
    assert.equal(deltas.join(''), 'Hello from anth!');
    const failed = new Promise<void>((r) => rws.on('error', () => r()));
    rws.send({ type: 'response.create', model: 'no-such-model', input: 'hi' });
    await failed;
    assert.match(String((errors[0] as any).error?.error?.message ?? errors[0]!.message), /no-such-model/);
    rws.close();
  } finally {
    await s.close();
  }
});

test('the client closing mid-stream aborts the upstream request', async () => {
  const s = await setup();
  try {
    const c = await open(s.wsUrl);
    c.send({ type: 'response.create', model: 'gpt-slow', input: 'hi' });
    assert.equal((await c.next()).type, 'response.created');
    await s.resp.slowStarted;
    c.ws.terminate();
    await s.resp.aborted;
    await eventually(() => assert.equal(s.t.core.proxy.inFlight, 0));
    const entry = s.t.core.log.recent(1)[0]!;
    assert.equal(entry.model, 'gpt-slow');
    assert.equal(entry.state, 'error');
    assert.match(entry.error ?? '', /client disconnected/);
  } finally {
    await s.close();
  }
});

test('refused upgrades: another path (404), a web page (403), another host name (421: DNS rebinding); stopping the core closes open connections', async () => {
  const s = await setup();
  try {
    const port = s.t.core.httpAddress.port;
    const other = await connect(`ws://127.0.0.1:${port}/v1/realtime`);
    assert.ok('status' in other && other.status === 404, JSON.stringify(other));
    const page = await connect(s.wsUrl, { origin: 'https://example.com' });
    assert.ok('status' in page && page.status === 403, JSON.stringify(page));
    // a name that resolves to 127.0.0.1 for an attacker's page, without an Origin (as a page could not send it, but
    // the endpoint answers to its own names only, as for HTTP)
    for (const host of ['evil.example', `evil.example:${port}`, '127.0.0.1.nip.io']) {
      const rebound = await connect(s.wsUrl, { headers: { host } });
      assert.ok('status' in rebound && rebound.status === 421, `${host}: ${JSON.stringify(rebound)}`);
    }
    const local = await connect(s.wsUrl, { headers: { host: `localhost:${port}` } });
    assert.ok('conn' in local, JSON.stringify(local));
    local.conn.close();
    const c = await open(s.wsUrl);
    const closed = c.closed;
    await s.t.core.stop({ drainMs: 100 });
    assert.equal((await closed).code, 1001);
  } finally {
    await s.close();
  }
});

test('when the ws package cannot load, the upgrade is refused with 426 (Codex then uses HTTPS at once)', async () => {
  const s = await setup();
  const gw = new ResponsesWsGateway({
    proxy: s.t.core.proxy,
    config: () => s.t.core.config,
    logger: silentLogger,
    loadWs: () => {
      throw new Error('Cannot find module ws');
    },
  });
  const server = createServer((_q, r) => r.end());
  server.on('upgrade', (req, socket, head) => gw.upgrade(req, socket, head));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const r = await connect(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/v1/responses`);
    assert.ok('status' in r && r.status === 426, JSON.stringify(r));
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await s.close();
  }
});
