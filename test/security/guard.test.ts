// Issue 9, as an attacker would try it from outside a browser: foreign Origin / Sec-Fetch-Site headers, a
// DNS-rebound Host, the TLS listener, upstream CORS grants, malformed escapes, dot segments, a malformed admin
// cookie and numeric "host names". A local upstream counts what reaches it: a refused request must never arrive.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest, createServer, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { startCore, type TestCore } from '../helpers/core.js';
import { parseConfig, ConfigError } from '../../main/config/load.js';
import { createCa, ensureCa, LeafCertStore } from '../../main/tls/ca.js';
import { validate } from '../../main/system/helper.js';
import { renderBlock } from '../../main/system/hosts.js';
import { upstreamTarget, withoutDotSegments, pathProblem } from '../../main/proxy/upstream-url.js';
import { hostAllowed } from '../../main/proxy/guard.js';
import { Interceptor } from '../../main/intercept/interceptor.js';

interface Seen {
  method: string;
  path: string;
  headers: Record<string, unknown>;
}

/** An upstream speaking Anthropic Messages and OpenAI Chat that also grants CORS to everyone, as some gateways do. */
async function corsGrantingUpstream(): Promise<{ url: string; seen: Seen[]; close(): Promise<void> }> {
  const seen: Seen[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers });
      const cors = {
        'access-control-allow-origin': '*',
        'access-control-allow-credentials': 'true',
        'access-control-expose-headers': 'x-secret-header',
      };
      if (req.method === 'OPTIONS') {
        res.writeHead(204, { ...cors, 'access-control-allow-methods': 'POST', 'access-control-allow-headers': '*' });
        return res.end();
      }
      const json = (() => {
        try {
          return JSON.parse(Buffer.concat(chunks).toString('utf8')) as { model?: string };
        } catch {
          return {};
        }
      })();
      const body = (req.url ?? '').includes('/chat/completions')
        ? {
            id: 'chatcmpl-1',
            object: 'chat.completion',
            created: 1,
            model: json.model,
            choices: [{ index: 0, message: { role: 'assistant', content: 'hi there' }, finish_reason: 'stop' }],
            usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
          }
        : {
            id: 'msg_1',
            type: 'message',
            role: 'assistant',
            model: json.model,
            content: [{ type: 'text', text: 'hi there' }],
            stop_reason: 'end_turn',
            stop_sequence: null,
            usage: { input_tokens: 3, output_tokens: 2 },
          };
      const text = JSON.stringify(body);
      res.writeHead(200, { ...cors, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One raw HTTP exchange with exactly the headers given (no agent, so no pooled connection hides a close). */
function raw(base: string, opts: { method?: string; path: string; headers?: Record<string, string>; body?: string }): Promise<Answer> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: u.hostname, port: u.port, method: opts.method ?? 'POST', path: opts.path, headers: opts.headers ?? {}, agent: false, timeout: 5000, setHost: !opts.headers?.host },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (data += d));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: data }));
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`no answer to ${opts.method ?? 'POST'} ${opts.path} within 5 s`)));
    req.end(opts.body);
  });
}

const MESSAGES = JSON.stringify({ model: 'claude-x', max_tokens: 5, messages: [{ role: 'user', content: 'spend the key' }] });
const ALLOWED = 'http://app.example:3000';

function config(upstream: string): string {
  return `[daemon]
allowed_origins = ["HTTP://App.Example:3000/", "https://chat.example.com:443"]

[[providers]]
name = "anthropic"
base_url = "${upstream}"
format = "anthropic"
auth = { header = "x-api-key", api_key = "sk-user-secret" }
[providers.available_models]
"claude-x" = "claude-upstream"

[[providers]]
name = "openai"
base_url = "${upstream}/base/v1"
format = "openai"
auth = { header = "Authorization", prefix = "Bearer ", api_key = "sk-user-secret-2" }
[providers.available_models]
"gpt-x" = "gpt-upstream"
`;
}

describe('the plain endpoint, attacked from outside a browser', () => {
  let up: Awaited<ReturnType<typeof corsGrantingUpstream>>;
  let t: TestCore;
  let port: number;

  before(async () => {
    up = await corsGrantingUpstream();
    t = await startCore(config(up.url));
    port = t.core.httpAddress.port;
  });
  after(async () => {
    await t?.stop();
    await up?.close();
  });

  it('allowed_origins are normalised like a browser serialises Origin', () => {
    assert.deepEqual(t.core.config.daemon.allowed_origins, ['http://app.example:3000', 'https://chat.example.com']);
  });

  it('the official SDKs (no Origin, loopback Host) work, and the upstream CORS grant is not passed on', async () => {
    const anthropic = new Anthropic({ baseURL: t.url, apiKey: 'client-key', maxRetries: 0 });
    const { data, response } = await anthropic.messages
      .create({ model: 'claude-x', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] })
      .withResponse();
    assert.equal((data.content[0] as { text: string }).text, 'hi there');
    for (const h of ['access-control-allow-origin', 'access-control-allow-credentials', 'access-control-expose-headers']) {
      assert.equal(response.headers.get(h), null, `${h} relayed from upstream`);
    }
    const openai = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: 'client-key', maxRetries: 0 });
    const chat = await openai.chat.completions.create({ model: 'gpt-x', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    assert.equal(chat.data.choices[0]!.message.content, 'hi there');
    assert.equal(chat.response.headers.get('access-control-allow-origin'), null);
    assert.equal(up.seen.length, 2);
  });

  it('a page-style text/plain POST carrying a foreign Origin is refused with 403 in the dialect; nothing reaches the upstream', async () => {
    const before = up.seen.length;
    for (const origin of ['https://evil.example', 'null', 'http://127.0.0.1:9', 'http://app.example:3001', 'http://app.example:3000.evil.example']) {
      const r = await raw(t.url, { path: '/v1/messages', headers: { 'content-type': 'text/plain;charset=UTF-8', origin }, body: MESSAGES });
      assert.equal(r.status, 403, `${origin}: ${r.body}`);
      const e = JSON.parse(r.body) as { type: string; error: { type: string; message: string } };
      assert.equal(e.type, 'error');
      assert.equal(e.error.type, 'permission_error');
      assert.match(e.error.message, /allowed_origins/);
      assert.equal(r.headers['access-control-allow-origin'], undefined);
      assert.equal(r.headers.connection, 'close');
    }
    // OpenAI dialect too: its SDK raises PermissionDeniedError
    const r = await raw(t.url, {
      path: '/v1/chat/completions',
      headers: { 'content-type': 'text/plain', origin: 'https://evil.example' },
      body: JSON.stringify({ model: 'gpt-x', messages: [{ role: 'user', content: 'x' }] }),
    });
    assert.equal(r.status, 403);
    assert.equal((JSON.parse(r.body) as { error: { type: string } }).error.type, 'permission_error');
    assert.equal(up.seen.length, before);
  });

  it('Sec-Fetch-Site without Origin (a no-cors GET, a form) is refused unless it is "none" (typed by the user)', async () => {
    const before = up.seen.length;
    for (const site of ['cross-site', 'same-site', 'same-origin']) {
      const r = await raw(t.url, { method: 'GET', path: '/v1/models', headers: { 'sec-fetch-site': site } });
      assert.equal(r.status, 403, site);
      const p = await raw(t.url, { path: '/v1/messages', headers: { 'sec-fetch-site': site, 'content-type': 'application/x-www-form-urlencoded' }, body: MESSAGES });
      assert.equal(p.status, 403, site);
    }
    const typed = await raw(t.url, { method: 'GET', path: '/v1/models', headers: { 'sec-fetch-site': 'none' } });
    assert.equal(typed.status, 200);
    assert.equal(up.seen.length, before);
  });

  it('a preflight from a foreign origin gets no CORS grant', async () => {
    const r = await raw(t.url, {
      method: 'OPTIONS',
      path: '/v1/messages',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-api-key' },
    });
    assert.equal(r.status, 403);
    assert.deepEqual(Object.keys(r.headers).filter((k) => k.startsWith('access-control-')), []);
  });

  it('DNS rebinding: a foreign Host is refused with 421 before anything is read; loopback names with any port pass', async () => {
    const before = up.seen.length;
    for (const host of [`rebind.example:${port}`, 'rebind.example', `127.0.0.1.evil.example:${port}`, `localhost.evil.example:${port}`, `[::2]:${port}`, `127.0.0.1:${port}@evil`]) {
      const r = await raw(t.url, { path: '/v1/messages', headers: { host, 'content-type': 'application/json' }, body: MESSAGES });
      assert.equal(r.status, 421, host);
      assert.match((JSON.parse(r.body) as { error: { message: string } }).error.message, /loopback/);
    }
    assert.equal(up.seen.length, before);
    for (const host of [`localhost:${port}`, `LOCALHOST:${port}`, `127.0.0.1:${port}`, '127.0.0.1', `127.1.2.3:80`, `[::1]:${port}`]) {
      const r = await raw(t.url, { path: '/v1/messages', headers: { host, 'content-type': 'application/json' }, body: MESSAGES });
      assert.equal(r.status, 200, `${host}: ${r.body}`);
    }
  });

  it('an allowed origin: preflight answered here, the answer carries router67\'s own grant (not the upstream\'s)', async () => {
    const pre = await raw(t.url, {
      method: 'OPTIONS',
      path: '/v1/messages',
      headers: {
        origin: ALLOWED,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,x-api-key,anthropic-version',
        'access-control-request-private-network': 'true',
      },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers['access-control-allow-origin'], ALLOWED);
    assert.equal(pre.headers['access-control-allow-headers'], 'content-type,x-api-key,anthropic-version');
    assert.match(String(pre.headers['access-control-allow-methods']), /POST/);
    assert.equal(pre.headers['access-control-allow-private-network'], 'true');
    assert.equal(pre.headers['access-control-allow-credentials'], undefined);
    const before = up.seen.length;
    const r = await raw(t.url, { path: '/v1/messages', headers: { origin: ALLOWED, 'content-type': 'application/json', 'sec-fetch-site': 'cross-site' }, body: MESSAGES });
    assert.equal(r.status, 200, r.body);
    assert.equal(r.headers['access-control-allow-origin'], ALLOWED);
    assert.equal(r.headers['access-control-allow-credentials'], undefined);
    assert.equal(r.headers['access-control-expose-headers'], '*');
    assert.equal(up.seen.length, before + 1);
    // errors are readable by the allowed page too
    const e = await raw(t.url, { path: '/v1/messages', headers: { origin: ALLOWED, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'nope' }) });
    assert.equal(e.status, 404);
    assert.equal(e.headers['access-control-allow-origin'], ALLOWED);
  });

  it('a malformed percent-escape is a 400 in the client\'s dialect, never a 500', async () => {
    const before = up.seen.length;
    const a = await raw(t.url, { path: '/v1/messages/%zz', headers: { 'content-type': 'application/json' }, body: MESSAGES });
    assert.equal(a.status, 400, a.body);
    assert.equal((JSON.parse(a.body) as { error: { type: string } }).error.type, 'invalid_request_error');
    assert.match(a.body, /percent-escape/);
    const b = await raw(t.url, { method: 'GET', path: '/v1/models/%E0%A4%A' });
    assert.equal(b.status, 400, b.body);
    assert.equal((JSON.parse(b.body) as { error: { type: string } }).error.type, 'invalid_request_error');
    const c = await raw(t.url, { path: '/api/chat%', headers: { 'content-type': 'application/json' }, body: '{"model":"claude-x"}' });
    assert.equal(c.status, 400);
    assert.equal(typeof (JSON.parse(c.body) as { error: string }).error, 'string'); // Ollama's envelope
    // a well-formed escape still works
    const d = await raw(t.url, { method: 'GET', path: '/v1/models/claude%2Dx' });
    assert.equal(d.status, 200, d.body);
    assert.equal(up.seen.length, before);
  });

  it('dot segments, literal or encoded, never reach the provider', async () => {
    const before = up.seen.length;
    for (const path of ['/v1/../../admin', '/v1/messages/..', '/v1/%2e%2e/%2E%2E/admin', '/v1/.%2e/x', '/v1/..%2f..%2fadmin', '/v1/..%5cadmin', '/v1/./messages', '/v1\\..\\admin']) {
      const r = await raw(t.url, { path, headers: { 'content-type': 'application/json' }, body: MESSAGES });
      assert.equal(r.status, 400, `${path}: ${r.body}`);
      assert.match(r.body, /segment|percent-escape/);
    }
    assert.equal(up.seen.length, before);
    // a dot inside a segment is not a dot segment; query strings are not paths
    const r = await raw(t.url, { path: '/v1/messages?x=/../..', headers: { 'content-type': 'application/json' }, body: MESSAGES });
    assert.equal(r.status, 200, r.body);
    assert.equal(up.seen.at(-1)!.path, '/v1/messages?x=/../..');
  });

  it('the upstream URL never climbs out of the provider\'s base path', () => {
    assert.equal(upstreamTarget('http://h/base/v1', '/v1/../../../etc/passwd').path, '/base/v1/etc/passwd');
    assert.equal(upstreamTarget('http://h/base', '/v1/%2E%2E/%2e%2e/x?q=/../').path, '/base/x?q=/../');
    assert.equal(upstreamTarget('http://h/base', '/v1/.%2E/./y').path, '/base/y');
    assert.equal(upstreamTarget('http://h/base/v1', '/v1/chat/completions').path, '/base/v1/chat/completions');
    assert.equal(upstreamTarget('http://h/base', '/v1/models/gpt-4.1%2Fx').path, '/base/v1/models/gpt-4.1%2Fx');
    assert.equal(withoutDotSegments('/a/b/..'), '/a/');
    assert.equal(withoutDotSegments('/..'), '/');
    assert.equal(pathProblem('/v1/messages'), undefined);
    assert.equal(pathProblem('/v1/models/gpt-4.1?x=..'), undefined);
    assert.match(pathProblem('/v1/%2e%2e/x') ?? '', /"\.\." segment/);
  });

  it('the Host check: loopback, the configured http_listen host, and with allow_non_loopback any IP literal', () => {
    const d = t.core.config.daemon;
    assert.equal(hostAllowed('127.0.67.1:443', d), true);
    assert.equal(hostAllowed('[::ffff:127.0.0.1]:1', d), true);
    assert.equal(hostAllowed('localhost:x', d), false);
    assert.equal(hostAllowed('192.168.1.5:6767', d), false);
    const lan = parseConfig('[daemon]\nhttp_listen = "192.168.1.5:6767"\nallow_non_loopback = true\n', 'x.toml').daemon;
    assert.equal(hostAllowed('192.168.1.5:6767', lan), true);
    assert.equal(hostAllowed('192.168.1.6:6767', lan), true); // --listen may have bound another address; an IP literal is no rebound name
    assert.equal(hostAllowed('rebind.example:6767', lan), false);
    const any = parseConfig('[daemon]\nhttp_listen = "0.0.0.0:6767"\nallow_non_loopback = true\n', 'x.toml').daemon;
    assert.equal(hostAllowed('10.1.2.3:6767', any), true);
    assert.equal(hostAllowed('[fe80::1]:6767', any), true);
    assert.equal(hostAllowed('rebind.example:6767', any), false);
    const named = parseConfig('[daemon]\nhttp_listen = "MyBox.lan:6767"\nallow_non_loopback = true\n', 'x.toml').daemon;
    assert.equal(hostAllowed('mybox.lan:6767', named), true);
  });

  it('allowed_origins refuses wildcards and anything that is not an origin, with a clear error', () => {
    for (const [o, re] of [
      ['*', /any web page/],
      ['null', /any web page/],
      ['https://chat.example.com/path', /scheme:\/\/host\[:port\]/],
      ['chat.example.com', /scheme:\/\/host/],
      ['https://user@chat.example.com', /scheme:\/\/host/],
    ] as const) {
      assert.throws(
        () => parseConfig(`[daemon]\nallowed_origins = ["${o}"]\n`, 'x.toml'),
        (e: unknown) => e instanceof ConfigError && re.test(e.message) && /daemon\.allowed_origins/.test(e.message),
        o,
      );
    }
    assert.deepEqual(parseConfig('[daemon]\nallowed_origins = ["chrome-extension://ABCDEF"]\n', 'x.toml').daemon.allowed_origins, ['chrome-extension://abcdef']);
  });
});

describe('the TLS listener, attacked from a page calling https://api.anthropic.com', () => {
  let up: Awaited<ReturnType<typeof corsGrantingUpstream>>;
  let t: TestCore;
  let ic: Interceptor;
  let ca: string;
  let port: number;

  const post = (headers: Record<string, string>, body = MESSAGES, path = '/v1/messages'): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const req = httpsRequest(
        { host: '127.0.0.1', port, servername: 'api.anthropic.com', ca, method: 'POST', path, headers: { host: 'api.anthropic.com', ...headers }, agent: false, timeout: 5000 },
        (res) => {
          let data = '';
          res.on('data', (d) => (data += d));
          res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: data }));
        },
      );
      req.on('error', reject);
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.end(body);
    });

  before(async () => {
    up = await corsGrantingUpstream();
    t = await startCore(`intercept_hosts = ["api.anthropic.com"]\n` + config(up.url));
    const hostsPath = join(t.home, 'hosts');
    writeFileSync(hostsPath, '127.0.0.1 localhost\n');
    ca = ensureCa(t.home, ['api.anthropic.com']).ca.certPem;
    ic = new Interceptor(t.core, { hostsPath, bind: '127.0.0.1:0' });
    await ic.start();
    port = ic.address!.port;
  });
  after(async () => {
    await ic?.stop().catch(() => {});
    await t?.stop();
    await up?.close();
  });

  it('a client without Origin (no key of its own) is served with the provider key; no upstream CORS grant relayed', async () => {
    const r = await post({ 'content-type': 'application/json' });
    assert.equal(r.status, 200, r.body);
    assert.equal(up.seen.at(-1)!.headers['x-api-key'], 'sk-user-secret');
    assert.equal(r.headers['access-control-allow-origin'], undefined);
    assert.equal(r.headers['access-control-allow-credentials'], undefined);
  });

  it('a page\'s request (Origin, Sec-Fetch-Site) is refused with 403 before the key is attached', async () => {
    const before = up.seen.length;
    const a = await post({ 'content-type': 'text/plain;charset=UTF-8', origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' });
    assert.equal(a.status, 403, a.body);
    assert.equal((JSON.parse(a.body) as { error: { type: string } }).error.type, 'permission_error');
    assert.equal(a.headers['access-control-allow-origin'], undefined);
    const b = await post({ 'content-type': 'text/plain', 'sec-fetch-site': 'cross-site' });
    assert.equal(b.status, 403);
    assert.equal(up.seen.length, before);
    const c = await post({ 'content-type': 'application/json', origin: 'https://chat.example.com' });
    assert.equal(c.status, 200, c.body);
    assert.equal(c.headers['access-control-allow-origin'], 'https://chat.example.com');
  });
});

describe('the admin endpoint answers every request', () => {
  let t: TestCore;
  before(async () => {
    t = await startCore('');
  });
  after(async () => {
    await t?.stop();
  });

  it('a malformed session cookie gets 401, not a hang; a path that is no URL gets an answer too', async () => {
    const base = t.core.admin!.url;
    for (const cookie of ['router67_session=%E0%A4%A', 'router67_session=%', 'a=1; router67_session=%zz%']) {
      const r = await raw(base, { method: 'GET', path: '/api/status', headers: { cookie } });
      assert.equal(r.status, 401, cookie);
    }
    const ok = await raw(base, { method: 'GET', path: '/api/status', headers: { cookie: 'router67_session=%', authorization: `Bearer ${t.core.admin!.token}` } });
    assert.equal(ok.status, 200);
    for (const path of ['//a:b', '//[::1', '/%']) {
      const r = await raw(base, { method: 'GET', path });
      assert.ok(r.status >= 400 && r.status < 500, `${path}: ${r.status}`);
    }
  });
});

describe('numeric host names are never intercepted', () => {
  const IPS = ['127.0.0.1', '10.0.0.1', 'api.anthropic.123'];

  it('config: intercept_hosts refuses an IP address with a clear error', () => {
    for (const h of IPS) {
      assert.throws(
        () => parseConfig(`intercept_hosts = ["api.anthropic.com", "${h}"]\n`, 'x.toml'),
        (e: unknown) => e instanceof ConfigError && /intercept_hosts\[1\]/.test(e.message) && /IP address/.test(e.message),
        h,
      );
    }
    assert.deepEqual(parseConfig('intercept_hosts = ["api.anthropic.com", "openrouter.ai"]\n', 'x.toml').intercept_hosts, ['api.anthropic.com', 'openrouter.ai']);
  });

  it('helper: apply-hosts refuses it', () => {
    for (const h of IPS) {
      assert.throws(() => validate('apply-hosts', { ip: '127.0.67.1', hosts: ['api.anthropic.com', h], owner: { pid: 1 } }), /IP address/, h);
    }
    assert.throws(() => renderBlock({ ip: '127.0.67.1', hosts: ['127.0.0.1'], owner: { pid: 1 } }, '\n'), /IP address/);
  });

  it('CA: neither a constrained root nor a leaf for it', async () => {
    for (const h of IPS) assert.throws(() => createCa(['api.anthropic.com', h]), /IP address/, h);
    const { certPem, keyPem } = createCa(['api.anthropic.com']);
    const { parseCa } = await import('../../main/tls/ca.js');
    const store = await LeafCertStore.create(parseCa(certPem, keyPem), ['api.anthropic.com']);
    assert.throws(() => store.setHosts(['api.anthropic.com', '127.0.0.1']), /IP address/);
    assert.equal(store.intercepts('127.0.0.1'), false);
    assert.equal(store.intercepts('api.anthropic.com'), true);
  });
});
