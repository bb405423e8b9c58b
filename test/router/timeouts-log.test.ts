// First-byte timeout falls through; the whole-request timeout ends the exchange; the request log stays bounded and rotates.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { IsoClock } from '../../main/log/iso-clock.js';
import { Deadlines } from '../../main/proxy/deadlines.js';
import { RequestLog } from '../../main/log/request-log.js';
import { provider, startCore, type TestCore } from '../helpers/core.js';
import { startMockUpstream, type MockUpstream } from '../helpers/mock-upstream.js';

describe('timeouts', () => {
  let a: MockUpstream, b: MockUpstream;
  let t: TestCore;
  before(async () => {
    a = await startMockUpstream('alpha', 'hang');
    b = await startMockUpstream('beta');
    t = await startCore(`[daemon]\nfirst_byte_timeout_ms = 300\nrequest_timeout_ms = 1500\n` + provider('alpha', a.url, { m: 'a' }) + provider('beta', b.url, { m: 'b', solo: 's' }));
  });
  after(async () => {
    await t.stop();
    await a.close();
    await b.close();
  });

  it('treats a silent upstream as a transport error after the first-byte timeout and moves on', async () => {
    const client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: 'x', maxRetries: 0 });
    const r = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(r.choices[0]?.message.content, 'Hello from beta!');
    const e = t.core.log.recent(1)[0]!;
    assert.match(e.attempts[0]!.error ?? '', /first-byte timeout/);
    assert.equal(e.attempts[0]!.status, null);
  });

  it('ends a stream that outlives the whole-request timeout with an error event', async () => {
    b.words = Array.from({ length: 1200 }, (_, i) => ` w${i}`); // ~2 ms apart: longer than 1.5 s
    const client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: 'x', maxRetries: 0 });
    await assert.rejects(client.chat.completions.stream({ model: 'solo', messages: [{ role: 'user', content: 'hi' }] }).finalChatCompletion(), /request timeout/);
    const e = t.core.log.recent(1)[0]!;
    assert.equal(e.state, 'error');
    assert.match(e.error ?? '', /request timeout/);
  });
});

describe('request deadlines (one timer for all)', () => {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('fires each deadline once, in order, not before its time; a cancelled one never; the list ends empty', async () => {
    const d = new Deadlines();
    const fired: [string, number][] = [];
    const t0 = performance.now();
    const at = (name: string) => () => fired.push([name, performance.now() - t0]);
    d.add(120, at('c'));
    d.add(40, at('a')); // earlier than the one before it: sorted in, and the timer moves up
    const cancelled = d.add(80, at('never'));
    d.add(80, at('b'));
    cancelled.cancel();
    cancelled.cancel(); // idempotent
    assert.equal(d.size, 3);
    await sleep(250);
    assert.deepEqual(fired.map(([n]) => n), ['a', 'b', 'c']);
    for (const [n, ms] of fired) assert.ok(ms >= { a: 40, b: 80, c: 120 }[n]! - 1, `${n} fired after ${ms.toFixed(1)} ms`);
    assert.equal(d.size, 0);
  });

  it('a timer set for a request that ended moves on to the next deadline; a fire may cancel and add', async () => {
    const d = new Deadlines();
    const fired: string[] = [];
    const first = d.add(30, () => fired.push('first'));
    let later: ReturnType<Deadlines['add']> | undefined;
    d.add(60, () => {
      fired.push('second');
      later?.cancel(); // cancels a pending one from inside a fire
      d.add(20, () => fired.push('added'));
    });
    later = d.add(60, () => fired.push('cancelled from a fire'));
    first.cancel(); // the timer was set for it
    await sleep(40);
    assert.deepEqual(fired, []);
    await sleep(100);
    assert.deepEqual(fired, ['second', 'added']);
    assert.equal(d.size, 0);
  });

  it('holds many requests at little cost: 100,000 added and cancelled in order leave nothing behind', () => {
    const d = new Deadlines();
    const all = Array.from({ length: 100_000 }, () => d.add(600_000, () => assert.fail('must not fire')));
    for (const x of all) x.cancel();
    assert.equal(d.size, 0);
  });
});

describe('request log', () => {
  it('keeps a bounded ring, newest first', () => {
    const log = new RequestLog({ capacity: 3 });
    for (let i = 0; i < 5; i++) log.begin({ dialect: 'openai', method: 'POST', path: `/${i}`, stream: false });
    assert.deepEqual(log.recent().map((e) => e.path), ['/4', '/3', '/2']);
    assert.equal(log.total, 5);
    assert.equal(log.get(log.recent()[2]!.id)?.path, '/2');
  });

  it('appends finished entries as JSONL and rotates by size', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'router67-log-'));
    try {
      const log = new RequestLog({ dir, maxFileBytes: 2000, keepFiles: 2 });
      for (let i = 0; i < 40; i++) {
        const e = log.begin({ dialect: 'anthropic', method: 'POST', path: '/v1/messages', stream: false, model: `m${i}` });
        log.finish(e);
        log.flush();
      }
      await log.close();
      const cur = readFileSync(join(dir, 'requests.jsonl'), 'utf8').trim().split('\n');
      assert.ok(cur.length > 0);
      assert.equal(JSON.parse(cur.at(-1)!).model, 'm39');
      assert.ok(existsSync(join(dir, 'requests.jsonl.1')));
      assert.ok(existsSync(join(dir, 'requests.jsonl.2')));
      assert.ok(!existsSync(join(dir, 'requests.jsonl.3')));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps the headers sent upstream and the response headers in memory only, not in the JSONL line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'router67-log-'));
    try {
      const log = new RequestLog({ dir });
      const e = log.begin({ dialect: 'anthropic', method: 'POST', path: '/v1/messages', stream: false, model: 'm', requestHeaders: { 'content-type': 'application/json' } });
      e.upstreamHeaders = { 'x-sent': 'up' };
      e.responseHeaders = { 'request-id': 'req_1' };
      log.finish(e);
      await log.close();
      const line = JSON.parse(readFileSync(join(dir, 'requests.jsonl'), 'utf8').trim()) as Record<string, unknown>;
      assert.deepEqual(line.requestHeaders, { 'content-type': 'application/json' });
      assert.equal(line.upstreamHeaders, undefined);
      assert.equal(line.responseHeaders, undefined);
      assert.deepEqual(log.get(e.id)?.upstreamHeaders, { 'x-sent': 'up' });
      assert.deepEqual(log.get(e.id)?.responseHeaders, { 'request-id': 'req_1' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('writes every line whole across batches: non-ASCII text, a line larger than a batch, rotation by bytes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'router67-log-'));
    try {
      const log = new RequestLog({ dir, maxFileBytes: 400_000, keepFiles: 3 });
      const models: string[] = [];
      for (let i = 0; i < 3000; i++) {
        // three bytes a character in UTF-8, then a line of 300,000 characters (more than a whole batch)
        const model = i === 1500 ? 'x'.repeat(300_000) : `модель-${i}-✓`;
        models.push(model);
        log.finish(log.begin({ dialect: 'anthropic', method: 'POST', path: '/v1/messages', stream: false, model }));
      }
      await log.close();
      const lines = ['requests.jsonl.3', 'requests.jsonl.2', 'requests.jsonl.1', 'requests.jsonl']
        .filter((f) => existsSync(join(dir, f)))
        .flatMap((f) => readFileSync(join(dir, f), 'utf8').trim().split('\n'));
      assert.ok(existsSync(join(dir, 'requests.jsonl.1')), 'rotated');
      const seen = lines.map((l) => (JSON.parse(l) as { model: string }).model);
      // the newest lines are all there, in order, each whole (rotation drops only whole old files)
      assert.deepEqual(seen, models.slice(models.length - seen.length));
      assert.ok(seen.includes(models[1500]!));
      for (const f of ['requests.jsonl', 'requests.jsonl.1']) assert.ok(readFileSync(join(dir, f)).length <= 400_000, f);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('scrubs every secret added, longest first, whatever order the lists come in, and never changes a list it was given', () => {
    const log = new RequestLog();
    const client = Object.freeze(['sk-client-0123456789']);
    const provider = Object.freeze(['Bearer sk-prov-abcdefghij', 'sk-prov-abcdefghij']);
    for (let i = 0; i < 3; i++) {
      // the same lists request after request (shared, as the forms of a key are)
      const e = log.begin({ dialect: 'openai', method: 'POST', path: '/v1/chat/completions', stream: false, requestHeaders: { 'x-echo': `key sk-client-0123456789 and Bearer sk-prov-abcdefghij` } });
      log.addSecrets(e, client, 8);
      log.addSecrets(e, provider);
      log.addSecrets(e, ['tiny', 'abc'], 4); // 'abc' is too short to be a secret
      e.error = 'upstream said: Bearer sk-prov-abcdefghij is wrong; tiny abc';
      log.finish(e);
      assert.equal(e.error, 'upstream said: [redacted] is wrong; [redacted] abc');
      assert.equal(e.requestHeaders!['x-echo'], 'key [redacted] and [redacted]');
    }
    assert.deepEqual(client, ['sk-client-0123456789']);
    assert.deepEqual(provider, ['Bearer sk-prov-abcdefghij', 'sk-prov-abcdefghij']);
  });

  it('writes start times exactly as Date#toISOString does, across minutes, days and years', () => {
    const clock = new IsoClock();
    const times = [0, 59_999, 60_000, Date.UTC(2026, 11, 31, 23, 59, 59, 999), Date.UTC(2027, 0, 1), Date.now(), -1, -60_001, 1.5];
    let x = 0x2545f491;
    for (let i = 0; i < 20_000; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      // mostly near each other (the cached minute), sometimes far (a new minute, backwards)
      times.push(Date.UTC(2026, 11, 1) + ((x >>> 0) % (i % 10 === 0 ? 4e9 : 3e5)));
    }
    for (const t of times) assert.equal(clock.iso(t), new Date(t).toISOString(), String(t));
  });
});
