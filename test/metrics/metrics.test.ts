// /metrics, /healthz and /readyz on the admin endpoint of a real daemon: traffic from the official SDKs (streamed
// and not, Anthropic and OpenAI dialects) through a chain whose first provider answers 500; the exposition parsed
// by a strict text-format parser; every value checked against the traffic sent. Also: prom-client is not loaded
// until the first scrape; the token rule and its opt-out; readiness; the health gauges from a snapshot source.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { request } from 'undici';
import { eventually, provider, startCore } from '../helpers/core.js';
import { startMockUpstream } from '../helpers/mock-upstream.js';
import { startFaultUpstream } from '../helpers/fault-upstream.js';
import { parsePrometheusText, valueOf, type Family } from '../helpers/prom-text.js';
import { attemptKind, Metrics, type HealthGauges } from '../../main/metrics/metrics.js';
import { RequestLog } from '../../main/log/request-log.js';

const promLoaded = () => Object.keys(require.cache).some((k) => /[\\/]prom-client[\\/]/.test(k));

async function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; type: string; text: string }> {
  const r = await request(url, { headers });
  return { status: r.statusCode, type: String(r.headers['content-type']), text: await r.body.text() };
}

test('metrics after real SDK traffic match what was sent; strict text format; lazy prom-client; token; health and readiness', async () => {
  assert.equal(promLoaded(), false, 'prom-client is not loaded before anyone asks for metrics');
  const down = await startMockUpstream('down', '500');
  const alpha = await startMockUpstream('alpha');
  // retries (on by default) would add attempts; these counts are about the chain
  const toml = (extra = '') =>
    '[daemon]\nretry_max = 0\n' +
    extra +
    provider('down', down.url, { 'claude-x': 'down-claude', 'gpt-x': 'down-gpt', 'only-dead': 'dead' }) +
    provider('alpha', alpha.url, { 'claude-x': 'alpha-claude', 'gpt-x': 'alpha-gpt' });
  const t = await startCore(toml());
  try {
    const admin = t.core.admin!;
    const auth = { authorization: `Bearer ${admin.token}` };
    assert.equal(t.core.metrics.enabled, false);
    assert.equal(promLoaded(), false, 'nor at start');

    // health and readiness
    assert.equal((await get(`${admin.url}/healthz`)).status, 401, 'token-protected like the rest of the admin API');
    const hz = await get(`${admin.url}/healthz`, auth);
    assert.equal(hz.status, 200);
    assert.equal(JSON.parse(hz.text).status, 'ok');
    const rz = await get(`${admin.url}/readyz`, auth);
    assert.equal(rz.status, 200, rz.text);
    assert.deepEqual(JSON.parse(rz.text).checks, { running: 'ok', config: 'ok', http: 'ok', intercept: 'off' });
    t.core.setIntercept({ enabled: true, state: 'error', error: 'port 443 is taken' });
    const nr = await get(`${admin.url}/readyz`, auth);
    assert.equal(nr.status, 503);
    assert.deepEqual(JSON.parse(nr.text).reasons, ['intercept: the TLS listener is error: port 443 is taken']);
    t.core.setIntercept({ enabled: false, state: 'off', error: undefined });
    assert.equal((await get(`${admin.url}/readyz`, auth)).status, 200);

    // the first scrape switches metrics on
    assert.equal((await get(`${admin.url}/metrics`)).status, 401);
    assert.equal((await get(`${admin.url}/metrics`, { ...auth, host: 'evil.example' })).status, 403);
    const first = await get(`${admin.url}/metrics`, auth);
    assert.equal(first.status, 200);
    assert.match(first.type, /^text\/plain; version=0\.0\.4/);
    assert.equal(t.core.metrics.enabled, true);
    parsePrometheusText(first.text);

    // traffic: 3 Anthropic (one streamed), 3 OpenAI (one streamed), 1 that every provider fails
    const anthropic = new Anthropic({ baseURL: t.url, apiKey: 'client', maxRetries: 0 });
    const openai = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: 'client', maxRetries: 0 });
    for (let i = 0; i < 2; i++) await anthropic.messages.create({ model: 'claude-x', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] });
    let text = '';
    for await (const ev of await anthropic.messages.create({ model: 'claude-x', max_tokens: 10, stream: true, messages: [{ role: 'user', content: 'hi' }] }))
      if (ev.type === 'content_block_delta' && ev.delta.type === 'text_delta') text += ev.delta.text;
    assert.equal(text, 'Hello from alpha!');
    for (let i = 0; i < 2; i++) await openai.chat.completions.create({ model: 'gpt-x', messages: [{ role: 'user', content: 'hi' }] });
    text = '';
    for await (const ch of await openai.chat.completions.create({ model: 'gpt-x', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hi' }] }))
      text += ch.choices[0]?.delta.content ?? '';
    assert.equal(text, 'Hello from alpha!');
    await assert.rejects(openai.chat.completions.create({ model: 'only-dead', messages: [{ role: 'user', content: 'hi' }] }), (e: InstanceType<typeof OpenAI.APIError>) => e.status === 502);

    await eventually(() => assert.equal(t.core.proxy.inFlight, 0));
    const entries = t.core.log.recent(7);
    assert.equal(entries.length, 7);
    const app = entries[0]!.app ?? '';
    assert.ok(app, 'the app behind the SDK connections is known');
    assert.ok(entries.every((e) => e.app === app));

    const fams = parsePrometheusText((await get(`${admin.url}/metrics`, auth)).text);
    const v = (fam: string, sample: string, labels: Record<string, string>) => valueOf(fams, fam, sample, labels);
    const req = (provider: string, model: string, dialect: string, outcome: string) => v('router67_requests_total', 'router67_requests_total', { provider, model, dialect, outcome, app });
    assert.equal(req('alpha', 'claude-x', 'anthropic', 'ok'), 3);
    assert.equal(req('alpha', 'gpt-x', 'openai', 'ok'), 3);
    assert.equal(req('none', 'only-dead', 'openai', 'error'), 1);
    assert.equal(sum(fams.get('router67_requests_total')!), 7, 'nothing else counted');
    const att = (provider: string, model: string, dialect: string, outcome: string) => v('router67_attempts_total', 'router67_attempts_total', { provider, model, dialect, outcome, app, kind: 'first' });
    assert.equal(att('down', 'down-claude', 'anthropic', 'error'), 3);
    assert.equal(att('alpha', 'alpha-claude', 'anthropic', 'ok'), 3);
    assert.equal(att('down', 'down-gpt', 'openai', 'error'), 3);
    assert.equal(att('alpha', 'alpha-gpt', 'openai', 'ok'), 3);
    assert.equal(att('down', 'dead', 'openai', 'error'), 1);
    assert.equal(sum(fams.get('router67_attempts_total')!), 13);
    const tok = (model: string, kind: string) => v('router67_tokens_total', 'router67_tokens_total', { provider: 'alpha', model, app, kind });
    assert.equal(tok('claude-x', 'input'), 3 * 11);
    assert.equal(tok('claude-x', 'output'), 3 * 7);
    assert.equal(tok('gpt-x', 'input'), 3 * 11);
    assert.equal(tok('gpt-x', 'output'), 3 * 7);
    for (const [model, dialect] of [['claude-x', 'anthropic'], ['gpt-x', 'openai']] as const) {
      assert.equal(v('router67_ttfb_seconds', 'router67_ttfb_seconds_count', { provider: 'alpha', model, dialect }), 3);
      assert.equal(v('router67_request_duration_seconds', 'router67_request_duration_seconds_count', { provider: 'alpha', model, dialect, outcome: 'ok' }), 3);
      const logged = entries.filter((e) => e.model === model).reduce((s, e) => s + e.durationMs!, 0) / 1000;
      const got = v('router67_request_duration_seconds', 'router67_request_duration_seconds_sum', { provider: 'alpha', model, dialect, outcome: 'ok' })!;
      assert.ok(Math.abs(got - logged) < 1e-6, `${got} vs ${logged}`);
    }
    assert.equal(v('router67_in_flight', 'router67_in_flight', {}), 0);
    assert.equal(fams.get('router67_requests_total')!.type, 'counter');
    assert.equal(fams.get('router67_ttfb_seconds')!.type, 'histogram');
    assert.ok(fams.has('process_resident_memory_bytes'), 'process metrics from our own registry');

    // the opt-out: a local Prometheus scrapes without the token (health too); still loopback Host only
    writeFileSync(t.configPath, toml('[metrics]\nrequire_token = false\n'));
    assert.equal(await t.core.reload(), true);
    assert.equal((await get(`${admin.url}/metrics`)).status, 200);
    assert.equal((await get(`${admin.url}/readyz`)).status, 200);
    assert.equal((await get(`${admin.url}/metrics`, { host: 'evil.example' })).status, 403);
    assert.equal((await get(`${admin.url}/api/status`)).status, 401, 'the rest of the admin API keeps its token');
  } finally {
    await t.stop();
    await down.close();
    await alpha.close();
  }
});

test('[daemon] admin_port fixes the admin endpoint for a scrape target; a taken port is a clear start error', async () => {
  const probe = await startCore('');
  const port = Number(new URL(probe.core.admin!.url).port);
  await probe.stop();
  const t = await startCore(`[daemon]\nadmin_port = ${port}\n[metrics]\nrequire_token = false\n`);
  try {
    assert.equal(t.core.admin!.url, `http://127.0.0.1:${port}`);
    assert.equal((await get(`http://127.0.0.1:${port}/metrics`)).status, 200);
    await assert.rejects(startCore(`[daemon]\nadmin_port = ${port}\n`), /admin port 127\.0\.0\.1:\d+ is already in use/);
  } finally {
    await t.stop();
  }
});

test('retries and hedges show in router67_attempts_total as kind="retry" / kind="hedge"', async () => {
  const a = await startFaultUpstream('alpha');
  const b = await startFaultUpstream('beta');
  // alpha hedges to beta after 100 ms; retries on with a tiny backoff (a real clock, no sleeps in the test)
  const t = await startCore(
    '[daemon]\nrequest_timeout_ms = 10000\naffinity = false\nretry_max = 2\nretry_budget = 3\nretry_base_ms = 1\nretry_max_backoff_ms = 2\n[metrics]\nrequire_token = false\n' +
      provider('alpha', a.url, { m: 'a' }, 'format = "openai"\nhedge = 100') +
      provider('beta', b.url, { m: 'b' }, 'format = "openai"'),
  );
  try {
    assert.equal((await get(`${t.core.admin!.url}/metrics`)).status, 200, 'the first scrape switches counting on');
    const client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: 'x', maxRetries: 0 });
    const ask = () => client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
    // 1: alpha answers 503 twice (fast, before the hedge delay), then the second retry succeeds
    a.script = [{ status: 503 }, { status: 503 }, 'ok'];
    assert.equal((await ask()).choices[0]?.message.content, 'Hello from alpha!');
    // 2: alpha is slow: beta is started as a hedge and wins
    a.script = [{ delayMs: 3000 }];
    assert.equal((await ask()).choices[0]?.message.content, 'Hello from beta!');
    await t.core.proxy.idle();
    const [hedged, retried] = t.core.log.recent(2);
    assert.deepEqual(retried!.attempts.map((x) => [x.provider, x.status, attemptKind(x)]), [['alpha', 503, 'first'], ['alpha', 503, 'retry'], ['alpha', 200, 'retry']]);
    assert.deepEqual(hedged!.attempts.map((x) => [x.provider, attemptKind(x)]), [['alpha', 'first'], ['beta', 'hedge']]);
    const app = retried!.app ?? '';
    const fams = parsePrometheusText((await get(`${t.core.admin!.url}/metrics`)).text);
    const att = (provider: string, model: string, outcome: string, kind: string) =>
      valueOf(fams, 'router67_attempts_total', 'router67_attempts_total', { provider, model, dialect: 'openai', outcome, app, kind });
    assert.equal(att('alpha', 'a', 'error', 'first'), 1);
    assert.equal(att('alpha', 'a', 'error', 'retry'), 1);
    assert.equal(att('alpha', 'a', 'ok', 'retry'), 1);
    assert.equal(att('beta', 'b', 'ok', 'hedge'), 1);
    const fam = fams.get('router67_attempts_total')!;
    assert.equal(sum(fam), 5, 'three tries at alpha, then alpha (the slow loser) and the beta hedge');
    assert.deepEqual([...new Set(fam.samples.map((x) => x.labels.kind))].sort(), ['first', 'hedge', 'retry']);
  } finally {
    await t.stop();
    await Promise.all([a.close(), b.close()]);
  }
});

test('attempt kind: from Attempt.why, three values only', () => {
  assert.equal(attemptKind({}), 'first');
  assert.equal(attemptKind({ why: 'order' }), 'first');
  assert.equal(attemptKind({ why: 'latency 212 ms' }), 'first');
  assert.equal(attemptKind({ why: 'retry 2 after 180 ms' }), 'retry');
  assert.equal(attemptKind({ why: 'retry 1 after 80 ms; saturated: 3 in flight (max_in_flight 3)' }), 'retry', 'a retry the gate then skipped');
  assert.equal(attemptKind({ why: 'hedge after 250 ms' }), 'hedge');
  assert.equal(attemptKind({ why: 'rule "retry later"' }), 'first');
});

function sum(f: Family): number {
  return f.samples.reduce((s, x) => s + x.value, 0);
}

test('breaker and limiter gauges come from the snapshot sources given to addGauges (a fake snapshot here)', async () => {
  const log = new RequestLog();
  let inFlight = 2;
  const m = new Metrics({ log, inFlight: () => inFlight });
  let snap: HealthGauges = {
    providers: [
      { name: 'alpha', breaker: { state: 'open' }, inFlight: 1, queued: 4, maxInFlight: 2, targets: [{ key: 'alpha/a-1', model: 'a-1', breaker: { state: 'half-open' } }] },
      { name: 'beta', breaker: { state: 'closed' }, inFlight: 0, queued: 0, maxInFlight: null, targets: [] },
    ],
  };
  const remove = m.addGauges(() => snap);
  m.addGauges(() => {
    throw new Error('broken source');
  });
  let f = parsePrometheusText((await m.scrape()).body);
  assert.equal(valueOf(f, 'router67_breaker_state', 'router67_breaker_state', { provider: 'alpha', model: '' }), 2);
  assert.equal(valueOf(f, 'router67_breaker_state', 'router67_breaker_state', { provider: 'alpha', model: 'a-1' }), 1);
  assert.equal(valueOf(f, 'router67_breaker_state', 'router67_breaker_state', { provider: 'beta', model: '' }), 0);
  assert.equal(valueOf(f, 'router67_limiter_queue_depth', 'router67_limiter_queue_depth', { provider: 'alpha' }), 4);
  assert.equal(valueOf(f, 'router67_provider_in_flight', 'router67_provider_in_flight', { provider: 'alpha' }), 1);
  assert.equal(valueOf(f, 'router67_in_flight', 'router67_in_flight', {}), 2);
  // the next scrape reads the source again; a provider gone is gone from the gauges
  snap = { providers: [{ name: 'beta', breaker: { state: 'half-open' }, inFlight: 0, queued: 1, maxInFlight: null, targets: [] }] };
  inFlight = 0;
  await new Promise((r) => setTimeout(r, 60));
  f = parsePrometheusText((await m.scrape()).body);
  assert.equal(valueOf(f, 'router67_breaker_state', 'router67_breaker_state', { provider: 'alpha', model: '' }), undefined);
  assert.equal(valueOf(f, 'router67_breaker_state', 'router67_breaker_state', { provider: 'beta', model: '' }), 1);
  assert.equal(valueOf(f, 'router67_limiter_queue_depth', 'router67_limiter_queue_depth', { provider: 'beta' }), 1);
  remove();
  await new Promise((r) => setTimeout(r, 60));
  f = parsePrometheusText((await m.scrape()).body);
  assert.equal(f.get('router67_breaker_state')!.samples.length, 0);
  // finished entries count; begun-only ones do not
  const e = log.begin({ dialect: 'anthropic', method: 'POST', path: '/v1/messages', model: 'm', stream: false, app: 'Claude Code' });
  e.provider = 'alpha';
  e.status = 200;
  e.attempts.push({ provider: 'alpha', model: 'a-1', status: 200, error: null, durationMs: 5 });
  e.inputTokens = 100;
  e.cacheReadTokens = 80;
  e.durationMs = 12;
  log.begin({ dialect: 'openai', method: 'POST', path: '/v1/chat/completions', model: 'm', stream: false });
  log.finish(e);
  f = parsePrometheusText((await m.scrape()).body);
  assert.equal(valueOf(f, 'router67_requests_total', 'router67_requests_total', { provider: 'alpha', model: 'm', dialect: 'anthropic', outcome: 'ok', app: 'Claude Code' }), 1);
  assert.equal(valueOf(f, 'router67_tokens_total', 'router67_tokens_total', { provider: 'alpha', model: 'm', app: 'Claude Code', kind: 'cache_read' }), 80);
  assert.equal(f.get('router67_requests_total')!.samples.length, 1);
  m.close();
});

test('the strict parser rejects what Prometheus would', () => {
  const bad = [
    'x 1', // no final newline
    'x{a="1} 1\n',
    'x{a="\\q"} 1\n',
    '# TYPE x counter\nx -1\n',
    '# TYPE x counter\n# TYPE x counter\nx 1\n',
    'x 1\ny 1\nx 2\n',
    'x 1\nx 1\n',
    '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
    '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n',
    '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 1\n',
    '1x 1\n',
    'x one\n',
  ];
  for (const b of bad) assert.throws(() => parsePrometheusText(b), Error, JSON.stringify(b));
  const ok = parsePrometheusText('# HELP x a \\\\ b\\n\n# TYPE x gauge\nx{a="q\\"\\n"} +Inf 123\n\n');
  assert.equal(ok.get('x')!.help, 'a \\ b\n');
  assert.equal(ok.get('x')!.samples[0]!.labels.a, 'q"\n');
});
