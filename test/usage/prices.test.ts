// Usage reading for every dialect's recorded shapes, the price table (bundled data, overrides, unknown models)
// and the cost formula, against hand-computed figures.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { calcPrice } from '@pydantic/genai-prices';
import { ConfigError, parseConfig } from '../../main/config/load.js';
import type { Config } from '../../main/config/schema.js';
import { readUsage, StreamUsage, type Usage } from '../../main/proxy/usage.js';
import { costOf } from '../../main/usage/cost.js';
import { blendedPerMillion, priceFor, priceSourceLabel, type Price } from '../../main/usage/prices.js';
import { anthropicStream, anthropicWhole, chatStream, chatWhole, responsesStream, responsesWhole } from './shapes.js';

const streamed = (text: string): Usage => {
  const u = new StreamUsage();
  // in uneven pieces, as a network delivers them
  const b = Buffer.from(text);
  for (let i = 0; i < b.length; i += 37) u.push(b.subarray(i, i + 37));
  const { inputTokens, outputTokens, cacheReadTokens, cacheWriteTokens, reasoningTokens } = u;
  return JSON.parse(JSON.stringify({ inputTokens, outputTokens, cacheReadTokens, cacheWriteTokens, reasoningTokens })) as Usage;
};
const whole = (o: unknown): Usage => {
  const u: Usage = {};
  readUsage(o, u);
  return u;
};

const ANTHROPIC: Usage = { inputTokens: 1300, outputTokens: 50, cacheReadTokens: 1000, cacheWriteTokens: 200 };
const OPENAI: Usage = { inputTokens: 1300, outputTokens: 50, cacheReadTokens: 1000, reasoningTokens: 20 };

// $ per million: every rate different, so a token priced at the wrong rate shows
const PRICE: Price = { input: 2, output: 8, cacheRead: 0.5, cacheWrite: 2.5, reasoning: 10, source: 'test' };

function config(toml: string): Config {
  return parseConfig(toml, '/tmp/config.toml');
}

describe('token details from every dialect', () => {
  it('Anthropic: input is the whole prompt, cache read/write its parts (whole and streamed)', () => {
    assert.deepEqual(whole(anthropicWhole('m')), ANTHROPIC);
    assert.deepEqual(streamed(anthropicStream('m')), ANTHROPIC);
  });
  it('OpenAI Chat: cached_tokens and reasoning_tokens (whole and streamed)', () => {
    assert.deepEqual(whole(chatWhole('m')), OPENAI);
    assert.deepEqual(streamed(chatStream('m')), OPENAI);
  });
  it('Responses: input_tokens_details and output_tokens_details (whole and streamed)', () => {
    assert.deepEqual(whole(responsesWhole('m')), OPENAI);
    assert.deepEqual(streamed(responsesStream('m')), OPENAI);
  });
  it('DeepSeek cache hits and a host reporting cache writes', () => {
    assert.deepEqual(whole({ usage: { prompt_tokens: 90, completion_tokens: 5, prompt_cache_hit_tokens: 64, prompt_cache_miss_tokens: 26 } }), {
      inputTokens: 90,
      outputTokens: 5,
      cacheReadTokens: 64,
    });
    assert.deepEqual(whole({ usage: { prompt_tokens: 90, completion_tokens: 5, prompt_tokens_details: { cached_tokens: 10, cache_write_tokens: 30 } } }), {
      inputTokens: 90,
      outputTokens: 5,
      cacheReadTokens: 10,
      cacheWriteTokens: 30,
    });
  });
});

describe('cost', () => {
  it('prices each token once, at its own rate (hand-computed)', () => {
    // Anthropic: 100 × $2 + 1000 × $0.5 + 200 × $2.5 + 50 × $8 = $1600 per million → $0.0016
    assert.equal(costOf(PRICE, ANTHROPIC), 0.0016);
    // OpenAI: (1300 − 1000) × $2 + 1000 × $0.5 + (50 − 20) × $8 + 20 × $10 = $1540 per million → $0.00154
    assert.equal(costOf(PRICE, OPENAI), 0.00154);
  });
  it('without cache or reasoning rates those tokens cost the input / output rate (no double counting)', () => {
    const plain: Price = { input: 2, output: 8, source: 'test' };
    // 1300 × $2 + 50 × $8 = $3000 per million
    assert.equal(costOf(plain, ANTHROPIC), 0.003);
    assert.equal(costOf(plain, OPENAI), 0.003);
  });
  it('no token counts: no cost', () => {
    assert.equal(costOf(PRICE, {}), undefined);
  });
  it('tiered rates step up with the prompt size', () => {
    const tiered: Price = { input: { base: 3, tiers: [{ start: 200_000, price: 6 }] }, output: 15, source: 'test' };
    assert.equal(costOf(tiered, { inputTokens: 1000, outputTokens: 0 }), 0.003);
    assert.equal(costOf(tiered, { inputTokens: 300_000, outputTokens: 0 }), 1.8);
  });
});

describe('the price table', () => {
  const cfg = config(`
[[providers]]
name = "anthropic"
base_url = "https://api.anthropic.com"
[[providers]]
name = "work-openai"
base_url = "https://api.openai.com/v1"
[[providers]]
name = "or"
base_url = "https://openrouter.ai/api/v1"
[[providers]]
name = "ollama"
base_url = "http://127.0.0.1:11434"
format = "ollama"
[[providers]]
name = "gateway"
base_url = "https://llm.example.com/v1"

[prices."work-openai/gpt-4o"]
input = 1.0
[prices."ollama/*"]
input = 0
output = 0
[prices."gateway/house-model"]
input = 0.2
output = 0.4
cache_read = 0.05
`);

  it('names its source: the bundled package and release', () => {
    assert.match(priceSourceLabel(), /^@pydantic\/genai-prices \d+\.\d+\.\d+ \(\d{4}-\d{2}-\d{2}\)$/);
  });

  it('finds a provider by its base_url and a dated model name; the figures match the package’s own calcPrice', () => {
    const p = priceFor(cfg, 'anthropic', 'claude-sonnet-4-5-20250929');
    assert.ok(p, 'claude-sonnet-4-5 has a list price');
    assert.equal(p.source, 'anthropic/claude-sonnet-4-5');
    const tokens = { inputTokens: 1300, outputTokens: 50, cacheReadTokens: 1000, cacheWriteTokens: 200 };
    const ours = costOf(p, tokens)!;
    const theirs = calcPrice({ input_tokens: 1300, cache_read_tokens: 1000, cache_write_tokens: 200, output_tokens: 50 }, 'claude-sonnet-4-5-20250929', {
      providerId: 'anthropic',
    })!.total_price;
    assert.ok(Math.abs(ours - theirs) < 1e-9, `${ours} vs ${theirs}`);
    // by hand at $3 / $15 / $0.30 read / $3.75 write: 100×3 + 1000×0.3 + 200×3.75 + 50×15 = 2100 per million
    assert.equal(ours, 0.0021);
  });

  it('an override wins over the table, field by field', () => {
    const p = priceFor(cfg, 'work-openai', 'gpt-4o')!;
    assert.equal(p.input, 1.0); // config
    assert.equal(p.output, 10); // table
    assert.match(p.source, /^config over openai\/gpt-4o/);
  });

  it('an override of input and output keeps the table’s cache rates', () => {
    const c = config(`
[[providers]]
name = "anthropic"
base_url = "https://api.anthropic.com"
[prices."anthropic/claude-sonnet-4-5"]
input = 1
output = 5
`);
    const p = priceFor(c, 'anthropic', 'claude-sonnet-4-5')!;
    assert.equal(p.input, 1);
    assert.equal(p.output, 5);
    assert.deepEqual(p.cacheRead, { base: 0.3, tiers: [{ start: 200_000, price: 0.6 }] });
  });

  it('OpenRouter models by their OpenRouter names', () => {
    const p = priceFor(cfg, 'or', 'anthropic/claude-sonnet-4.5');
    assert.ok(p);
    assert.equal(p.source.split('/')[0], 'openrouter');
  });

  it('an unknown model has no price; a local server none unless config.toml gives one', () => {
    assert.equal(priceFor(cfg, 'anthropic', 'claude-does-not-exist-9'), undefined);
    assert.equal(priceFor(cfg, 'gateway', 'mystery-model'), undefined);
    const local = priceFor(cfg, 'ollama', 'llama3.2')!;
    assert.equal(local.source, 'config');
    assert.equal(costOf(local, { inputTokens: 100, outputTokens: 100 }), 0);
    const noConfig = config(`
[[providers]]
name = "ollama"
base_url = "http://127.0.0.1:11434"
`);
    assert.equal(priceFor(noConfig, 'ollama', 'llama3.2'), undefined);
  });

  it('an addition in config.toml prices a model the table does not know', () => {
    const p = priceFor(cfg, 'gateway', 'house-model')!;
    assert.deepEqual({ ...p }, { input: 0.2, output: 0.4, cacheRead: 0.05, source: 'config' });
  });

  it('a blended figure per million for the cheapest strategy (3 in : 1 out), undefined when unknown', () => {
    assert.equal(blendedPerMillion(cfg, 'gateway', 'house-model'), (3 * 0.2 + 0.4) / 4);
    assert.equal(blendedPerMillion(cfg, 'gateway', 'mystery-model'), undefined);
  });

  it('config.toml: a bad price is an error naming file, line and key', () => {
    const text = `
[[providers]]
name = "p"
base_url = "https://llm.example.com"

[prices."p/m"]
input = -1
`;
    assert.throws(
      () => parseConfig(text, '/tmp/config.toml'),
      (e: unknown) => e instanceof ConfigError && e.issues.some((i) => i.line === 7 && /prices/.test(i.path) && /negative/.test(i.message)),
    );
    assert.throws(
      () => parseConfig(`[prices."nobody/m"]\ninput = 1\n`, '/tmp/config.toml'),
      (e: unknown) => e instanceof ConfigError && e.issues.some((i) => i.line === 1 && /no provider named "nobody"/.test(i.message)),
    );
    assert.throws(
      () => parseConfig(`[prices."p/m"]\ninputs = 1\n`, '/tmp/config.toml'),
      (e: unknown) => e instanceof ConfigError && e.issues.some((i) => /inputs/.test(i.message + i.path)),
    );
  });
});
