// Breakers, limits, rate-limit foresight and the all-rate-limited 429, end to end: a real Core, local upstreams
// that flap, slow down, 429 with and without headers and drop connections, and an injected clock.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { eventually, provider, startCore, type TestCore } from '../helpers/core.js';
import { startUpstream, type Fault, type Upstream } from './upstream.js';
import type { HealthSnapshot } from '../../main/health/types.js';

const msg = (content = 'hi', stream = false) => JSON.stringify({ model: 'm', max_tokens: 20, stream, messages: [{ role: 'user', content }] });

async function post(t: TestCore, body = msg(), path = '/v1/messages'): Promise<{ status: number; headers: Headers; text: string; json: any }> {
  const r = await fetch(`${t.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' }, body });
  const text = await r.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    /* a stream */
  }
  return { status: r.status, headers: r.headers, text, json };
}

const last = (t: TestCore) => t.core.log.recent(1)[0]!;
const snap = (t: TestCore): HealthSnapshot => t.core.proxy.health.snapshot(t.core.config);
const target = (t: TestCore, key: string) => snap(t).providers.flatMap((p) => p.targets).find((x) => x.key === key)!;
const prov = (t: TestCore, name: string) => snap(t).providers.find((p) => p.name === name)!;

function deferred(): { promise: Promise<void>; resolve(): void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('circuit breaker', () => {
  let clock = 1_000_000;
  let alpha: Upstream;
  let beta: Upstream;
  let t: TestCore;
  let alphaFault: () => Fault = () => ({ kind: 'ok' });
  after(async () => {
    await t?.stop();
    await Promise.all([alpha?.close(), beta?.close()]);
  });

  it('opens after N consecutive 5xx, skips the target with a why, probes exactly once, closes on success, grows the cool-off', async () => {
    alpha = await startUpstream('alpha', () => alphaFault());
    beta = await startUpstream('beta');
    t = await startCore(
      '[daemon]\nretry_max = 0\nbreaker_failures = 3\nbreaker_failure_ratio = 0\nbreaker_cooloff_ms = 1000\n' + provider('alpha', alpha.url, { m: 'alpha-m' }) + provider('beta', beta.url, { m: 'beta-m' }),
      { now: () => clock },
    );
    alphaFault = () => ({ kind: 'status', status: 503 });
    for (let i = 0; i < 3; i++) {
      const r = await post(t);
      assert.equal(r.status, 200);
      assert.equal(r.json.content[0].text, 'Hello from beta!');
    }
    assert.equal(alpha.count, 3);
    assert.equal(target(t, 'alpha/alpha-m').breaker.state, 'open');
    assert.equal(target(t, 'alpha/alpha-m').breaker.retryInMs, 1000);
    // open: not asked at all
    const r = await post(t);
    assert.equal(r.status, 200);
    assert.equal(alpha.count, 3);
    const a0 = last(t).attempts[0]!;
    assert.equal(a0.why, 'breaker open');
    assert.match(a0.error ?? '', /^skipped: breaker open for alpha-m \(open\)/);
    assert.equal(prov(t, 'alpha').breaker.state, 'closed', 'a 5xx counts against provider + model, not the provider');

    // cool-off over: half-open; of five concurrent requests exactly one probes alpha
    clock += 1000;
    assert.equal(target(t, 'alpha/alpha-m').breaker.state, 'half-open');
    const hold = deferred();
    alphaFault = () => ({ kind: 'ok', hold: hold.promise });
    const betaBefore = beta.count;
    const five = Array.from({ length: 5 }, () => post(t));
    await eventually(() => assert.equal(beta.count - betaBefore, 4));
    assert.equal(alpha.inFlight, 1);
    assert.equal(target(t, 'alpha/alpha-m').breaker.probing, true);
    hold.resolve();
    const rs = await Promise.all(five);
    assert.deepEqual(rs.map((x) => x.status), [200, 200, 200, 200, 200]);
    assert.equal(rs.filter((x) => x.json.content[0].text === 'Hello from alpha!').length, 1);
    assert.equal(alpha.count, 4);
    assert.equal(target(t, 'alpha/alpha-m').breaker.state, 'closed');
    assert.equal((await post(t)).json.content[0].text, 'Hello from alpha!');

    // it trips again; the failed probe reopens it for twice as long
    alphaFault = () => ({ kind: 'status', status: 500 });
    for (let i = 0; i < 3; i++) await post(t);
    assert.equal(target(t, 'alpha/alpha-m').breaker.state, 'open');
    assert.equal(target(t, 'alpha/alpha-m').breaker.retryInMs, 2000, 'the second trip in a row cools off twice as long');
    clock += 2000;
    const before = alpha.count;
    await post(t);
    assert.equal(alpha.count, before + 1, 'the probe went');
    const b = target(t, 'alpha/alpha-m').breaker;
    assert.equal(b.state, 'open');
    assert.equal(b.trips, 3);
    assert.equal(b.retryInMs, 4000);
  });

  it('never trips on a 4xx other than 429', async () => {
    t.core.proxy.health.reset();
    alphaFault = () => ({ kind: 'status', status: 400 });
    for (let i = 0; i < 6; i++) assert.equal((await post(t)).status, 400);
    const b = target(t, 'alpha/alpha-m').breaker;
    assert.equal(b.state, 'closed');
    assert.equal(b.consecutiveFailures, 0);
  });

  it('opens the provider breaker on transport errors (reset, cut before a byte reached the client)', async () => {
    t.core.proxy.health.reset();
    let n = 0;
    alphaFault = () => (n++ % 2 ? { kind: 'reset' } : { kind: 'drop-mid-stream' });
    for (let i = 0; i < 3; i++) assert.equal((await post(t)).json.content[0].text, 'Hello from beta!');
    assert.equal(prov(t, 'alpha').breaker.state, 'open');
    const before = alpha.count;
    await post(t);
    assert.equal(alpha.count, before);
    assert.match(last(t).attempts[0]!.error ?? '', /breaker open for provider/);
  });

  it('also opens on a failure ratio over the sliding window', async () => {
    const u = await startUpstream('ratio', (n) => (n % 2 ? { kind: 'status', status: 502 } : { kind: 'ok' }));
    const t2 = await startCore(
      '[daemon]\nretry_max = 0\nbreaker_failures = 0\nbreaker_failure_ratio = 0.5\nbreaker_min_requests = 10\n' + provider('ratio', u.url, { m: 'r' }) + provider('beta', beta.url, { m: 'beta-m' }),
      { now: () => clock },
    );
    try {
      for (let i = 0; i < 10; i++) await post(t2);
      assert.equal(t2.core.proxy.health.snapshot(t2.core.config).providers[0]!.targets[0]!.breaker.state, 'open');
    } finally {
      await t2.stop();
      await u.close();
    }
  });
});

describe('limits', () => {
  const ups: Upstream[] = [];
  const cores: TestCore[] = [];
  after(async () => {
    for (const c of cores) await c.stop();
    for (const u of ups) await u.close();
  });

  it('200 concurrent requests never exceed max_in_flight at the upstream; the rest wait their turn and all succeed', async () => {
    const u = await startUpstream('solo', () => ({ kind: 'ok', delayMs: 20 }));
    ups.push(u);
    const t = await startCore('[daemon]\nretry_max = 0\nlimit_queue_max = 500\nlimit_queue_wait_ms = 60000\n' + provider('solo', u.url, { m: 'solo-m' }, 'max_in_flight = 5'));
    cores.push(t);
    const rs = await Promise.all(Array.from({ length: 200 }, (_, i) => post(t, msg('hi', i % 2 === 0))));
    assert.deepEqual(new Set(rs.map((r) => r.status)), new Set([200]));
    assert.equal(u.count, 200);
    // never more than the limit; how close a loaded machine gets to it is timing, so only "concurrent at all" is asserted
    assert.ok(u.maxInFlight <= 5 && u.maxInFlight >= 2, `max in flight at the upstream: ${u.maxInFlight}`);
    assert.ok(rs.filter((r) => r.text.includes('message_stop')).length === 100);
    assert.equal(prov(t, 'solo').inFlight, 0);
    assert.equal(prov(t, 'solo').queued, 0);
  });

  it('a saturated target is skipped for the next one', async () => {
    const hold = deferred();
    const a = await startUpstream('busy', () => ({ kind: 'ok', hold: hold.promise }));
    const b = await startUpstream('spare');
    ups.push(a, b);
    const t = await startCore('[daemon]\nretry_max = 0\n' + provider('busy', a.url, { m: 'x' }, 'max_in_flight = 2') + provider('spare', b.url, { m: 'y' }));
    cores.push(t);
    const held = [post(t), post(t)];
    await eventually(() => assert.equal(a.inFlight, 2));
    const rs = await Promise.all(Array.from({ length: 20 }, () => post(t)));
    assert.ok(rs.every((r) => r.json.content[0].text === 'Hello from spare!'));
    const e = last(t);
    assert.equal(e.attempts[0]!.why, 'saturated');
    assert.match(e.attempts[0]!.error ?? '', /2 in flight \(max_in_flight 2\)/);
    hold.resolve();
    await Promise.all(held);
    assert.equal(a.maxInFlight, 2);
  });

  it('the last target waits in a bounded queue for a bounded time, then 429 with Retry-After in the client dialect', async () => {
    const hold = deferred();
    const u = await startUpstream('one', () => ({ kind: 'ok', hold: hold.promise }));
    ups.push(u);
    const t = await startCore('[daemon]\nretry_max = 0\nlimit_queue_max = 1\nlimit_queue_wait_ms = 200\n' + provider('one', u.url, { m: 'x' }, 'max_in_flight = 1'));
    cores.push(t);
    const first = post(t);
    await eventually(() => assert.equal(u.inFlight, 1));
    const queued = post(t, msg(), '/v1/chat/completions');
    await eventually(() => assert.equal(prov(t, 'one').queued, 1));
    const full = await post(t);
    assert.equal(full.status, 429);
    assert.equal(full.headers.get('retry-after'), '1');
    assert.equal(full.json.type, 'error');
    assert.equal(full.json.error.type, 'rate_limit_error');
    assert.match(full.json.error.message, /rate-limited/);
    assert.equal(full.json.attempts[0].provider, 'one');
    const waited = await queued;
    assert.equal(waited.status, 429);
    assert.equal(waited.json.error.type, 'rate_limit_error', 'OpenAI dialect');
    assert.match(waited.json.error.message, /waited in the queue up to 200 ms/);
    assert.ok(Number(waited.headers.get('retry-after')) >= 1);
    hold.resolve();
    assert.equal((await first).status, 200);
    assert.equal(u.count, 1);
  });

  it('rpm and tpm: admission counts the estimated input tokens; the snapshot shows what is left', async () => {
    let clock = 5_000_000;
    const a = await startUpstream('metered');
    const b = await startUpstream('other');
    ups.push(a, b);
    const t = await startCore('[daemon]\nretry_max = 0\n' + provider('metered', a.url, { m: 'x' }, 'rpm = 3\ntpm = 3000') + provider('other', b.url, { m: 'y' }), { now: () => clock });
    cores.push(t);
    for (let i = 0; i < 3; i++) assert.equal((await post(t)).json.content[0].text, 'Hello from metered!');
    assert.equal((await post(t)).json.content[0].text, 'Hello from other!');
    assert.match(last(t).attempts[0]!.error ?? '', /rpm 3 reached/);
    assert.equal(prov(t, 'metered').rpm!.remaining, 0);
    clock += 60_000;
    assert.equal(prov(t, 'metered').rpm!.remaining, 3);
    // ~2,500 estimated tokens fit once in 3,000 (the real usage, 18 tokens, is credited back), not twice at once
    const big = msg('x'.repeat(10_000));
    assert.equal((await post(t, big)).json.content[0].text, 'Hello from metered!');
    assert.ok(prov(t, 'metered').tpm!.remaining > 2900, 'corrected with the real usage');
  });
});

describe('rate-limit foresight and the all-rate-limited 429', () => {
  let clock = Date.now();
  let aFault: (n: number) => Fault = () => ({ kind: 'ok' });
  let bFault: (n: number) => Fault = () => ({ kind: 'ok' });
  let a: Upstream;
  let b: Upstream;
  let t: TestCore;
  after(async () => {
    await t?.stop();
    await Promise.all([a?.close(), b?.close()]);
  });

  it('skips a target whose x-ratelimit headers say 0 requests left, until the reset ("6m0s")', async () => {
    a = await startUpstream('alpha', (n) => aFault(n));
    b = await startUpstream('beta', (n) => bFault(n));
    t = await startCore('[daemon]\nretry_max = 0\n' + provider('alpha', a.url, { m: 'alpha-m' }) + provider('beta', b.url, { m: 'beta-m' }), { now: () => clock });
    aFault = (n) => (n === 0 ? { kind: 'ok', headers: { 'x-ratelimit-remaining-requests': '1', 'x-ratelimit-reset-requests': '6m0s', 'x-ratelimit-remaining-tokens': '90000', 'x-ratelimit-reset-tokens': '1s' } } : { kind: 'ok' });
    const chat = (s = 'hi') => post(t, msg(s), '/v1/chat/completions');
    assert.equal((await chat()).json.choices[0].message.content, 'Hello from alpha!');
    // one request left: this one goes, and counts it down
    assert.equal((await chat()).json.choices[0].message.content, 'Hello from alpha!');
    const rl = target(t, 'alpha/alpha-m').rateLimit;
    assert.equal(rl.requestsRemaining, 0);
    assert.equal(rl.requestsResetInMs, 360_000);
    // predicted 429: not asked
    assert.equal((await chat()).json.choices[0].message.content, 'Hello from beta!');
    assert.equal(a.count, 2);
    assert.equal(last(t).attempts[0]!.why, 'rate-limited');
    assert.match(last(t).attempts[0]!.error ?? '', /foresight: 0 requests left until reset in 360 s/);
    clock += 360_000;
    assert.equal((await chat()).json.choices[0].message.content, 'Hello from alpha!');
  });

  it("skips on anthropic-ratelimit-input-tokens-remaining when the request's estimated tokens exceed it", async () => {
    t.core.proxy.health.reset();
    aFault = () => ({ kind: 'ok', headers: { 'anthropic-ratelimit-input-tokens-remaining': '1000', 'anthropic-ratelimit-input-tokens-reset': new Date(clock + 30_000).toISOString() } });
    assert.equal((await post(t)).json.content[0].text, 'Hello from alpha!');
    assert.equal(target(t, 'alpha/alpha-m').rateLimit.tokensRemaining, 1000);
    assert.equal((await post(t, msg('y'.repeat(8000)))).json.content[0].text, 'Hello from beta!');
    assert.match(last(t).attempts[0]!.error ?? '', /1000 tokens left \(request needs ~20\d\d\) until reset in 30 s/);
    assert.equal((await post(t)).json.content[0].text, 'Hello from alpha!');
  });

  it('every target rate-limited: 429 with the smallest Retry-After and the attempts; later requests skip without asking', async () => {
    t.core.proxy.health.reset();
    aFault = () => ({ kind: 'status', status: 429, headers: { 'retry-after-ms': '2500' } });
    bFault = () => ({ kind: 'status', status: 429, headers: { 'retry-after': '7' } });
    const r = await post(t);
    assert.equal(r.status, 429);
    assert.equal(r.headers.get('retry-after'), '3');
    assert.equal(r.headers.get('retry-after-ms'), '2500');
    assert.equal(r.json.error.type, 'rate_limit_error');
    assert.deepEqual(r.json.attempts.map((x: { provider: string; status: number }) => [x.provider, x.status]), [['alpha', 429], ['beta', 429]]);
    assert.equal(last(t).status, 429);
    const [ac, bc] = [a.count, b.count];
    clock += 1000;
    const again = await post(t, msg(), '/v1/chat/completions');
    assert.equal(again.status, 429);
    assert.equal(again.headers.get('retry-after-ms'), '1500');
    assert.equal(again.json.error.type, 'rate_limit_error');
    assert.deepEqual([a.count, b.count], [ac, bc], 'nobody was asked');
  });

  it('a 429 without any header blocks for rate_limit_default_ms; a 429 beside a 5xx stays a 502', async () => {
    t.core.proxy.health.reset();
    aFault = () => ({ kind: 'status', status: 429 });
    bFault = () => ({ kind: 'status', status: 429 });
    const r = await post(t);
    assert.equal(r.status, 429);
    assert.equal(r.headers.get('retry-after-ms'), '1000');
    t.core.proxy.health.reset();
    bFault = () => ({ kind: 'status', status: 500 });
    const m = await post(t);
    assert.equal(m.status, 502);
    assert.equal(m.json.error.message.includes('all 2 providers failed'), true);
    bFault = () => ({ kind: 'ok' });
  });
});

describe('the official SDKs back off on the 429 and then succeed', () => {
  let u: Upstream;
  let t: TestCore;
  let limited = 0;
  after(async () => {
    await t?.stop();
    await u?.close();
  });

  it('openai and @anthropic-ai/sdk (maxRetries 2) retry after Retry-After and get the answer', async () => {
    u = await startUpstream('only', () => (limited-- > 0 ? { kind: 'status', status: 429, headers: { 'retry-after-ms': '150' } } : { kind: 'ok' }));
    t = await startCore('[daemon]\nretry_max = 0\n' + provider('only', u.url, { m: 'only-m' }));
    limited = 1;
    const openai = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: 'k', maxRetries: 2 });
    const c = await openai.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(c.choices[0]!.message.content, 'Hello from only!');
    assert.equal(u.count, 2);
    limited = 1;
    const anthropic = new Anthropic({ baseURL: t.url, apiKey: 'k', maxRetries: 2 });
    const m = await anthropic.messages.create({ model: 'm', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(m.content[0]!.type === 'text' && m.content[0]!.text, 'Hello from only!');
    assert.equal(u.count, 4);
    const statuses = t.core.log.recent(4).map((e) => e.status).reverse();
    assert.deepEqual(statuses, [429, 200, 429, 200]);
  });
});
