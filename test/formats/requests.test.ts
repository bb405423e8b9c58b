// Request translation between every pair: system prompts, multi-turn, images, tools, tool choice,
// tool results, sampling settings, response formats, reasoning, cache_control, unsupported features.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  UnsupportedFeatureError,
  hasPackedSignatures,
  sanitizeAnthropicThinking,
  translateRequest,
  translateResponse,
  upstreamUrl,
  type Dialect,
} from '../../main/formats/index.js';

const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';
const opts = { wantUsage: true };
const tr = (from: Dialect, to: Dialect, body: unknown) => translateRequest(from, to, body, 'up-model', opts).body as any;

const anthropicReq = {
  model: 'claude-x',
  max_tokens: 1000,
  system: [
    { type: 'text', text: 'You are terse.', cache_control: { type: 'ephemeral' } },
    { type: 'text', text: 'Answer in English.' },
  ],
  temperature: 0.3,
  top_p: 0.9,
  top_k: 40,
  stop_sequences: ['END'],
  metadata: { user_id: 'u-1' },
  tools: [
    { name: 'get_weather', description: 'Weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } }, cache_control: { type: 'ephemeral' } },
    { name: 'noargs', input_schema: { type: 'object' } },
  ],
  tool_choice: { type: 'any', disable_parallel_tool_use: true },
  messages: [
    {
      role: 'user',
      content: [
        { type: 'text', text: 'Look:', cache_control: { type: 'ephemeral' } },
        { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } },
        { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
      ],
    },
    {
      role: 'assistant',
      content: [
        { type: 'thinking', thinking: 'Need weather.', signature: 'GENUINE' },
        { type: 'text', text: 'Checking.' },
        { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } },
        { type: 'tool_use', id: 'toolu_2', name: 'noargs', input: {} },
      ],
    },
    {
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: 'toolu_1', content: '18C' },
        { type: 'tool_result', tool_use_id: 'toolu_2', is_error: true, content: [{ type: 'text', text: 'failed' }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } }] },
        { type: 'text', text: 'Thanks' },
      ],
    },
  ],
  stream: true,
};

test('anthropic → openai: system, images, tools, choice, tool results, sampling; cache_control stripped', () => {
  const r = translateRequest('anthropic', 'openai', anthropicReq, 'up-model', opts);
  assert.equal(r.stream, true);
  assert.equal(r.clientWantsUsage, true);
  assert.ok(r.inputTokensEstimate! > 1600 * 3);
  const b = r.body as any;
  assert.equal(JSON.stringify(b).includes('cache_control'), false);
  assert.equal(b.model, 'up-model');
  assert.deepEqual(b.stream_options, { include_usage: true });
  assert.deepEqual(b.messages[0], { role: 'system', content: 'You are terse.\n\nAnswer in English.' });
  assert.deepEqual(b.messages[1], {
    role: 'user',
    content: [
      { type: 'text', text: 'Look:' },
      { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } },
      { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } },
    ],
  });
  assert.deepEqual(b.messages[2], {
    role: 'assistant',
    content: 'Checking.',
    tool_calls: [
      { id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
      { id: 'toolu_2', type: 'function', function: { name: 'noargs', arguments: '{}' } },
    ],
    reasoning_content: 'Need weather.',
    reasoning_details: [{ type: 'reasoning.text', text: 'Need weather.', signature: 'GENUINE', format: 'anthropic-claude-v1', index: 0 }],
  });
  // OpenAI's own API rejects unknown message fields: no reasoning_content for its models
  const own = (translateRequest('anthropic', 'openai', anthropicReq, 'gpt-4.1', opts).body as any).messages[2];
  assert.equal(own.reasoning_content, undefined);
  assert.deepEqual(b.messages[3], { role: 'tool', tool_call_id: 'toolu_1', content: '18C' });
  assert.deepEqual(b.messages[4], { role: 'tool', tool_call_id: 'toolu_2', content: 'Error: failed' });
  assert.equal(b.messages[5].role, 'user');
  assert.deepEqual(b.messages[5].content[1], { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } });
  assert.deepEqual(b.messages[5].content[2], { type: 'text', text: 'Thanks' });
  assert.deepEqual(b.tools[0], { type: 'function', function: { name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } });
  assert.equal(b.tool_choice, 'required');
  assert.equal(b.parallel_tool_calls, false);
  assert.equal(b.max_tokens, 1000);
  assert.equal((translateRequest('anthropic', 'openai', anthropicReq, 'openai/gpt-5', opts).body as any).max_completion_tokens, 1000, 'reasoning models take max_completion_tokens');
  assert.equal(b.temperature, 0.3);
  assert.equal(b.top_p, 0.9);
  assert.equal(b.top_k, undefined);
  assert.deepEqual(b.stop, ['END']);
  assert.equal(b.user, 'u-1');
});

test('anthropic → responses and → ollama carry the same conversation in their shapes', () => {
  const noStop = { ...anthropicReq, stop_sequences: undefined, tool_choice: { type: 'auto' } };
  const r = tr('anthropic', 'responses', noStop);
  assert.equal(r.instructions, 'You are terse.\n\nAnswer in English.');
  assert.equal(JSON.stringify(r).includes('cache_control'), false);
  assert.deepEqual(r.input[0].content[1], { type: 'input_image', image_url: `data:image/png;base64,${PNG}`, detail: 'auto' });
  assert.deepEqual(
    r.input.filter((i: any) => i.type === 'function_call').map((i: any) => [i.call_id, i.name, i.arguments]),
    [
      ['toolu_1', 'get_weather', '{"city":"Paris"}'],
      ['toolu_2', 'noargs', '{}'],
    ],
  );
  const outs = r.input.filter((i: any) => i.type === 'function_call_output');
  assert.equal(outs[0].output, '18C');
  assert.ok(Array.isArray(outs[1].output), 'a tool result with an image keeps it');
  assert.equal(r.max_output_tokens, 1000);
  assert.equal(r.store, false);
  assert.deepEqual(r.tools[0], { type: 'function', name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } } }, strict: false });
  // thinking signed by Anthropic cannot go to OpenAI: dropped, never forged
  assert.equal(r.input.some((i: any) => i.type === 'reasoning'), false);
  assert.throws(() => tr('anthropic', 'responses', anthropicReq), UnsupportedFeatureError, 'Responses has no stop sequences');

  assert.throws(() => tr('anthropic', 'ollama', noStop), /image given by URL/);
  const noUrl = structuredClone(noStop) as any;
  noUrl.messages[0].content.splice(2, 1);
  const o = tr('anthropic', 'ollama', noUrl);
  assert.equal(o.stream, true);
  assert.deepEqual(o.messages[1], { role: 'user', content: 'Look:', images: [PNG] });
  assert.equal(o.messages[2].tool_calls[0].function.arguments.city, 'Paris', 'Ollama arguments are an object');
  assert.equal(o.messages[2].thinking, 'Need weather.');
  assert.deepEqual(o.messages[3], { role: 'tool', content: '18C', tool_call_id: 'toolu_1', tool_name: 'get_weather' });
  assert.deepEqual(o.messages[4].images, [PNG]);
  assert.deepEqual(o.options, { temperature: 0.3, top_p: 0.9, top_k: 40, num_predict: 1000 });
  assert.throws(() => tr('anthropic', 'ollama', { ...noUrl, tool_choice: { type: 'any' } }), /cannot force a tool call/);
});

test('openai → anthropic: system/developer, data-URL images, tool calls with empty arguments, tool messages merged', () => {
  const body = {
    model: 'gpt-x',
    messages: [
      { role: 'system', content: 'Sys A' },
      { role: 'developer', content: [{ type: 'text', text: 'Dev B' }] },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'See', cache_control: { type: 'ephemeral' } },
          { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}`, detail: 'high' } },
          { type: 'image_url', image_url: { url: 'https://example.com/a.png' } },
        ],
      },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'functions.get_weather:0', type: 'function', function: { name: 'get_weather', arguments: '' } },
          { id: 'call_b', type: 'function', function: { name: 'get_time', arguments: '{"tz":"CET"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'functions.get_weather:0', content: 'sunny' },
      { role: 'tool', tool_call_id: 'call_b', content: [{ type: 'text', text: '12:00' }] },
      { role: 'user', content: 'ok?' },
    ],
    tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: {} } } }, { type: 'function', function: { name: 'get_time' } }],
    tool_choice: { type: 'function', function: { name: 'get_time' } },
    parallel_tool_calls: false,
    max_completion_tokens: 321,
    stop: 'STOP',
    temperature: 1.5,
    response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object', properties: { a: { type: 'string' } } }, strict: true } },
    stream: true,
    stream_options: { include_usage: true },
  };
  const r = translateRequest('openai', 'anthropic', body, 'claude-up', opts);
  assert.equal(r.clientWantsUsage, true);
  const b = r.body as any;
  assert.equal(b.system, 'Sys A\n\nDev B');
  assert.deepEqual(b.messages[0].content, [
    { type: 'text', text: 'See', cache_control: { type: 'ephemeral' } },
    { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } },
    { type: 'image', source: { type: 'url', url: 'https://example.com/a.png' } },
  ]);
  assert.deepEqual(b.messages[1], {
    role: 'assistant',
    content: [
      { type: 'tool_use', id: 'functions_get_weather_0', name: 'get_weather', input: {} },
      { type: 'tool_use', id: 'call_b', name: 'get_time', input: { tz: 'CET' } },
    ],
  });
  assert.deepEqual(b.messages[2], {
    role: 'user',
    content: [
      { type: 'tool_result', tool_use_id: 'functions_get_weather_0', content: [{ type: 'text', text: 'sunny' }] },
      { type: 'tool_result', tool_use_id: 'call_b', content: [{ type: 'text', text: '12:00' }] },
      { type: 'text', text: 'ok?' },
    ],
  });
  assert.equal(b.messages.length, 3);
  assert.deepEqual(b.tools[1], { name: 'get_time', input_schema: { type: 'object', properties: {} } });
  assert.deepEqual(b.tool_choice, { type: 'tool', name: 'get_time', disable_parallel_tool_use: true });
  assert.equal(b.max_tokens, 321);
  assert.deepEqual(b.stop_sequences, ['STOP']);
  assert.equal(b.temperature, 1, 'clamped into Anthropic range');
  assert.deepEqual(b.output_config, { format: { type: 'json_schema', schema: { type: 'object', properties: { a: { type: 'string' } } } } });
  assert.equal(b.stream, true);
});

test('openai → anthropic: features Anthropic cannot express fail the attempt with a clear message', () => {
  const base = { model: 'x', messages: [{ role: 'user', content: 'hi' }] };
  assert.throws(() => tr('openai', 'anthropic', { ...base, n: 2 }), (e: unknown) => e instanceof UnsupportedFeatureError && /n > 1/.test(e.message));
  assert.throws(() => tr('openai', 'anthropic', { ...base, response_format: { type: 'json_object' } }), /json_object/);
  assert.throws(() => tr('openai', 'anthropic', { ...base, messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'x', format: 'wav' } }] }] }), /input_audio/);
  assert.throws(() => tr('responses', 'openai', { model: 'x', input: 'hi', previous_response_id: 'resp_1' }), /previous_response_id/);
  // hosted tools without an equivalent are left out (test/formats/tools.test.ts); strict_tools restores the refusal
  const strict = { wantUsage: true, strictTools: true };
  assert.throws(() => translateRequest('responses', 'openai', { model: 'x', input: 'hi', tools: [{ type: 'web_search' }] }, 'm', strict), /web_search/);
  assert.throws(
    () => translateRequest('anthropic', 'openai', { model: 'x', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }], tools: [{ type: 'web_search_20250305', name: 'web_search' }] }, 'm', strict),
    /web_search_20250305/,
  );
});

test('openai reasoning_effort → Anthropic thinking budget, only where Anthropic accepts it', () => {
  const base = { model: 'x', messages: [{ role: 'user', content: 'hi' }], max_tokens: 40000 };
  assert.deepEqual(tr('openai', 'anthropic', { ...base, reasoning_effort: 'high' }).thinking, { type: 'enabled', budget_tokens: 16384 });
  // a small max_tokens caps the budget so a quarter stays for the answer
  assert.deepEqual(tr('openai', 'anthropic', { ...base, max_tokens: 8000, reasoning_effort: 'high' }).thinking, { type: 'enabled', budget_tokens: 6000 });
  assert.equal(tr('openai', 'anthropic', { ...base, reasoning_effort: 'minimal' }).thinking, undefined);
  assert.equal(tr('openai', 'anthropic', { ...base, reasoning_effort: 'low', temperature: 0.2 }).thinking, undefined, 'thinking needs temperature 1');
  assert.equal(tr('openai', 'anthropic', { ...base, max_tokens: 800, reasoning_effort: 'low' }).thinking, undefined, 'budget must be ≥ 1024 and < max_tokens');
});

test('responses → anthropic / openai: instructions, items, function calls and outputs, reasoning items', () => {
  const body = {
    model: 'x',
    instructions: 'Be brief.',
    input: [
      { role: 'developer', content: 'Dev.' },
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Weather?' }, { type: 'input_image', image_url: `data:image/png;base64,${PNG}`, detail: 'auto' }] },
      { type: 'reasoning', id: 'rs_9', summary: [{ type: 'summary_text', text: 'think' }], encrypted_content: 'ENC' },
      { type: 'function_call', id: 'fc_1', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Oslo"}' },
      { type: 'function_call_output', call_id: 'call_1', output: '3C' },
      { role: 'assistant', content: [{ type: 'output_text', text: 'It is 3C.' }] },
      { role: 'user', content: 'thanks' },
    ],
    tools: [{ type: 'function', name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } }, strict: true }],
    tool_choice: 'required',
    max_output_tokens: 50,
    text: { format: { type: 'json_schema', name: 'w', schema: { type: 'object' }, strict: true } },
    stream: false,
  };
  const a = tr('responses', 'anthropic', body);
  assert.equal(a.system, 'Be brief.\n\nDev.');
  assert.equal(a.messages[0].content[1].type, 'image');
  assert.deepEqual(a.messages[1].content, [{ type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Oslo' } }], 'foreign reasoning is not sent to Anthropic');
  assert.deepEqual(a.messages[2].content, [{ type: 'tool_result', tool_use_id: 'call_1', content: [{ type: 'text', text: '3C' }] }]);
  assert.deepEqual(a.messages[3], { role: 'assistant', content: [{ type: 'text', text: 'It is 3C.' }] });
  assert.deepEqual(a.tool_choice, { type: 'any' });
  assert.equal(a.max_tokens, 50);
  assert.equal(a.stream, false);
  const o = tr('responses', 'openai', body);
  assert.deepEqual(o.messages[0], { role: 'system', content: 'Be brief.\n\nDev.' });
  assert.deepEqual(o.messages[2].tool_calls, [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }]);
  assert.deepEqual(o.messages[3], { role: 'tool', tool_call_id: 'call_1', content: '3C' });
  assert.deepEqual(o.response_format, { type: 'json_schema', json_schema: { name: 'w', schema: { type: 'object' }, strict: true } });
  assert.equal(o.tool_choice, 'required');
  assert.deepEqual(o.tools[0].function.strict, true);
});

test('same dialect: only the model changes; an OpenAI stream asks for usage for the log, the client is told apart', () => {
  const body = { model: 'alias', messages: [{ role: 'user', content: 'x' }], stream: true, extra_field: { keep: 1 } };
  const r = translateRequest('openai', 'openai', body, 'real', opts);
  assert.deepEqual(r.body, { ...body, model: 'real', stream_options: { include_usage: true } });
  assert.equal(r.clientWantsUsage, false);
  const a = translateRequest('anthropic', 'anthropic', { ...anthropicReq }, 'real', opts);
  assert.deepEqual(a.body, { ...anthropicReq, model: 'real' }, 'cache_control and everything else untouched');
});

test('upstream URL: base_url stops before /v1, a trailing /v1 is not doubled', () => {
  assert.equal(upstreamUrl('https://api.deepseek.com', 'openai'), 'https://api.deepseek.com/v1/chat/completions');
  assert.equal(upstreamUrl('https://openrouter.ai/api/v1/', 'openai'), 'https://openrouter.ai/api/v1/chat/completions');
  assert.equal(upstreamUrl('https://api.anthropic.com', 'anthropic'), 'https://api.anthropic.com/v1/messages');
  assert.equal(upstreamUrl('http://127.0.0.1:11434', 'ollama'), 'http://127.0.0.1:11434/api/chat');
  assert.equal(upstreamUrl('http://127.0.0.1:11434/v1', 'ollama'), 'http://127.0.0.1:11434/api/chat');
  assert.equal(upstreamUrl('https://api.openai.com/v1', 'responses'), 'https://api.openai.com/v1/responses');
});

test('two turns with thinking: Anthropic client ↔ DeepSeek-style upstream keeps reasoning_content; back to Anthropic it is never forged', () => {
  // turn 1: the upstream answers with reasoning + a tool call
  const up = {
    id: 'x',
    choices: [{ message: { role: 'assistant', content: null, reasoning_content: 'I should call it.', tool_calls: [{ id: 'call_9', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }] }, finish_reason: 'tool_calls' }],
    usage: { prompt_tokens: 10, completion_tokens: 5 },
  };
  const msg = translateResponse('openai', 'anthropic', up, { requestedModel: 'claude-alias' }) as any;
  assert.equal(msg.content[0].type, 'thinking');
  assert.match(msg.content[0].signature, /^r67v1\./);
  // turn 2: the client sends the assistant turn back with the tool result
  const turn2 = {
    model: 'claude-alias',
    max_tokens: 2000,
    thinking: { type: 'enabled', budget_tokens: 1024 },
    tools: [{ name: 'f', input_schema: { type: 'object' } }],
    messages: [
      { role: 'user', content: 'go' },
      { role: 'assistant', content: msg.content },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_9', content: 'done' }] },
    ],
  };
  const o = tr('anthropic', 'openai', turn2);
  assert.deepEqual(o.messages[1], {
    role: 'assistant',
    content: null,
    tool_calls: [{ id: 'call_9', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }],
    reasoning_content: 'I should call it.',
  });
  assert.deepEqual(o.messages[2], { role: 'tool', tool_call_id: 'call_9', content: 'done' });
  // the same turn falling back to Anthropic itself (same dialect: passthrough, sanitized only when needed)
  const raw = JSON.stringify(turn2);
  assert.equal(hasPackedSignatures(raw), true);
  const s = sanitizeAnthropicThinking(turn2) as any;
  assert.deepEqual(s.messages[1].content, [{ type: 'tool_use', id: 'call_9', name: 'f', input: { a: 1 } }]);
  assert.equal(s.thinking, undefined, 'thinking turned off rather than sending an unsigned tool turn');
  // translated to an Anthropic-format provider from another dialect: same rule
  const viaOpenAI = tr('openai', 'anthropic', { model: 'x', reasoning_effort: 'low', max_tokens: 4000, messages: [{ role: 'user', content: 'go' }, { role: 'assistant', content: null, reasoning_content: 'r', tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }] }, { role: 'tool', tool_call_id: 'c', content: 'ok' }], tools: [{ type: 'function', function: { name: 'f' } }] });
  assert.equal(viaOpenAI.thinking, undefined);
  assert.deepEqual(viaOpenAI.messages[1].content.map((c: any) => c.type), ['tool_use']);
});

test('two turns with thinking via OpenRouter Claude: the genuine signature goes back byte for byte', () => {
  const up = {
    choices: [
      {
        message: {
          role: 'assistant',
          content: 'Calling.',
          reasoning: 'Plan it.',
          reasoning_details: [{ type: 'reasoning.text', text: 'Plan it.', signature: 'EqQBCkYIARgCKkA+/=', format: 'anthropic-claude-v1', index: 0 }, { type: 'reasoning.encrypted', data: 'REDACTED==', format: 'anthropic-claude-v1', index: 1 }],
          tool_calls: [{ id: 'toolu_01', type: 'function', function: { name: 'f', arguments: '{}' } }],
        },
        finish_reason: 'tool_calls',
      },
    ],
  };
  const msg = translateResponse('openai', 'anthropic', up, { requestedModel: 'm' }) as any;
  assert.deepEqual(msg.content.slice(0, 2), [
    { type: 'thinking', thinking: 'Plan it.', signature: 'EqQBCkYIARgCKkA+/=' },
    { type: 'redacted_thinking', data: 'REDACTED==' },
  ]);
  const turn2 = { model: 'm', max_tokens: 100, messages: [{ role: 'user', content: 'go' }, { role: 'assistant', content: msg.content }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_01', content: 'r' }] }] };
  const o = tr('anthropic', 'openai', turn2);
  assert.deepEqual(o.messages[1].reasoning_details, [
    { type: 'reasoning.text', text: 'Plan it.', signature: 'EqQBCkYIARgCKkA+/=', format: 'anthropic-claude-v1', index: 0 },
    { type: 'reasoning.encrypted', data: 'REDACTED==', format: 'anthropic-claude-v1', index: 1 },
  ]);
  assert.equal(hasPackedSignatures(JSON.stringify(turn2)), false, 'nothing to sanitize for a genuine signature');
});

test('two turns through a Responses upstream: the reasoning item (id + encrypted content) round-trips', () => {
  const up = {
    id: 'resp_1',
    status: 'completed',
    output: [
      { id: 'rs_abc', type: 'reasoning', summary: [{ type: 'summary_text', text: 'sum' }], encrypted_content: 'gAAAA-enc' },
      { id: 'fc_1', type: 'function_call', call_id: 'call_1', name: 'f', arguments: '{}' },
    ],
    usage: { input_tokens: 3, output_tokens: 4 },
  };
  const msg = translateResponse('responses', 'anthropic', up, { requestedModel: 'm' }) as any;
  const turn2 = { model: 'm', max_tokens: 100, messages: [{ role: 'user', content: 'go' }, { role: 'assistant', content: msg.content }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_1', content: 'r' }] }] };
  const r = tr('anthropic', 'responses', turn2);
  assert.deepEqual(r.input[1], { id: 'rs_abc', type: 'reasoning', summary: [{ type: 'summary_text', text: 'sum' }], encrypted_content: 'gAAAA-enc' });
  assert.deepEqual(r.include, ['reasoning.encrypted_content']);
});
