// Server-stored state, reasoning across turns and mid-conversation system messages, with the official SDKs
// through a real router67 core to a local upstream speaking every format (test/formats/state-upstream.ts).
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { writeFileSync } from 'node:fs';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { eventually, provider, startCore, type TestCore } from '../helpers/core.js';
import { startStateUpstream, type StateUpstream } from './state-upstream.js';
import { ResponseStore, resolveState, UnknownReferenceError } from '../../main/formats/index.js';

const TOOLS = [{ type: 'function' as const, name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } } }, strict: false }];

let up: StateUpstream;
let tc: TestCore;
let openai: OpenAI;
let anthropic: Anthropic;

function config(extraDaemon = ''): string {
  return (
    `[daemon]
first_byte_timeout_ms = 5000
request_timeout_ms = 10000
${extraDaemon}
` +
    provider('anth', up.url, { 'r-anth': 'claude-sonnet-4-5', 'cc-anth': 'claude-haiku-4-5', 'opus41': 'claude-opus-4-1' }, 'format = "anthropic"') +
    provider('chat', up.url, { 'a-deepseek': 'deepseek-reasoner', 'plain-chat': 'plain-model' }, 'format = "openai"') +
    provider('resp', up.url, { 'a-resp': 'gpt-5' }, 'format = "responses"') +
    provider('oll', up.url, { 'a-oll': 'llama3' }, 'format = "ollama"')
  );
}

function lastEntry() {
  return tc.core.log.recent(1)[0]!;
}
function lastSeen() {
  return up.seen[up.seen.length - 1]!;
}

before(async () => {
  up = await startStateUpstream();
  tc = await startCore(config());
  openai = new OpenAI({ baseURL: `${tc.url}/v1`, apiKey: 'k', maxRetries: 0 });
  anthropic = new Anthropic({ baseURL: tc.url, apiKey: 'k', maxRetries: 0 });
});
after(async () => {
  await tc.stop();
  await up.close();
});
beforeEach(() => {
  up.seen.length = 0;
});

describe('server-stored state for a Responses client routed to a stateless provider', () => {
  test('item_reference (AI SDK, store true by default) to items router67 returned: the upstream gets the full history', async () => {
    const r1 = await openai.responses.create({ model: 'r-anth', input: 'Hello there' });
    assert.equal(r1.output_text, `Answer ${up.seen.length}.`);
    const msg = r1.output.find((o) => o.type === 'message')!;
    assert.ok(msg.id.startsWith('msg_'));
    assert.equal((r1 as any).store, true);
    const r2 = await openai.responses.create({
      model: 'r-anth',
      input: [
        { role: 'user', content: 'Hello there' },
        { type: 'item_reference', id: msg.id },
        { role: 'user', content: 'And again?' },
      ],
    });
    assert.match(r2.output_text, /^Answer \d+\.$/);
    const sent = lastSeen().body;
    assert.deepEqual(
      sent.messages.map((m: any) => [m.role, m.content.map((c: any) => c.text).join('')]),
      [
        ['user', 'Hello there'],
        ['assistant', r1.output_text],
        ['user', 'And again?'],
      ],
    );
    const e = lastEntry();
    assert.ok(e.translationNotes?.some((n) => /1 item_reference resolved/.test(n)), JSON.stringify(e.translationNotes));
  });

  test('a streamed turn is remembered too; previous_response_id replays the conversation (not the instructions)', async () => {
    const s = openai.responses.stream({ model: 'r-anth', input: 'Stream one', instructions: 'Be terse.' });
    const r1 = await s.finalResponse();
    assert.match(r1.output_text, /^Answer \d+\.$/);
    const r2 = await openai.responses.create({ model: 'r-anth', input: 'Turn two', previous_response_id: r1.id });
    assert.equal(r2.previous_response_id, r1.id);
    const r3 = await openai.responses.create({ model: 'r-anth', input: [{ role: 'user', content: 'Turn three' }], previous_response_id: r2.id, stream: true });
    let done: any;
    for await (const ev of r3) if (ev.type === 'response.completed') done = ev.response;
    assert.match(done.output_text, /^Answer \d+\.$/);
    const sent = lastSeen().body;
    assert.equal(sent.system, undefined, 'instructions are not inherited through previous_response_id');
    assert.deepEqual(
      sent.messages.map((m: any) => [m.role, m.content.map((c: any) => c.text).join('')]),
      [
        ['user', 'Stream one'],
        ['assistant', r1.output_text],
        ['user', 'Turn two'],
        ['assistant', r2.output_text],
        ['user', 'Turn three'],
      ],
    );
    assert.ok(lastEntry().translationNotes?.some((n) => /previous_response_id resp_\w+: 4 earlier items replayed/.test(n)));
  });

  test('an unknown item_reference or previous_response_id is a 400 in the client dialect (BadRequestError), the upstream is not called', async () => {
    await assert.rejects(
      openai.responses.create({ model: 'r-anth', input: [{ type: 'item_reference', id: 'msg_never_returned' }] }),
      (e: unknown) => e instanceof OpenAI.BadRequestError && /msg_never_returned/.test(e.message) && (e as any).code === 'item_not_found',
    );
    await assert.rejects(
      openai.responses.create({ model: 'r-anth', input: 'x', previous_response_id: 'resp_unknown' }),
      (e: unknown) => e instanceof OpenAI.BadRequestError && /resp_unknown/.test(e.message) && (e as any).code === 'previous_response_not_found',
    );
    assert.equal(up.seen.length, 0);
    await eventually(() => assert.equal(lastEntry().status, 400));
  });

  test('store: false is not remembered (a later previous_response_id to it is unknown)', async () => {
    const r1 = await openai.responses.create({ model: 'r-anth', input: 'do not keep', store: false });
    assert.equal((r1 as any).store, false);
    await assert.rejects(openai.responses.create({ model: 'r-anth', input: 'next', previous_response_id: r1.id }), OpenAI.BadRequestError);
    const ref = r1.output.find((o) => o.type === 'message')!.id;
    await assert.rejects(openai.responses.create({ model: 'r-anth', input: [{ type: 'item_reference', id: ref }] }), OpenAI.BadRequestError);
  });

  test('the store survives a config reload, and its byte limit (from the reloaded config) evicts the least recently used', async () => {
    const r1 = await openai.responses.create({ model: 'r-anth', input: 'before reload' });
    writeFileSync(tc.configPath, config('response_store_max_bytes = 6000'));
    assert.equal(await tc.core.reload(), true);
    const r2 = await openai.responses.create({ model: 'r-anth', input: 'after reload', previous_response_id: r1.id });
    assert.equal(r2.previous_response_id, r1.id, 'remembered across the reload');
    // fill the store: each turn is ~1 KB, so the oldest go
    const big = 'x'.repeat(1200);
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) ids.push((await openai.responses.create({ model: 'r-anth', input: `${big} ${i}` })).id);
    assert.ok(tc.core.proxy.responses.bytes <= 6000, String(tc.core.proxy.responses.bytes));
    await assert.rejects(openai.responses.create({ model: 'r-anth', input: 'x', previous_response_id: ids[0]! }), OpenAI.BadRequestError);
    const last = await openai.responses.create({ model: 'r-anth', input: 'still there', previous_response_id: ids[7]! });
    assert.equal(last.previous_response_id, ids[7]);
    writeFileSync(tc.configPath, config());
    assert.equal(await tc.core.reload(), true);
  });
});

describe('a same-format Responses provider after a translated turn', () => {
  test('previous_response_id to a response router67 returned is replayed as items; reasoning it packed is left out', async () => {
    const r1 = await openai.responses.create({ model: 'r-anth', input: 'Think', reasoning: { effort: 'low' } });
    assert.ok(r1.output.some((o) => o.type === 'reasoning'));
    const r2 = await openai.responses.create({ model: 'a-resp', input: 'Next', previous_response_id: r1.id });
    assert.match(r2.output_text, /^Answer \d+\.$/);
    const b = lastSeen().body;
    assert.equal(b.previous_response_id, undefined);
    assert.deepEqual(
      b.input.map((i: any) => i.type ?? i.role),
      ['message', 'message', 'message'],
    );
  });
});

describe('ResponseStore', () => {
  const item = (id: string, text: string) => ({ id, type: 'message', role: 'assistant', content: [{ type: 'output_text', text }] });
  test('bounded by bytes (least recently used out first) and by age', () => {
    let now = 0;
    const s = new ResponseStore({ maxBytes: 1200, ttlMs: 10_000 }, () => now);
    s.record('resp_a', undefined, [{ role: 'user', content: 'a' }], [item('msg_a', 'x'.repeat(300))]);
    s.record('resp_b', 'resp_a', [{ role: 'user', content: 'b' }], [item('msg_b', 'y'.repeat(300))]);
    assert.equal(s.history('resp_b').length, 4);
    // the chain walk used both; now resp_b alone is used again, so resp_a is the least recently used
    assert.ok(s.item('msg_b'));
    s.record('resp_c', undefined, [], [item('msg_c', 'z'.repeat(300))]);
    assert.ok(s.bytes <= 1200);
    assert.equal(s.has('resp_a'), false, 'least recently used went first');
    assert.throws(() => s.history('resp_b'), (e: unknown) => e instanceof UnknownReferenceError && /no longer stored/.test(e.message));
    assert.ok(s.item('msg_c'));
    now = 20_000;
    assert.equal(s.item('msg_c'), undefined, 'expired');
    assert.equal(s.size <= 1, true);
    s.record('resp_huge', undefined, [], [item('msg_h', 'h'.repeat(5000))]);
    assert.equal(s.has('resp_huge'), false, 'a response larger than the whole store is not kept');
  });
  test('resolveState leaves unknown references to a same-format upstream when lenient', () => {
    const s = new ResponseStore({ maxBytes: 10_000, ttlMs: 10_000 });
    s.record('resp_1', undefined, [], [item('msg_1', 'hi')]);
    const r = resolveState({ input: [{ type: 'item_reference', id: 'msg_1' }, { type: 'item_reference', id: 'msg_upstream' }], previous_response_id: 'resp_upstream' }, s, true);
    assert.deepEqual(r.body!.input, [item('msg_1', 'hi'), { type: 'item_reference', id: 'msg_upstream' }]);
    assert.equal(r.body!.previous_response_id, 'resp_upstream');
    assert.throws(() => resolveState({ input: [{ type: 'item_reference', id: 'msg_upstream' }] }, s), UnknownReferenceError);
  });
});

describe('reasoning across turns', () => {
  test('Responses client (effort high, no max_output_tokens) → Anthropic: thinking on every turn with room for the answer; the signature comes back byte for byte', async () => {
    // turn 1 (Codex-style: streamed, store false, full items each turn)
    const s1 = openai.responses.stream({ model: 'r-anth', input: 'Weather in Oslo?', tools: TOOLS, reasoning: { effort: 'high' }, store: false });
    const r1 = await s1.finalResponse();
    const t1 = lastSeen().body;
    assert.equal(t1.max_tokens, 64000, 'a current Claude model default, not 4096');
    assert.equal(t1.thinking.type, 'enabled');
    assert.ok(t1.thinking.budget_tokens >= 1024 && t1.thinking.budget_tokens < t1.max_tokens - 4000, JSON.stringify(t1.thinking));
    const reasoning = r1.output.find((o) => o.type === 'reasoning')!;
    const call = r1.output.find((o) => o.type === 'function_call')!;
    assert.ok(reasoning.encrypted_content);
    // turn 2: the reasoning item and the call go back with the tool output
    const r2 = await openai.responses.create({
      model: 'r-anth',
      store: false,
      reasoning: { effort: 'high' },
      tools: TOOLS,
      input: [{ role: 'user', content: 'Weather in Oslo?' }, reasoning as any, call as any, { type: 'function_call_output', call_id: (call as any).call_id, output: '3C' }],
    });
    assert.match(r2.output_text, /^Answer \d+\.$/);
    const t2 = lastSeen().body;
    assert.equal(t2.thinking?.type, 'enabled', 'thinking is sent on turn 2 as well');
    assert.ok(t2.thinking.budget_tokens < t2.max_tokens);
    const block = t2.messages[1].content[0];
    assert.equal(block.type, 'thinking');
    assert.equal(block.signature, up.issued.signatures[up.issued.signatures.length - 2], 'the signature is byte-identical');
    assert.equal(block.thinking, up.issued.reasoning[up.issued.reasoning.length - 2]);
    assert.ok(lastEntry().translationNotes?.some((n) => /reasoning effort high → thinking budget \d+, max_tokens 64000 \(model default\)/.test(n)), JSON.stringify(lastEntry().translationNotes));
  });

  test('Opus 4.1 default max_tokens is 32000; a small client max_output_tokens caps the budget', async () => {
    await openai.responses.create({ model: 'opus41', input: 'hi', reasoning: { effort: 'high' } });
    assert.equal(lastSeen().body.max_tokens, 32000);
    await openai.responses.create({ model: 'r-anth', input: 'hi', reasoning: { effort: 'high' }, max_output_tokens: 4096 });
    const b = lastSeen().body;
    assert.equal(b.max_tokens, 4096);
    assert.deepEqual(b.thinking, { type: 'enabled', budget_tokens: 3072 });
  });

  test('Responses client → Anthropic through item_reference keeps the signature too (store true)', async () => {
    const r1 = await openai.responses.create({ model: 'r-anth', input: 'Think first', reasoning: { effort: 'medium' } });
    const ids = r1.output.map((o) => o.id!);
    await openai.responses.create({ model: 'r-anth', reasoning: { effort: 'medium' }, input: [{ role: 'user', content: 'Think first' }, ...ids.map((id) => ({ type: 'item_reference' as const, id })), { role: 'user', content: 'More' }] });
    const t2 = lastSeen().body;
    assert.equal(t2.messages[1].content[0].signature, up.issued.signatures[up.issued.signatures.length - 2]);
    assert.ok(t2.thinking);
  });

  test('Anthropic client → Responses upstream: encrypted_content round-trips byte for byte; the budget maps to an effort every turn', async () => {
    const params = { model: 'a-resp', max_tokens: 20000, thinking: { type: 'enabled' as const, budget_tokens: 10000 }, tools: [{ name: 'get_weather', description: 'Weather', input_schema: { type: 'object' as const, properties: { city: { type: 'string' } } } }] };
    const m1 = await anthropic.messages.stream({ ...params, messages: [{ role: 'user', content: 'Weather?' }] }).finalMessage();
    const t1 = lastSeen().body;
    assert.deepEqual(t1.reasoning, { effort: 'high' });
    assert.deepEqual(t1.include, ['reasoning.encrypted_content']);
    const thinking = m1.content.find((c) => c.type === 'thinking')!;
    const use = m1.content.find((c) => c.type === 'tool_use')!;
    assert.ok(thinking && use);
    await anthropic.messages.create({
      ...params,
      messages: [
        { role: 'user', content: 'Weather?' },
        { role: 'assistant', content: m1.content as any },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: (use as any).id, content: '3C' }] },
      ],
    });
    const t2 = lastSeen().body;
    assert.deepEqual(t2.reasoning, { effort: 'high' }, 'mapped on turn 2 too');
    const item = t2.input.find((i: any) => i.type === 'reasoning');
    assert.equal(item.encrypted_content, up.issued.encrypted[up.issued.encrypted.length - 2]);
    assert.match(item.id, /^rs_up\d+$/, "the upstream's own item id");
  });

  test('Anthropic client → Chat upstream (DeepSeek reasoning_content): sent back on the tool-call turn', async () => {
    const params = { model: 'a-deepseek', max_tokens: 4000, thinking: { type: 'enabled' as const, budget_tokens: 2000 }, tools: [{ name: 'get_weather', description: 'Weather', input_schema: { type: 'object' as const, properties: {} } }] };
    const m1 = await anthropic.messages.create({ ...params, messages: [{ role: 'user', content: 'Weather?' }] });
    assert.equal(lastSeen().body.reasoning_effort, 'low');
    const use = m1.content.find((c) => c.type === 'tool_use')!;
    const m2 = await anthropic.messages.create({
      ...params,
      messages: [
        { role: 'user', content: 'Weather?' },
        { role: 'assistant', content: m1.content as any },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: (use as any).id, content: '3C' }] },
      ],
    });
    assert.equal(m2.stop_reason, 'end_turn');
    const asst = lastSeen().body.messages.find((m: any) => m.role === 'assistant');
    assert.equal(asst.reasoning_content, up.issued.reasoning[up.issued.reasoning.length - 2], 'byte-identical reasoning_content');
  });

  test('a conversation that moves from Anthropic to DeepSeek: earlier thinking goes back as reasoning_content', async () => {
    const params = { max_tokens: 4000, thinking: { type: 'enabled' as const, budget_tokens: 2000 }, tools: [{ name: 'get_weather', input_schema: { type: 'object' as const, properties: {} } }] };
    const m1 = await anthropic.messages.create({ ...params, model: 'cc-anth', messages: [{ role: 'user', content: 'Weather?' }] });
    const use = m1.content.find((c) => c.type === 'tool_use')!;
    await anthropic.messages.create({
      ...params,
      model: 'a-deepseek',
      messages: [
        { role: 'user', content: 'Weather?' },
        { role: 'assistant', content: m1.content as any },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: (use as any).id, content: '3C' }] },
      ],
    });
    const asst = lastSeen().body.messages.find((m: any) => m.role === 'assistant');
    assert.equal(asst.reasoning_content, (m1.content[0] as any).thinking);
  });

  test('Responses client → Chat upstream (DeepSeek): the reasoning item brings reasoning_content back', async () => {
    const r1 = await openai.responses.create({ model: 'a-deepseek', input: 'Weather?', tools: TOOLS, reasoning: { effort: 'low' }, store: false });
    const reasoning = r1.output.find((o) => o.type === 'reasoning')!;
    const call = r1.output.find((o) => o.type === 'function_call')!;
    await openai.responses.create({
      model: 'a-deepseek',
      store: false,
      tools: TOOLS,
      input: [{ role: 'user', content: 'Weather?' }, reasoning as any, call as any, { type: 'function_call_output', call_id: (call as any).call_id, output: '3C' }],
    });
    const asst = lastSeen().body.messages.find((m: any) => m.role === 'assistant');
    assert.equal(asst.reasoning_content, up.issued.reasoning[up.issued.reasoning.length - 2]);
  });

  test('Chat client (reasoning_effort) → Anthropic: the signature rides in reasoning_details and comes back byte for byte', async () => {
    const tools = [{ type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: {} } } }];
    const stream = await openai.chat.completions.create({ model: 'r-anth', reasoning_effort: 'medium', tools, stream: true, messages: [{ role: 'user', content: 'Weather?' }] });
    let reasoning = '';
    const details: any[] = [];
    const calls: any[] = [];
    for await (const ch of stream) {
      const d: any = ch.choices[0]?.delta ?? {};
      if (d.reasoning_content) reasoning += d.reasoning_content;
      if (d.reasoning_details) details.push(...d.reasoning_details);
      for (const tcall of d.tool_calls ?? []) {
        if (tcall.id) calls.push({ id: tcall.id, type: 'function', function: { name: tcall.function.name, arguments: '' } });
        if (tcall.function?.arguments) calls[calls.length - 1].function.arguments += tcall.function.arguments;
      }
    }
    assert.equal(lastSeen().body.thinking.type, 'enabled');
    assert.equal(details.length, 1);
    await openai.chat.completions.create({
      model: 'r-anth',
      reasoning_effort: 'medium',
      tools,
      messages: [
        { role: 'user', content: 'Weather?' },
        { role: 'assistant', content: null, tool_calls: calls, reasoning_content: reasoning, reasoning_details: details } as any,
        { role: 'tool', tool_call_id: calls[0].id, content: '3C' },
      ],
    });
    const t2 = lastSeen().body;
    assert.equal(t2.thinking?.type, 'enabled', 'thinking on turn 2 too');
    assert.deepEqual(t2.messages[1].content[0], { type: 'thinking', thinking: up.issued.reasoning[up.issued.reasoning.length - 2], signature: up.issued.signatures[up.issued.signatures.length - 2] });
  });

  test('Chat client → Responses upstream: the reasoning item rides in reasoning_details and its encrypted_content comes back byte for byte', async () => {
    const tools = [{ type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: {} } } }];
    for (const stream of [false, true]) {
      let message: any;
      if (stream) {
        const s = await openai.chat.completions.create({ model: 'a-resp', reasoning_effort: 'low', tools, stream: true, messages: [{ role: 'user', content: 'Weather?' }] });
        message = { role: 'assistant', content: null, tool_calls: [] as any[], reasoning_details: [] as any[] };
        for await (const ch of s) {
          const d: any = ch.choices[0]?.delta ?? {};
          if (d.reasoning_details) message.reasoning_details.push(...d.reasoning_details);
          for (const tcall of d.tool_calls ?? []) {
            if (tcall.id) message.tool_calls.push({ id: tcall.id, type: 'function', function: { name: tcall.function.name, arguments: '' } });
            if (tcall.function?.arguments) message.tool_calls[message.tool_calls.length - 1].function.arguments += tcall.function.arguments;
          }
        }
      } else {
        const c = await openai.chat.completions.create({ model: 'a-resp', reasoning_effort: 'low', tools, messages: [{ role: 'user', content: 'Weather?' }] });
        message = c.choices[0]!.message;
      }
      assert.equal(lastSeen().body.reasoning.effort, 'low');
      await openai.chat.completions.create({
        model: 'a-resp',
        reasoning_effort: 'low',
        tools,
        messages: [{ role: 'user', content: 'Weather?' }, message, { role: 'tool', tool_call_id: message.tool_calls[0].id, content: '3C' }],
      });
      const item = lastSeen().body.input.find((i: any) => i.type === 'reasoning');
      assert.equal(item?.encrypted_content, up.issued.encrypted[up.issued.encrypted.length - 2], `stream: ${stream}`);
    }
  });

  test('a 500-token thinking budget (Claude Code background calls) is raised to 1024, leaving max_tokens room', async () => {
    await anthropic.messages.create({ model: 'cc-anth', max_tokens: 512, thinking: { type: 'enabled', budget_tokens: 500 }, messages: [{ role: 'user', content: 'quick' }] });
    const b = lastSeen().body;
    assert.equal(b.thinking.budget_tokens, 1024);
    assert.ok(b.max_tokens > 1024);
    await eventually(() => assert.ok(lastEntry().translationNotes?.some((n) => /500 raised to 1024/.test(n))));
    // a normal budget is relayed byte for byte (no rewrite)
    await anthropic.messages.create({ model: 'cc-anth', max_tokens: 4000, thinking: { type: 'enabled', budget_tokens: 2000 }, messages: [{ role: 'user', content: 'quick' }] });
    assert.equal(lastSeen().body.thinking.budget_tokens, 2000);
  });
});

describe('a system message in the middle of the conversation (Claude Code) reaches every target in its place', () => {
  const convo = [
    { role: 'user', content: 'First question' },
    { role: 'assistant', content: 'First answer' },
    { role: 'system', content: 'Environment: cwd is /tmp' },
    { role: 'user', content: 'Second question' },
  ];
  test('→ Chat: a system message in place', async () => {
    await anthropic.messages.create({ model: 'plain-chat', max_tokens: 100, system: 'Top system', messages: convo as any });
    const msgs = lastSeen().body.messages.map((m: any) => [m.role, m.content]);
    assert.deepEqual(msgs, [
      ['system', 'Top system'],
      ['user', 'First question'],
      ['assistant', 'First answer'],
      ['system', 'Environment: cwd is /tmp'],
      ['user', 'Second question'],
    ]);
  });
  test('→ Chat: a system message between a tool call and its result waits until after the tool message', async () => {
    await anthropic.messages.create({
      model: 'plain-chat',
      max_tokens: 100,
      tools: [{ name: 'get_weather', input_schema: { type: 'object' } }],
      messages: [
        { role: 'user', content: 'Weather?' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: {} }] },
        { role: 'system', content: 'Deferred tools changed' },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: '3C' }] },
      ] as any,
    });
    assert.deepEqual(
      lastSeen().body.messages.map((m: any) => m.role),
      ['user', 'assistant', 'tool', 'system'],
    );
  });
  test('→ Responses: a developer message item in place', async () => {
    await anthropic.messages.create({ model: 'a-resp', max_tokens: 100, messages: convo as any });
    const items = lastSeen().body.input.map((i: any) => [i.role, typeof i.content === 'string' ? i.content : i.content.map((c: any) => c.text).join('')]);
    assert.deepEqual(items, [
      ['user', 'First question'],
      ['assistant', 'First answer'],
      ['developer', 'Environment: cwd is /tmp'],
      ['user', 'Second question'],
    ]);
  });
  test('→ Ollama: a system message in place', async () => {
    await anthropic.messages.create({ model: 'a-oll', max_tokens: 100, messages: convo as any });
    const msgs = lastSeen().body.messages.map((m: any) => [m.role, m.content]);
    assert.deepEqual(msgs, [
      ['user', 'First question'],
      ['assistant', 'First answer'],
      ['system', 'Environment: cwd is /tmp'],
      ['user', 'Second question'],
    ]);
  });
  test('→ Anthropic (from a Chat client): folded into the next user turn as a marked text block, order kept', async () => {
    await openai.chat.completions.create({ model: 'r-anth', messages: [{ role: 'system', content: 'Top system' }, ...(convo as any)] });
    const b = lastSeen().body;
    assert.equal(b.system, 'Top system');
    assert.deepEqual(b.messages[2], {
      role: 'user',
      content: [
        { type: 'text', text: '<system>\nEnvironment: cwd is /tmp\n</system>' },
        { type: 'text', text: 'Second question' },
      ],
    });
    await eventually(() => assert.ok(lastEntry().translationNotes?.some((n) => /folded into the adjacent user turn/.test(n))));
  });
  test('→ Anthropic (from a Responses client): a trailing system item joins the previous user turn', async () => {
    await openai.responses.create({ model: 'r-anth', input: [{ role: 'user', content: 'Q' }, { role: 'assistant', content: 'A' }, { role: 'user', content: 'Q2' }, { role: 'developer', content: 'Reminder' }] });
    const b = lastSeen().body;
    assert.deepEqual(b.messages[2].content, [
      { type: 'text', text: 'Q2' },
      { type: 'text', text: '<system>\nReminder\n</system>' },
    ]);
  });
});
