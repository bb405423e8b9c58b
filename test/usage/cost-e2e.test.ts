// Through a real core: every dialect's recorded usage (whole and streamed), passthrough and translated, ends in the
// log entry's token details and cost; a translated answer still reports cache and reasoning where its format can.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import type { LogEntry } from '../../main/log/request-log.js';
import { startCore, type TestCore } from '../helpers/core.js';
import { startShapeUpstream, type ShapeUpstream } from './shapes.js';

// $ per million, the same for every provider: input 2, output 8, cache read 0.5, cache write 2.5, reasoning 10
const RATES = 'input = 2\noutput = 8\ncache_read = 0.5\ncache_write = 2.5\nreasoning = 10\n';
// Anthropic-shaped usage: 100×2 + 1000×0.5 + 200×2.5 + 50×8 = 1600 per million
const ANTHROPIC_COST = 0.0016;
// OpenAI-shaped usage (Chat and Responses): 300×2 + 1000×0.5 + 30×8 + 20×10 = 1540 per million
const OPENAI_COST = 0.00154;

function providers(url: string): string {
  const block = (name: string, format: string, model: string) => `
[[providers]]
name = "${name}"
base_url = "${url}"
format = "${format}"
auth = { header = "x-api-key", api_key = "k-${name}" }
[providers.available_models]
"${model}" = "up-${model}"

[prices."${name}/up-${model}"]
${RATES}`;
  return block('ant', 'anthropic', 'a-model') + block('gz', 'openai', 'gzip-model') + block('chat', 'openai', 'c-model') + block('resp', 'responses', 'r-model') + block('noprice', 'openai', 'x-model').replace(/\[prices[^]*$/, '') +
    // answers of some 4 KB: their usage is read from the usage values alone (readWholeUsage)
    block('antlong', 'anthropic', 'long-a-model') + block('chatlong', 'openai', 'long-c-model') + block('resplong', 'responses', 'long-r-model');
}

const BODY = {
  anthropic: (model: string, stream: boolean) => ({ path: '/v1/messages', body: { model, max_tokens: 64, stream, messages: [{ role: 'user', content: 'hi' }] } }),
  openai: (model: string, stream: boolean) => ({
    path: '/v1/chat/completions',
    body: { model, stream, ...(stream ? { stream_options: { include_usage: true } } : {}), messages: [{ role: 'user', content: 'hi' }] },
  }),
  responses: (model: string, stream: boolean) => ({ path: '/v1/responses', body: { model, stream, input: 'hi' } }),
};
type Client = keyof typeof BODY;

describe('cost of every answer, through the core', () => {
  let up: ShapeUpstream;
  let t: TestCore;
  before(async () => {
    up = await startShapeUpstream();
    t = await startCore(providers(up.url));
  });
  after(async () => {
    await t.stop();
    await up.close();
  });

  /** Sends one request; resolves with the client's body text and the finished log entry. */
  async function send(client: Client, model: string, stream: boolean): Promise<{ text: string; entry: LogEntry }> {
    const finished = new Promise<LogEntry>((resolve) => {
      const on = (e: LogEntry) => {
        if (e.durationMs === undefined || e.model !== model) return;
        t.core.off('log', on);
        resolve(e);
      };
      t.core.on('log', on);
    });
    const { path, body } = BODY[client](model, stream);
    const r = await request(`${t.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' }, body: JSON.stringify(body) });
    const text = await r.body.text();
    assert.equal(r.statusCode, 200, text);
    return { text, entry: await finished };
  }

  const cases: [string, Client, string, Record<string, number>, number][] = [
    ['Anthropic passthrough', 'anthropic', 'a-model', { inputTokens: 1300, outputTokens: 50, cacheReadTokens: 1000, cacheWriteTokens: 200 }, ANTHROPIC_COST],
    ['Chat passthrough', 'openai', 'c-model', { inputTokens: 1300, outputTokens: 50, cacheReadTokens: 1000, reasoningTokens: 20 }, OPENAI_COST],
    ['Responses passthrough', 'responses', 'r-model', { inputTokens: 1300, outputTokens: 50, cacheReadTokens: 1000, reasoningTokens: 20 }, OPENAI_COST],
    ['Anthropic client → Chat upstream', 'anthropic', 'c-model', { inputTokens: 1300, outputTokens: 50, cacheReadTokens: 1000, reasoningTokens: 20 }, OPENAI_COST],
    ['Chat client → Anthropic upstream', 'openai', 'a-model', { inputTokens: 1300, outputTokens: 50, cacheReadTokens: 1000, cacheWriteTokens: 200 }, ANTHROPIC_COST],
    ['Chat client → Responses upstream', 'openai', 'r-model', { inputTokens: 1300, outputTokens: 50, cacheReadTokens: 1000, reasoningTokens: 20 }, OPENAI_COST],
    ['Anthropic passthrough, a long answer', 'anthropic', 'long-a-model', { inputTokens: 1300, outputTokens: 50, cacheReadTokens: 1000, cacheWriteTokens: 200 }, ANTHROPIC_COST],
    ['Chat passthrough, a long answer', 'openai', 'long-c-model', { inputTokens: 1300, outputTokens: 50, cacheReadTokens: 1000, reasoningTokens: 20 }, OPENAI_COST],
    ['Responses passthrough, a long answer', 'responses', 'long-r-model', { inputTokens: 1300, outputTokens: 50, cacheReadTokens: 1000, reasoningTokens: 20 }, OPENAI_COST],
    ['Responses client → Anthropic upstream', 'responses', 'a-model', { inputTokens: 1300, outputTokens: 50, cacheReadTokens: 1000, cacheWriteTokens: 200 }, ANTHROPIC_COST],
  ];
  for (const [name, client, model, tokens, cost] of cases) {
    for (const stream of [false, true]) {
      it(`${name}, ${stream ? 'streamed' : 'whole'}: tokens and cost in the entry`, async () => {
        const { entry } = await send(client, model, stream);
        const got = {
          inputTokens: entry.inputTokens,
          outputTokens: entry.outputTokens,
          cacheReadTokens: entry.cacheReadTokens,
          cacheWriteTokens: entry.cacheWriteTokens,
          reasoningTokens: entry.reasoningTokens,
        };
        assert.deepEqual(JSON.parse(JSON.stringify(got)), tokens);
        assert.equal(entry.costUsd, cost);
        assert.equal(entry.stream, stream);
      });
    }
  }

  it('a translated answer reports the cache and reasoning counts in the client’s format', async () => {
    // Chat upstream → Anthropic client: the uncached part as input_tokens, the cached part as cache_read_input_tokens
    const a = JSON.parse((await send('anthropic', 'c-model', false)).text) as { usage: Record<string, number> };
    assert.equal(a.usage.input_tokens, 300);
    assert.equal(a.usage.cache_read_input_tokens, 1000);
    assert.equal(a.usage.output_tokens, 50);
    // Anthropic upstream → Chat client: the whole prompt, the cached part in prompt_tokens_details
    const c = JSON.parse((await send('openai', 'a-model', false)).text) as { usage: { prompt_tokens: number; prompt_tokens_details: { cached_tokens: number } } };
    assert.equal(c.usage.prompt_tokens, 1300);
    assert.equal(c.usage.prompt_tokens_details.cached_tokens, 1000);
    // Responses upstream → Chat client (streamed): reasoning in completion_tokens_details
    const s = (await send('openai', 'r-model', true)).text;
    const last = s
      .split('\n')
      .filter((l) => l.startsWith('data: {') && l.includes('"usage":{'))
      .map((l) => JSON.parse(l.slice(6)) as { usage: { completion_tokens_details: { reasoning_tokens: number }; prompt_tokens_details: { cached_tokens: number } } })
      .at(-1)!;
    assert.equal(last.usage.completion_tokens_details.reasoning_tokens, 20);
    assert.equal(last.usage.prompt_tokens_details.cached_tokens, 1000);
  });

  it('a compressed passthrough stream: the usage is read from the decoded bytes', async () => {
    const { entry } = await send('openai', 'gzip-model', true);
    assert.equal(entry.inputTokens, 1300);
    assert.equal(entry.reasoningTokens, 20);
    assert.equal(entry.costUsd, OPENAI_COST);
  });

  it('a model without a price: tokens logged, no cost', async () => {
    const { entry } = await send('openai', 'x-model', false);
    assert.equal(entry.inputTokens, 1300);
    assert.equal(entry.costUsd, undefined);
  });
});
