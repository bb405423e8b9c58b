// Request bodies as real clients and hostile ones send them: compressed (Claude Code gzips bodies over a few KB
// once it trusts the OS store), with Expect: 100-continue (curl above 1 MiB), trickling, stalled, bombs, and
// many large uploads at once.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { Agent, MockAgent, fetch as undiciFetch } from 'undici';
import { Interceptor } from '../../main/intercept/interceptor.js';
import { Passthrough } from '../../main/intercept/passthrough.js';
import { silentLogger } from '../../main/log/logger.js';
import { RequestLog } from '../../main/log/request-log.js';
import { ConfigSchema } from '../../main/config/schema.js';
import { dialectFor } from '../../main/proxy/dialect.js';
import { ensureCa } from '../../main/tls/ca.js';
import { provider, startCore, tempHome, type TestCore } from '../helpers/core.js';
import { startMockUpstream, type MockUpstream } from '../helpers/mock-upstream.js';

type Enc = 'gzip' | 'deflate' | 'br';
const compress: Record<Enc, (b: Buffer) => Buffer> = { gzip: gzipSync, deflate: deflateSync, br: brotliCompressSync };

/** A fetch that compresses every request body as Claude Code does (content-encoding set, body bytes compressed). */
function compressingFetch(enc: Enc, dispatcher?: Agent): typeof fetch {
  return (async (url: string | URL | Request, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    let body = init.body;
    if (typeof body === 'string') {
      body = compress[enc](Buffer.from(body));
      headers.set('content-encoding', enc);
    }
    return undiciFetch(url as string, { ...(init as object), headers, body, ...(dispatcher ? { dispatcher } : {}) } as never);
  }) as unknown as typeof fetch;
}

function raw(
  port: number,
  opts: { method?: string; path: string; headers?: Record<string, string>; body?: Buffer; trickle?: { chunks: Buffer[]; everyMs: number } },
): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method: opts.method ?? 'POST', path: opts.path, headers: opts.headers, agent: false }, (res) => {
      let data = '';
      res.on('data', (d) => (data += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: data }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (opts.trickle) {
      const { chunks, everyMs } = opts.trickle;
      let i = 0;
      const t = setInterval(() => {
        if (req.destroyed || i >= chunks.length) return clearInterval(t);
        req.write(chunks[i++]);
      }, everyMs);
      req.on('close', () => clearInterval(t));
    } else req.end(opts.body);
  });
}

/** Runs a command without blocking the event loop (the router under test runs in this process). */
function run(cmd: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', (e: NodeJS.ErrnoException) => reject(e.code === 'ENOENT' ? new Error(`${cmd} is not installed (.ci/run installs it)`) : e));
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const MESSAGE = 'x'.repeat(20_000); // over Claude Code's ~4 KB gzip threshold

describe('request bodies', () => {
  let up: MockUpstream;
  let t: TestCore;
  let port: number;

  before(async () => {
    up = await startMockUpstream('mock');
    t = await startCore(
      `intercept_hosts = ["api.anthropic.com", "api.openai.com"]
[daemon]
max_request_body_bytes = 1048576
upload_idle_timeout_ms = 300
upload_timeout_ms = 1500
` + provider('mock', up.url, { 'claude-x': 'mock-claude', 'gpt-x': 'mock-gpt' }),
    );
    port = t.core.httpAddress.port;
  });
  after(async () => {
    await t.stop();
    await up.close();
  });

  for (const enc of ['gzip', 'deflate', 'br'] as const) {
    it(`routes a ${enc}-compressed body from the Anthropic SDK and sends it upstream decoded`, async () => {
      up.requests.length = 0;
      const claude = new Anthropic({ baseURL: t.url, apiKey: 'client', maxRetries: 0, fetch: compressingFetch(enc) });
      const msg = await claude.messages.create({ model: 'claude-x', max_tokens: 5, messages: [{ role: 'user', content: MESSAGE }] });
      assert.equal(msg.content[0]?.type === 'text' && msg.content[0].text, 'Hello from mock!');
      const r = up.requests[0]!;
      assert.equal(r.headers['content-encoding'], undefined, 'the body goes upstream decoded, without the header');
      assert.equal(r.json?.model, 'mock-claude');
      assert.equal((r.json?.messages as { content: string }[])[0]!.content, MESSAGE);
      assert.equal(Number(r.headers['content-length']), r.body.length);
    });
  }

  it('routes a gzip body from the OpenAI SDK, streaming', async () => {
    up.requests.length = 0;
    const openai = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: 'client', maxRetries: 0, fetch: compressingFetch('gzip') });
    const stream = await openai.chat.completions.create({ model: 'gpt-x', stream: true, messages: [{ role: 'user', content: MESSAGE }] });
    let text = '';
    for await (const c of stream) text += c.choices[0]?.delta?.content ?? '';
    assert.equal(text, 'Hello from mock!');
    assert.equal(up.requests[0]!.json?.model, 'mock-gpt');
  });

  it('routes a gzip body arriving through interception (TLS listener, intercepted host)', async () => {
    up.requests.length = 0;
    writeFileSync(join(t.home, 'hosts'), '127.0.0.1 localhost\n');
    const ca = ensureCa(t.home, ['api.anthropic.com', 'api.openai.com']).ca;
    const ic = new Interceptor(t.core, { hostsPath: join(t.home, 'hosts'), bind: '127.0.0.1:0' });
    await ic.start();
    const dispatcher = new Agent({
      connect: { ca: ca.certPem, lookup: ((_h: string, _o: unknown, cb: (e: null, a: { address: string; family: number }[]) => void) => cb(null, [{ address: '127.0.0.1', family: 4 }])) as never },
    });
    try {
      const claude = new Anthropic({ baseURL: `https://api.anthropic.com:${ic.address!.port}`, apiKey: 'client', maxRetries: 0, fetch: compressingFetch('gzip', dispatcher) });
      const { data, response } = await claude.messages.create({ model: 'claude-x', max_tokens: 5, messages: [{ role: 'user', content: MESSAGE }] }).withResponse();
      assert.equal(data.content[0]?.type === 'text' && data.content[0].text, 'Hello from mock!');
      assert.equal(response.headers.get('x-router67-provider'), 'mock', 'routed, not passed to the real origin');
      assert.equal(up.requests[0]!.json?.model, 'mock-claude');
      assert.equal(t.core.log.recent(1)[0]!.host, 'api.anthropic.com');
    } finally {
      await dispatcher.close();
      await ic.stop();
    }
  });

  it('refuses a decompression bomb at the decoded size limit (413 in the dialect)', async () => {
    up.requests.length = 0;
    const bomb = gzipSync(Buffer.alloc(50 * 1024 * 1024, 0x20)); // 50 MB of spaces, about 50 KB compressed
    assert.ok(bomb.length < 1024 * 1024);
    const r = await raw(port, { path: '/v1/messages', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: bomb });
    assert.equal(r.status, 413);
    const j = JSON.parse(r.body);
    assert.equal(j.type, 'error');
    assert.match(j.error.message, /exceeds 1048576 bytes once decoded \(gzip\)/);
    assert.equal(up.requests.length, 0);
  });

  it('refuses an unknown content-encoding with 415 and a corrupt body with 400, in the dialect', async () => {
    const body = Buffer.from(JSON.stringify({ model: 'gpt-x', messages: [] }));
    const a = await raw(port, { path: '/v1/chat/completions', headers: { 'content-type': 'application/json', 'content-encoding': 'compress' }, body });
    assert.equal(a.status, 415);
    assert.match(JSON.parse(a.body).error.message, /content-encoding "compress" is not supported; use one of: gzip, deflate, br/);
    const b = await raw(port, { path: '/v1/chat/completions', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body });
    assert.equal(b.status, 400);
    assert.match(JSON.parse(b.body).error.message, /not valid gzip/);
  });

  it('answers Expect: 100-continue itself and never forwards it (curl, 2 MB body)', async () => {
    const t2 = await startCore(provider('mock', up.url, { 'claude-x': 'mock-claude' }));
    try {
      up.requests.length = 0;
      const file = join(t2.home, 'big.json');
      writeFileSync(file, JSON.stringify({ model: 'claude-x', max_tokens: 5, messages: [{ role: 'user', content: 'y'.repeat(2 * 1024 * 1024) }] }));
      // curl sends Expect: 100-continue by itself above 1 MiB; the header is also set here to be explicit
      const r = await run('curl', ['-sS', '-w', '\n%{http_code}', '-H', 'content-type: application/json', '-H', 'Expect: 100-continue', '--data-binary', `@${file}`, `${t2.url}/v1/messages`]);
      const lines = r.stdout.trim().split('\n');
      assert.equal(lines.at(-1), '200', r.stdout + r.stderr);
      assert.equal(JSON.parse(lines.slice(0, -1).join('\n')).content[0].text, 'Hello from mock!');
      assert.equal(up.requests[0]!.headers.expect, undefined);
      assert.equal(up.requests[0]!.body.length, readFileSync(file).length + 'mock-claude'.length - 'claude-x'.length);
    } finally {
      await t2.stop();
    }
  });

  it('answers a stalled upload with 408 and closes the connection', async () => {
    up.requests.length = 0;
    const r = await raw(port, {
      path: '/v1/messages',
      headers: { 'content-type': 'application/json', 'content-length': '1000' },
      trickle: { chunks: [Buffer.from('{"model":"claude-x",')], everyMs: 1 },
    });
    assert.equal(r.status, 408);
    assert.equal(r.headers.connection, 'close');
    assert.match(JSON.parse(r.body).error.message, /stalled: nothing received for 300 ms/);
    assert.equal(up.requests.length, 0);
  });

  it('answers a trickling upload with 408 once the upload time is up', async () => {
    const chunks = Array.from({ length: 200 }, () => Buffer.from(' '));
    const r = await raw(port, { path: '/v1/chat/completions', headers: { 'content-type': 'application/json', 'content-length': '200' }, trickle: { chunks, everyMs: 100 } });
    assert.equal(r.status, 408);
    assert.match(JSON.parse(r.body).error.message, /not received within 1500 ms/);
  });

  it('takes the dialect of an intercepted host from the host, not Ollama for every /api/ path', () => {
    assert.equal(dialectFor('/api/claude_code/settings', 'api.anthropic.com'), 'anthropic');
    assert.equal(dialectFor('/api/claude_code/policy_limits?x=1', 'api.anthropic.com'), 'anthropic');
    assert.equal(dialectFor('/api/v1/chat/completions', 'openrouter.ai'), 'openai');
    assert.equal(dialectFor('/api/v1/messages', 'openrouter.ai'), 'anthropic');
    assert.equal(dialectFor('/api/chat', 'api.openai.com'), 'openai');
    assert.equal(dialectFor('/api/chat'), 'ollama', 'the plain endpoint serves Ollama');
  });

  it("answers a failed passthrough of Claude Code's /api/claude_code/settings in Anthropic's envelope", async () => {
    const mock = new MockAgent();
    mock.disableNetConnect();
    const cfg = ConfigSchema.parse({ intercept_hosts: ['api.anthropic.com'] });
    const pt = new Passthrough({ config: () => cfg, dispatcher: () => mock, log: new RequestLog({ logger: silentLogger } as never), logger: silentLogger, allowed: () => true });
    const server = createServer((req, res) => void pt.handle(req, res, Buffer.alloc(0), { host: 'api.anthropic.com' }));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const r = await raw((server.address() as AddressInfo).port, { method: 'GET', path: '/api/claude_code/settings' });
      assert.ok(r.status >= 500, String(r.status));
      const j = JSON.parse(r.body);
      assert.equal(j.type, 'error', r.body);
      assert.equal(typeof j.error.message, 'string');
    } finally {
      server.close();
      await mock.close();
    }
  });
});

describe('memory under many large uploads (a daemon in its own process)', () => {
  it('ten concurrent 63 MB uploads: peak RSS stays under 200 MB; the overflow gets 503 with Retry-After', async () => {
    // an upstream that reads and drops what it gets, so only the router holds bodies
    const sink = createServer((req, res) => {
      let n = 0;
      req.on('data', (c: Buffer) => (n += c.length));
      req.on('end', () => {
        const body = JSON.stringify({ id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [{ type: 'text', text: `got ${n}` }], stop_reason: 'end_turn', usage: { input_tokens: 1, output_tokens: 1 } });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      });
    });
    await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
    const home = tempHome();
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const httpPort = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const cfgPath = join(home, 'config.toml');
    writeFileSync(cfgPath, `[daemon]\nhttp_listen = "127.0.0.1:${httpPort}"\n` + provider('sink', `http://127.0.0.1:${(sink.address() as AddressInfo).port}`, { big: 'big-upstream' }));
    const daemon = spawn(process.execPath, ['dist/main/cli/index.js', 'daemon', '--config', cfgPath, '--no-intercept'], {
      env: { ...process.env, ROUTER67_HOME: home },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      await new Promise<void>((resolve, reject) => {
        let out = '';
        daemon.stdout!.on('data', (d) => {
          out += d;
          if (out.includes('listening')) resolve();
        });
        daemon.on('exit', (c) => reject(new Error(`daemon exited ${c}`)));
      });
      const SIZE = 63 * 1024 * 1024;
      const head = Buffer.from('{"model":"big","max_tokens":5,"messages":[{"role":"user","content":"');
      const tail = Buffer.from('"}]}');
      const filler = Buffer.alloc(1024 * 1024, 0x61);
      const upload = (declared: boolean) =>
        new Promise<{ status: number; retryAfter?: string; body: string }>((resolve, reject) => {
          const req = httpRequest(
            {
              host: '127.0.0.1',
              port: httpPort,
              method: 'POST',
              path: '/v1/messages',
              headers: { 'content-type': 'application/json', ...(declared ? { 'content-length': String(SIZE) } : {}) },
              agent: false,
            },
            (res) => {
              let data = '';
              res.on('data', (d) => (data += d));
              res.on('end', () => resolve({ status: res.statusCode!, retryAfter: res.headers['retry-after'], body: data }));
            },
          );
          req.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' || e.code === 'EPIPE' ? resolve({ status: 0, body: e.code }) : reject(e)));
          let sent = 0;
          const pump = () => {
            req.write(head);
            sent = head.length;
            const step = () => {
              while (sent < SIZE - tail.length) {
                const n = Math.min(filler.length, SIZE - tail.length - sent);
                sent += n;
                if (!req.write(n === filler.length ? filler : filler.subarray(0, n))) return void req.once('drain', step);
              }
              req.end(tail);
            };
            step();
          };
          pump();
        });
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => upload(i % 2 === 0)));
      const status = readFileSync(`/proc/${daemon.pid}/status`, 'utf8');
      const hwmMb = Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024;
      process.stdout.write(`# peak RSS with ten concurrent 63 MB uploads: ${hwmMb.toFixed(1)} MB (statuses ${results.map((r) => r.status).join(',')})\n`);
      assert.ok(results.some((r) => r.status === 200), 'at least one upload goes through');
      for (const r of results) {
        assert.ok(r.status === 200 || r.status === 503 || r.status === 0, `unexpected ${r.status} ${r.body.slice(0, 200)}`);
        if (r.status === 503) {
          assert.equal(r.retryAfter, '1');
          assert.equal(JSON.parse(r.body).type, 'error');
        }
        if (r.status === 200) assert.equal(JSON.parse(r.body).content[0].text, `got ${SIZE + 'big-upstream'.length - 'big'.length}`);
      }
      assert.ok(results.filter((r) => r.status === 503).length >= 1, 'the overflow is refused');
      assert.ok(hwmMb <= 200, `peak RSS ${hwmMb.toFixed(1)} MB`);
    } finally {
      daemon.kill('SIGKILL');
      sink.close();
    }
  });
});
