// Stream translation: every upstream dialect → every client dialect, parsed by the official SDKs'
// own stream helpers, plus the structural rules each client dialect has.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DIALECTS, type Dialect } from '../../main/formats/canonical.js';
import { SCENARIO, expectedUsage, upstreamStream, openaiStream } from './fixtures.js';
import { chunked, parseNdjson, parseSse, translateStream } from './helpers.js';
import { anthropicStreamFinal, openaiStreamFinal, responsesStreamFinal } from './sdk.js';

/** Anthropic rules: one message_start first, blocks strictly one at a time with consecutive indices, all closed, message_delta then message_stop. */
export function checkAnthropicStream(text: string): void {
  const evs = parseSse(text);
  assert.equal(evs[0]?.event, 'message_start', 'message_start first');
  assert.equal(evs.filter((e) => e.event === 'message_start').length, 1, 'exactly one message_start');
  let open = -1;
  let next = 0;
  for (const e of evs) {
    assert.equal(e.json?.type, e.event, 'event name matches data.type');
    if (e.event === 'content_block_start') {
      assert.equal(open, -1, 'a block opened while another is open');
      assert.equal(e.json.index, next, 'consecutive block indices');
      open = next++;
    } else if (e.event === 'content_block_delta') assert.equal(e.json.index, open, 'delta for the open block');
    else if (e.event === 'content_block_stop') {
      assert.equal(e.json.index, open);
      open = -1;
    }
  }
  assert.equal(open, -1, 'every block closed');
  const tail = evs.slice(-2).map((e) => e.event);
  assert.deepEqual(tail, ['message_delta', 'message_stop']);
}

function checkOpenAIStream(text: string, wantUsage: boolean): void {
  const evs = parseSse(text);
  assert.equal(evs[0]?.json?.choices?.[0]?.delta?.role, 'assistant', 'first chunk carries role assistant');
  assert.equal(evs[evs.length - 1]?.data, '[DONE]');
  for (const e of evs.slice(0, -1)) assert.equal(e.json.object, 'chat.completion.chunk');
  const usageChunks = evs.filter((e) => e.json?.usage);
  assert.equal(usageChunks.length, wantUsage ? 1 : 0, 'usage chunk only when asked');
  if (wantUsage) assert.deepEqual(usageChunks[0]!.json.choices, []);
}

function checkResponsesStream(text: string): void {
  const evs = parseSse(text);
  evs.forEach((e, i) => {
    assert.equal(e.json.sequence_number, i, 'sequence_number counts from 0');
    assert.equal(e.json.type, e.event);
  });
  assert.equal(evs[0]!.event, 'response.created');
  assert.equal(evs[evs.length - 1]!.event, 'response.completed');
  const added = evs.filter((e) => e.event === 'response.output_item.added').length;
  const done = evs.filter((e) => e.event === 'response.output_item.done').length;
  assert.equal(added, done, 'every output item is done');
}

for (const from of DIALECTS) {
  for (const to of ['anthropic', 'openai', 'responses'] as Dialect[]) {
    if (from === to) continue;
    test(`stream ${from} → ${to}: the SDK helper gets text, parallel tool calls, stop reason and usage`, async () => {
      const { text, usage } = translateStream(from, to, chunked(upstreamStream(from), 37), { inputTokensEstimate: 99 });
      const exp = expectedUsage(from);
      assert.deepEqual({ inputTokens: usage.inputTokens, outputTokens: usage.outputTokens }, { inputTokens: 42, outputTokens: 17 }, 'usage for the log');
      assert.ok(!text.includes('AFTER-DONE'), 'chunks after [DONE] are ignored');
      if (to === 'anthropic') {
        checkAnthropicStream(text);
        const start = parseSse(text)[0]!.json;
        // Anthropic upstream: real numbers at once; others: the local estimate until the upstream reports.
        if (from === 'anthropic') assert.equal(start.message.usage.input_tokens, 32);
        else assert.equal(start.message.usage.input_tokens, 99);
        const m = await anthropicStreamFinal(text);
        assert.equal(m.model, 'client-model');
        assert.equal(m.stop_reason, 'tool_use');
        const blocks = m.content;
        assert.equal(blocks[0]!.type, 'thinking');
        assert.equal((blocks[0] as { thinking: string }).thinking, SCENARIO.thinking);
        assert.ok((blocks[0] as { signature: string }).signature, 'thinking has a signature');
        assert.deepEqual(
          blocks.filter((b) => b.type === 'text').map((b) => (b as { text: string }).text),
          [SCENARIO.text],
        );
        const tools = blocks.filter((b) => b.type === 'tool_use') as Array<{ id: string; name: string; input: unknown }>;
        assert.deepEqual(
          tools.map((t) => [t.id, t.name, t.input]),
          SCENARIO.calls.map((c) => [c.id, c.name, c.args]),
        );
        assert.equal(m.usage.output_tokens, 17);
        assert.equal(m.usage.input_tokens, exp.input - (exp.cacheRead ?? 0));
        assert.equal(m.usage.cache_read_input_tokens ?? 0, exp.cacheRead ?? 0);
      } else if (to === 'openai') {
        checkOpenAIStream(text, true);
        const c = await openaiStreamFinal(text);
        const ch = c.choices[0]!;
        assert.equal(ch.finish_reason, 'tool_calls');
        assert.equal(ch.message.content, SCENARIO.text);
        assert.deepEqual(
          ch.message.tool_calls!.map((t) => (t.type === 'function' ? [t.id, t.function.name, JSON.parse(t.function.arguments)] : [])),
          SCENARIO.calls.map((x) => [x.id, x.name, x.args]),
        );
        // the SDK keeps only the last chunk of unknown delta fields; the wire carries all of it
        const rc = parseSse(text).map((e) => e.json?.choices?.[0]?.delta?.reasoning_content ?? '').join('');
        assert.equal(rc, SCENARIO.thinking);
        assert.equal(c.usage!.prompt_tokens, 42);
        assert.equal(c.usage!.completion_tokens, 17);
        assert.equal(c.usage!.prompt_tokens_details?.cached_tokens ?? 0, exp.cacheRead ?? 0);
        assert.equal(c.model, 'client-model');
      } else {
        checkResponsesStream(text);
        const r = await responsesStreamFinal(text);
        assert.equal(r.status, 'completed');
        assert.equal(r.output_text, SCENARIO.text);
        const calls = r.output.filter((o) => o.type === 'function_call') as Array<{ call_id: string; name: string; arguments: string }>;
        assert.deepEqual(
          calls.map((t) => [t.call_id, t.name, JSON.parse(t.arguments)]),
          SCENARIO.calls.map((x) => [x.id, x.name, x.args]),
        );
        const rs = r.output.find((o) => o.type === 'reasoning') as { summary: Array<{ text: string }> } | undefined;
        assert.equal(rs?.summary[0]?.text, SCENARIO.thinking);
        assert.equal(r.usage!.input_tokens, 42);
        assert.equal(r.usage!.output_tokens, 17);
        assert.equal(r.usage!.input_tokens_details.cached_tokens, exp.cacheRead ?? 0);
      }
    });
  }
  if (from !== 'ollama') {
    test(`stream ${from} → ollama: NDJSON with whole tool calls and counts`, () => {
      const { text } = translateStream(from, 'ollama', upstreamStream(from));
      const lines = parseNdjson(text);
      assert.equal(lines[lines.length - 1].done, true);
      assert.equal(lines[lines.length - 1].prompt_eval_count, 42);
      assert.equal(lines[lines.length - 1].eval_count, 17);
      const content = lines.map((l) => l.message?.content ?? '').join('');
      assert.equal(content, SCENARIO.text);
      const thinking = lines.map((l) => l.message?.thinking ?? '').join('');
      assert.equal(thinking, SCENARIO.thinking);
      const calls = lines.flatMap((l) => l.message?.tool_calls ?? []);
      assert.deepEqual(
        calls.map((c: any) => [c.function.name, c.function.arguments]),
        SCENARIO.calls.map((x) => [x.name, x.args]),
      );
    });
  }
}

test('every chunking of an upstream stream gives the same client stream (modulo ids and timestamps)', () => {
  const norm = (s: string) => s.replace(/"(msg|toolu|chatcmpl-|resp|rs|fc)_?[A-Za-z0-9]{24}"/g, '"ID"').replace(/"created(_at)?":(\d+|"[^"]*")/g, '"created":0');
  for (const from of DIALECTS) {
    for (const to of DIALECTS) {
      if (from === to) continue;
      const up = upstreamStream(from);
      const ref = norm(translateStream(from, to, up).text);
      for (const size of [1, 3, 64]) assert.equal(norm(translateStream(from, to, chunked(up, size)).text), ref, `${from}→${to} size ${size}`);
    }
  }
});

test('openai → anthropic: parallel tool calls interleaved upstream come out as whole blocks in order', () => {
  const { text } = translateStream('openai', 'anthropic', openaiStream({ interleave: true }));
  checkAnthropicStream(text);
  const evs = parseSse(text);
  const starts = evs.filter((e) => e.event === 'content_block_start').map((e) => e.json.content_block.type);
  assert.deepEqual(starts, ['thinking', 'text', 'tool_use', 'tool_use']);
  const args: Record<number, string> = {};
  for (const e of evs) if (e.json?.delta?.type === 'input_json_delta') args[e.json.index] = (args[e.json.index] ?? '') + e.json.delta.partial_json;
  assert.deepEqual(args, { 2: '{"city":"Paris"}', 3: '{"tz":"CET"}' });
});

test('openai → anthropic: message_delta carries the real input, cache and output tokens', () => {
  const evs = parseSse(translateStream('openai', 'anthropic', openaiStream(), { inputTokensEstimate: 500 }).text);
  const md = evs.find((e) => e.event === 'message_delta')!.json;
  assert.equal(md.delta.stop_reason, 'tool_use');
  assert.deepEqual(md.usage, { output_tokens: 17, input_tokens: 32, cache_creation_input_tokens: 0, cache_read_input_tokens: 10 });
});

test('openai client: no usage chunk unless the client asked for it', () => {
  const without = translateStream('anthropic', 'openai', upstreamStream('anthropic'), { clientWantsUsage: false }).text;
  checkOpenAIStream(without, false);
  const withU = translateStream('anthropic', 'openai', upstreamStream('anthropic'), { clientWantsUsage: true }).text;
  checkOpenAIStream(withU, true);
});

test('openai client: each tool call has its own index; finish_reason maps from every stop reason', () => {
  const evs = parseSse(translateStream('anthropic', 'openai', upstreamStream('anthropic')).text);
  const starts = evs.flatMap((e) => e.json?.choices?.[0]?.delta?.tool_calls ?? []).filter((t: any) => t.id);
  assert.deepEqual(
    starts.map((t: any) => [t.index, t.id, t.function.name]),
    [
      [0, 'call_1', 'get_weather'],
      [1, 'call_2', 'get_time'],
    ],
  );
  const cases: Array<[string, string]> = [
    ['end_turn', 'stop'],
    ['max_tokens', 'length'],
    ['stop_sequence', 'stop'],
    ['tool_use', 'tool_calls'],
    ['refusal', 'content_filter'],
  ];
  for (const [a, o] of cases) {
    const up =
      'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","usage":{"input_tokens":1,"output_tokens":0}}}\n\n' +
      'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n' +
      'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x"}}\n\n' +
      'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n' +
      `event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"${a}"},"usage":{"output_tokens":1}}\n\n` +
      'event: message_stop\ndata: {"type":"message_stop"}\n\n';
    const out = parseSse(translateStream('anthropic', 'openai', up).text);
    const fin = out.find((e) => e.json?.choices?.[0]?.finish_reason)!.json.choices[0].finish_reason;
    assert.equal(fin, o, `${a}`);
  }
});

test('openai → anthropic: every finish_reason maps to the Anthropic stop_reason', () => {
  const cases: Array<[string, string]> = [
    ['stop', 'end_turn'],
    ['length', 'max_tokens'],
    ['content_filter', 'refusal'],
  ];
  for (const [o, a] of cases) {
    const up = `data: {"choices":[{"index":0,"delta":{"role":"assistant","content":"hi"}}]}\n\ndata: {"choices":[{"index":0,"delta":{},"finish_reason":"${o}"}]}\n\ndata: [DONE]\n\n`;
    const md = parseSse(translateStream('openai', 'anthropic', up).text).find((e) => e.event === 'message_delta')!.json;
    assert.equal(md.delta.stop_reason, a);
  }
  // a host that says "stop" after tool calls still means tool use
  const up =
    'data: {"choices":[{"index":0,"delta":{"role":"assistant","tool_calls":[{"index":0,"id":"c1","type":"function","function":{"name":"f","arguments":""}}]}}]}\n\n' +
    'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n';
  const md = parseSse(translateStream('openai', 'anthropic', up).text).find((e) => e.event === 'message_delta')!.json;
  assert.equal(md.delta.stop_reason, 'tool_use');
});

test('openai upstream quirks: empty arguments, missing ids, tool calls without index, content null, no [DONE]', async () => {
  const up =
    'data: {"choices":[{"delta":{"role":"assistant","content":null}}]}\n\n' +
    'data: {"choices":[{"delta":{"tool_calls":[{"id":"a","type":"function","function":{"name":"noargs","arguments":""}}]}}]}\n\n' +
    'data: {"choices":[{"delta":{"tool_calls":[{"id":"b","type":"function","function":{"name":"two","arguments":"{\\"x\\":"}}]}}]}\n\n' +
    'data: {"choices":[{"delta":{"tool_calls":[{"function":{"arguments":"1}"}}]}}]}\n\n' +
    'data: {"choices":[{"delta":{"content":null},"finish_reason":"tool_calls"}]}\n\n';
  const { text } = translateStream('openai', 'anthropic', up);
  checkAnthropicStream(text);
  const m = await anthropicStreamFinal(text);
  const tools = m.content.filter((b) => b.type === 'tool_use') as Array<{ id: string; name: string; input: unknown }>;
  assert.deepEqual(
    tools.map((t) => [t.id, t.name, t.input]),
    [
      ['a', 'noargs', {}],
      ['b', 'two', { x: 1 }],
    ],
  );
  // to an OpenAI client an argument-less call gets "{}"
  const c = await openaiStreamFinal(translateStream('anthropic', 'openai', text).text);
  assert.equal((c.choices[0]!.message.tool_calls![0] as { function: { arguments: string } }).function.arguments, '{}');
});

test('DeepSeek reasoning_content, OpenRouter reasoning and <think> tags all become thinking', async () => {
  const think =
    'data: {"choices":[{"delta":{"role":"assistant","content":"<thi"}}]}\n\n' +
    'data: {"choices":[{"delta":{"content":"nk>pondering</th"}}]}\n\n' +
    'data: {"choices":[{"delta":{"content":"ink>\\n\\nDone."}}]}\n\n' +
    'data: {"choices":[{"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n';
  const m = await anthropicStreamFinal(translateStream('openai', 'anthropic', think).text);
  assert.deepEqual(
    m.content.map((b) => (b.type === 'thinking' ? ['thinking', b.thinking] : b.type === 'text' ? ['text', b.text] : [b.type])),
    [
      ['thinking', 'pondering'],
      ['text', 'Done.'],
    ],
  );
  const orReasoning =
    'data: {"choices":[{"delta":{"role":"assistant","reasoning":"hmm"}}]}\n\n' +
    'data: {"choices":[{"delta":{"content":"ok"}}]}\n\n' +
    'data: {"choices":[{"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n';
  const m2 = await anthropicStreamFinal(translateStream('openai', 'anthropic', orReasoning).text);
  assert.equal(m2.content[0]!.type, 'thinking');
});

test('OpenRouter reasoning_details from Claude keep the genuine signature; others are wrapped', async () => {
  const claude =
    'data: {"choices":[{"delta":{"role":"assistant","reasoning":"Step","reasoning_details":[{"type":"reasoning.text","text":"Step","format":"anthropic-claude-v1","index":0}]}}]}\n\n' +
    'data: {"choices":[{"delta":{"reasoning":" one","reasoning_details":[{"type":"reasoning.text","text":" one","format":"anthropic-claude-v1","index":0}]}}]}\n\n' +
    'data: {"choices":[{"delta":{"reasoning_details":[{"type":"reasoning.text","text":"","signature":"GENUINE-SIG","format":"anthropic-claude-v1","index":0}]}}]}\n\n' +
    'data: {"choices":[{"delta":{"content":"Answer"}}]}\n\n' +
    'data: {"choices":[{"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n';
  const m = await anthropicStreamFinal(translateStream('openai', 'anthropic', claude).text);
  assert.deepEqual(m.content[0], { type: 'thinking', thinking: 'Step one', signature: 'GENUINE-SIG' });
  const gpt =
    'data: {"choices":[{"delta":{"role":"assistant","reasoning_details":[{"type":"reasoning.summary","summary":"Plan","format":"openai-responses-v1","index":0}]}}]}\n\n' +
    'data: {"choices":[{"delta":{"reasoning_details":[{"type":"reasoning.encrypted","data":"ENC","format":"openai-responses-v1","index":1}]}}]}\n\n' +
    'data: {"choices":[{"delta":{"content":"Answer"},"finish_reason":"stop"}]}\n\n';
  const m2 = await anthropicStreamFinal(translateStream('openai', 'anthropic', gpt).text);
  const th = m2.content[0] as { type: string; thinking: string; signature: string };
  assert.equal(th.type, 'thinking');
  assert.equal(th.thinking, 'Plan');
  assert.match(th.signature, /^r67v1\./, 'a non-Anthropic signature is never passed off as Anthropic');
});

test('unknown Anthropic events and block types pass without crashing', () => {
  const up =
    'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","usage":{"input_tokens":5,"output_tokens":0}}}\n\n' +
    'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"server_tool_use","id":"srv_1","name":"web_search","input":{}}}\n\n' +
    'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\\"q\\":1}"}}\n\n' +
    'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n' +
    'event: content_block_start\ndata: {"type":"content_block_start","index":1,"content_block":{"type":"brand_new_block","x":1}}\n\n' +
    'event: content_block_delta\ndata: {"type":"content_block_delta","index":1,"delta":{"type":"brand_new_delta"}}\n\n' +
    'event: content_block_stop\ndata: {"type":"content_block_stop","index":1}\n\n' +
    'event: content_block_start\ndata: {"type":"content_block_start","index":2,"content_block":{"type":"text","text":""}}\n\n' +
    'event: content_block_delta\ndata: {"type":"content_block_delta","index":2,"delta":{"type":"citations_delta","citation":{}}}\n\n' +
    'event: content_block_delta\ndata: {"type":"content_block_delta","index":2,"delta":{"type":"text_delta","text":"found"}}\n\n' +
    'event: content_block_stop\ndata: {"type":"content_block_stop","index":2}\n\n' +
    'event: brand_new_event\ndata: {"type":"brand_new_event"}\n\n' +
    'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":3}}\n\n' +
    'event: message_stop\ndata: {"type":"message_stop"}\n\n';
  for (const to of ['openai', 'responses', 'ollama'] as Dialect[]) {
    const { text } = translateStream('anthropic', to, up);
    assert.ok(text.includes('found'), to);
    assert.ok(!text.includes('"error":{') && !text.includes('event: error'), `${to}: ${text}`);
  }
});

test('an upstream cut short mid-stream ends with the client dialect error event, never a clean finish', () => {
  const full = upstreamStream('openai');
  const cut = full.slice(0, full.indexOf('finish_reason":"tool_calls'));
  const a = parseSse(translateStream('openai', 'anthropic', cut).text);
  assert.equal(a[a.length - 1]!.event, 'error');
  assert.equal(a[a.length - 1]!.json.type, 'error');
  assert.ok(!a.some((e) => e.event === 'message_stop'));
  const o = parseSse(translateStream('anthropic', 'openai', upstreamStream('anthropic').slice(0, 900)).text);
  assert.ok(o[o.length - 1]!.json.error.message);
  assert.ok(!o.some((e) => e.data === '[DONE]'));
  const r = parseSse(translateStream('anthropic', 'responses', upstreamStream('anthropic').slice(0, 900)).text);
  assert.equal(r[r.length - 1]!.event, 'error');
  assert.ok(!r.some((e) => e.event === 'response.completed'));
  const n = parseNdjson(translateStream('anthropic', 'ollama', upstreamStream('anthropic').slice(0, 900)).text);
  assert.ok(n[n.length - 1].error);
  // proxy-side failure (transport error, timeout)
  const f = parseSse(translateStream('openai', 'anthropic', full.slice(0, 600), { failWith: 'upstream reset' }).text);
  assert.deepEqual(f[f.length - 1]!.json, { type: 'error', error: { type: 'api_error', message: 'upstream reset' } });
});

test('upstream error events become the client dialect error event (and the SDKs raise)', async () => {
  const anthErr =
    'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","usage":{"input_tokens":5,"output_tokens":0}}}\n\n' +
    'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n';
  const o = translateStream('anthropic', 'openai', anthErr).text;
  await assert.rejects(openaiStreamFinal(o), /Overloaded/);
  const r = translateStream('anthropic', 'responses', anthErr).text;
  await assert.rejects(responsesStreamFinal(r), /Overloaded/);
  const oaiErr = 'data: {"choices":[{"delta":{"role":"assistant","content":"par"}}]}\n\ndata: {"error":{"message":"boom","type":"server_error"}}\n\n';
  const a = translateStream('openai', 'anthropic', oaiErr).text;
  await assert.rejects(anthropicStreamFinal(a), /boom/);
  const ollErr = '{"model":"m","message":{"role":"assistant","content":"x"},"done":false}\n{"error":"model crashed"}\n';
  await assert.rejects(anthropicStreamFinal(translateStream('ollama', 'anthropic', ollErr).text), /model crashed/);
  const respFail = 'event: response.created\ndata: {"type":"response.created","response":{"id":"r"}}\n\nevent: response.failed\ndata: {"type":"response.failed","response":{"status":"failed","error":{"code":"server_error","message":"failed hard"}}}\n\n';
  await assert.rejects(anthropicStreamFinal(translateStream('responses', 'anthropic', respFail).text), /failed hard/);
});

test('nothing reaches the client before the first content (so the proxy can still fall back)', async () => {
  const { createStreamTranslator } = await import('../../main/formats/index.js');
  for (const to of ['anthropic', 'ollama', 'responses'] as Dialect[]) {
    const t = createStreamTranslator('openai', to, { requestedModel: 'm', clientWantsUsage: true });
    assert.equal(t.push(Buffer.from('data: {"id":"x","choices":[{"delta":{"role":"assistant","content":""}}]}\n\n')), '');
    assert.equal(t.started, false);
    assert.notEqual(t.push(Buffer.from('data: {"choices":[{"delta":{"content":"hi"}}]}\n\n')), '');
    assert.equal(t.started, true);
  }
  const t = createStreamTranslator('anthropic', 'openai', { requestedModel: 'm', clientWantsUsage: true });
  t.push(Buffer.from('event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","usage":{"input_tokens":5,"output_tokens":0}}}\n\n'));
  t.push(Buffer.from('event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n'));
  assert.deepEqual(t.upstreamError, { message: 'Overloaded', type: 'overloaded_error' });
});

test('a multi-byte character split across chunks survives', () => {
  const up = Buffer.from('data: {"choices":[{"delta":{"role":"assistant","content":"héllo 世界 🎉"}}]}\n\ndata: {"choices":[{"delta":{},"finish_reason":"stop"}]}\n\n');
  const { createStreamTranslator } = require('../../main/formats/index.js') as typeof import('../../main/formats/index.js');
  const t = createStreamTranslator('openai', 'anthropic', { requestedModel: 'm', clientWantsUsage: true });
  let out = '';
  for (let i = 0; i < up.length; i++) out += t.push(up.subarray(i, i + 1));
  out += t.end();
  assert.ok(out.includes('héllo 世界 🎉'));
});

test('encoders close every block they opened even when the events end without block_stop', async () => {
  const { AnthropicStreamEncoder } = await import('../../main/formats/anthropic.js');
  const { ResponsesStreamEncoder } = await import('../../main/formats/responses.js');
  const { OpenAIStreamEncoder } = await import('../../main/formats/openai.js');
  const events = [
    { type: 'start', id: 'x' },
    { type: 'block_start', index: 0, block: { kind: 'thinking' } },
    { type: 'text', index: 0, text: 'hm' },
    { type: 'block_start', index: 1, block: { kind: 'tool_call', id: 't1', name: 'f' } },
    { type: 'args', index: 1, json: '{"a":' },
    { type: 'block_start', index: 2, block: { kind: 'tool_call', id: 't2', name: 'g' } },
    { type: 'args', index: 1, json: '1}' },
    { type: 'end' },
  ] as const;
  const a = new AnthropicStreamEncoder({ requestedModel: 'm', clientWantsUsage: true });
  for (const e of events) a.on(e as any);
  const text = a.take();
  checkAnthropicStream(text);
  const m = await anthropicStreamFinal(text);
  assert.deepEqual(
    m.content.map((b) => b.type),
    ['thinking', 'tool_use', 'tool_use'],
  );
  assert.deepEqual((m.content[1] as { input: unknown }).input, { a: 1 });
  assert.equal(m.stop_reason, 'tool_use');
  const r = new ResponsesStreamEncoder({ requestedModel: 'm', clientWantsUsage: true });
  for (const e of events) r.on(e as any);
  checkResponsesStream(r.take());
  const o = new OpenAIStreamEncoder({ requestedModel: 'm', clientWantsUsage: false });
  for (const e of events) o.on(e as any);
  const c = await openaiStreamFinal(o.take());
  assert.deepEqual(
    c.choices[0]!.message.tool_calls!.map((t: any) => [t.id, t.function.arguments]),
    [
      ['t1', '{"a":1}'],
      ['t2', '{}'],
    ],
  );
});
