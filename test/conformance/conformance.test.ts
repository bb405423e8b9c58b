// Conformance: every client dialect (Anthropic Messages, OpenAI Chat, OpenAI Responses) × every provider
// format (anthropic, openai, responses, ollama), through a real router67 core, with the official SDKs —
// streaming through their own helpers and not — against local upstreams that emit the documented wire
// shapes and quirks. Text, tool calls (names, ids, parsed arguments), stop reason and usage must match
// what the upstream produced.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { startCore, provider, type TestCore } from '../helpers/core.js';
import { startConformanceUpstream, type ConformanceUpstream } from './upstream.js';
import { SCENARIO, expectedUsage } from '../formats/fixtures.js';
import { TOOLS_ANTHROPIC, TOOLS_OPENAI, TOOLS_RESPONSES } from '../formats/sdk.js';

type Fmt = 'anthropic' | 'openai' | 'responses' | 'ollama';
const FORMATS: Fmt[] = ['anthropic', 'openai', 'responses', 'ollama'];

let up: ConformanceUpstream;
let tc: TestCore;
let anthropic: Anthropic;
let openai: OpenAI;

before(async () => {
  up = await startConformanceUpstream();
  const toml =
    provider('anth', up.url, { 'm-anthropic': 'up-ok', 'two-turn-anth': 'up-ok', 'count-anth': 'up-ok', early: 'up-early-error' }, 'format = "anthropic"') +
    provider(
      'oai',
      `${up.url}/v1`, // a base_url already ending in /v1 is not doubled
      { 'm-openai': 'up-ok', early: 'up-early-error', err200: 'up-error-200', 'two-turn': 'up-deepseek', flaky: 'up-html-502', bad: 'up-bad-400', forbidden: 'up-html-403', drop: 'up-drop', 'count-oai': 'up-ok', 'text-oai': 'up-text' },
      'format = "openai"',
    ) +
    provider('resp', up.url, { 'm-responses': 'up-ok' }, 'format = "responses"') +
    provider('oll', `${up.url}/v1`, { 'm-ollama': 'up-ok', flaky: 'up-ok', early: 'up-ok', vision: 'up-no-vision', err200: 'up-ok' }, 'format = "ollama"') +
    provider('oll2', up.url, { vision: 'up-ok' }, 'format = "ollama"');
  tc = await startCore(toml);
  anthropic = new Anthropic({ apiKey: 'client-key', baseURL: tc.url, maxRetries: 0, timeout: 20_000 });
  openai = new OpenAI({ apiKey: 'client-key', baseURL: `${tc.url}/v1`, maxRetries: 0, timeout: 20_000 });
});

after(async () => {
  await tc?.stop();
  await up?.close();
});

const messagesParams = (model: string) => ({
  model,
  max_tokens: 512,
  system: [{ type: 'text' as const, text: 'Be brief.', cache_control: { type: 'ephemeral' as const } }],
  tools: TOOLS_ANTHROPIC,
  messages: [{ role: 'user' as const, content: 'Weather in Paris and the time in CET?' }],
});
const chatParams = (model: string) => ({
  model,
  tools: TOOLS_OPENAI,
  messages: [
    { role: 'system' as const, content: 'Be brief.' },
    { role: 'user' as const, content: 'Weather in Paris and the time in CET?' },
  ],
});
const responsesParams = (model: string) => ({ model, instructions: 'Be brief.', input: 'Weather in Paris and the time in CET?', tools: TOOLS_RESPONSES });

function lastEntry() {
  return tc.core.log.recent(1)[0]!;
}

for (const f of FORMATS) {
  const model = `m-${f}`;
  const exp = expectedUsage(f);
  const translated = (client: Fmt) => client !== f;

  describe(`provider format ${f}`, () => {
    for (const stream of [false, true]) {
      test(`Anthropic client${stream ? ' (messages.stream().finalMessage())' : ''}`, async () => {
        const m = stream ? await anthropic.messages.stream(messagesParams(model)).finalMessage() : await anthropic.messages.create(messagesParams(model));
        assert.equal(m.stop_reason, 'tool_use');
        const th = m.content[0] as Anthropic.ThinkingBlock;
        assert.equal(th.type, 'thinking');
        assert.equal(th.thinking, SCENARIO.thinking);
        if (f === 'anthropic') assert.equal(th.signature, 'sig-abc', 'genuine signature untouched');
        else assert.match(th.signature, /^r67v1\./, 'foreign reasoning is wrapped, never passed off as signed');
        assert.equal(m.content.filter((b) => b.type === 'text').map((b) => (b as Anthropic.TextBlock).text).join(''), SCENARIO.text);
        const tools = m.content.filter((b) => b.type === 'tool_use') as Anthropic.ToolUseBlock[];
        assert.deepEqual(
          tools.map((t) => [t.id, t.name, t.input]),
          SCENARIO.calls.map((c) => [c.id, c.name, c.args]),
        );
        assert.equal(m.usage.output_tokens, 17);
        assert.equal(m.usage.input_tokens, exp.input - (exp.cacheRead ?? 0));
        assert.equal(m.usage.cache_read_input_tokens ?? 0, exp.cacheRead ?? 0);
        if (translated('anthropic')) assert.equal(m.model, model);
        const sent = up.seen[up.seen.length - 1]!;
        if (f !== 'anthropic') assert.ok(!JSON.stringify(sent.body).includes('cache_control'), 'cache_control stripped');
        else assert.ok(JSON.stringify(sent.body).includes('cache_control'), 'cache_control kept Anthropic→Anthropic');
        if (f === 'openai' && stream) assert.equal(sent.body.stream_options?.include_usage, true, 'usage requested upstream');
        const e = lastEntry();
        assert.equal(e.inputTokens, 42);
        assert.equal(e.outputTokens, 17);
        assert.equal(e.attempts[0]!.formatIn, 'anthropic');
        assert.equal(e.attempts[0]!.formatOut, f);
      });

      test(`OpenAI chat client${stream ? ' (chat.completions.stream().finalChatCompletion())' : ''}`, async () => {
        const c = stream
          ? await openai.chat.completions.stream({ ...chatParams(model), stream_options: { include_usage: true } }).finalChatCompletion()
          : await openai.chat.completions.create(chatParams(model));
        const ch = c.choices[0]!;
        assert.equal(ch.finish_reason, 'tool_calls');
        assert.equal(ch.message.role, 'assistant');
        assert.equal(ch.message.content, SCENARIO.text);
        assert.deepEqual(
          ch.message.tool_calls!.map((t) => (t.type === 'function' ? [t.id, t.function.name, JSON.parse(t.function.arguments)] : [])),
          SCENARIO.calls.map((x) => [x.id, x.name, x.args]),
        );
        assert.equal(c.usage!.prompt_tokens, 42);
        assert.equal(c.usage!.completion_tokens, 17);
        assert.equal(c.usage!.prompt_tokens_details?.cached_tokens ?? 0, exp.cacheRead ?? 0);
        const e = lastEntry();
        assert.equal(e.attempts[0]!.formatIn, 'openai');
        assert.equal(e.attempts[0]!.formatOut, f);
        assert.equal(e.outputTokens, 17);
      });

      test(`OpenAI Responses client${stream ? ' (responses.stream().finalResponse())' : ''}`, async () => {
        const r = stream ? await openai.responses.stream(responsesParams(model)).finalResponse() : await openai.responses.create(responsesParams(model));
        assert.equal(r.status, 'completed');
        assert.equal(r.output_text, SCENARIO.text);
        const calls = r.output.filter((o) => o.type === 'function_call') as OpenAI.Responses.ResponseFunctionToolCall[];
        assert.deepEqual(
          calls.map((t) => [t.call_id, t.name, JSON.parse(t.arguments)]),
          SCENARIO.calls.map((x) => [x.id, x.name, x.args]),
        );
        const rs = r.output.find((o) => o.type === 'reasoning') as OpenAI.Responses.ResponseReasoningItem;
        assert.equal(rs.summary[0]!.text, SCENARIO.thinking);
        assert.equal(r.usage!.input_tokens, 42);
        assert.equal(r.usage!.output_tokens, 17);
        assert.equal(r.usage!.input_tokens_details.cached_tokens, exp.cacheRead ?? 0);
        const e = lastEntry();
        assert.equal(e.attempts[0]!.formatIn, 'responses');
        assert.equal(e.attempts[0]!.formatOut, f);
      });
    }
  });
}

describe('two-turn tool use with thinking, Anthropic client ↔ OpenAI-format (DeepSeek) provider', () => {
  test('the second turn carries the reasoning back and the upstream accepts it; the same turn to Anthropic is sanitized', async () => {
    const params = { ...messagesParams('two-turn'), thinking: { type: 'enabled' as const, budget_tokens: 1024 }, max_tokens: 4096 };
    const first = await anthropic.messages.stream(params).finalMessage();
    assert.equal(first.stop_reason, 'tool_use');
    assert.equal(first.content[0]!.type, 'thinking');
    const calls = first.content.filter((b) => b.type === 'tool_use') as Anthropic.ToolUseBlock[];
    const turn2 = {
      ...params,
      messages: [
        ...params.messages,
        { role: 'assistant' as const, content: first.content },
        {
          role: 'user' as const,
          content: calls.map((c) => ({ type: 'tool_result' as const, tool_use_id: c.id, content: c.name === 'get_weather' ? 'sunny, 21C' : '12:00' })),
        },
      ],
    };
    const second = await anthropic.messages.stream(turn2).finalMessage();
    assert.equal(second.stop_reason, 'end_turn');
    assert.equal((second.content.find((b) => b.type === 'text') as Anthropic.TextBlock).text, 'Paris is sunny; it is noon.');
    const sent = up.seen[up.seen.length - 1]!.body;
    const asst = sent.messages.find((m: any) => m.role === 'assistant');
    assert.equal(asst.reasoning_content, SCENARIO.thinking, 'DeepSeek gets its reasoning_content back');
    assert.deepEqual(
      asst.tool_calls.map((t: any) => t.id),
      ['call_1', 'call_2'],
    );
    assert.deepEqual(
      sent.messages.filter((m: any) => m.role === 'tool').map((m: any) => m.tool_call_id),
      ['call_1', 'call_2'],
    );
    // the same conversation falling back to Anthropic itself: the wrapped signature never reaches it
    const viaAnthropic = await anthropic.messages.create({ ...turn2, model: 'two-turn-anth', stream: false });
    assert.equal(viaAnthropic.stop_reason, 'tool_use');
    const a = up.seen[up.seen.length - 1]!.body;
    assert.ok(!JSON.stringify(a).includes('r67v1.'));
  });
});

describe('quirks, errors and fallback across formats', () => {
  test('an HTML error page from one format falls back to a provider of another format; the log records both attempts', async () => {
    const m = await anthropic.messages.create(messagesParams('flaky'));
    assert.equal(m.stop_reason, 'tool_use');
    const e = lastEntry();
    assert.deepEqual(
      e.attempts.map((a) => [a.provider, a.status, a.formatIn, a.formatOut]),
      [
        // a 5xx is retried on the same provider first (retry_max = 2 by default), then the chain moves on
        ['oai', 502, 'anthropic', 'openai'],
        ['oai', 502, 'anthropic', 'openai'],
        ['oai', 502, 'anthropic', 'openai'],
        ['oll', 200, 'anthropic', 'ollama'],
      ],
    );
    assert.match(e.attempts[2]!.why ?? '', /^retry 2 after \d+ ms$/);
    assert.match(e.attempts[0]!.error!, /HTML error page.*502 Bad Gateway/);
  });

  test('a translated stream whose upstream fails before any content falls back; the client sees one clean stream', async () => {
    // Responses client: both the Anthropic and the OpenAI provider are translated, so each commits only on real content
    const res = await fetch(`${tc.url}/v1/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...responsesParams('early'), stream: true }),
    });
    const text = await res.text();
    assert.equal(res.status, 200);
    assert.equal((text.match(/event: response\.created/g) ?? []).length, 1, 'exactly one response.created');
    assert.ok(!text.includes('Overloaded') && !text.includes('event: error'), text);
    assert.ok(text.includes('event: response.completed'));
    const e = lastEntry();
    assert.deepEqual(
      e.attempts.map((a) => [a.provider, a.formatOut, a.error ?? '']),
      [
        ['anth', 'anthropic', 'Overloaded'],
        ['oai', 'openai', 'upstream stream ended before a finish_reason or [DONE]'],
        ['oll', 'ollama', ''],
      ],
    );
    const r = await openai.responses.stream(responsesParams('early')).finalResponse();
    assert.equal(r.output_text, SCENARIO.text);
  });

  test('translated requests carry the provider format own headers, not the client dialect ones', async () => {
    await anthropic.messages.create(messagesParams('m-openai'), { headers: { 'anthropic-beta': 'prompt-caching-2024-07-31' } });
    const h = up.seen[up.seen.length - 1]!.headers;
    assert.equal(h['anthropic-version'], undefined);
    assert.equal(h['anthropic-beta'], undefined);
    assert.equal(h['x-api-key'], 'key-oai', 'the provider credential, never the client one');
    assert.equal(h['content-type'], 'application/json');
    await openai.chat.completions.create(chatParams('m-anthropic'));
    const h2 = up.seen[up.seen.length - 1]!.headers;
    assert.equal(h2['anthropic-version'], '2023-06-01');
    assert.notEqual(h2.authorization, 'Bearer client-key');
    await anthropic.messages.create(messagesParams('m-anthropic'), { headers: { 'anthropic-beta': 'prompt-caching-2024-07-31' } });
    assert.equal(up.seen[up.seen.length - 1]!.headers['anthropic-beta'], 'prompt-caching-2024-07-31', 'kept Anthropic → Anthropic');
  });

  test('a provider whose model says it cannot take images fails that attempt; the chain moves on', async () => {
    const png = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';
    const m = await anthropic.messages.create({
      ...messagesParams('vision'),
      messages: [{ role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: png } }] }],
    });
    assert.equal(m.stop_reason, 'tool_use');
    const e = lastEntry();
    assert.deepEqual(
      e.attempts.map((a) => [a.provider, a.status]),
      [
        ['oll', 400],
        ['oll2', 200],
      ],
    );
    assert.match(e.attempts[0]!.error!, /does not support images/);
    assert.deepEqual(up.seen[up.seen.length - 1]!.body.messages[1].images, [png], 'Ollama gets the bare base64 image');
  });

  test('a 200 that carries only an error object is a failed attempt, not an empty answer', async () => {
    const m = await anthropic.messages.create(messagesParams('err200'));
    assert.equal(m.stop_reason, 'tool_use');
    const e = lastEntry();
    assert.deepEqual(
      e.attempts.map((a) => [a.provider, a.error ?? '']),
      [
        ['oai', 'upstream is busy, try again'],
        ['oll', ''],
      ],
    );
  });

  test('upstream 4xx errors become the client dialect error, so the SDKs raise their typed errors', async () => {
    const e1 = await anthropic.messages.create(messagesParams('bad')).catch((e: unknown) => e);
    assert.ok(e1 instanceof Anthropic.BadRequestError, String(e1));
    assert.match((e1 as Error).message, /context length exceeded/);
    assert.equal(((e1 as InstanceType<typeof Anthropic.APIError>).error as any).type, 'error');
    const e2 = await anthropic.messages.create(messagesParams('forbidden')).catch((e: unknown) => e);
    assert.ok(e2 instanceof Anthropic.PermissionDeniedError, String(e2));
    assert.match((e2 as Error).message, /HTML error page \(HTTP 403: Attention Required! \| Cloudflare\)/);
    const e3 = await openai.responses.create(responsesParams('bad')).catch((e: unknown) => e);
    assert.ok(e3 instanceof OpenAI.BadRequestError, String(e3));
    assert.match((e3 as Error).message, /context length exceeded/);
  });

  test('a translated stream that drops mid-way ends with the client dialect error event (the SDK raises), not a clean finish', async () => {
    // the SDKs raise their own API error from the in-stream error event, carrying router67's reason
    const e1 = await anthropic.messages.stream(messagesParams('drop')).finalMessage().catch((e: unknown) => e);
    assert.ok(e1 instanceof Anthropic.APIError, String(e1));
    assert.match((e1 as Error).message, /"type":"error".*upstream stream failed/);
    const e = lastEntry();
    assert.equal(e.state, 'error');
    const e2 = await openai.responses.stream(responsesParams('drop')).finalResponse().catch((e: unknown) => e);
    assert.ok(e2 instanceof OpenAI.APIError, String(e2));
    assert.match((e2 as Error).message, /upstream stream failed/);
  });

  test('an OpenAI client that did not ask for usage gets no usage chunk from a translated stream', async () => {
    const res = await fetch(`${tc.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...chatParams('m-anthropic'), stream: true }),
    });
    const text = await res.text();
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    assert.ok(!text.includes('"usage"'), text);
    assert.ok(text.trimEnd().endsWith('data: [DONE]'));
    assert.match(text, /^data: \{[^\n]*"delta":\{"role":"assistant"/);
  });

  test('a non-streaming upstream answer reaches a streaming client as a stream', async () => {
    const c = await openai.chat.completions.stream({ ...chatParams('text-oai'), stream_options: { include_usage: true } }).finalChatCompletion();
    assert.equal(c.choices[0]!.message.content, 'plain answer');
    const m = await anthropic.messages.stream(messagesParams('text-oai')).finalMessage();
    assert.equal((m.content[0] as Anthropic.TextBlock).text, 'plain answer');
    assert.equal(m.usage.input_tokens, 5);
  });

  test('count_tokens: proxied to an Anthropic-format provider, else a local estimate marked by a header', async () => {
    const proxied = await anthropic.messages.countTokens({ model: 'count-anth', messages: [{ role: 'user', content: 'hello' }] }).withResponse();
    assert.equal(proxied.data.input_tokens, 123);
    assert.equal(proxied.response.headers.get('x-router67-token-count'), null);
    const est = await anthropic.messages.countTokens({ model: 'count-oai', messages: [{ role: 'user', content: 'hello world '.repeat(100) }] }).withResponse();
    assert.equal(est.response.headers.get('x-router67-token-count'), 'estimate');
    assert.ok(est.data.input_tokens >= 1200 / 3, `estimate ${est.data.input_tokens}`);
    const e = lastEntry();
    assert.match(e.attempts[0]!.error!, /only an Anthropic-format provider can count tokens/);
  });

  test('GET /v1/models answers in the client dialect with the configured models', async () => {
    const a = await anthropic.models.list();
    assert.ok(a.data.some((m) => m.id === 'm-ollama'));
    assert.equal(a.data[0]!.type, 'model');
    const o = await openai.models.list();
    assert.ok(o.data.some((m) => m.id === 'two-turn'));
    const one = await openai.models.retrieve('flaky');
    assert.equal(one.id, 'flaky');
    await assert.rejects(openai.models.retrieve('nope'), OpenAI.NotFoundError);
  });

  test('a feature the target cannot express fails that attempt with a clear message', async () => {
    const e = await openai.chat.completions.create({ ...chatParams('m-anthropic'), n: 2 }).catch((x: unknown) => x);
    assert.ok(e instanceof OpenAI.APIError);
    assert.equal((e as InstanceType<typeof OpenAI.APIError>).status, 502);
    assert.match((e as Error).message, /Anthropic Messages cannot express n > 1/);
  });
});
