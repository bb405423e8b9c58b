// A bounded soak (stops itself well within 2 minutes): four upstreams with mixed faults (5xx, resets, streams cut
// mid-way, 429s with short Retry-After, flapping, slow answers, a max_in_flight), 1,000 requests, half of them
// streaming, in both Anthropic and OpenAI dialects. Every client gets a complete answer or an error in its
// dialect (listing the attempts when nobody answered); none hangs; no stream is corrupted; the daemon's RSS (its
// own process, as users run it) stays within 30 MB of its start; nothing is left in flight or queued.
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { eventually, provider, tempHome } from '../helpers/core.js';
import { memMb, startProcess, type Proc } from '../bench/measure.js';
import { fetchStatus } from '../../main/cli/status.js';
import { seededRandom } from '../../main/health/retry.js';
import { startUpstream, type Fault, type Upstream } from './upstream.js';

const TOTAL = 1000;
const CONCURRENCY = 40;
const DEADLINE_MS = 100_000;

const ups: Upstream[] = [];
const home = tempHome('router67-soak-');
let daemon: Proc | undefined;
after(async () => {
  daemon?.stop();
  for (const u of ups) await u.close();
  rmSync(home, { recursive: true, force: true });
});

type Result = 'complete' | 'error-with-attempts' | 'in-stream-error' | 'hung' | 'corrupted';

test('soak: 1,000 mixed requests over four faulty upstreams', { timeout: 120_000 }, async () => {
  const r = seededRandom(67); // the same faults every run
  const pick = (table: [number, Fault][]): Fault => {
    let x = r();
    for (const [p, f] of table) if ((x -= p) < 0) return f;
    return { kind: 'ok' };
  };
  ups.push(
    await startUpstream('one', () =>
      pick([
        [0.15, { kind: 'status', status: 503 }],
        [0.1, { kind: 'reset' }],
        [0.1, { kind: 'drop-mid-stream' }],
        [0.05, { kind: 'ok', delayMs: 80 }],
      ]),
    ),
    await startUpstream('two', () => pick([[0.25, { kind: 'status', status: 429, headers: { 'retry-after-ms': '40' } }], [0.1, { kind: 'ok', delayMs: 20 }]])),
    await startUpstream('three', (n) => (Math.floor(n / 40) % 2 ? { kind: 'status', status: 500 } : { kind: 'ok', delayMs: 5 })),
    await startUpstream('four', () => pick([[0.05, { kind: 'drop-mid-stream' }], [0.02, { kind: 'status', status: 429 }], [0.5, { kind: 'ok', delayMs: 15 }]])),
  );
  const [one, two, three, four] = ups as [Upstream, Upstream, Upstream, Upstream];
  writeFileSync(
    join(home, 'config.toml'),
    '[daemon]\nlog_level = "error"\nbreaker_failures = 3\nbreaker_cooloff_ms = 150\nbreaker_cooloff_max_ms = 1000\nlimit_queue_wait_ms = 3000\nrate_limit_default_ms = 50\nfirst_byte_timeout_ms = 5000\nidle_timeout_ms = 3000\nrequest_timeout_ms = 20000\n' +
      provider('one', one.url, { m: 'one-m' }) +
      provider('two', two.url, { m: 'two-m' }, 'rpm = 6000') +
      provider('three', three.url, { m: 'three-m' }) +
      provider('four', four.url, { m: 'four-m' }, 'max_in_flight = 6'),
  );
  const started = await startProcess([join(__dirname, '..', '..', 'main', 'cli', 'index.js'), 'daemon', '--listen', '127.0.0.1:0', '--no-intercept'], { ROUTER67_HOME: home }, /listening on (http:\/\/127\.0\.0\.1:\d+)/);
  daemon = started.proc;
  const url = started.match[1]!;
  const expected = new Set(ups.map((u) => u.words.join('')));
  const prefixes = new Set<string>();
  for (const u of ups) for (let i = 0; i <= u.words.length; i++) prefixes.add(u.words.slice(0, i).join(''));

  const one1 = async (i: number): Promise<Result> => {
    const stream = i % 2 === 0;
    const anthropic = i % 4 < 2;
    const path = anthropic ? '/v1/messages' : '/v1/chat/completions';
    const body = JSON.stringify({ model: 'm', max_tokens: 20, stream, messages: [{ role: 'user', content: `request ${i}` }] });
    let res: Response;
    let text: string;
    try {
      res = await fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(30_000) });
      text = await res.text();
    } catch (e) {
      return (e as Error).name === 'TimeoutError' ? 'hung' : 'corrupted';
    }
    if (res.status !== 200) {
      const j = JSON.parse(text) as { attempts?: unknown[]; error?: { type?: string; message?: string } };
      if (![429, 502].includes(res.status) || !Array.isArray(j.attempts) || j.attempts.length !== 4 || !j.error?.message) return 'corrupted';
      if (anthropic && (j as { type?: string }).type !== 'error') return 'corrupted';
      if (res.status === 429 && !res.headers.get('retry-after')) return 'corrupted';
      return 'error-with-attempts';
    }
    if (!stream) {
      const j = JSON.parse(text) as { content?: { text: string }[]; choices?: { message: { content: string } }[] };
      const said = anthropic ? j.content?.[0]?.text : j.choices?.[0]?.message.content;
      return said !== undefined && expected.has(said) ? 'complete' : 'corrupted';
    }
    // a stream: every event whole and valid JSON, the text a prefix of one answer, ended properly or by an error event
    let said = '';
    let ended = false;
    let errored = false;
    for (const block of text.split('\n\n')) {
      if (!block.trim()) continue;
      if (ended || errored) return 'corrupted'; // nothing after the end
      const data = block.split('\n').find((l) => l.startsWith('data: '))?.slice(6);
      if (data === undefined) return 'corrupted';
      if (data === '[DONE]') {
        ended = true;
        continue;
      }
      let ev: any;
      try {
        ev = JSON.parse(data);
      } catch {
        return 'corrupted';
      }
      if (ev.error) errored = true;
      else if (anthropic && ev.type === 'content_block_delta') said += ev.delta.text;
      else if (anthropic && ev.type === 'message_stop') ended = true;
      else if (!anthropic && ev.choices?.[0]?.delta?.content) said += ev.choices[0].delta.content;
    }
    if (!prefixes.has(said)) return 'corrupted';
    if (ended) return expected.has(said) ? 'complete' : 'corrupted';
    return errored ? 'in-stream-error' : 'corrupted';
  };

  const counts: Record<Result, number> = { complete: 0, 'error-with-attempts': 0, 'in-stream-error': 0, hung: 0, corrupted: 0 };
  const run = async (from: number, to: number) => {
    let next = from;
    const stopAt = Date.now() + DEADLINE_MS;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < to && Date.now() < stopAt) counts[await one1(next++)]++;
      }),
    );
    return next - from;
  };
  // warm-up, then the measured run
  await run(0, 100);
  for (const k of Object.keys(counts) as Result[]) counts[k] = 0;
  const rss0 = memMb(daemon.pid).rss;
  const t0 = Date.now();
  const done = await run(0, TOTAL);
  const seconds = (Date.now() - t0) / 1000;
  const grewMb = memMb(daemon.pid).rss - rss0;
  console.log(`soak: ${done} requests in ${seconds.toFixed(1)} s; ${JSON.stringify(counts)}; RSS grew ${grewMb.toFixed(1)} MB; upstream requests ${ups.map((u) => `${u.name} ${u.count}`).join(', ')}; four max in flight ${four.maxInFlight}`);
  assert.equal(done, TOTAL, 'all requests sent within the bound');
  assert.equal(counts.hung, 0);
  assert.equal(counts.corrupted, 0);
  assert.equal(counts.complete + counts['error-with-attempts'] + counts['in-stream-error'], TOTAL);
  assert.ok(counts.complete > TOTAL * 0.8, 'most requests found a working upstream');
  assert.ok(four.maxInFlight <= 6, `max_in_flight held at the upstream (${four.maxInFlight})`);
  assert.ok(grewMb < 30, `RSS grew ${grewMb.toFixed(1)} MB`);
  // the faults really happened (breakers tripped), and the resilience state is left clean
  await eventually(async () => {
    const st = (await fetchStatus(home))!;
    assert.equal(st.requests.inFlight, 0);
    assert.ok(st.health!.providers.some((p) => p.breaker.trips > 0 || p.targets.some((x) => x.breaker.trips > 0)), 'a breaker opened');
    assert.deepEqual(st.health!.providers.map((p) => [p.inFlight, p.queued]), [[0, 0], [0, 0], [0, 0], [0, 0]]);
  });
});
