// Retries on the same target: connection refused/reset before any byte and 5xx/429 with a short Retry-After are
// sent again after a full-jitter backoff, within the per-request budget and the request timeout; never a 4xx,
// never after the first byte reached the client. Local fault-injecting upstreams; an injected clock and seeded random.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import OpenAI from 'openai';
import { backoffMs, isConnectionFailure, RetryBudget, retryDelay, seededRandom, type RetrySettings } from '../../main/health/retry.js';
import { provider, startCore, type TestCore } from '../helpers/core.js';
import { recordingClock, startFaultUpstream, type FaultUpstream } from '../helpers/fault-upstream.js';

const S: RetrySettings = { max: 2, budget: 3, baseMs: 100, maxBackoffMs: 1000, retryAfterCapMs: 2000 };

describe('retry policy', () => {
  it('full jitter stays within [0, min(max, base·2^(n-1))] and spreads over it', () => {
    const random = seededRandom(7);
    for (let n = 1; n <= 8; n++) {
      const ceiling = Math.min(1000, 100 * 2 ** (n - 1));
      const xs = Array.from({ length: 200 }, () => backoffMs(n, S, random));
      assert.ok(xs.every((x) => x >= 0 && x <= ceiling), `retry ${n}: within [0, ${ceiling}]`);
      assert.ok(Math.max(...xs) > ceiling * 0.8 && Math.min(...xs) < ceiling * 0.2, `retry ${n}: jitter covers the range`);
    }
  });

  it('retries connection failures, 5xx and 429 with a short Retry-After; never a 4xx or a long Retry-After', () => {
    const r = () => 0.5;
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const reset = new TypeError('fetch failed', { cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }) });
    const timeout = Object.assign(new Error('headers timeout'), { code: 'UND_ERR_HEADERS_TIMEOUT' });
    assert.ok(isConnectionFailure(refused) && isConnectionFailure(reset) && !isConnectionFailure(timeout));
    assert.equal(retryDelay({ kind: 'transport', err: refused }, 1, S, r), 50);
    assert.equal(retryDelay({ kind: 'transport', err: timeout }, 1, S, r), undefined);
    assert.equal(retryDelay({ kind: 'status', status: 503 }, 2, S, r), 100);
    assert.equal(retryDelay({ kind: 'status', status: 429, retryAfterMs: 1500 }, 1, S, r), 1500);
    assert.equal(retryDelay({ kind: 'status', status: 429, retryAfterMs: 2500 }, 1, S, r), undefined);
    for (const status of [400, 401, 403, 404, 409, 413, 422]) assert.equal(retryDelay({ kind: 'status', status }, 1, S, r), undefined, String(status));
  });

  it('spends at most the budget per request, the max per target, and never past the deadline', () => {
    const b = new RetryBudget(3);
    const f = { kind: 'status' as const, status: 500 };
    const r = () => 0.99;
    assert.ok(b.next(f, 1, S, 10_000, r) !== undefined);
    assert.ok(b.next(f, 2, S, 10_000, r) !== undefined);
    assert.equal(b.next(f, 3, S, 10_000, r), undefined, 'max 2 per target');
    assert.ok(b.next(f, 1, S, 10_000, r) !== undefined);
    assert.equal(b.next(f, 1, S, 10_000, r), undefined, 'budget of 3 spent');
    assert.equal(new RetryBudget(3).next({ kind: 'status', status: 429, retryAfterMs: 1500 }, 1, S, 1000, r), undefined, 'a wait past the deadline');
  });
});

describe('retries through the proxy', () => {
  let a: FaultUpstream, b: FaultUpstream;
  let t: TestCore;
  let clock: ReturnType<typeof recordingClock>;
  let client: OpenAI;
  before(async () => {
    a = await startFaultUpstream('alpha');
    b = await startFaultUpstream('beta');
    t = await startCore(
      `[daemon]\nrequest_timeout_ms = 4000\nretry_max = 2\nretry_budget = 3\nretry_base_ms = 200\nretry_max_backoff_ms = 1000\nretry_after_cap_ms = 5000\naffinity = false\n` +
        provider('alpha', a.url, { m: 'a' }, 'format = "openai"') +
        provider('beta', b.url, { m: 'b' }, 'format = "openai"') +
        provider('dead', 'http://127.0.0.1:1', { refused: 'x' }, 'format = "openai"') +
        provider('beta2', b.url, { refused: 'b' }, 'format = "openai"'),
    );
    client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: 'x', maxRetries: 0 });
  });
  after(async () => {
    await t.stop();
    await Promise.all([a.close(), b.close()]);
  });
  beforeEach(() => {
    clock = recordingClock();
    t.core.proxy.clock = clock;
    t.core.proxy.random = seededRandom(42);
    for (const u of [a, b]) {
      u.script = [];
      u.otherwise = 'ok';
      u.seen = [];
    }
  });
  const ask = (model = 'm', stream = false) =>
    stream
      ? client.chat.completions.stream({ model, messages: [{ role: 'user', content: 'hi' }] }).finalChatCompletion()
      : client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] });
  const last = () => t.core.log.recent(1)[0]!;

  it('rides out resets on the same target with growing, jittered waits, each logged as an attempt', async () => {
    a.script = ['reset', 'reset'];
    const r = await ask();
    assert.equal(r.choices[0]?.message.content, 'Hello from alpha!');
    assert.equal(a.seen.length, 3);
    assert.equal(b.seen.length, 0);
    const e = last();
    assert.deepEqual(e.attempts.map((x) => [x.provider, x.status]), [['alpha', null], ['alpha', null], ['alpha', 200]]);
    assert.equal(clock.waits.length, 2);
    assert.ok(clock.waits[0]! <= 200 && clock.waits[1]! <= 400, `backoff ceilings 200, 400: ${clock.waits}`);
    assert.equal(e.attempts[1]!.why, `retry 1 after ${clock.waits[0]} ms`);
    assert.equal(e.attempts[2]!.why, `retry 2 after ${clock.waits[1]} ms`);
    // the same body went each time
    assert.equal(a.seen[0]!.body, a.seen[2]!.body);
  });

  it('sends a large body (sent in parts, never copied) whole again on a retry', async () => {
    a.script = ['reset'];
    const big = 'y'.repeat(1_500_000);
    const r = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: big }] });
    assert.equal(r.choices[0]?.message.content, 'Hello from alpha!');
    assert.equal(a.seen.length, 2);
    assert.ok(a.seen[1]!.body.length > 1_500_000);
    assert.equal(a.seen[1]!.body, a.seen[0]!.body);
    assert.equal((a.seen[1]!.json.messages as { content: string }[])[0]!.content, big);
  });

  it('retries a refused connection, then moves down the chain', async () => {
    const r = await ask('refused');
    assert.equal(r.choices[0]?.message.content, 'Hello from beta!');
    const e = last();
    assert.deepEqual(e.attempts.map((x) => x.provider), ['dead', 'dead', 'dead', 'beta2']);
    assert.match(e.attempts[0]!.error ?? '', /ECONNREFUSED|refused/i);
  });

  it('keeps to the per-request budget across targets, then answers 502 with every attempt', async () => {
    a.otherwise = { status: 500 };
    b.otherwise = { status: 503 };
    await assert.rejects(ask(), (err: unknown) => err instanceof OpenAI.APIError && err.status === 502);
    assert.equal(a.seen.length, 3, 'alpha: first try + retry_max 2');
    assert.equal(b.seen.length, 2, 'beta: first try + the one retry left in the budget of 3');
    assert.equal(clock.waits.length, 3);
    assert.deepEqual(last().attempts.map((x) => x.why ?? '-').map((w) => w.replace(/\d+ ms/, 'N ms')), ['-', 'retry 1 after N ms', 'retry 2 after N ms', '-', 'retry 1 after N ms']);
  });

  it('never retries a 400', async () => {
    a.script = [{ status: 400 }];
    await assert.rejects(ask(), (err: unknown) => err instanceof OpenAI.BadRequestError);
    assert.equal(a.seen.length, 1);
    assert.equal(b.seen.length, 0);
    assert.equal(clock.waits.length, 0);
  });

  it('waits out a short Retry-After on a 429, moves on at once past the cap', async () => {
    a.script = [{ status: 429, retryAfter: '1' }];
    assert.equal((await ask()).choices[0]?.message.content, 'Hello from alpha!');
    assert.ok(clock.waits[0]! >= 1000, `waited the Retry-After: ${clock.waits}`);
    clock.waits.length = 0;
    t.core.proxy.health.reset('alpha');
    a.script = [{ status: 429, retryAfter: '30' }];
    assert.equal((await ask()).choices[0]?.message.content, 'Hello from beta!');
    assert.equal(clock.waits.length, 0);
    t.core.proxy.health.reset('alpha');
  });

  it('does not retry when the wait would outlast the request timeout', async () => {
    a.script = [{ status: 503, retryAfter: '5' }]; // 5 s ≤ the cap, but the request has 4 s
    assert.equal((await ask()).choices[0]?.message.content, 'Hello from beta!');
    assert.equal(a.seen.length, 1);
    assert.equal(clock.waits.length, 0);
  });

  it('never retries once the first byte reached the client', async () => {
    a.script = ['drop-mid-stream'];
    await assert.rejects(ask('m', true));
    assert.equal(a.seen.length, 1);
    assert.equal(b.seen.length, 0);
    assert.equal(clock.waits.length, 0);
    assert.equal(last().attempts.length, 1);
  });

  it('a retry sleep ends with the request when the client goes away', async () => {
    t.core.proxy.clock = (await import('../../main/health/retry.js')).realClock;
    a.script = [{ status: 503, retryAfter: '3' }];
    const ac = new AbortController();
    const p = client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }, { signal: ac.signal });
    while (a.seen.length === 0) await new Promise((r) => setTimeout(r, 5));
    const t0 = performance.now();
    ac.abort();
    await assert.rejects(p);
    await t.core.proxy.idle();
    assert.ok(performance.now() - t0 < 1000, 'the 3 s wait was cut short');
    assert.equal(a.seen.length, 1);
    assert.equal(b.seen.length, 0);
  });
});

describe('retry and hedge settings', () => {
  it('a provider overrides the [daemon] defaults; a bad hedge value says what is expected and where', async () => {
    const { parseConfig } = await import('../../main/config/load.js');
    const { retrySettings } = await import('../../main/health/retry.js');
    const cfg = parseConfig(
      `[daemon]\nretry_max = 1\nretry_base_ms = 50\n` + provider('a', 'http://127.0.0.1:9', { m: 'a' }, 'retry_max = 4\nhedge = "p95"') + provider('b', 'http://127.0.0.1:9', { m: 'b' }),
      'config.toml',
    );
    assert.deepEqual(retrySettings(cfg, cfg.providers[0]!), { max: 4, budget: 3, baseMs: 50, maxBackoffMs: 4000, retryAfterCapMs: 5000 });
    assert.equal(retrySettings(cfg, cfg.providers[1]!).max, 1);
    assert.equal(cfg.providers[0]!.hedge, 'p95');
    assert.throws(
      () => parseConfig(provider('a', 'http://127.0.0.1:9', { m: 'a' }, 'hedge = "p90"'), 'config.toml'),
      /config\.toml:\d+: providers\[0\]\.hedge: expected a delay in ms \(e\.g\. 800\), "p95"/,
    );
    assert.throws(() => parseConfig(`[daemon]\nretry_max = -1\n`, 'config.toml'), /daemon\.retry_max/);
  });
});
