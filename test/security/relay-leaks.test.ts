// What an upstream sends back must not carry a key router67 sent past its scrubbing, however it is wrapped:
// in a response header (a redirect's Location, an echoed auth header), in an error body compressed in a way
// router67 did not decode before (raw deflate, stacked codings, a coding it does not know), cut by a summary
// before it was scrubbed (a key across the cut left its first characters), quoted JSON-escaped (`\/`,
// `\uXXXX`), or — the other way — the client's cookies and account headers sent to a provider it was routed to.
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateRawSync, gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { Agent } from 'undici';
import { Passthrough } from '../../main/intercept/passthrough.js';
import { describeTransportError, secretForms } from '../../main/proxy/errors.js';
import { decodeWhole } from '../../main/proxy/relay/relay.js';
import { WsResponseSink } from '../../main/ws/sink.js';
import { eventually, startCore, type TestCore } from '../helpers/core.js';
import { open } from '../ws/client.js';

// 40 characters, not key-shaped (no sk-, no Bearer): only the known-secret scrub can catch them
const KEY = 'A1b2C3d4E5f6G7h8J9k0L1m2N3p4Q5r6S7t8U9v0';
const KEY_B = 'Zq8Lm3Np7Rt2Vx6Bc9Df4Gh1Jk5Ws0YaQ7e2R4t';
const SLASH_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
/** What a cut would leave of each key: any 30 characters of it are a leak. */
const FORBIDDEN = [KEY, KEY_B, SLASH_KEY].flatMap((k) => [k.slice(0, 30), k.slice(-30)]);

function assertClean(text: string, where: string): void {
  for (const k of FORBIDDEN) {
    const i = text.indexOf(k);
    assert.ok(i < 0, `${where} holds a key (${k.slice(0, 6)}…):\n${text.slice(Math.max(0, i - 120), i + 60)}`);
  }
}

const errorJson = (message: string) => JSON.stringify({ error: { message, type: 'invalid_request_error', code: 'invalid_api_key' } });
const chatAnswer = (content: string) =>
  JSON.stringify({ id: 'c1', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } });
/** Every character of `key` as a JSON `\uXXXX` escape. */
const uEscaped = (key: string) => [...key].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');
/** `prefix`, padding, then `key` so that the key starts `before` characters ahead of position `at`. */
const across = (prefix: string, key: string, at: number, before: number) => `${prefix}${'x'.repeat(at - before - prefix.length)}${key}`;

interface Seen {
  url: string;
  headers: IncomingHttpHeaders;
}

/** An upstream that quotes the key it was sent in every way the tests need (chosen by the model asked for). */
async function startUpstream(): Promise<{ url: string; port: number; seen: Seen[]; close(): Promise<void> }> {
  const seen: Seen[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ url: req.url ?? '', headers: req.headers });
      let model = '';
      try {
        model = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { model?: string }).model ?? '';
      } catch {
        /* the passthrough's GET */
      }
      const key = String(req.headers['x-api-key'] ?? req.headers.authorization ?? '').replace(/^Bearer /, '');
      const send = (status: number, headers: Record<string, string>, body: string | Buffer) => {
        res.writeHead(status, { 'content-length': String(Buffer.byteLength(body)), ...headers });
        res.end(body);
      };
      const json = { 'content-type': 'application/json' };
      const quoted = errorJson(`Invalid API key provided: ${key}`);
      switch (model) {
        case 'redirect':
          return send(307, { location: `https://elsewhere.example/v1/chat/completions?key=${encodeURIComponent(key)}`, 'x-debug-auth': key }, '');
        case 'echo-header':
          return send(200, { ...json, 'x-debug-auth': key, 'www-authenticate': `Bearer realm="x", token="${key}"`, 'set-cookie': `k=${key}` }, chatAnswer('hi'));
        case 'echo-header-big': // past max_buffered_response_bytes: relayed unbuffered
          return send(200, { ...json, 'x-debug-auth': key }, chatAnswer('y'.repeat(4096)));
        case 'echo-header-stream':
          return send(200, { 'content-type': 'text/event-stream', 'x-debug-auth': `Bearer ${key}` }, `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content: 'hi' }, finish_reason: 'stop' }] })}\n\ndata: [DONE]\n\n`);
        case 'raw-deflate':
          return send(401, { ...json, 'content-encoding': 'deflate' }, deflateRawSync(quoted));
        case 'gzip-gzip':
          return send(401, { ...json, 'content-encoding': 'gzip, gzip' }, gzipSync(gzipSync(quoted)));
        case 'unknown-coding':
          return send(401, { ...json, 'content-encoding': 'x-squash' }, Buffer.from(quoted).reverse());
        case 'gzip-trailing':
          return send(401, { ...json, 'content-encoding': 'gzip' }, Buffer.concat([gzipSync(quoted), Buffer.from('\n\n')]));
        case 'ok-gzip':
          return send(200, { ...json, 'content-encoding': 'gzip' }, gzipSync(chatAnswer(`you sent ${key}`)));
        case 'cut-json': // the message's summary is cut at 300 characters
          return send(503, json, JSON.stringify({ error: { message: `${across('overloaded; key ', key, 300, 38)} retry later` } }));
        case 'cut-text': // a plain-text body's summary is cut at 200
          return send(503, { 'content-type': 'text/plain' }, `${across('overloaded for ', key, 200, 36)} retry`);
        case 'cut-html': // an HTML page's title at 120
          return send(503, { 'content-type': 'text/html' }, `<html><head><title>${across('', key, 120, 20)}</title></head></html>`);
        case 'cut-translated': // a translated error's plain text at 500
          return send(400, { 'content-type': 'text/plain' }, `${across('bad request: ', key, 500, 30)} end`);
        case 'escaped-slash':
          return send(401, json, `{"error":{"message":"Invalid API key provided: ${key.replace(/\//g, '\\/')}","type":"invalid_request_error"}}`);
        case 'escaped-u':
          return send(401, json, `{"error":{"message":"Invalid API key provided: ${uEscaped(key)}","type":"invalid_request_error"}}`);
        case 'anthropic-ok':
          return send(200, json, JSON.stringify({ id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [{ type: 'text', text: 'hi' }], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 1, output_tokens: 1 } }));
        default:
          return send(200, json, chatAnswer('hi'));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    seen,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const ACCOUNT = { cookie: 'session=abc123; router67_ui=own', 'chatgpt-account-id': 'acct-1', 'openai-organization': 'org-1', 'openai-project': 'proj-1' };

describe('what comes back from an upstream carries no key it was sent; what goes to it, none of the client account', () => {
  let up: Awaited<ReturnType<typeof startUpstream>>;
  let t: TestCore;

  before(async () => {
    up = await startUpstream();
    const bearer = (key: string) => `{ header = "authorization", prefix = "Bearer ", api_key = "${key}" }`;
    const block = (name: string, auth: string, models: string[], format = '') =>
      `[[providers]]\nname = "${name}"\nbase_url = "${up.url}"\n${format}auth = ${auth}\n[providers.available_models]\n${models.map((n) => `"${n}" = "${n}"`).join('\n')}\n`;
    t = await startCore(
      [
        '[daemon]\nlog_bodies = true\nmax_buffered_response_bytes = 2048\n',
        block('alpha', bearer(KEY), ['redirect', 'echo-header', 'echo-header-big', 'echo-header-stream', 'raw-deflate', 'gzip-gzip', 'unknown-coding', 'gzip-trailing', 'ok-gzip', 'cut-json', 'cut-text', 'cut-html', 'plain']),
        block('slash', bearer(SLASH_KEY), ['escaped-slash', 'escaped-u']),
        block('beta', `{ header = "x-api-key", api_key = "${KEY_B}" }`, ['cut-translated', 'anthropic-ok'], 'format = "anthropic"\n'),
      ].join('\n'),
    );
  });

  after(async () => {
    await t.stop();
    await up.close();
  });

  const post = async (model: string, headers: Record<string, string> = {}, path = '/v1/chat/completions') => {
    const r = await fetch(`${t.url}${path}`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/json', authorization: 'Bearer client-key-0123456789', ...headers },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
    });
    return { status: r.status, headers: r.headers, text: await r.text() };
  };
  /** The newest log entry, once finished. */
  const last = async () => {
    await eventually(() => assert.match(t.core.log.recent(1)[0]!.state, /done|error/));
    return t.core.log.recent(1)[0]!;
  };

  it('response headers quoting the key (a redirect, echoed auth headers) reach the client scrubbed: whole, unbuffered, streamed', async () => {
    const r = await post('redirect');
    assert.equal(r.status, 307);
    assert.equal(r.headers.get('location'), 'https://elsewhere.example/v1/chat/completions?key=[redacted]');
    assert.equal(r.headers.get('x-debug-auth'), '[redacted]');
    const e = await post('echo-header');
    assert.equal(e.status, 200);
    assert.equal(e.headers.get('www-authenticate'), 'Bearer realm="x", token="[redacted]"', 'only the key is replaced');
    assert.equal(e.headers.get('set-cookie'), 'k=[redacted]');
    for (const model of ['echo-header-big', 'echo-header-stream']) {
      const s = await post(model);
      assert.equal(s.status, 200, model);
      assert.match(s.headers.get('x-debug-auth') ?? '', /\[redacted\]/, model);
    }
    for (const x of [r, e]) assertClean(JSON.stringify([...x.headers]), 'the relayed headers');
    // headers holding no key are relayed as they came
    assert.equal((await post('plain')).headers.get('content-type'), 'application/json');
  });

  it('an error body in raw deflate or stacked codings is decoded and scrubbed; one router67 cannot decode is not relayed', async () => {
    for (const model of ['raw-deflate', 'gzip-gzip']) {
      const r = await post(model);
      assert.equal(r.status, 401, model);
      assert.equal(r.headers.get('content-encoding'), null, model);
      assert.equal(JSON.parse(r.text).error.message, 'Invalid API key provided: [redacted]', model);
    }
    for (const model of ['unknown-coding', 'gzip-trailing']) {
      const r = await post(model);
      assert.equal(r.status, 401, model);
      assert.equal(r.headers.get('content-encoding'), null, model);
      const body = JSON.parse(r.text) as { error: { message: string; type: string } };
      assert.match(body.error.message, /router67: the provider's error body could not be decoded \(content-encoding: (x-squash|gzip)\)/, model);
      assert.equal(body.error.type, 'authentication_error', `${model}: the dialect's error for the status`);
      assert.match((await last()).attempts.at(-1)!.error ?? '', /could not be decoded/);
    }
    // a compressed success body is relayed as it is, not looked at
    const ok = await post('ok-gzip');
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('content-encoding'), 'gzip');
  });

  it('decodeWhole undoes what clients undo: a list of codings in reverse, deflate raw or wrapped; an unknown coding throws', () => {
    const text = Buffer.from('{"a":1}');
    assert.deepEqual(decodeWhole(gzipSync(gzipSync(text)), 'gzip, gzip', 1 << 20), text);
    assert.deepEqual(decodeWhole(deflateRawSync(text), 'deflate', 1 << 20), text);
    assert.deepEqual(decodeWhole(gzipSync(text), 'identity, GZIP', 1 << 20), text);
    assert.equal(decodeWhole(text, undefined, 1 << 20), text);
    assert.throws(() => decodeWhole(text, 'x-squash', 1 << 20), /not supported/);
  });

  it('a key across the cut of an error summary is scrubbed whole first: the log, requests.jsonl and the 502 keep none of it', async () => {
    for (const model of ['cut-json', 'cut-text', 'cut-html']) {
      const r = await post(model);
      assert.equal(r.status, 502, model);
      assertClean(r.text, `the ${model} 502`);
      const e = await last();
      assert.match(e.attempts[0]!.error ?? '', /\[redacted\]/, model);
      assertClean(JSON.stringify(e), `the ${model} log entry`);
    }
    const r = await post('cut-translated');
    assert.equal(r.status, 400);
    assert.match(r.text, /\[redacted\]/);
    assertClean(r.text, 'the translated 400');
    assertClean(JSON.stringify(await last()), 'the translated log entry');
    t.core.log.flush();
    assertClean(readFileSync(join(t.core.paths.logs, 'requests.jsonl'), 'utf8'), 'requests.jsonl');
    // a transport error's description is scrubbed before its cut at 500 too
    const d = describeTransportError(Object.assign(new Error(`${'x'.repeat(470)}${KEY} more`), { code: 'ECONNRESET' }), [KEY]);
    assert.ok(d.length <= 500 && d.includes('[redacted]'));
    assertClean(d, 'the transport error');
  });

  it('a key quoted JSON-escaped (\\/ or \\uXXXX) is found: the client (HTTP and WebSocket) and the logged body get it scrubbed', async () => {
    for (const model of ['escaped-slash', 'escaped-u']) {
      const r = await post(model);
      assert.equal(r.status, 401, model);
      const message = (JSON.parse(r.text) as { error: { message: string } }).error.message;
      assert.equal(message, 'Invalid API key provided: [redacted]', model);
      const e = await last();
      assert.ok(e.responseBody, 'the body is logged');
      assertClean(JSON.parse(e.responseBody).error.message, `the ${model} logged body`);
      const c = await open(`${t.url.replace('http', 'ws')}/v1/responses`);
      try {
        const frames = await c.turn({ type: 'response.create', model, input: 'hi' });
        assert.equal(frames.at(-1).type, 'error', model);
        assertClean(JSON.stringify(frames), `the ${model} WebSocket error`);
      } finally {
        await c.close();
      }
    }
    // the byte forms of a key include its JSON-escaped ones
    assert.ok(secretForms('a/b"c').includes('a\\/b\\"c') && secretForms('a/b"c').includes('a/b\\"c'));
  });

  it('the WebSocket sink scrubs the error message it parses from a body itself', async () => {
    const sent: string[] = [];
    const s = new WsResponseSink({ send: (m, done) => (sent.push(m), setImmediate(done)) }, 'm');
    s.secrets = secretForms(SLASH_KEY, `Bearer ${SLASH_KEY}`);
    s.writeHead(401, { 'content-type': 'application/json' });
    s.end(`{"error":{"message":"bad key ${uEscaped(SLASH_KEY)}","code":"invalid_api_key"}}`);
    await s.done;
    assert.equal(sent.length, 1);
    assert.equal(JSON.parse(sent[0]!).error.message, 'bad key [redacted]');
  });

  it("the client's cookies and account headers go to no provider a request is routed to (same dialect or translated)", async () => {
    for (const model of ['plain', 'anthropic-ok']) {
      const before = up.seen.length;
      const r = await post(model, ACCOUNT);
      assert.equal(r.status, 200, `${model}: ${r.text}`);
      const h = up.seen[before]!.headers;
      for (const name of Object.keys(ACCOUNT)) assert.equal(h[name], undefined, `${model}: ${name} went upstream`);
    }
  });

  it("the client's cookies and account headers go on unchanged (less router67's own cookie) on the passthrough to the real origin", async () => {
    const origins = new Agent({
      connect: (_opts, cb) => {
        const s = connect(up.port, '127.0.0.1');
        s.once('connect', () => cb(null, s));
        s.once('error', (e) => cb(e, null));
      },
    });
    const passthrough = new Passthrough({ config: () => t.core.config, dispatcher: () => origins, log: t.core.log, logger: t.core.logger, allowed: () => true });
    t.core.setPassthrough(passthrough.handle);
    const tls = createServer((req, res) => t.core.proxy.handle(req, res, { host: 'api.openai.com' }));
    await new Promise<void>((r) => tls.listen(0, '127.0.0.1', r));
    try {
      const before = up.seen.length;
      const r = await fetch(`http://127.0.0.1:${(tls.address() as AddressInfo).port}/v1/files`, { headers: { authorization: 'Bearer client-key-0123456789', ...ACCOUNT } });
      assert.equal(r.status, 200);
      await r.text();
      const h = up.seen[before]!.headers;
      assert.equal(h.cookie, 'session=abc123');
      assert.equal(h['chatgpt-account-id'], 'acct-1');
      assert.equal(h['openai-organization'], 'org-1');
      assert.equal(h['openai-project'], 'proj-1');
      assert.equal(h.authorization, 'Bearer client-key-0123456789');
      await passthrough.idle();
    } finally {
      await new Promise<void>((r) => tls.close(() => r()));
      await origins.close();
    }
  });
});
