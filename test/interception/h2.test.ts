// HTTP/2 on the TLS listener (the Interceptor in process, scratch hosts file, ephemeral port): ALPN offers h2 and
// http/1.1; a node:http2 client (and curl, a non-Node HTTP/2 client) is routed, streams SSE, aborts (the upstream
// sees it), falls back on 5xx and is refused by the Origin guard exactly as on HTTP/1.1; an unrouted model reaches
// the passthrough with HTTP/1.1-shaped headers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as h2connect, constants, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import { connect as tlsConnect } from 'node:tls';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { startCore, provider } from '../helpers/core.js';
import { startMockUpstream } from '../helpers/mock-upstream.js';
import { ensureCa } from '../../main/tls/ca.js';
import { Interceptor } from '../../main/intercept/interceptor.js';

const HOST = 'api.anthropic.com';

function session(port: number, ca: string): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const s = h2connect(`https://${HOST}`, {
      createConnection: () => tlsConnect({ host: '127.0.0.1', port, servername: HOST, ca, ALPNProtocols: ['h2'] }),
    });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

interface H2Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

function post(s: ClientHttp2Session, body: unknown, extra: Record<string, string> = {}): Promise<H2Answer> {
  return new Promise((resolve, reject) => {
    const req = s.request({ ':method': 'POST', ':path': '/v1/messages', 'content-type': 'application/json', 'x-api-key': 'client', ...extra });
    let headers: IncomingHttpHeaders = {};
    let data = '';
    req.setEncoding('utf8');
    req.on('response', (h) => (headers = h));
    req.on('data', (d: string) => (data += d));
    req.on('end', () => resolve({ status: Number(headers[':status']), headers, body: data }));
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

function alpn(port: number, ca: string, offer: string[]): Promise<string | false> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, servername: HOST, ca, ALPNProtocols: offer }, () => {
      resolve(s.alpnProtocol ?? false);
      s.destroy();
    });
    s.on('error', reject);
  });
}

const msg = (model: string, stream = false) => ({ model, max_tokens: 5, stream, messages: [{ role: 'user', content: 'hi' }] });

test('TLS listener over HTTP/2: routing, SSE, abort, fallback on 5xx, Origin guard, passthrough headers; ALPN h2 + http/1.1', async () => {
  const alpha = await startMockUpstream('alpha');
  const broken = await startMockUpstream('broken', '500');
  const toml =
    `intercept_hosts = ["${HOST}"]\n[daemon]\nlisten = "127.0.67.1:443"\n` +
    provider('broken', broken.url, { 'claude-f': 'broken-claude' }) +
    provider('alpha', alpha.url, { 'claude-x': 'alpha-claude', 'claude-f': 'alpha-claude' });
  const t = await startCore(toml);
  const hostsPath = join(t.home, 'hosts');
  writeFileSync(hostsPath, '127.0.0.1 localhost\n');
  const ca = ensureCa(t.home, [HOST]).ca.certPem;
  const ic = new Interceptor(t.core, { hostsPath, bind: '127.0.0.1:0' });
  let s: ClientHttp2Session | undefined;
  try {
    await ic.start();
    const port = ic.address!.port;

    assert.equal(await alpn(port, ca, ['h2', 'http/1.1']), 'h2');
    assert.equal(await alpn(port, ca, ['http/1.1']), 'http/1.1');

    s = await session(port, ca);
    // routed, as on HTTP/1.1; no connection-specific header on the stream; nothing of HTTP/2 forwarded
    const r = await post(s, msg('claude-x'));
    assert.equal(r.status, 200, r.body);
    assert.equal(r.headers['x-router67-provider'], 'alpha');
    assert.equal(JSON.parse(r.body).content[0].text, 'Hello from alpha!');
    assert.equal(r.headers['connection'], undefined);
    const sent = alpha.requests.at(-1)!;
    assert.deepEqual(Object.keys(sent.headers).filter((k) => k.startsWith(':')), []);
    assert.equal(sent.json?.model, 'alpha-claude');
    assert.equal(t.core.log.recent(1)[0]!.host, HOST);

    // SSE streamed through
    const st = await post(s, msg('claude-x', true));
    assert.equal(st.status, 200);
    assert.match(String(st.headers['content-type']), /text\/event-stream/);
    const deltas = [...st.body.matchAll(/"text":"([^"]*)"/g)].map((m) => m[1]).join('');
    assert.equal(deltas, 'Hello from alpha!');
    assert.match(st.body, /event: message_stop/);

    // fallback on 5xx: broken answers 500 (first try and retry_max = 2 retries), alpha answers
    const fb = await post(s, msg('claude-f'));
    assert.equal(fb.status, 200, fb.body);
    assert.equal(fb.headers['x-router67-provider'], 'alpha');
    assert.equal(broken.requests.length, 3);

    // Origin guard: 403 in the client's dialect; its `connection: close` does not end the session
    const refused = await post(s, msg('claude-x'), { origin: 'https://evil.example' });
    assert.equal(refused.status, 403);
    assert.equal(JSON.parse(refused.body).type, 'error');
    assert.match(refused.body, /refuses requests from the web page at https:\/\/evil\.example/);
    assert.equal((await post(s, msg('claude-x'))).status, 200, 'the same session still serves requests');

    // abort mid-stream: the client resets its stream, the upstream request is cancelled
    let release!: () => void;
    alpha.gate = new Promise<void>((r) => (release = r));
    const req = s.request({ ':method': 'POST', ':path': '/v1/messages', 'content-type': 'application/json', 'x-api-key': 'client' });
    req.end(JSON.stringify(msg('claude-x', true)));
    await new Promise<void>((resolve, reject) => {
      req.once('data', () => resolve());
      req.once('error', reject);
    });
    req.close(constants.NGHTTP2_CANCEL);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([alpha.aborted, new Promise((_, rej) => (timer = setTimeout(() => rej(new Error('upstream was not cancelled')), 3000)))]);
    clearTimeout(timer);
    release();

    // concurrent streams on one session
    const many = await Promise.all(Array.from({ length: 5 }, () => post(s!, msg('claude-x'))));
    assert.deepEqual(
      many.map((m) => m.status),
      [200, 200, 200, 200, 200],
    );

    // an unrouted model goes to the passthrough with HTTP/1.1-shaped headers (the real origin is not reachable
    // from a test: a stand-in handler takes its place)
    let seen: IncomingMessage['headers'] | undefined;
    t.core.setPassthrough(async (pReq: IncomingMessage, pRes: ServerResponse, body: Buffer, meta: { host: string }) => {
      seen = { ...pReq.headers };
      assert.equal(meta.host, HOST);
      assert.equal(JSON.parse(body.toString()).model, 'claude-unrouted');
      pRes.writeHead(200, { 'content-type': 'application/json', connection: 'close', 'keep-alive': 'timeout=5' });
      pRes.end('{"origin":true}');
    });
    const pt = await post(s, msg('claude-unrouted'));
    assert.equal(pt.status, 200, pt.body);
    assert.equal(pt.body, '{"origin":true}');
    assert.match(String(seen?.host), /^api\.anthropic\.com(:443)?$/, 'host from :authority');
    assert.deepEqual(Object.keys(seen!).filter((k) => k.startsWith(':')), []);
  } finally {
    s?.close();
    await ic.stop().catch(() => {});
    await t.stop();
    await alpha.close();
    await broken.close();
  }
});

test('curl negotiates HTTP/2 with the TLS listener and streams through it', async (tc) => {
  const probe = spawn('curl', ['-V']);
  const has = await new Promise<boolean>((r) => {
    let out = '';
    probe.stdout.on('data', (d) => (out += d));
    probe.on('error', () => r(false));
    probe.on('close', () => r(/HTTP2/.test(out)));
  });
  if (!has) return tc.skip('no curl with HTTP/2 here');
  const alpha = await startMockUpstream('alpha');
  const t = await startCore(`intercept_hosts = ["${HOST}"]\n[daemon]\nlisten = "127.0.67.1:443"\n` + provider('alpha', alpha.url, { 'claude-x': 'alpha-claude' }));
  const hostsPath = join(t.home, 'hosts');
  writeFileSync(hostsPath, '127.0.0.1 localhost\n');
  const caPath = join(t.home, 'ca', 'ca.crt');
  ensureCa(t.home, [HOST]);
  const ic = new Interceptor(t.core, { hostsPath, bind: '127.0.0.1:0' });
  try {
    await ic.start();
    const port = ic.address!.port;
    const curl = spawn('curl', [
      '-sS', '--http2', '--max-time', '10', '--cacert', caPath, '--resolve', `${HOST}:${port}:127.0.0.1`,
      '-w', '\\n%{http_version} %{http_code}', '-H', 'content-type: application/json', '-H', 'x-api-key: client',
      '--data', JSON.stringify(msg('claude-x', true)), `https://${HOST}:${port}/v1/messages`,
    ]);
    let out = '';
    let err = '';
    curl.stdout.on('data', (d) => (out += d));
    curl.stderr.on('data', (d) => (err += d));
    const code = await new Promise<number | null>((r) => curl.on('close', r));
    assert.equal(code, 0, err);
    assert.match(out, /event: message_stop/);
    assert.match(out, /\n2 200$/);
  } finally {
    await ic.stop().catch(() => {});
    await t.stop();
    await alpha.close();
  }
});

test('an HTTP/2 connection is closed once it has had no open stream for the idle time, never while a stream is open', async () => {
  const alpha = await startMockUpstream('alpha');
  const t = await startCore(`intercept_hosts = ["${HOST}"]\n[daemon]\nlisten = "127.0.67.1:443"\n` + provider('alpha', alpha.url, { 'claude-x': 'alpha-claude' }));
  const hostsPath = join(t.home, 'hosts');
  writeFileSync(hostsPath, '127.0.0.1 localhost\n');
  const ca = ensureCa(t.home, [HOST]).ca.certPem;
  const IDLE = 300;
  const ic = new Interceptor(t.core, { hostsPath, bind: '127.0.0.1:0', h2IdleMs: IDLE });
  const sessions: ClientHttp2Session[] = [];
  // when the client saw the session close; bounded (ten idle times)
  const closedAt = (s: ClientHttp2Session) =>
    new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the session was not closed within ten idle times')), IDLE * 10);
      s.once('close', () => (clearTimeout(timer), resolve(Date.now())));
    });
  try {
    await ic.start();
    const port = ic.address!.port;

    // never used: closed after the idle time
    const unused = await session(port, ca);
    sessions.push(unused);
    const t0 = Date.now();
    const unusedClosed = await closedAt(unused);
    assert.ok(unusedClosed - t0 >= IDLE - 20, `closed after ${unusedClosed - t0} ms`);

    // a stream held open (the upstream's SSE waits after its first event) for three idle times: the session stays
    const s = await session(port, ca);
    sessions.push(s);
    let release!: () => void;
    alpha.gate = new Promise<void>((r) => (release = r));
    const held = post(s, msg('claude-x', true));
    await new Promise((r) => setTimeout(r, IDLE * 3));
    assert.equal(s.closed, false, 'a session with an open stream is not closed');
    const sClosed = closedAt(s);
    release();
    const answer = await held;
    const done = Date.now();
    assert.equal(answer.status, 200, answer.body);
    assert.match(answer.body, /event: message_stop/);
    // a second request inside the idle time keeps it open for another idle time from its end
    await new Promise((r) => setTimeout(r, IDLE / 2));
    assert.equal((await post(s, msg('claude-x'))).status, 200);
    const second = Date.now();
    const at = await sClosed;
    assert.ok(at - second >= IDLE - 20, `closed ${at - second} ms after its last stream (idle time ${IDLE} ms)`);
    assert.ok(at - done >= IDLE * 1.5 - 20, 'the first request\'s end did not start the count that closed it');
  } finally {
    for (const x of sessions) x.destroy();
    await ic.stop().catch(() => {});
    await t.stop();
    await alpha.close();
  }
});
