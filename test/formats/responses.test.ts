// Non-streaming responses, errors, count_tokens estimates and model lists — parsed by the official SDKs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { DIALECTS, type Dialect } from '../../main/formats/canonical.js';
import { errorEnvelope, estimateInputTokens, modelsBody, streamErrorEvent, translateError, translateResponse } from '../../main/formats/index.js';
import { SCENARIO, expectedUsage, upstreamResponse } from './fixtures.js';
import { anthropicClient, openaiClient, TOOLS_ANTHROPIC, TOOLS_OPENAI, TOOLS_RESPONSES } from './sdk.js';

const json = (v: unknown) => JSON.stringify(v);

for (const from of DIALECTS) {
  for (const to of ['anthropic', 'openai', 'responses', 'ollama'] as Dialect[]) {
    if (from === to) continue;
    test(`response ${from} → ${to}: text, tool calls, stop reason and usage`, async () => {
      const body = translateResponse(from, to, upstreamResponse(from), { requestedModel: 'client-model' });
      const exp = expectedUsage(from);
      if (to === 'anthropic') {
        const m = await anthropicClient(json(body), 200, 'application/json').messages.create({ model: 'client-model', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }], tools: TOOLS_ANTHROPIC });
        assert.equal(m.stop_reason, 'tool_use');
        assert.equal(m.model, 'client-model');
        assert.match(m.id, /^msg_/);
        const th = m.content[0] as { type: string; thinking: string; signature: string };
        assert.equal(th.type, 'thinking');
        assert.equal(th.thinking, SCENARIO.thinking);
        assert.ok(th.signature);
        assert.equal((m.content.find((b) => b.type === 'text') as { text: string }).text, SCENARIO.text);
        assert.deepEqual(
          m.content.filter((b) => b.type === 'tool_use').map((b) => [(b as any).id, (b as any).name, (b as any).input]),
          SCENARIO.calls.map((c) => [c.id, c.name, c.args]),
        );
        assert.equal(m.usage.input_tokens, exp.input - (exp.cacheRead ?? 0));
        assert.equal(m.usage.cache_read_input_tokens, exp.cacheRead ?? 0);
        assert.equal(m.usage.output_tokens, 17);
      } else if (to === 'openai') {
        const c = await openaiClient(json(body), 200, 'application/json').chat.completions.create({ model: 'client-model', messages: [{ role: 'user', content: 'hi' }], tools: TOOLS_OPENAI });
        const ch = c.choices[0]!;
        assert.equal(ch.finish_reason, 'tool_calls');
        assert.equal(ch.message.role, 'assistant');
        assert.equal(ch.message.content, SCENARIO.text);
        assert.equal((ch.message as any).reasoning_content, SCENARIO.thinking);
        assert.deepEqual(
          ch.message.tool_calls!.map((t: any) => [t.id, t.function.name, JSON.parse(t.function.arguments)]),
          SCENARIO.calls.map((x) => [x.id, x.name, x.args]),
        );
        assert.equal(c.usage!.prompt_tokens, 42);
        assert.equal(c.usage!.completion_tokens, 17);
        assert.equal(c.usage!.total_tokens, 59);
        assert.equal(c.usage!.prompt_tokens_details!.cached_tokens, exp.cacheRead ?? 0);
      } else if (to === 'responses') {
        const r = await openaiClient(json(body), 200, 'application/json').responses.create({ model: 'client-model', input: 'hi', tools: TOOLS_RESPONSES });
        assert.equal(r.status, 'completed');
        assert.equal(r.output_text, SCENARIO.text);
        assert.deepEqual(
          r.output.filter((o) => o.type === 'function_call').map((o: any) => [o.call_id, o.name, JSON.parse(o.arguments)]),
          SCENARIO.calls.map((x) => [x.id, x.name, x.args]),
        );
        assert.equal((r.output.find((o) => o.type === 'reasoning') as any).summary[0].text, SCENARIO.thinking);
        assert.equal(r.usage!.input_tokens, 42);
        assert.equal(r.usage!.output_tokens, 17);
      } else {
        const b = body as any;
        assert.equal(b.done, true);
        assert.equal(b.message.content, SCENARIO.text);
        assert.equal(b.message.thinking, SCENARIO.thinking);
        assert.deepEqual(
          b.message.tool_calls.map((t: any) => [t.function.name, t.function.arguments]),
          SCENARIO.calls.map((x) => [x.name, x.args]),
        );
        assert.equal(b.prompt_eval_count, 42);
        assert.equal(b.eval_count, 17);
      }
    });
  }
}

test('stop reasons both ways in whole responses', () => {
  const anth = (stop: string) => ({ id: 'msg_1', type: 'message', role: 'assistant', content: [{ type: 'text', text: 'x' }], stop_reason: stop, usage: { input_tokens: 1, output_tokens: 1 } });
  const oai = (fr: string) => ({ choices: [{ message: { role: 'assistant', content: 'x' }, finish_reason: fr }] });
  const pairs: Array<[string, string]> = [
    ['end_turn', 'stop'],
    ['max_tokens', 'length'],
    ['stop_sequence', 'stop'],
    ['refusal', 'content_filter'],
  ];
  for (const [a, o] of pairs) assert.equal((translateResponse('anthropic', 'openai', anth(a), { requestedModel: 'm' }) as any).choices[0].finish_reason, o);
  for (const [o, a] of [
    ['stop', 'end_turn'],
    ['length', 'max_tokens'],
    ['tool_calls', 'tool_use'],
    ['content_filter', 'refusal'],
  ] as Array<[string, string]>)
    assert.equal((translateResponse('openai', 'anthropic', oai(o), { requestedModel: 'm' }) as any).stop_reason, a);
  const r = translateResponse('anthropic', 'responses', anth('max_tokens'), { requestedModel: 'm' }) as any;
  assert.equal(r.status, 'incomplete');
  assert.deepEqual(r.incomplete_details, { reason: 'max_output_tokens' });
  const back = translateResponse('responses', 'anthropic', { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' }, output: [] }, { requestedModel: 'm' }) as any;
  assert.equal(back.stop_reason, 'max_tokens');
  assert.equal((translateResponse('ollama', 'anthropic', { message: { content: 'x' }, done: true, done_reason: 'length' }, { requestedModel: 'm' }) as any).stop_reason, 'max_tokens');
});

test('OpenAI-compatible quirks in whole responses: content null, missing id/created/usage, <think> in content', () => {
  const m = translateResponse('openai', 'anthropic', { choices: [{ message: { content: null, tool_calls: [{ type: 'function', function: { name: 'f', arguments: '' } }] }, finish_reason: 'tool_calls' }] }, { requestedModel: 'm' }) as any;
  assert.equal(m.content.length, 1);
  assert.equal(m.content[0].name, 'f');
  assert.deepEqual(m.content[0].input, {});
  assert.match(m.content[0].id, /^call_/);
  assert.deepEqual(m.usage, { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 });
  const t = translateResponse('openai', 'anthropic', { choices: [{ message: { content: '<think>\nhmm\n</think>\n\nYes.' }, finish_reason: 'stop' }] }, { requestedModel: 'm' }) as any;
  assert.deepEqual(t.content.map((c: any) => c.type), ['thinking', 'text']);
  assert.equal(t.content[0].thinking, 'hmm\n');
  assert.equal(t.content[1].text, 'Yes.');
});

test('upstream errors (any dialect, HTML, text) become the client envelope and the SDKs raise typed errors', async () => {
  const cases: Array<{ from: Dialect | 'unknown'; status: number; body: string; ct?: string; msg: RegExp }> = [
    { from: 'openai', status: 429, body: json({ error: { message: 'Rate limit reached', type: 'rate_limit_error', code: 'rate_limit_exceeded' } }), msg: /Rate limit reached/ },
    { from: 'anthropic', status: 529, body: json({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }), msg: /Overloaded/ },
    { from: 'ollama', status: 404, body: json({ error: 'model "llama9" not found, try pulling it first' }), msg: /not found/ },
    { from: 'unknown', status: 502, body: '<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>', ct: 'text/html', msg: /HTML error page \(HTTP 502: 502 Bad Gateway\)/ },
    { from: 'openai', status: 400, body: 'plain words', msg: /plain words/ },
    { from: 'openai', status: 401, body: '', msg: /empty body/ },
  ];
  for (const c of cases) {
    const a = translateError(c.from, 'anthropic', c.status, Buffer.from(c.body), c.ct);
    assert.equal(a.status, c.status);
    const aj = JSON.parse(a.body);
    assert.equal(aj.type, 'error');
    assert.match(aj.error.message, c.msg);
    const err = await anthropicClient(a.body, a.status, 'application/json')
      .messages.create({ model: 'm', max_tokens: 1, messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    assert.ok(err instanceof Anthropic.APIError, `${c.from} ${c.status}`);
    assert.equal((err as InstanceType<typeof Anthropic.APIError>).status, c.status);
    if (c.status === 429) assert.ok(err instanceof Anthropic.RateLimitError);
    if (c.status === 401) assert.ok(err instanceof Anthropic.AuthenticationError);
    if (c.status === 404) {
      assert.ok(err instanceof Anthropic.NotFoundError);
      assert.equal(aj.error.type, 'not_found_error');
    }
    if (c.status === 529) assert.equal(aj.error.type, 'overloaded_error');
    const o = translateError(c.from, 'openai', c.status, Buffer.from(c.body), c.ct);
    const oj = JSON.parse(o.body);
    assert.match(oj.error.message, c.msg);
    assert.ok('param' in oj.error && 'code' in oj.error && 'type' in oj.error);
    const oerr = await openaiClient(o.body, o.status, 'application/json')
      .chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    assert.ok(oerr instanceof OpenAI.APIError);
    assert.match((oerr as Error).message, c.msg);
    if (c.status === 429) assert.ok(oerr instanceof OpenAI.RateLimitError);
    if (c.status === 529) assert.equal(oj.error.type, 'server_error');
  }
  assert.equal(translateError('openai', 'anthropic', 200, Buffer.from('{}')).status, 502, 'a non-error status becomes 502');
  assert.deepEqual(JSON.parse(translateError('anthropic', 'ollama', 500, Buffer.from(json({ type: 'error', error: { type: 'api_error', message: 'x' } }))).body), { error: 'x' });
});

test('error envelopes and in-stream error events per dialect', () => {
  assert.deepEqual(JSON.parse(errorEnvelope('anthropic', 502, 'api_error', 'all failed', { attempts: [1] })), { type: 'error', error: { type: 'api_error', message: 'all failed' }, attempts: [1] });
  assert.deepEqual(JSON.parse(errorEnvelope('openai', 502, '', 'all failed')), { error: { message: 'all failed', type: 'server_error', param: null, code: null } });
  assert.equal(streamErrorEvent('anthropic', 'x'), 'event: error\ndata: {"type":"error","error":{"type":"api_error","message":"x"}}\n\n');
  assert.match(streamErrorEvent('openai', 'x'), /^data: \{"error":\{"message":"x"/);
  assert.match(streamErrorEvent('responses', 'x'), /^event: error\ndata: \{"type":"error","code":"server_error","message":"x"/);
  assert.equal(streamErrorEvent('ollama', 'x'), '{"error":"x"}\n');
});

test('count_tokens estimate is conservative: never below realistic tokenizer counts', () => {
  const prose = 'The quick brown fox jumps over the lazy dog. '.repeat(200); // ~10 tokens per sentence for real tokenizers
  const e1 = estimateInputTokens('anthropic', { model: 'm', max_tokens: 1, messages: [{ role: 'user', content: prose }] });
  assert.ok(e1 >= 200 * 11, `prose ${e1}`);
  const cjk = '我们今天讨论的是大型语言模型的路由问题。'.repeat(100); // Claude: ~1 token per CJK character or more
  const e2 = estimateInputTokens('anthropic', { model: 'm', max_tokens: 1, messages: [{ role: 'user', content: cjk }] });
  assert.ok(e2 >= cjk.length * 1.2, `cjk ${e2}`);
  const code = 'for (let i=0;i<n;i++){a[i]=b[i]*2;}\n'.repeat(100);
  const e3 = estimateInputTokens('openai', { model: 'm', messages: [{ role: 'user', content: code }] });
  assert.ok(e3 >= code.length / 3, `code ${e3}`);
  const img = estimateInputTokens('anthropic', { model: 'm', max_tokens: 1, messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBOR' + 'A'.repeat(100000) } }] }] });
  assert.ok(img >= 1600 && img < 2000, `image ${img} counted as an image, not as base64 text`);
  const withTools = estimateInputTokens('anthropic', { model: 'm', max_tokens: 1, messages: [{ role: 'user', content: 'hi' }], tools: [{ name: 't', input_schema: { type: 'object' } }] });
  assert.ok(withTools > 400, 'tool-use preamble counted');
});

test('GET /v1/models bodies parse in each SDK', async () => {
  const names = ['claude-sonnet-4.6', 'gpt-5'];
  const a = await anthropicClient(json(modelsBody('anthropic', names)), 200, 'application/json').models.list();
  assert.deepEqual(a.data.map((m) => m.id), names);
  const o = await openaiClient(json(modelsBody('openai', names)), 200, 'application/json').models.list();
  assert.deepEqual(o.data.map((m) => m.id), names);
  assert.deepEqual((modelsBody('ollama', names) as any).models.map((m: any) => m.name), names);
});

test('capability errors are recognised (the chain moves on), ordinary 4xx are not', async () => {
  const { isCapabilityError } = await import('../../main/formats/index.js');
  assert.ok(isCapabilityError('registry.ollama.ai/library/gemma:2b does not support tools'));
  assert.ok(isCapabilityError('llava does not support thinking'));
  assert.ok(!isCapabilityError('max_tokens: Field required'));
});

test('same-dialect stream translator: bytes pass as they came; an OpenAI usage chunk the client did not ask for is dropped', async () => {
  const { createStreamTranslator } = await import('../../main/formats/index.js');
  const { anthropicStream, openaiStream } = await import('./fixtures.js');
  const a = anthropicStream();
  const ta = createStreamTranslator('anthropic', 'anthropic', { requestedModel: 'm', clientWantsUsage: true });
  let out = '';
  for (let i = 0; i < a.length; i += 50) out += ta.push(Buffer.from(a.slice(i, i + 50)));
  out += ta.end();
  assert.equal(out, a);
  assert.deepEqual(ta.usage(), { inputTokens: 42, outputTokens: 17, cacheReadTokens: 10, cacheWriteTokens: 0 }, 'the cache counts too');
  const o = openaiStream();
  const to = createStreamTranslator('openai', 'openai', { requestedModel: 'm', clientWantsUsage: false });
  let oo = '';
  for (let i = 0; i < o.length; i += 33) oo += to.push(Buffer.from(o.slice(i, i + 33)));
  oo += to.end();
  assert.ok(!oo.includes('"usage"'));
  assert.equal(oo, o.replace(/data: \{"id":"chatcmpl-up","choices":\[\],"usage"[^\n]*\n\n/, ''));
  assert.deepEqual(to.usage(), { inputTokens: 42, outputTokens: 17, cacheReadTokens: 10 }, 'the log still gets the usage');
});

test('same-dialect usage filter works on CRLF streams too, without holding the stream back', async () => {
  const { createStreamTranslator } = await import('../../main/formats/index.js');
  const t = createStreamTranslator('openai', 'openai', { requestedModel: 'm', clientWantsUsage: false });
  const first = t.push(Buffer.from('data: {"choices":[{"delta":{"role":"assistant","content":"a"}}]}\r\n\r\n'));
  assert.equal(first, 'data: {"choices":[{"delta":{"role":"assistant","content":"a"}}]}\r\n\r\n');
  const rest = t.push(Buffer.from('data: {"choices":[{"delta":{},"finish_reason":"stop"}]}\r\n\r\ndata: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":1}}\r\n\r\ndata: [DONE]\r\n\r\n'));
  assert.equal(rest, 'data: {"choices":[{"delta":{},"finish_reason":"stop"}]}\r\n\r\ndata: [DONE]\r\n\r\n');
  assert.equal(t.end(), '');
  assert.deepEqual(t.usage(), { inputTokens: 3, outputTokens: 1 });
});
