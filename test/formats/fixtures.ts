// Upstream wire shapes for one scenario — reasoning, text, two parallel tool calls, usage — in each
// dialect, streaming and not, including the quirks real hosts send. Shared by unit and conformance tests.
import type { Dialect } from '../../main/formats/index.js';
import { sse } from './helpers.js';

export const SCENARIO = {
  thinking: 'Let me think.',
  text: "I'll check both.",
  calls: [
    { id: 'call_1', name: 'get_weather', args: { city: 'Paris' } },
    { id: 'call_2', name: 'get_time', args: { tz: 'CET' } },
  ],
  usage: { input: 42, cacheRead: 10, output: 17 },
};

const created = 1735689600;

/** OpenAI-compatible stream with DeepSeek reasoning_content and the usual quirks. */
export function openaiStream(opts: { interleave?: boolean; afterDone?: boolean } = {}): string {
  const c = (delta: unknown, extra: Record<string, unknown> = {}) => ({ choices: [{ index: 0, delta, finish_reason: null }], ...extra });
  const ev: Array<[null, unknown]> = [
    [null, { id: 'chatcmpl-up', object: 'chat.completion.chunk', created, model: 'deepseek-chat', choices: [{ index: 0, delta: { role: 'assistant', content: null, reasoning_content: 'Let me' }, finish_reason: null }] }],
    [null, c({ reasoning_content: ' think.', content: null })], // no id/created
    [null, c({ content: "I'll check" })],
    [null, c({ content: ' both.' })],
    [null, c({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '' } }] })],
  ];
  if (opts.interleave) {
    ev.push(
      [null, c({ tool_calls: [{ index: 1, id: 'call_2', type: 'function', function: { name: 'get_time', arguments: '' } }] })],
      [null, c({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] })],
      [null, c({ tool_calls: [{ index: 1, function: { arguments: '{"tz":"CET"}' } }] })],
      [null, c({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] })],
    );
  } else {
    ev.push(
      [null, c({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] })],
      [null, c({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] })],
      [null, c({ tool_calls: [{ index: 1, id: 'call_2', type: 'function', function: { name: 'get_time', arguments: '' } }] })],
      [null, c({ tool_calls: [{ index: 1, function: { arguments: '{"tz":"CET"}' } }] })],
    );
  }
  ev.push(
    [null, { choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] }],
    [null, { id: 'chatcmpl-up', choices: [], usage: { prompt_tokens: 42, completion_tokens: 17, total_tokens: 59, prompt_tokens_details: { cached_tokens: 10 } } }],
    [null, '[DONE]'],
  );
  if (opts.afterDone) ev.push([null, c({ content: 'AFTER-DONE' })]);
  return ': OPENROUTER PROCESSING\n\n' + sse(ev);
}

export function openaiResponse(): unknown {
  return {
    id: 'chatcmpl-up',
    object: 'chat.completion',
    model: 'deepseek-chat', // no created
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: "I'll check both.",
          reasoning_content: 'Let me think.',
          tool_calls: SCENARIO.calls.map((t) => ({ id: t.id, type: 'function', function: { name: t.name, arguments: JSON.stringify(t.args) } })),
        },
        finish_reason: 'tool_calls',
      },
    ],
    usage: { prompt_tokens: 42, completion_tokens: 17, total_tokens: 59, prompt_tokens_details: { cached_tokens: 10 } },
  };
}

export function anthropicStream(): string {
  return sse([
    ['message_start', { type: 'message_start', message: { id: 'msg_up', type: 'message', role: 'assistant', model: 'claude-x', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 32, cache_read_input_tokens: 10, cache_creation_input_tokens: 0, output_tokens: 1 } } }],
    ['ping', { type: 'ping' }],
    ['content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '', signature: '' } }],
    ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'Let me' } }],
    ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: ' think.' } }],
    ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'signature_delta', signature: 'sig-abc' } }],
    ['content_block_stop', { type: 'content_block_stop', index: 0 }],
    ['content_block_start', { type: 'content_block_start', index: 1, content_block: { type: 'text', text: '' } }],
    ['content_block_delta', { type: 'content_block_delta', index: 1, delta: { type: 'text_delta', text: "I'll check" } }],
    ['future_event', { type: 'future_event', whatever: 1 }],
    ['content_block_delta', { type: 'content_block_delta', index: 1, delta: { type: 'text_delta', text: ' both.' } }],
    ['content_block_stop', { type: 'content_block_stop', index: 1 }],
    ['content_block_start', { type: 'content_block_start', index: 2, content_block: { type: 'tool_use', id: 'call_1', name: 'get_weather', input: {} } }],
    ['content_block_delta', { type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: '' } }],
    ['content_block_delta', { type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: '{"city":' } }],
    ['content_block_delta', { type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: '"Paris"}' } }],
    ['content_block_stop', { type: 'content_block_stop', index: 2 }],
    ['content_block_start', { type: 'content_block_start', index: 3, content_block: { type: 'tool_use', id: 'call_2', name: 'get_time', input: {} } }],
    ['content_block_delta', { type: 'content_block_delta', index: 3, delta: { type: 'input_json_delta', partial_json: '{"tz":"CET"}' } }],
    ['content_block_stop', { type: 'content_block_stop', index: 3 }],
    ['message_delta', { type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 17 } }],
    ['message_stop', { type: 'message_stop' }],
  ]);
}

export function anthropicResponse(): unknown {
  return {
    id: 'msg_up',
    type: 'message',
    role: 'assistant',
    model: 'claude-x',
    content: [
      { type: 'thinking', thinking: 'Let me think.', signature: 'sig-abc' },
      { type: 'text', text: "I'll check both." },
      ...SCENARIO.calls.map((t) => ({ type: 'tool_use', id: t.id, name: t.name, input: t.args })),
    ],
    stop_reason: 'tool_use',
    stop_sequence: null,
    usage: { input_tokens: 32, cache_read_input_tokens: 10, cache_creation_input_tokens: 0, output_tokens: 17 },
  };
}

/** `future`: include an event type no SDK knows yet (our decoder must skip it; the OpenAI SDK itself throws on it). */
export function responsesStream(future = true): string {
  let seq = 0;
  const e = (type: string, body: Record<string, unknown>): [string, unknown] => [type, { type, ...body, sequence_number: seq++ }];
  const resp = (status: string, output: unknown[], usage: unknown) => ({ id: 'resp_up', object: 'response', created_at: created, status, model: 'gpt-x', output, usage });
  const rs = { id: 'rs_1', type: 'reasoning', summary: [{ type: 'summary_text', text: 'Let me think.' }], encrypted_content: 'ENC123' };
  const msg = { id: 'msg_1', type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: "I'll check both.", annotations: [] }] };
  const fc = SCENARIO.calls.map((t, i) => ({ id: `fc_${i + 1}`, type: 'function_call', status: 'completed', call_id: t.id, name: t.name, arguments: JSON.stringify(t.args) }));
  const usage = { input_tokens: 42, input_tokens_details: { cached_tokens: 10 }, output_tokens: 17, output_tokens_details: { reasoning_tokens: 5 }, total_tokens: 59 };
  return sse([
    e('response.created', { response: resp('in_progress', [], null) }),
    e('response.in_progress', { response: resp('in_progress', [], null) }),
    e('response.output_item.added', { output_index: 0, item: { id: 'rs_1', type: 'reasoning', summary: [] } }),
    e('response.reasoning_summary_part.added', { item_id: 'rs_1', output_index: 0, summary_index: 0, part: { type: 'summary_text', text: '' } }),
    e('response.reasoning_summary_text.delta', { item_id: 'rs_1', output_index: 0, summary_index: 0, delta: 'Let me' }),
    e('response.reasoning_summary_text.delta', { item_id: 'rs_1', output_index: 0, summary_index: 0, delta: ' think.' }),
    e('response.reasoning_summary_text.done', { item_id: 'rs_1', output_index: 0, summary_index: 0, text: 'Let me think.' }),
    e('response.output_item.done', { output_index: 0, item: rs }),
    e('response.output_item.added', { output_index: 1, item: { ...msg, status: 'in_progress', content: [] } }),
    e('response.content_part.added', { item_id: 'msg_1', output_index: 1, content_index: 0, part: { type: 'output_text', text: '', annotations: [] } }),
    e('response.output_text.delta', { item_id: 'msg_1', output_index: 1, content_index: 0, delta: "I'll check", logprobs: [] }),
    e('response.output_text.delta', { item_id: 'msg_1', output_index: 1, content_index: 0, delta: ' both.', logprobs: [] }),
    e('response.output_text.done', { item_id: 'msg_1', output_index: 1, content_index: 0, text: "I'll check both.", logprobs: [] }),
    e('response.content_part.done', { item_id: 'msg_1', output_index: 1, content_index: 0, part: msg.content[0] }),
    e('response.output_item.done', { output_index: 1, item: msg }),
    ...fc.flatMap((f, k) => [
      e('response.output_item.added', { output_index: 2 + k, item: { ...f, status: 'in_progress', arguments: '' } }),
      e('response.function_call_arguments.delta', { item_id: f.id, output_index: 2 + k, delta: f.arguments.slice(0, 5) }),
      e('response.function_call_arguments.delta', { item_id: f.id, output_index: 2 + k, delta: f.arguments.slice(5) }),
      e('response.function_call_arguments.done', { item_id: f.id, output_index: 2 + k, name: f.name, arguments: f.arguments }),
      e('response.output_item.done', { output_index: 2 + k, item: f }),
    ]),
    ...(future ? [e('response.some_future_event', { x: 1 })] : []),
    e('response.completed', { response: resp('completed', [rs, msg, ...fc], usage) }),
  ]);
}

export function responsesResponse(): unknown {
  return {
    id: 'resp_up',
    object: 'response',
    created_at: created,
    status: 'completed',
    model: 'gpt-x',
    output: [
      { id: 'rs_1', type: 'reasoning', summary: [{ type: 'summary_text', text: 'Let me think.' }], encrypted_content: 'ENC123' },
      { id: 'msg_1', type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: "I'll check both.", annotations: [] }] },
      ...SCENARIO.calls.map((t, i) => ({ id: `fc_${i + 1}`, type: 'function_call', status: 'completed', call_id: t.id, name: t.name, arguments: JSON.stringify(t.args) })),
    ],
    usage: { input_tokens: 42, input_tokens_details: { cached_tokens: 10 }, output_tokens: 17, output_tokens_details: { reasoning_tokens: 5 }, total_tokens: 59 },
  };
}

export function ollamaStream(): string {
  const l = (message: Record<string, unknown>, extra: Record<string, unknown> = { done: false }) =>
    JSON.stringify({ model: 'qwen3', created_at: '2025-01-01T00:00:00Z', message: { role: 'assistant', content: '', ...message }, ...extra }) + '\n';
  return (
    l({ thinking: 'Let me' }) +
    l({ thinking: ' think.' }) +
    l({ content: "I'll check" }) +
    l({ content: ' both.' }) +
    l({ tool_calls: SCENARIO.calls.map((t) => ({ id: t.id, function: { name: t.name, arguments: t.args } })) }) +
    l({}, { done: true, done_reason: 'stop', total_duration: 1, prompt_eval_count: 42, eval_count: 17 })
  );
}

export function ollamaResponse(): unknown {
  return {
    model: 'qwen3',
    created_at: '2025-01-01T00:00:00Z',
    message: { role: 'assistant', content: "I'll check both.", thinking: 'Let me think.', tool_calls: SCENARIO.calls.map((t) => ({ id: t.id, function: { name: t.name, arguments: t.args } })) },
    done: true,
    done_reason: 'stop',
    prompt_eval_count: 42,
    eval_count: 17,
  };
}

export function upstreamStream(d: Dialect): string {
  return d === 'anthropic' ? anthropicStream() : d === 'openai' ? openaiStream({ interleave: true, afterDone: true }) : d === 'responses' ? responsesStream() : ollamaStream();
}
export function upstreamResponse(d: Dialect): unknown {
  return d === 'anthropic' ? anthropicResponse() : d === 'openai' ? openaiResponse() : d === 'responses' ? responsesResponse() : ollamaResponse();
}
/** What the client sees as input tokens: Ollama has no cache figures. */
export function expectedUsage(d: Dialect): { input: number; cacheRead?: number; output: number } {
  return d === 'ollama' ? { input: 42, output: 17 } : { input: 42, cacheRead: 10, output: 17 };
}
