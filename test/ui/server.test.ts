// The daemon's window endpoint at the HTTP level, against a real Core: the token link, the session cookie,
// loopback-only Host values (DNS rebinding), no CORS grants, same-origin writes, input parsing, SSE.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { readFileSync } from 'node:fs';
import { attachUi, type AttachedUi } from '../../main/ui/attach.js';
import { UI_COOKIE } from '../../main/ui/server.js';
import { provider, startCore, type TestCore } from '../helpers/core.js';

interface Res {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function req(base: string, path: string, o: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Res> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const r = httpRequest(
      { host: u.hostname, port: u.port, path, method: o.method ?? 'GET', headers: { host: u.host, ...o.headers }, timeout: 5000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    r.on('timeout', () => r.destroy(new Error('timeout')));
    r.on('error', reject);
    if (o.body) r.write(o.body);
    r.end();
  });
}

function noCors(r: Res): void {
  for (const h of Object.keys(r.headers)) assert.ok(!h.startsWith('access-control-'), `no CORS header (${h})`);
}

describe('the daemon window endpoint', () => {
  let t: TestCore;
  let ui: AttachedUi;
  let base: string;
  let token: string;
  let cookie: string;

  before(async () => {
    t = await startCore(`# keep me\n${provider('alpha', 'http://127.0.0.1:9', { m: 'alpha-m' })}`);
    ui = attachUi(t.core, { app: 'daemon', caCheck: false });
    base = t.core.admin!.url;
    token = readFileSync(t.core.paths.adminToken, 'utf8').trim();
  });
  after(async () => t.stop());

  it('prints a ready link with the token from the home folder', () => {
    assert.equal(ui.link, `${base}/?token=${token}`);
  });

  it('the link sets an HttpOnly SameSite=Strict session cookie and redirects without the token', async () => {
    const r = await req(base, `/?token=${token}`);
    assert.equal(r.status, 303);
    assert.equal(r.headers.location, '/');
    const set = String(r.headers['set-cookie']);
    assert.match(set, new RegExp(`^${UI_COOKIE}=[0-9a-f]{64}; HttpOnly; SameSite=Strict; Path=/$`));
    assert.ok(!set.includes(token), 'the cookie is a session id, not the admin token');
    assert.equal(r.headers['referrer-policy'], 'no-referrer');
    cookie = set.split(';')[0]!;
    const page = await req(base, '/', { headers: { cookie } });
    assert.equal(page.status, 200);
    assert.match(page.body, /<script type="module" src="app\.js"><\/script>/);
    assert.match(String(page.headers['content-security-policy']), /script-src 'self';/);
    assert.equal(page.headers['x-frame-options'], 'DENY');
    const js = await req(base, '/app.js', { headers: { cookie } });
    assert.equal(js.status, 200);
    assert.match(String(js.headers['content-type']), /^text\/javascript/);
  });

  it('refuses a missing or wrong token or cookie', async () => {
    for (const [path, headers] of [
      ['/', {}],
      ['/?token=', {}],
      [`/?token=${token.slice(0, -1)}x`, {}],
      ['/', { cookie: `${UI_COOKIE}=${'0'.repeat(64)}` }],
      ['/', { cookie: `router67_session=${token}` }],
      ['/app.js', {}],
      ['/api/ui/status', {}],
      ['/api/ui/config', { authorization: `Bearer ${token}x` }],
      ['/api/ui/log', { cookie: `${UI_COOKIE}=${token}` }],
      ['/api/ui/events', {}],
    ] as [string, Record<string, string>][]) {
      const r = await req(base, path, { headers });
      assert.equal(r.status, 401, `${path} ${JSON.stringify(headers)}`);
      assert.equal(r.headers['set-cookie'], undefined);
      assert.ok(!r.body.includes('alpha'), 'nothing of the config leaks');
    }
    const ok = await req(base, '/api/ui/status', { headers: { authorization: `Bearer ${token}` } });
    assert.equal(ok.status, 200);
    assert.equal(JSON.parse(ok.body).app, 'daemon');
  });

  it('accepts only loopback Host values (DNS rebinding), even with the token', async () => {
    const port = new URL(base).port;
    for (const host of [`evil.example:${port}`, `127.0.0.1.nip.io:${port}`, `localhost.evil.example:${port}`, `10.0.0.5:${port}`, `[::2]:${port}`]) {
      const r = await req(base, `/?token=${token}`, { headers: { host } });
      assert.equal(r.status, 403, host);
      assert.equal(r.headers['set-cookie'], undefined, host);
      const api = await req(base, '/api/ui/config', { headers: { host, authorization: `Bearer ${token}` } });
      assert.ok(api.status === 403 || api.status === 400, host);
      assert.ok(!api.body.includes('alpha'), host);
    }
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`]) {
      assert.equal((await req(base, '/api/ui/status', { headers: { host, cookie } })).status, 200, host);
    }
  });

  it('sends no CORS grant, not even to a preflight', async () => {
    const pre = await req(base, '/api/ui/config', {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'PUT', 'access-control-request-headers': 'content-type,x-router67' },
    });
    noCors(pre);
    assert.notEqual(pre.status, 204);
    noCors(await req(base, '/api/ui/status', { headers: { cookie, origin: 'https://evil.example' } }));
    noCors(await req(base, `/?token=${token}`, { headers: { origin: 'https://evil.example' } }));
  });

  it('writes need our header and, when sent, a same-origin Origin; nothing is written otherwise', async () => {
    const before = readFileSync(t.configPath, 'utf8');
    const st = JSON.parse((await req(base, '/api/ui/config', { headers: { cookie } })).body);
    const draft = { revision: st.revision, intercept_hosts: st.intercept_hosts, providers: [] };
    const json = { 'content-type': 'application/json' };
    const cases: [Record<string, string>, number][] = [
      [{ cookie, ...json }, 403], // no x-router67
      [{ cookie, ...json, 'x-router67': '1', origin: 'https://evil.example' }, 403],
      [{ cookie, ...json, 'x-router67': '1', origin: 'null' }, 403],
      [{ cookie, ...json, 'x-router67': '1', 'sec-fetch-site': 'cross-site' }, 403],
      [{ cookie, ...json, 'x-router67': '1', 'sec-fetch-site': 'same-site' }, 403],
      [{ cookie, 'content-type': 'text/plain', 'x-router67': '1' }, 415],
      [{ 'content-type': 'application/json', 'x-router67': '1' }, 401],
    ];
    for (const [headers, status] of cases) {
      const r = await req(base, '/api/ui/config', { method: 'PUT', headers, body: JSON.stringify(draft) });
      assert.equal(r.status, status, JSON.stringify(headers));
    }
    // malformed bodies
    for (const body of ['{', JSON.stringify({ ...draft, extra: true }), JSON.stringify({ ...draft, providers: 'x' })]) {
      const r = await req(base, '/api/ui/config', { method: 'PUT', headers: { cookie, ...json, 'x-router67': '1' }, body });
      assert.equal(r.status, 400, body.slice(0, 60));
    }
    const big = await req(base, '/api/ui/config', { method: 'PUT', headers: { cookie, ...json, 'x-router67': '1' }, body: 'x'.repeat(5 * 1024 * 1024) });
    assert.ok(big.status === 413 || big.status === 0, `got ${big.status}`);
    assert.equal(readFileSync(t.configPath, 'utf8'), before);
    // the same write from our page goes through
    const ok = await req(base, '/api/ui/config', {
      method: 'PUT',
      headers: { cookie, ...json, 'x-router67': '1', origin: base, 'sec-fetch-site': 'same-origin' },
      body: JSON.stringify(st.providers.length ? { ...draft, providers: st.providers.map(({ ...p }) => p) } : draft),
    });
    assert.equal(ok.status, 200, ok.body);
    assert.equal(JSON.parse(ok.body).ok, true);
    assert.equal(readFileSync(t.configPath, 'utf8'), before, 'an unchanged draft writes the same bytes');
  });

  it('Resend to…: input checked with zod, a cross-site write refused, and a request without a logged body says why', async () => {
    const json = { 'content-type': 'application/json', 'x-router67': '1' };
    // a 404 router67 answered itself (no body logged: log_bodies is off here)
    const miss = await fetch(`${t.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model":"nope","messages":[]}' });
    assert.equal(miss.status, 404);
    const entry = t.core.log.recent(1)[0]!;
    assert.equal(entry.model, 'nope');
    assert.equal(entry.local, true, 'the 404 is a log entry');
    assert.equal(entry.status, 404);
    for (const body of [{ id: entry.id }, { id: entry.id, provider: 'alpha', model: 'm', extra: 1 }, { id: '../x', provider: 'alpha', model: 'm' }, { id: entry.id, provider: '', model: 'm' }]) {
      const r = await req(base, '/api/ui/log/resend', { method: 'POST', headers: { cookie, ...json }, body: JSON.stringify(body) });
      assert.equal(r.status, 400, JSON.stringify(body));
    }
    const cross = await req(base, '/api/ui/log/resend', { method: 'POST', headers: { cookie, ...json, origin: 'https://evil.example' }, body: JSON.stringify({ id: entry.id, provider: 'alpha', model: 'm' }) });
    assert.equal(cross.status, 403);
    const r = await req(base, '/api/ui/log/resend', { method: 'POST', headers: { cookie, ...json }, body: JSON.stringify({ id: entry.id, provider: 'alpha', model: 'm' }) });
    assert.equal(r.status, 200);
    const out = JSON.parse(r.body) as { ok: boolean; message: string };
    assert.equal(out.ok, false);
    assert.match(out.message, /body was not logged.*log_bodies/);
  });

  it('static files stay inside the page folder', async () => {
    for (const p of ['/../package.json.js', '/%2e%2e/%2e%2e/package.json', '/..%2f..%2fmain%2fui%2fserver.js', '/views/../../main/ui/server.js']) {
      const r = await req(base, p, { headers: { cookie } });
      assert.ok(r.status === 404 || r.status === 400, `${p} -> ${r.status}`);
    }
    assert.equal((await req(base, '/views/log.js', { headers: { cookie } })).status, 200);
  });

  it('streams live events over SSE', async () => {
    const u = new URL(base);
    const got: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const r = httpRequest({ host: u.hostname, port: u.port, path: '/api/ui/events', headers: { cookie } }, (res) => {
        assert.equal(res.statusCode, 200);
        assert.match(String(res.headers['content-type']), /^text\/event-stream/);
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          got.push(c);
          if (got.join('').includes('event: log')) {
            r.destroy();
            resolve();
          }
        });
        const e = t.core.log.begin({ dialect: 'openai', method: 'POST', path: '/v1/chat/completions', stream: false, model: 'm' });
        t.core.log.finish(e);
      });
      r.on('error', (e) => (got.join('').includes('event: log') ? resolve() : reject(e)));
      r.end();
      setTimeout(() => reject(new Error('no event within 5 s')), 5000).unref();
    });
    const frame = got.join('').split('\n\n').find((f) => f.startsWith('event: log'))!;
    const entry = JSON.parse(frame.split('\n')[1]!.slice('data: '.length));
    assert.equal(entry.model, 'm');
    assert.equal(entry.requestHeaders, undefined, 'rows carry no headers');
  });
});
