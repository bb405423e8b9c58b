// Secrets (issues 9 and 15): a provider key that an upstream echoes back — bare, as sent ("Bearer <key>"),
// URL-encoded — and a credential extra header must appear nowhere router67 logs or returns: requests.jsonl,
// the daemon's own log lines, the window's log/detail APIs and its live event stream, the client's response
// (error bodies, the all-failed 502, stream error events). Neither may the client's own key (on the local
// endpoint and on the passthrough to a real origin), query-string credentials, or keys in logged bodies.
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { Agent } from 'undici';
import { createLogger } from '../../main/log/logger.js';
import { Passthrough } from '../../main/intercept/passthrough.js';
import { isCredentialHeader, scrub, scrubUrl } from '../../main/proxy/errors.js';
import { clientSecrets, extraHeaderSecrets, resolveAuth } from '../../main/proxy/auth.js';
import type { Provider } from '../../main/config/schema.js';
import { loadEditorState, maskBaseUrl, planEdit } from '../../main/config/save.js';
import { UiService } from '../../main/ui/service.js';
import type { UiEvent } from '../../main/ui/types.js';
import { eventually, startCore, type TestCore } from '../helpers/core.js';

const hex = () => randomBytes(12).toString('hex');
// '+', '/' and '=' make the URL-encoded form differ from the bare key; no "sk-" prefix, so only the known-secret
// scrub (not the key-shape pattern) can catch them
const KEY_A = `alpha+Key/${hex()}=`;
const KEY_B = `betaKey${hex()}`;
const TEAM_TOKEN = `teamTok${hex()}`;
const CLIENT_KEY = `clientKey${hex()}`;
const QUERY_KEY = `queryKey${hex()}`;
const BODY_KEY = `bodyKey${hex()}`;

/** Every string that must never show up: each secret bare and URL-encoded. */
const FORBIDDEN = [KEY_A, KEY_B, TEAM_TOKEN, CLIENT_KEY, QUERY_KEY, BODY_KEY].flatMap((k) => [k, encodeURIComponent(k)]);

function assertClean(text: string, where: string): void {
  for (const k of FORBIDDEN) assert.ok(!text.includes(k), `${where} holds a secret (${k.slice(0, 9)}…):\n${text.slice(Math.max(0, text.indexOf(k) - 200), text.indexOf(k) + 80)}`);
}

// ---------- an upstream that quotes every credential it receives ----------

interface Echo {
  url: string;
  port: number;
  /** Response bodies sent, to prove the secrets really went out to router67. */
  sent: string[];
  /** A mid-stream error is held until this resolves (the test opens it once the client has the first text). */
  gate: Promise<void>;
  close(): Promise<void>;
}

function quote(h: IncomingHttpHeaders): string {
  const parts: string[] = [];
  for (const name of ['authorization', 'x-api-key', 'x-team-token']) {
    const v = h[name];
    if (typeof v !== 'string') continue;
    const bare = v.replace(/^Bearer\s+/i, '');
    parts.push(`${name} "${v}" (bare ${bare}, encoded ${encodeURIComponent(bare)})`);
  }
  return `invalid credentials: ${parts.join('; ')}`;
}

async function startEcho(): Promise<Echo> {
  const sent: string[] = [];
  let echo!: Echo;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let json: { model?: string } = {};
      try {
        json = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { model?: string };
      } catch {
        /* passthrough GETs */
      }
      const anthropic = (req.url ?? '').includes('/messages');
      const msg = `${quote(req.headers)} on ${req.url}`;
      const end = (status: number, type: string, body: string, extra: Record<string, string> = {}) => {
        sent.push(body);
        res.writeHead(status, { 'content-type': type, ...extra });
        res.end(extra['content-encoding'] ? gzipSync(body) : body);
      };
      const err = anthropic
        ? JSON.stringify({ type: 'error', error: { type: 'authentication_error', message: msg } })
        : JSON.stringify({ error: { message: msg, type: 'invalid_request_error', param: null, code: 'invalid_api_key' } });
      const sse = (events: string[], last?: string) => {
        const body = events.join('');
        sent.push(body + (last ?? ''));
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        if (last === undefined) return void res.end(body);
        res.write(body);
        void echo.gate.then(() => res.end(last));
      };
      switch (json.model) {
        case 'fail':
          return end(500, 'application/json', JSON.stringify({ error: { message: msg } }));
        case 'bad':
          return end(400, 'application/json', err);
        case 'bad-gzip':
          return end(400, 'application/json', err, { 'content-encoding': 'gzip' });
        case 'stream-fail': // an Anthropic stream whose first event is an error: the attempt fails before any byte
          return sse([`event: error\ndata: ${JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: msg } })}\n\n`]);
        case 'stream-mid': // an OpenAI stream that reports an error after some text
          return sse([
            `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'stream-mid', choices: [{ index: 0, delta: { role: 'assistant', content: 'Hi' }, finish_reason: null }] })}\n\n`,
          ], `data: ${JSON.stringify({ error: { message: msg, type: 'server_error' } })}\n\n`);
        case 'tstream-mid': // an Anthropic stream that reports an error after some text (translated for the client)
          return sse([
            `event: message_start\ndata: ${JSON.stringify({ type: 'message_start', message: { id: 'm1', type: 'message', role: 'assistant', model: 'tstream-mid', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 3, output_tokens: 0 } } })}\n\n`,
            `event: content_block_start\ndata: ${JSON.stringify({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } })}\n\n`,
            `event: content_block_delta\ndata: ${JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hi' } })}\n\n`,
          ], `event: error\ndata: ${JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: msg } })}\n\n`);
        case 'ok':
          return end(
            200,
            'application/json',
            JSON.stringify({
              id: 'c2',
              object: 'chat.completion',
              created: 1,
              model: 'ok',
              choices: [{ index: 0, message: { role: 'assistant', content: `you said: ${msg}` }, finish_reason: 'stop' }],
              usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 },
            }),
          );
        default: // the passthrough's "real origin"
          return end(401, 'application/json', err);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  echo = {
    url: `http://127.0.0.1:${port}`,
    port,
    sent,
    gate: Promise.resolve(),
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
  return echo;
}

// ---------- the router under test ----------

describe('secrets never reach a log, the window or the client', () => {
  let echo: Echo;
  let t: TestCore;
  let ui: UiService;
  const lines: string[] = [];
  const events: UiEvent[] = [];
  let unsubscribe: () => void;
  let tls: Server;
  let tlsUrl: string;
  let passthrough: Passthrough;
  let origins: Agent;

  before(async () => {
    echo = await startEcho();
    const toml = `
[daemon]
log_bodies = true

[[providers]]
name = "alpha"
base_url = "${echo.url}"
auth = { header = "authorization", prefix = "Bearer ", api_key = "${KEY_A}" }
[providers.available_models]
fail = "fail"
bad = "bad"
bad-gzip = "bad-gzip"
stream-mid = "stream-mid"
ok = "ok"

[[providers]]
name = "beta"
base_url = "${echo.url}"
format = "anthropic"
auth = { header = "x-api-key", api_key = "${KEY_B}" }
extra_headers = { "anthropic-version" = "2023-06-01", "x-team-token" = "${TEAM_TOKEN}" }
[providers.available_models]
fail = "stream-fail"
tbad = "bad"
tstream-mid = "tstream-mid"
`;
    t = await startCore(toml, { logger: createLogger('debug', (l) => lines.push(l)) });
    ui = new UiService({ core: t.core, app: 'daemon' });
    unsubscribe = ui.subscribe((e) => events.push(e));
    // The TLS listener's part: a request for an intercepted host that no provider routes goes to the real origin
    // (here the echo server, reached through a connector in place of DNS + TLS).
    // api.openai.com is the echo server; api.anthropic.com cannot be reached (port 1: nobody listens)
    origins = new Agent({
      connect: (opts, cb) => {
        const s = connect(opts.hostname === 'api.openai.com' ? echo.port : 1, '127.0.0.1');
        s.once('connect', () => cb(null, s));
        s.once('error', (e) => cb(e, null));
      },
    });
    passthrough = new Passthrough({
      config: () => t.core.config,
      dispatcher: () => origins,
      log: t.core.log,
      logger: t.core.logger,
      allowed: () => true,
    });
    t.core.setPassthrough(passthrough.handle);
    tls = createServer((req, res) => t.core.proxy.handle(req, res, { host: String(req.headers['x-test-host']) }));
    await new Promise<void>((r) => tls.listen(0, '127.0.0.1', r));
    tlsUrl = `http://127.0.0.1:${(tls.address() as AddressInfo).port}`;
  });

  after(async () => {
    unsubscribe();
    await new Promise<void>((r) => tls.close(() => r()));
    await t.stop();
    await origins.close();
    await echo.close();
  });

  const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
    const r = await fetch(`${t.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${CLIENT_KEY}`, ...headers },
      body: JSON.stringify(body),
    });
    return { status: r.status, text: await r.text() };
  };
  const chat = (model: string, extra: Record<string, unknown> = {}) => ({ model, messages: [{ role: 'user', content: 'hi' }], ...extra });
  /** The newest log entry, once finished. */
  const last = async () => {
    let e = t.core.log.recent(1)[0]!;
    await eventually(() => {
      e = t.core.log.recent(1)[0]!;
      assert.ok(e.state === 'done' || e.state === 'error', `entry ${e.id} still ${e.state}`);
    });
    return e;
  };

  it('a chain of two providers that both echo their keys: the all-failed 502 and the log hold neither key', async () => {
    const before = echo.sent.length;
    const r = await post('/v1/chat/completions', chat('fail', { stream: true }));
    assert.equal(r.status, 502);
    const sent = echo.sent.slice(before).join('\n');
    // the upstreams really quoted the keys, bare, as sent and URL-encoded, and the team token
    for (const k of [KEY_A, `Bearer ${KEY_A}`, encodeURIComponent(KEY_A), KEY_B, TEAM_TOKEN]) assert.ok(sent.includes(k), `echo did not quote ${k}`);
    assertClean(r.text, 'the 502 body');
    const body = JSON.parse(r.text) as { error: { message: string }; attempts: { provider: string; error: string }[] };
    // each provider tried, retries included (a 500 is retried on the same provider first)
    assert.deepEqual([...new Set(body.attempts.map((a) => a.provider))], ['alpha', 'beta']);
    assert.match(body.error.message, /all 2 providers failed/);
    for (const a of body.attempts) assert.match(a.error, /invalid credentials: .*\[redacted\]/);
    const e = await last();
    assert.equal(e.status, 502);
    for (const a of e.attempts) assert.match(a.error ?? '', /\[redacted\]/);
    assertClean(JSON.stringify(e), 'the log entry');
  });

  it('a 400 relayed as it is (plain and gzip) reaches the client scrubbed', async () => {
    for (const model of ['bad', 'bad-gzip']) {
      const r = await post('/v1/chat/completions', chat(model));
      assert.equal(r.status, 400, model);
      assertClean(r.text, `the client's ${model} body`);
      assert.match(r.text, /invalid credentials: authorization \\?"\[redacted\]\\?"/);
      assertClean(JSON.stringify(await last()), `the ${model} log entry`);
    }
    // the official SDK sees the scrubbed message in its typed error
    const client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: CLIENT_KEY, maxRetries: 0 });
    await assert.rejects(client.chat.completions.create(chat('bad') as never), (err: Error) => {
      assertClean(err.message, 'the SDK error');
      return /\[redacted\]/.test(err.message);
    });
  });

  it('a translated 400 (Anthropic upstream, OpenAI client) reaches the client scrubbed', async () => {
    const r = await post('/v1/chat/completions', chat('tbad'));
    assert.equal(r.status, 400);
    assertClean(r.text, 'the translated 400 body');
    assert.match(r.text, /\[redacted\]/);
    assertClean(JSON.stringify(await last()), 'the log entry');
  });

  it('stream error events quoting the key reach the client scrubbed (same dialect and translated)', async () => {
    for (const model of ['stream-mid', 'tstream-mid']) {
      let open!: () => void;
      echo.gate = new Promise((r) => (open = r));
      const res = await fetch(`${t.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${CLIENT_KEY}` },
        body: JSON.stringify(chat(model, { stream: true })),
      });
      assert.equal(res.status, 200);
      // the error comes after the client has its first text (else the chain would fall back before any byte)
      const reader = res.body!.getReader();
      const dec = new TextDecoder();
      let text = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        text += dec.decode(value, { stream: true });
        if (text.includes('"content":"Hi"')) open();
      }
      const r = { text };
      assert.match(r.text, /"content":"Hi"/, model);
      assert.match(r.text, /invalid credentials: .*\[redacted\]/, model);
      assertClean(r.text, `the ${model} stream`);
      assertClean(JSON.stringify(await last()), `the ${model} log entry`);
    }
    const client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: CLIENT_KEY, maxRetries: 0 });
    echo.gate = Promise.resolve();
    await assert.rejects(client.chat.completions.stream(chat('stream-mid') as never).finalChatCompletion(), (err: Error) => {
      assertClean(err.message, 'the SDK stream error');
      return /redacted/.test(err.message);
    });
  });

  it('log_bodies = true: the logged request and response bodies and the path hold no key', async () => {
    const r = await post(`/v1/chat/completions?key=${QUERY_KEY}&api_key=${QUERY_KEY}&beta=true`, {
      model: 'ok',
      messages: [{ role: 'user', content: `my provider key is ${KEY_A}, encoded ${encodeURIComponent(KEY_A)}` }],
      api_key: BODY_KEY,
    });
    assert.equal(r.status, 200);
    assertClean(r.text, 'the 200 body');
    const e = await last();
    assert.ok(e.requestBody && e.responseBody, 'bodies are logged');
    assert.match(e.requestBody, /my provider key is \[redacted\]/);
    assert.match(e.requestBody, /"api_key":"\[redacted\]"/);
    assert.match(e.responseBody, /you said: invalid credentials/);
    assert.equal(e.path, '/v1/chat/completions?key=[redacted]&api_key=[redacted]&beta=true');
    assertClean(JSON.stringify(e), 'the log entry');
    assertClean(JSON.stringify(ui.logEntry(e.id)), 'the window detail');
  });

  it('passthrough to the real origin: the client key (header and ?key=) is not logged', async () => {
    const r = await fetch(`${tlsUrl}/v1/files?key=${QUERY_KEY}`, {
      headers: { authorization: `Bearer ${CLIENT_KEY}`, 'x-api-key': CLIENT_KEY, 'x-test-host': 'api.openai.com' },
    });
    const text = await r.text();
    assert.equal(r.status, 401);
    assert.ok(text.includes(CLIENT_KEY), 'the real origin answered the client (its own key, relayed unchanged)');
    const e = await last();
    assert.equal(e.passthrough, true);
    assert.equal(e.path, '/v1/files?key=[redacted]');
    assertClean(JSON.stringify(e), 'the passthrough entry');
    // an origin that cannot be reached: logged (as a warning too), still without the key
    const r2 = await fetch(`${tlsUrl}/v1/files?api_key=${QUERY_KEY}`, {
      headers: { authorization: `Bearer ${CLIENT_KEY}`, 'x-test-host': 'api.anthropic.com' },
    });
    assert.equal(r2.status, 502);
    assertClean(await r2.text(), 'the passthrough 502');
    assert.match((await last()).error ?? '', /passthrough to api\.anthropic\.com failed/);
    assert.ok(lines.some((l) => /WARN .*passthrough to api\.anthropic\.com failed/.test(l)));
    await passthrough.idle();
  });

  it('extra_headers that look like credentials are shown as set, never sent to the window, and kept on save', () => {
    const state = ui.loadConfig();
    assertClean(JSON.stringify(state), 'the editor state');
    const beta = state.providers.find((p) => p.name === 'beta')!;
    assert.deepEqual(beta.extra_headers, [
      ['anthropic-version', '2023-06-01'],
      ['x-team-token', ''],
    ]);
    assert.deepEqual(beta.hiddenHeaders, ['x-team-token']);
    // saved as loaded (the value left empty): the stored token stays
    const kept = planEdit(readFileSync(t.configPath, 'utf8'), t.configPath, state);
    assert.ok(kept.ok && kept.text.includes(`"x-team-token" = "${TEAM_TOKEN}"`), 'the token is kept');
    // a value typed in replaces it, in the keychain: the file holds only the reference
    beta.extra_headers[1] = ['x-team-token', 'teamTokNew0123456789'];
    const replaced = planEdit(readFileSync(t.configPath, 'utf8'), t.configPath, state);
    assert.ok(replaced.ok && !replaced.text.includes('teamTokNew0123456789') && !replaced.text.includes(TEAM_TOKEN));
    assert.ok(replaced.text.includes('x-team-token = { keychain = "beta/x-team-token" }'), replaced.text);
    assert.deepEqual(replaced.secrets, [{ account: 'beta/x-team-token', value: 'teamTokNew0123456789', path: ['providers', 1, 'extra_headers', 1, 1] }]);
    // what the editor loads from a file is the same as what the service gives (no other path to the values)
    assertClean(JSON.stringify(loadEditorState(t.configPath)), 'loadEditorState');
  });

  it('nothing anywhere holds a secret: requests.jsonl, the daemon log, the window log/detail APIs, the live events', () => {
    t.core.log.flush();
    const jsonl = readFileSync(join(t.core.paths.logs, 'requests.jsonl'), 'utf8');
    assert.ok(jsonl.split('\n').filter(Boolean).length >= 10, 'every exchange is in the file');
    assert.match(jsonl, /\[redacted\]/);
    assertClean(jsonl, 'requests.jsonl');
    assertClean(lines.join(''), 'the daemon log');
    const rows = ui.recentLog(100);
    assertClean(JSON.stringify(rows), 'the window log');
    for (const r of rows) assertClean(JSON.stringify(ui.logEntry(r.id)), `the window detail of ${r.path}`);
    assert.ok(events.filter((e) => e.type === 'log').length >= 20);
    assertClean(JSON.stringify(events), 'the live events');
  });
});

describe('the daemon process', () => {
  const CLI = join(__dirname, '..', '..', 'main', 'cli', 'index.js');
  const ENV_KEY = `envKey/${hex()}+=`;

  it('its own log output (debug) and requests.jsonl hold no provider key and no client key', { timeout: 60_000 }, async () => {
    const echo = await startEcho();
    const home = mkdtempSync(join(tmpdir(), 'router67-secrets-'));
    writeFileSync(
      join(home, 'config.toml'),
      `[daemon]\nlog_bodies = true\n
[[providers]]
name = "envkey"
base_url = "${echo.url}"
auth = { header = "authorization", prefix = "Bearer ", value_env = "SECRETS_TEST_KEY" }
[providers.available_models]
fail = "fail"
bad = "bad"
ok = "ok"

[[providers]]
name = "beta"
base_url = "${echo.url}"
format = "anthropic"
auth = { header = "x-api-key", api_key = "${KEY_B}" }
extra_headers = { "x-team-token" = "${TEAM_TOKEN}" }
[providers.available_models]
fail = "stream-fail"
`,
    );
    const child = spawn(process.execPath, [CLI, 'daemon', '--listen', '127.0.0.1:0', '--no-intercept', '--log-level', 'debug'], {
      env: { ...process.env, ROUTER67_HOME: home, SECRETS_TEST_KEY: ENV_KEY },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exit = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    try {
      await eventually(() => assert.match(out, /listening on http:\/\/127\.0\.0\.1:\d+/), 15_000);
      const base = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)![1]!;
      const send = async (path: string, body: unknown) => {
        const r = await fetch(`${base}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${CLIENT_KEY}`, 'x-api-key': CLIENT_KEY },
          body: JSON.stringify(body),
        });
        return { status: r.status, text: await r.text() };
      };
      const failed = await send('/v1/chat/completions', { model: 'fail', stream: true, messages: [{ role: 'user', content: 'hi' }] });
      assert.equal(failed.status, 502);
      const bad = await send('/v1/chat/completions', { model: 'bad', messages: [{ role: 'user', content: 'hi' }] });
      assert.equal(bad.status, 400);
      const ok = await send(`/v1/chat/completions?key=${QUERY_KEY}`, { model: 'ok', api_key: BODY_KEY, messages: [{ role: 'user', content: `key ${ENV_KEY}` }] });
      assert.equal(ok.status, 200);
      const quoted = echo.sent.join('\n');
      for (const k of [ENV_KEY, encodeURIComponent(ENV_KEY), KEY_B, TEAM_TOKEN]) assert.ok(quoted.includes(k), 'the upstream quoted the keys');
      for (const r of [failed, bad, ok]) {
        assertClean(r.text, 'a client answer');
        assert.ok(!r.text.includes(ENV_KEY) && !r.text.includes(encodeURIComponent(ENV_KEY)));
      }
      child.kill('SIGTERM');
      assert.equal(await exit, 0);
      const jsonl = readFileSync(join(home, 'logs', 'requests.jsonl'), 'utf8');
      assert.equal(jsonl.trim().split('\n').length, 3);
      assert.match(jsonl, /\[redacted\]/);
      for (const [text, where] of [
        [jsonl, 'requests.jsonl'],
        [out, 'the daemon output'],
      ] as const) {
        assertClean(text, where);
        assert.ok(!text.includes(ENV_KEY) && !text.includes(encodeURIComponent(ENV_KEY)), `${where} holds the env key`);
      }
      assert.match(out, /DEBUG|INFO/, 'the daemon did log');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exit;
      await echo.close();
      rmSync(home, { recursive: true, force: true });
    }
  });
});

describe('scrub rules', () => {
  it('query-string credentials are cut from URLs; other parameters stay', () => {
    assert.equal(scrubUrl('/v1/models?key=abc123&x=1'), '/v1/models?key=[redacted]&x=1');
    assert.equal(scrubUrl('/p?api_key=a&access_token=b&apikey=c&beta=true'), '/p?api_key=[redacted]&access_token=[redacted]&apikey=[redacted]&beta=true');
    assert.equal(scrubUrl('/v1/messages?beta=true'), '/v1/messages?beta=true');
    assert.equal(scrub('GET https://x/y?key=abc'), 'GET https://x/y?key=[redacted]');
  });

  it('a known secret goes in every form; key shapes go without being known', () => {
    assert.equal(scrub('a plainsecret b', ['plainsecret']), 'a [redacted] b');
    assert.equal(scrub('Bearer sk-abcdefghijkl0123'), 'Bearer [redacted]');
    assert.equal(scrub('{"password": "hunter22", "model": "m"}'), '{"password": "[redacted]", "model": "m"}');
  });

  it('the secrets of a request: the key in every form, credential extra headers and base_url parameters, the client key', async () => {
    const p = {
      name: 'p',
      base_url: 'https://gen.example/v1beta/openai?key=url+Key/123&alt=sse',
      auth: { prefix: 'Token ', api_key: 'bare/Key+1' },
      extra_headers: { 'anthropic-version': '2023-06-01', 'x-session': 'sess-0123' },
      available_models: {},
    } as unknown as Provider;
    const r = await resolveAuth(p, { env: {} });
    assert.deepEqual(r.headers, { authorization: 'Token bare/Key+1' });
    // each also as JSON quotes it with "/" escaped (`\/`)
    assert.deepEqual(new Set(r.secrets), new Set(['Token bare/Key+1', 'Token%20bare%2FKey%2B1', 'Token bare\\/Key+1', 'bare/Key+1', 'bare%2FKey%2B1', 'bare\\/Key+1']));
    assert.deepEqual(new Set(extraHeaderSecrets(p)), new Set(['url+Key/123', 'url%2BKey%2F123', 'url+Key\\/123', 'url Key/123', 'url%20Key%2F123', 'url Key\\/123', 'sess-0123']));
    assert.deepEqual(new Set(clientSecrets({ authorization: 'Bearer client-key-1', 'x-api-key': 'short', 'x-goog-api-key': 'goog-key-12' })), new Set(['Bearer client-key-1', 'Bearer%20client-key-1', 'client-key-1', 'goog-key-12']));
  });

  it('a base_url credential holding "=" (a base64 key) is a secret whole, not cut at its first "="', () => {
    const p = { name: 'p', base_url: 'https://gen.example/v1?alt=sse&key=a1b2c3d4e5==&sig=x=y=z9', auth: {}, available_models: {} } as unknown as Provider;
    const s = new Set(extraHeaderSecrets(p));
    assert.ok(s.has('a1b2c3d4e5=='), [...s].join(' '));
    assert.ok(s.has('x=y=z9'), [...s].join(' '));
    assert.ok(!s.has('a1b2c3d4e5') && !s.has('x'), 'no cut-off part stands for the whole value');
    // a percent-encoded name is the same parameter, for the scrubber as for the window (one parser: queryParam)
    const q = { ...p, base_url: 'https://gen.example/v1?to%6Ben=enc0ded-name-key' } as unknown as Provider;
    assert.ok(extraHeaderSecrets(q).includes('enc0ded-name-key'));
    assert.deepEqual(maskBaseUrl(q.base_url).hidden, ['token']);
  });

  it('credential-like extra headers: by name or by a key-shaped value', () => {
    for (const [k, v] of [
      ['x-api-key', 'abc'],
      ['Authorization', 'Bearer x'],
      ['x-team-token', 'abc'],
      ['X-Secret', 'v'],
      ['x-custom', 'Bearer abcdefghi'],
      ['x-custom', 'sk-proj-abcdefgh1234'],
      ['x-custom', '0123456789abcdef0123456789abcdef'],
      ['x-goog-api-key', 'AIzaSyD-abc'],
    ] as const) assert.equal(isCredentialHeader(k, v), true, `${k}: ${v}`);
    for (const [k, v] of [
      ['anthropic-version', '2023-06-01'],
      ['anthropic-beta', 'interleaved-thinking-2025-05-14,prompt-caching-2024-07-31'],
      ['HTTP-Referer', 'https://example.com/app'],
      ['X-Title', 'My App'],
      ['OpenAI-Organization', 'org-team'],
    ] as const) assert.equal(isCredentialHeader(k, v), false, `${k}: ${v}`);
  });
});
