// The official SDKs, through the router, to local upstreams that speak the real wire formats.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { request } from 'undici';
import { eventually, provider, startCore, type TestCore } from '../helpers/core.js';
import { startMockUpstream, type MockUpstream } from '../helpers/mock-upstream.js';

describe('routing through the official SDKs', () => {
  let a: MockUpstream, b: MockUpstream, c: MockUpstream;
  let t: TestCore;
  let anthropic: Anthropic;
  let openai: OpenAI;

  before(async () => {
    a = await startMockUpstream('alpha');
    b = await startMockUpstream('beta');
    c = await startMockUpstream('gamma');
    t = await startCore(
      `intercept_hosts = ["api.anthropic.com"]
[daemon]
first_byte_timeout_ms = 2000
request_timeout_ms = 10000
retry_max = 0 # the chain itself here; retries on one target: test/health/retry.test.ts
` +
        provider('alpha', a.url, { 'claude-x': 'alpha-claude', 'gpt-x': 'alpha-gpt' }, 'extra_headers = { "anthropic-version" = "2023-06-01", "x-extra" = "yes" }') +
        provider('beta', `${b.url}/v1`, { 'claude-x': 'beta-claude', 'gpt-x': 'beta-gpt' }) +
        provider('gamma', b.url.replace(/\d+$/, '1'), { 'only-dead': 'nothing' }) +
        provider('delta', c.url, { 'only-dead': 'delta-model' }),
    );
    anthropic = new Anthropic({ baseURL: t.url, apiKey: 'client-key-must-not-leak', maxRetries: 0 });
    openai = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: 'client-key-must-not-leak', maxRetries: 0 });
  });
  after(async () => {
    await t.stop();
    await Promise.all([a.close(), b.close(), c.close()]);
  });
  beforeEach(() => {
    for (const m of [a, b, c]) {
      m.mode = 'ok';
      m.requests.length = 0;
    }
    t.core.proxy.health.reset();
  });

  it('routes to the first provider, rewrites only the model, swaps the credentials', async () => {
    const msg = await anthropic.messages.create({ model: 'claude-x', max_tokens: 50, messages: [{ role: 'user', content: 'héllo "quoted" \\ {braces}' }] });
    assert.equal(msg.content[0]?.type === 'text' && msg.content[0].text, 'Hello from alpha!');
    assert.equal(a.requests.length, 1);
    const r = a.requests[0]!;
    assert.equal(r.path, '/v1/messages');
    assert.equal(r.json?.model, 'alpha-claude');
    assert.equal(r.headers['x-api-key'], 'key-alpha');
    assert.equal(r.headers['x-extra'], 'yes');
    assert.equal(r.headers.authorization, undefined);
    // byte-for-byte: the client's body with only the model value replaced
    const sent = r.body.toString('utf8').replace('"alpha-claude"', '"claude-x"');
    assert.deepEqual(JSON.parse(sent), { model: 'claude-x', max_tokens: 50, messages: [{ role: 'user', content: 'héllo "quoted" \\ {braces}' }] });
    assert.equal(b.requests.length, 0);
  });

  it('adds x-router67-provider and x-router67-model headers', async () => {
    const { response } = await anthropic.messages.create({ model: 'claude-x', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    assert.equal(response.headers.get('x-router67-provider'), 'alpha');
    assert.equal(response.headers.get('x-router67-model'), 'alpha-claude');
  });

  it('falls through on 429, remembers Retry-After, and skips the provider while it cools down', async () => {
    a.mode = '429';
    const { data, response } = await anthropic.messages.create({ model: 'claude-x', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    assert.equal(data.content[0]?.type === 'text' && data.content[0].text, 'Hello from beta!');
    assert.equal(response.headers.get('x-router67-provider'), 'beta');
    assert.equal(b.requests[0]?.path, '/v1/messages', 'a base_url ending in /v1 is not doubled');
    assert.equal(b.requests[0]?.json?.model, 'beta-claude');
    // within Retry-After, alpha is skipped without being asked
    await anthropic.messages.create({ model: 'claude-x', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(a.requests.length, 1);
    const entry = t.core.log.recent(1)[0]!;
    assert.match(entry.attempts[0]!.error ?? '', /Retry-After/);
  });

  it('falls through on 500 and on an HTML 503 page', async () => {
    a.mode = '500';
    const r1 = await openai.chat.completions.create({ model: 'gpt-x', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(r1.choices[0]?.message.content, 'Hello from beta!');
    a.mode = '503-html';
    await openai.chat.completions.create({ model: 'gpt-x', messages: [{ role: 'user', content: 'hi' }] });
    const entry = t.core.log.recent(1)[0]!;
    assert.equal(entry.attempts[0]!.status, 503);
    assert.equal(entry.attempts[0]!.error, 'HTML error page: 503 Service Unavailable');
    assert.equal(entry.provider, 'beta');
  });

  it('falls through on a connection reset and on a refused connection', async () => {
    a.mode = 'reset';
    const r = await openai.chat.completions.create({ model: 'gpt-x', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(r.choices[0]?.message.content, 'Hello from beta!');
    const entry = t.core.log.recent(1)[0]!;
    assert.equal(entry.attempts[0]!.status, null);
    assert.ok(entry.attempts[0]!.error);
    // gamma points at a closed port; delta answers
    const m = await anthropic.messages.create({ model: 'only-dead', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(m.content[0]?.type === 'text' && m.content[0].text, 'Hello from gamma!'.replace('gamma', c.name));
    assert.match(t.core.log.recent(1)[0]!.attempts[0]!.error ?? '', /ECONNREFUSED/);
  });

  it('falls through when the body is cut off before the client got a byte', async () => {
    a.mode = 'drop-before-body';
    const r = await openai.chat.completions.create({ model: 'gpt-x', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(r.choices[0]?.message.content, 'Hello from beta!');
    a.mode = 'drop-before-body';
    const s = await anthropic.messages.stream({ model: 'claude-x', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }).finalMessage();
    assert.equal(s.content[0]?.type === 'text' && s.content[0].text, 'Hello from beta!');
  });

  it('returns a 400 untouched, without trying the next provider', async () => {
    a.mode = '400';
    await assert.rejects(
      anthropic.messages.create({ model: 'claude-x', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
      (e: unknown) => {
        assert.ok(e instanceof Anthropic.BadRequestError);
        assert.equal(e.status, 400);
        assert.match(e.message, /alpha: max_tokens is required/);
        assert.equal(e.headers?.get('x-upstream'), 'alpha');
        return true;
      },
    );
    assert.equal(b.requests.length, 0);
  });

  it('answers 502 with every attempt when all fail, raised as the SDKs’ typed errors', async () => {
    a.mode = '500';
    b.mode = 'reset';
    await assert.rejects(
      anthropic.messages.create({ model: 'claude-x', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
      (e: unknown) => {
        assert.ok(e instanceof Anthropic.InternalServerError);
        assert.equal(e.status, 502);
        const body = e.error as { type: string; error: { type: string; message: string }; attempts: { provider: string; model: string; status: number | null; error: string }[] };
        assert.equal(body.type, 'error');
        assert.equal(body.error.type, 'api_error');
        assert.deepEqual(
          body.attempts.map((x) => [x.provider, x.model, x.status]),
          [
            ['alpha', 'alpha-claude', 500],
            ['beta', 'beta-claude', null],
          ],
        );
        assert.equal(body.attempts[0]!.error, 'alpha exploded');
        return true;
      },
    );
    await assert.rejects(openai.chat.completions.create({ model: 'gpt-x', messages: [{ role: 'user', content: 'hi' }] }), (e: unknown) => {
      assert.ok(e instanceof OpenAI.InternalServerError);
      assert.equal(e.status, 502);
      assert.equal(e.code, 'all_providers_failed');
      return true;
    });
  });

  it('says which models exist when none serves the one asked for', async () => {
    await assert.rejects(anthropic.messages.create({ model: 'nope', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }), (e: unknown) => {
      assert.ok(e instanceof Anthropic.NotFoundError);
      const body = e.error as { error: { message: string } };
      assert.match(body.error.message, /model "nope" is not served.*claude-x, gpt-x, only-dead/);
      return true;
    });
    await assert.rejects(openai.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'hi' }] }), (e: unknown) => {
      assert.ok(e instanceof OpenAI.NotFoundError);
      assert.equal(e.code, 'model_not_found');
      return true;
    });
  });

  it('streams through the SDK helpers and logs tokens', async () => {
    const s = anthropic.messages.stream({ model: 'claude-x', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] });
    const deltas: string[] = [];
    s.on('text', (d) => deltas.push(d));
    const final = await s.finalMessage();
    assert.deepEqual(deltas, ['Hello', ' from', ' alpha', '!']);
    assert.equal(final.usage.input_tokens, 11);
    assert.equal(final.usage.output_tokens, 7);
    let e = t.core.log.recent(1)[0]!;
    assert.equal(e.stream, true);
    assert.equal(e.inputTokens, 11);
    assert.equal(e.outputTokens, 7);
    assert.equal(e.state, 'done');

    const c2 = await openai.chat.completions
      .stream({ model: 'gpt-x', messages: [{ role: 'user', content: 'hi' }], stream_options: { include_usage: true } })
      .finalChatCompletion();
    assert.equal(c2.choices[0]?.message.content, 'Hello from alpha!');
    assert.equal(c2.usage?.completion_tokens, 7);
    e = t.core.log.recent(1)[0]!;
    assert.equal(e.inputTokens, 11);
    assert.equal(e.outputTokens, 7);
    assert.ok((e.ttfbMs ?? -1) >= 0);
  });

  it('ends a stream that dies midway with the dialect’s error event, never a clean close', async () => {
    a.mode = 'drop-mid-stream';
    const s = anthropic.messages.stream({ model: 'claude-x', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] });
    await assert.rejects(s.finalMessage(), (e: unknown) => {
      assert.ok(e instanceof Anthropic.APIError, String(e));
      assert.match(String((e as Error).message), /upstream stream failed/);
      return true;
    });
    assert.equal(b.requests.length, 0, 'no fallback once bytes reached the client');
    a.mode = 'drop-mid-stream';
    await assert.rejects(openai.chat.completions.stream({ model: 'gpt-x', messages: [{ role: 'user', content: 'hi' }] }).finalChatCompletion(), (e: unknown) => {
      assert.ok(e instanceof OpenAI.APIError, String(e));
      return true;
    });
    a.mode = 'close-without-end';
    await assert.rejects(anthropic.messages.stream({ model: 'claude-x', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] }).finalMessage(), /before its end event/);
    const entry = t.core.log.recent(1)[0]!;
    assert.equal(entry.state, 'error');
  });

  it('cancels the upstream request as soon as the client goes away', async () => {
    a.mode = 'hang';
    const ac = new AbortController();
    const p = anthropic.messages.create({ model: 'claude-x', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }, { signal: ac.signal });
    await eventually(() => assert.equal(a.requests.length, 1));
    ac.abort();
    await assert.rejects(p);
    await Promise.race([a.aborted, new Promise((_, rej) => setTimeout(() => rej(new Error('upstream was not cancelled')), 2000))]);
    await eventually(() => assert.equal(t.core.proxy.inFlight, 0));
    assert.equal(b.requests.length, 0);
  });

  it('never forwards the client key to a provider and never logs a credential', async () => {
    await anthropic.messages.create({ model: 'claude-x', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] });
    const e = t.core.log.recent(1)[0]!;
    const text = JSON.stringify(e);
    assert.doesNotMatch(text, /client-key-must-not-leak|key-alpha/);
    const sent = e.requestHeaders ?? {};
    assert.ok(sent['x-api-key'] === '[redacted]' || sent['authorization'] === '[redacted]', JSON.stringify(sent));
    for (const m of [a, b]) for (const r of m.requests) assert.notEqual(r.headers['x-api-key'], 'client-key-must-not-leak');
  });

  it('keeps the client’s cookies (the window’s own session cookie among them) from reaching a provider', async () => {
    const r = await request(`${t.url}/v1/messages`, {
      method: 'POST',
      body: JSON.stringify({ model: 'claude-x', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
      headers: { 'content-type': 'application/json', cookie: 'theme=dark; router67_ui=s3ssion; other=1' },
    });
    await r.body.dump();
    assert.equal(a.requests.at(-1)?.headers.cookie, undefined);
  });

  it('rejects bodies without a model in the client’s dialect', async () => {
    const r = await request(`${t.url}/v1/messages`, { method: 'POST', body: '{"max_tokens":1}', headers: { 'content-type': 'application/json' } });
    assert.equal(r.statusCode, 400);
    const j = (await r.body.json()) as { type: string; error: { message: string } };
    assert.equal(j.type, 'error');
    assert.match(j.error.message, /"model"/);
  });
});
