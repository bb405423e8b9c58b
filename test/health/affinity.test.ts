// Cache affinity: the turns of one conversation stay on the target that served the previous turn while it is
// healthy (even when it is second in the chain); a fallback that moves the conversation is flagged on the entry.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import OpenAI from 'openai';
import { Affinity, fingerprint, preferTarget } from '../../main/health/affinity.js';
import { provider, startCore, type TestCore } from '../helpers/core.js';
import { startFaultUpstream, type FaultUpstream } from '../helpers/fault-upstream.js';

const fp = (body: unknown) => fingerprint(() => body)!;

describe('conversation fingerprints', () => {
  const sys = [{ type: 'text', text: 'You are terse.', cache_control: { type: 'ephemeral' } }];
  const t1 = { system: sys, messages: [{ role: 'user', content: [{ type: 'text', text: 'hi', cache_control: { type: 'ephemeral' } }] }] };
  const t2 = {
    system: sys,
    messages: [
      { role: 'user', content: [{ type: 'text', text: 'hi' }] }, // the client moved its cache breakpoint
      { role: 'assistant', content: 'hello' },
      { role: 'user', content: [{ type: 'text', text: 'more', cache_control: { type: 'ephemeral' } }] },
    ],
  };
  const t3 = { system: sys, messages: [...t2.messages, { role: 'assistant', content: [{ type: 'tool_use', id: 't', name: 'x', input: {} }] }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: 'ok' }] }] };

  it('links each turn to the previous one, ignoring moved cache_control markers', () => {
    assert.ok(fp(t2).lookup.includes(fp(t1).own));
    assert.ok(fp(t3).lookup.includes(fp(t2).own));
    assert.ok(!fp({ ...t2, system: 'another prompt' }).lookup.includes(fp(t1).own), 'another system prompt is another conversation');
    assert.ok(!fp({ messages: [{ role: 'user', content: 'other' }, ...t2.messages.slice(1)] }).lookup.includes(fp(t1).own));
    assert.equal(fingerprint(() => JSON.parse('not json')), undefined);
    assert.equal(fingerprint(() => ({ input: 'a string', model: 'x' })), undefined);
  });

  it('remembers a bounded number of conversations, each for a limited time', () => {
    let now = 0;
    const a = new Affinity(3, 1000, () => now);
    const turns = Array.from({ length: 5 }, (_, i) => fp({ messages: [{ role: 'user', content: `c${i}` }] }));
    turns.forEach((f, i) => a.remember(f, `p${i}/m`));
    assert.equal(a.size, 3);
    const next = (i: number) => fp({ messages: [{ role: 'user', content: `c${i}` }, { role: 'assistant', content: 'r' }, { role: 'user', content: 'q' }] });
    assert.equal(a.find(next(0)), undefined, 'the oldest was dropped');
    assert.equal(a.find(next(4)), 'p4/m');
    now = 1001;
    assert.equal(a.find(next(4)), undefined, 'expired');
  });

  it('puts the wanted target first only when it is planned and healthy', () => {
    const key = (t: string) => t;
    assert.deepEqual(preferTarget(['a', 'b', 'c'], key, 'c', () => true), { targets: ['c', 'a', 'b'], preferred: 'c' });
    assert.deepEqual(preferTarget(['a', 'b', 'c'], key, 'c', (t) => t !== 'c').targets, ['a', 'b', 'c']);
    assert.deepEqual(preferTarget(['a', 'b'], key, 'z', () => true).targets, ['a', 'b']);
  });
});

describe('affinity through the proxy', () => {
  let a: FaultUpstream, b: FaultUpstream;
  let t: TestCore;
  let client: OpenAI;
  before(async () => {
    a = await startFaultUpstream('alpha');
    b = await startFaultUpstream('beta');
    t = await startCore(`[daemon]\nretry_max = 0\n` + provider('alpha', a.url, { m: 'a' }, 'format = "openai"') + provider('beta', b.url, { m: 'b' }, 'format = "openai"'));
    client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: 'x', maxRetries: 0 });
  });
  after(async () => {
    await t.stop();
    await Promise.all([a.close(), b.close()]);
  });
  beforeEach(() => {
    for (const u of [a, b]) u.seen = [];
  });
  const last = () => t.core.log.recent(1)[0]!;
  type Msg = OpenAI.Chat.ChatCompletionMessageParam;

  it('keeps a 3-turn conversation on the provider that served turn 1 though it is second in the chain, and flags the move when it fails', async () => {
    const convo: Msg[] = [{ role: 'system', content: 'You are a careful assistant. '.repeat(50) }];
    const turn = async (text: string) => {
      convo.push({ role: 'user', content: text });
      const r = await client.chat.completions.create({ model: 'm', messages: convo });
      convo.push({ role: 'assistant', content: r.choices[0]!.message.content! });
      return r.choices[0]!.message.content;
    };
    // turn 1: alpha (first in the chain) fails, beta serves
    a.script = [{ status: 500 }];
    assert.equal(await turn('one'), 'Hello from beta!');
    assert.deepEqual(last().attempts.map((x) => [x.provider, x.status, x.why]), [['alpha', 500, undefined], ['beta', 200, undefined]]);
    assert.equal(last().cacheMoved, undefined);
    // turns 2 and 3: beta first, alpha (healthy again) never asked
    for (const text of ['two', 'three']) {
      assert.equal(await turn(text), 'Hello from beta!');
      assert.deepEqual(last().attempts.map((x) => [x.provider, x.why]), [['beta', 'affinity']]);
      assert.equal(last().cacheMoved, undefined);
    }
    assert.equal(a.seen.length, 1);
    // another conversation follows the chain order
    await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'unrelated' }] });
    assert.equal(last().provider, 'alpha');
    // turn 4: beta fails; alpha serves and the entry says the cache moved
    b.script = [{ status: 503 }];
    assert.equal(await turn('four'), 'Hello from alpha!');
    assert.deepEqual(last().attempts.map((x) => [x.provider, x.status, x.why]), [['beta', 503, 'affinity'], ['alpha', 200, undefined]]);
    assert.equal(last().cacheMoved, 'beta/b');
    // turn 5 stays where the cache now is
    assert.equal(await turn('five'), 'Hello from alpha!');
    assert.deepEqual(last().attempts.map((x) => [x.provider, x.why]), [['alpha', 'affinity']]);
    assert.equal(last().cacheMoved, undefined);
  });

  it('does not wait for a provider that is cooling down: moves on and flags it', async () => {
    const convo: Msg[] = [{ role: 'user', content: 'cooling test' }];
    b.script = [];
    a.script = [{ status: 500 }];
    const r1 = await client.chat.completions.create({ model: 'm', messages: convo });
    assert.equal(r1.choices[0]!.message.content, 'Hello from beta!');
    t.core.proxy.health.block({ provider: { name: 'beta' } as never, model: 'b' }, 30_000);
    try {
      convo.push({ role: 'assistant', content: 'x' }, { role: 'user', content: 'again' });
      const r2 = await client.chat.completions.create({ model: 'm', messages: convo });
      assert.equal(r2.choices[0]!.message.content, 'Hello from alpha!');
      assert.equal(last().cacheMoved, 'beta/b');
    } finally {
      t.core.proxy.health.reset('beta');
    }
  });
});
