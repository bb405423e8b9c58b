// Routing rules end to end: the official SDKs through the daemon's core; each request lands on the provider its
// route names (checked at the mock upstreams), the log says which route, strategy and why; an unchanged config
// routes exactly as before; the admin API explains without sending.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, beforeEach, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { request } from 'undici';
import { provider, startCore, type TestCore } from '../helpers/core.js';
import { startMockUpstream, type MockUpstream } from '../helpers/mock-upstream.js';

const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

describe('[[routes]] through the official SDKs', () => {
  const names = ['main', 'bg', 'long', 'vision', 'reason'] as const;
  const ups = {} as Record<(typeof names)[number], MockUpstream>;
  let t: TestCore;
  let plain: TestCore;
  let anthropic: Anthropic;
  let openai: OpenAI;
  const providers = () =>
    provider('main', ups.main.url, { 'claude-sonnet-4-5': 'main-sonnet', 'claude-3-5-haiku-latest': 'main-haiku', 'gpt-x': 'main-gpt' }) +
      provider('bg', ups.bg.url, {}) +
      provider('long', ups.long.url, {}) +
      provider('vision', ups.vision.url, {}) +
      provider('reason', ups.reason.url, {});

  before(async () => {
    for (const n of names) ups[n] = await startMockUpstream(n);
    const daemon = `[daemon]\nretry_max = 0\nfirst_byte_timeout_ms = 5000\nrequest_timeout_ms = 20000\n`;
    t = await startCore(
      daemon +
        providers() +
        `
[[routes]]
name = "background"
match = { model = "claude-*-haiku-*" }
to = [{ provider = "bg", model = "bg-small" }, "main"]

[[routes]]
name = "long"
match = { min_input_tokens = 60000 }
to = ["long", { chain = "background" }]

[[routes]]
name = "images"
match = { has_images = true }
to = ["vision"]

[[routes]]
name = "thinking"
match = { thinking = true }
to = [{ provider = "reason", model = "reasoner" }, "main"]
strategy = "least-latency"
`,
    );
    // least-latency explores one request in ten: not in these checks (its own unit tests cover exploring)
    t.core.proxy.random = () => 0.5;
    plain = await startCore(daemon + providers());
    anthropic = new Anthropic({ baseURL: t.url, apiKey: 'client-key', maxRetries: 0 });
    openai = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: 'client-key', maxRetries: 0 });
  });
  after(async () => {
    await t.stop();
    await plain.stop();
    await Promise.all(names.map((n) => ups[n].close()));
  });
  beforeEach(() => {
    for (const n of names) {
      ups[n].mode = 'ok';
      ups[n].requests.length = 0;
    }
  });
  const only = (n: (typeof names)[number]) => {
    for (const m of names) assert.equal(ups[m].requests.length, m === n ? 1 : 0, `${m} got ${ups[m].requests.length} requests`);
    return ups[n].requests[0]!;
  };
  const last = (c = t) => c.core.log.recent(1)[0]!;

  it('a background-model request lands on the cheap provider, with the forced model', async () => {
    const msg = await anthropic.messages.create({ model: 'claude-3-5-haiku-latest', max_tokens: 20, messages: [{ role: 'user', content: 'title this' }] });
    assert.equal(msg.content[0]?.type === 'text' && msg.content[0].text, 'Hello from bg!');
    assert.equal(only('bg').json?.model, 'bg-small');
    const e = last();
    assert.equal(e.route, 'background');
    assert.equal(e.strategy, 'fallback');
    assert.deepEqual(
      e.attempts.map((a) => [a.provider, a.why]),
      [['bg', 'rule']],
    );
  });

  it('a failing route target falls through the rest of its chain', async () => {
    ups.bg.mode = '500';
    const msg = await anthropic.messages.create({ model: 'claude-3-5-haiku-latest', max_tokens: 20, messages: [{ role: 'user', content: 'x' }] });
    assert.equal(msg.content[0]?.type === 'text' && msg.content[0].text, 'Hello from main!');
    assert.equal(ups.main.requests[0]?.json?.model, 'main-haiku');
    assert.deepEqual(
      last().attempts.map((a) => [a.provider, a.status, a.why]),
      [
        ['bg', 500, 'rule'],
        ['main', 200, 'rule'],
      ],
    );
  });

  it('a long request (> 60k estimated tokens) lands on the long-context provider', async () => {
    const text = 'lorem ipsum dolor sit amet '.repeat(8000); // ~216k characters
    await anthropic.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 20, messages: [{ role: 'user', content: text }] });
    assert.equal(only('long').json?.model, 'claude-sonnet-4-5', 'no mapping on "long": the requested name');
    assert.equal(last().route, 'long');
  });

  it('an image request lands on the vision provider (Anthropic and OpenAI SDKs)', async () => {
    await anthropic.messages.create({
      model: 'claude-sonnet-4-5',
      max_tokens: 20,
      messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } }, { type: 'text', text: 'what is it?' }] }],
    });
    only('vision');
    assert.equal(last().route, 'images');
    ups.vision.requests.length = 0;
    await openai.chat.completions.create({
      model: 'gpt-x',
      messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } }, { type: 'text', text: 'what?' }] }],
    });
    assert.equal(only('vision').path, '/v1/chat/completions');
  });

  it('a thinking request lands on the reasoning provider', async () => {
    await anthropic.messages.create({
      model: 'claude-sonnet-4-5',
      max_tokens: 4000,
      thinking: { type: 'enabled', budget_tokens: 2048 },
      messages: [{ role: 'user', content: 'think' }],
    });
    assert.equal(only('reason').json?.model, 'reasoner');
    const e = last();
    assert.equal(e.route, 'thinking');
    assert.equal(e.strategy, 'least-latency');
    assert.match(e.attempts[0]!.why ?? '', /latency|exploring/);
    ups.reason.requests.length = 0;
    await openai.chat.completions.create({ model: 'gpt-x', reasoning_effort: 'high', messages: [{ role: 'user', content: 'think' }] });
    assert.equal(ups.reason.requests.length + ups.main.requests.length, 1);
    assert.equal(last().route, 'thinking');
  });

  it('a request no route matches routes as before', async () => {
    await anthropic.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(only('main').json?.model, 'main-sonnet');
    assert.equal(last().route, undefined);
  });

  it('an unchanged config (no [[routes]]) routes exactly as before', async () => {
    const client = new Anthropic({ baseURL: plain.url, apiKey: 'client-key', maxRetries: 0 });
    await client.messages.create({ model: 'claude-3-5-haiku-latest', max_tokens: 20, messages: [{ role: 'user', content: 'title this' }] });
    assert.equal(only('main').json?.model, 'main-haiku');
    const e = last(plain);
    assert.equal(e.route, undefined);
    assert.equal(e.strategy, undefined);
    assert.equal(e.attempts[0]!.why, undefined);
    ups.main.requests.length = 0;
    await client.messages.create({
      model: 'claude-sonnet-4-5',
      max_tokens: 4000,
      thinking: { type: 'enabled', budget_tokens: 2048 },
      messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } }] }],
    });
    assert.equal(only('main').json?.model, 'main-sonnet');
  });

  it('the admin API explains a request without sending it', async () => {
    const token = readFileSync(t.core.paths.adminToken, 'utf8').trim();
    const ask = async (input: unknown, auth = true) => {
      const r = await request(`${t.core.admin!.url}/api/route/explain`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(auth ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify(input),
      });
      return { status: r.statusCode, body: (await r.body.json()) as Record<string, unknown> };
    };
    const r = await ask({ body: { model: 'claude-3-5-haiku-latest', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] } });
    assert.equal(r.status, 200);
    assert.equal(r.body.route, 'background');
    const targets = r.body.targets as { provider: string; model: string; why: string; state: string }[];
    assert.deepEqual(
      targets.map((x) => [x.provider, x.model, x.why]),
      [
        ['bg', 'bg-small', 'rule'],
        ['main', 'main-haiku', 'rule'],
      ],
    );
    assert.match(targets[0]!.state, /^ready, ttfb \d+ ms/, 'bg was used by the tests above');
    for (const n of names) assert.equal(ups[n].requests.length, 0, 'nothing sent');
    assert.equal((await ask({ body: { model: 'm' } }, false)).status, 401);
    assert.equal((await ask({ body: { nomodel: 1 } })).status, 400);
  });
});
