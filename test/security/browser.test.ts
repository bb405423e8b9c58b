// Issue 9 in a real browser (Debian's Chromium via playwright-core): a page the user visits tries to spend the
// user's keys through the plain endpoint — a "simple" text/plain POST, a no-cors fetch, a preflighted fetch, a
// form, and DNS rebinding (a name that resolves to 127.0.0.1). Every attempt reaches router67 and is refused; the
// upstream never hears of it. A page from an origin listed in [daemon] allowed_origins works and can read the answer.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import type { BrowserContext, Page } from 'playwright-core';
import { startCore, provider, type TestCore } from '../helpers/core.js';
import { startMockUpstream, type MockUpstream } from '../helpers/mock-upstream.js';
import { CHROMIUM, launchProfile } from '../helpers/browser.js';


/** A site serving one empty page: where the attacker's (or the allowed app's) script runs. */
async function site(): Promise<{ origin: string; close(): Promise<void> }> {
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>a web page</title><p>hello</p>');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const BODY = JSON.stringify({ model: 'claude-x', max_tokens: 5, messages: [{ role: 'user', content: 'spend the key' }] });

describe('web pages against the plain endpoint, in Chromium', { skip: !existsSync(CHROMIUM) && `no Chromium at ${CHROMIUM}` }, () => {
  let up: MockUpstream;
  let evil: Awaited<ReturnType<typeof site>>;
  let app: Awaited<ReturnType<typeof site>>;
  let t: TestCore;
  let ctx: BrowserContext;
  let page: Page;
  let profile: string;
  /** Every request router67's plain endpoint received, with the status it answered. */
  const seen: { url: string; method: string; status: number }[] = [];

  before(async () => {
    [up, evil, app] = await Promise.all([startMockUpstream('mock'), site(), site()]);
    t = await startCore(`[daemon]\nallowed_origins = ["${app.origin}"]\n` + provider('mock', up.url, { 'claude-x': 'mock-claude' }, 'format = "anthropic"'));
    profile = mkdtempSync(join(tmpdir(), 'r67-chromium-sec-'));
    ctx = await launchProfile(profile, { args: ['--host-resolver-rules=MAP rebind.test 127.0.0.1'] });
    page = ctx.pages()[0] ?? (await ctx.newPage());
    page.setDefaultTimeout(10_000);
    // The listener's own view (Playwright does not report preflights or every no-cors request).
    const server = (t.core as unknown as { server: Server }).server;
    server.on('request', (req: IncomingMessage, res: ServerResponse) =>
      res.on('finish', () => seen.push({ url: `${t.url}${req.url}`, method: req.method ?? '', status: res.statusCode })),
    );
  });

  after(async () => {
    await ctx?.close();
    await t?.stop();
    await Promise.all([up?.close(), evil?.close(), app?.close()]);
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('a foreign page: simple text/plain POST, no-cors fetch, preflighted fetch and a form are refused; the upstream gets nothing', async () => {
    await page.goto(`${evil.origin}/`);
    const target = `${t.url}/v1/messages`;
    const results = await page.evaluate(
      async ({ target, body }) => {
        const out: Record<string, string> = {};
        // 1. the "simple" request: no preflight; the browser sends it and only hides the answer
        out.simple = await fetch(target, { method: 'POST', headers: { 'content-type': 'text/plain' }, body }).then(
          (r) => `read ${r.status}`,
          (e: Error) => `blocked ${e.name}`,
        );
        // 2. no-cors: sent, answer opaque
        out.noCors = await fetch(target, { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body }).then(
          (r) => `opaque=${r.type} status=${r.status}`,
          (e: Error) => `blocked ${e.name}`,
        );
        // 3. what an SDK in a page sends: JSON and an API key header, so a preflight first
        out.preflighted = await fetch(target, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': 'x', 'anthropic-version': '2023-06-01' },
          body,
        }).then(
          (r) => `read ${r.status}`,
          (e: Error) => `blocked ${e.name}`,
        );
        return out;
      },
      { target, body: BODY },
    );
    assert.equal(results.simple, 'blocked TypeError');
    assert.equal(results.noCors, 'opaque=opaque status=0');
    assert.equal(results.preflighted, 'blocked TypeError');

    // 4. a text/plain form whose field name carries the JSON: a top-level navigation the user would see
    const nav = page.waitForResponse((r) => r.url() === target);
    await page.evaluate(
      ({ target, body }) => {
        const d = (globalThis as unknown as { document: any }).document; // eslint-disable-line @typescript-eslint/no-explicit-any
        const f = d.createElement('form');
        f.method = 'POST';
        f.enctype = 'text/plain';
        f.action = target;
        const i = d.createElement('input');
        i.name = body.slice(0, -1) + ',"pad":"';
        i.value = '"}';
        f.appendChild(i);
        d.body.appendChild(f);
        f.submit();
      },
      { target, body: BODY },
    );
    const formAnswer = await nav;
    assert.equal(formAnswer.status(), 403);
    assert.match(await formAnswer.text(), /allowed_origins/);

    // Every attempt reached router67 and was refused there (403), the preflight included; none reached the upstream.
    const posts = seen.filter((s) => s.url === target);
    assert.deepEqual(
      posts.map((s) => `${s.method} ${s.status}`),
      ['POST 403', 'POST 403', 'OPTIONS 403', 'POST 403'],
    );
    assert.equal(up.requests.length, 0);
  });

  it('DNS rebinding: a page on a name that resolves to 127.0.0.1 (same origin as the endpoint) is refused by Host', async () => {
    seen.length = 0;
    const port = t.core.httpAddress.port;
    const r = await page.goto(`http://rebind.test:${port}/v1/models`);
    assert.equal(r?.status(), 421);
    const answer = await page.evaluate(async (body) => {
      const res = await fetch('/v1/messages', { method: 'POST', headers: { 'content-type': 'text/plain' }, body });
      return { status: res.status, text: await res.text() };
    }, BODY);
    assert.equal(answer.status, 421);
    assert.match(answer.text, /loopback host names/);
    assert.equal(up.requests.length, 0);
  });

  it('the same request from a non-browser client (the official SDK) works', async () => {
    const anthropic = new Anthropic({ baseURL: t.url, apiKey: 'client-key', maxRetries: 0 });
    const m = await anthropic.messages.create({ model: 'claude-x', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] });
    assert.equal((m.content[0] as { text: string }).text, 'Hello from mock!');
    assert.equal(up.requests.length, 1);
    assert.equal(up.requests[0]!.headers['x-api-key'], 'key-mock');
  });

  it('a page from an allowed origin gets the answer, with router67\'s CORS grant', async () => {
    seen.length = 0;
    await page.goto(`${app.origin}/`);
    const r = await page.evaluate(
      async ({ target, body }) => {
        const res = await fetch(target, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': 'x', 'anthropic-version': '2023-06-01' },
          body,
        });
        const j = (await res.json()) as { content: { text: string }[] };
        return { status: res.status, text: j.content[0]!.text, provider: res.headers.get('x-router67-provider') };
      },
      { target: `${t.url}/v1/messages`, body: BODY },
    );
    assert.deepEqual(r, { status: 200, text: 'Hello from mock!', provider: 'mock' });
    assert.deepEqual(
      seen.map((s) => `${s.method} ${s.status}`),
      ['OPTIONS 204', 'POST 200'],
    );
    assert.equal(up.requests.length, 2);
  });
});
