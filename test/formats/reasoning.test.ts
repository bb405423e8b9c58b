// The reasoning setting across dialects: budgets Anthropic accepts, model-default max_tokens, effort ⇄ budget.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeRequest, translateRequest } from '../../main/formats/index.js';
import { defaultMaxTokens, effortForBudget, fixAnthropicBudget, mayHaveSmallBudget } from '../../main/formats/reasoning.js';
import type { Request } from '../../main/formats/canonical.js';

const base = (r: Partial<Request>): Request => ({ model: 'm', system: [], messages: [{ role: 'user', parts: [{ type: 'text', text: 'hi' }] }], stream: false, ...r });

test('model-default max_tokens: current Claude 64000, Opus 4 / 4.1 32000, older less, unknown 4096', () => {
  assert.equal(defaultMaxTokens('claude-opus-5-5'), 64000);
  assert.equal(defaultMaxTokens('claude-sonnet-4-5-20250929'), 64000);
  assert.equal(defaultMaxTokens('claude-opus-4-1-20250805'), 32000);
  assert.equal(defaultMaxTokens('anthropic/claude-opus-4.1'), 32000);
  assert.equal(defaultMaxTokens('claude-opus-4-20250514'), 32000);
  assert.equal(defaultMaxTokens('claude-opus-4-5'), 64000);
  assert.equal(defaultMaxTokens('claude-3-5-haiku-latest'), 8192);
  assert.equal(defaultMaxTokens('claude-3-haiku-20240307'), 4096);
  assert.equal(defaultMaxTokens('kimi-k2'), 4096);
});

test('an explicit budget below 1024 is raised; a budget at or above max_tokens raises max_tokens, never budget + 1', () => {
  const a = encodeRequest('anthropic', base({ reasoning: { enabled: true, budgetTokens: 500 }, maxTokens: 512 }), 'claude-haiku-4-5');
  assert.deepEqual(a.thinking, { type: 'enabled', budget_tokens: 1024 });
  assert.equal(a.max_tokens, 1024 + 512);
  const b = encodeRequest('anthropic', base({ reasoning: { enabled: true, budgetTokens: 10000 }, maxTokens: 10000 }), 'claude-haiku-4-5');
  assert.ok((b.max_tokens as number) > 10000 + 4000);
  const c = encodeRequest('anthropic', base({ reasoning: { enabled: true, effort: 'high' } }), 'claude-sonnet-4-5');
  assert.equal(c.max_tokens, 64000);
  assert.deepEqual(c.thinking, { type: 'enabled', budget_tokens: 16384 });
  const req = base({ reasoning: { enabled: true, effort: 'max' } });
  const d = encodeRequest('anthropic', req, 'claude-opus-4-1');
  assert.equal(d.max_tokens, 32000);
  assert.ok((d.thinking as any).budget_tokens <= 32000 - 8000);
  assert.ok(req.notes?.some((n) => /thinking budget \d+, max_tokens 32000 \(model default\)/.test(n)));
});

test('thinking budget → OpenAI effort, for Chat and Responses targets, on every turn', () => {
  assert.equal(effortForBudget(500), 'low');
  assert.equal(effortForBudget(2048), 'low');
  assert.equal(effortForBudget(8000), 'medium');
  assert.equal(effortForBudget(20000), 'high');
  assert.equal(effortForBudget(undefined), 'medium');
  const body = (budget: number) => ({
    model: 'x',
    max_tokens: 30000,
    thinking: { type: 'enabled', budget_tokens: budget },
    messages: [
      { role: 'user', content: 'a' },
      { role: 'assistant', content: 'b' },
      { role: 'user', content: 'c' },
    ],
  });
  assert.equal((translateRequest('anthropic', 'openai', body(16000), 'deepseek-reasoner', { wantUsage: true }).body as any).reasoning_effort, 'high');
  assert.deepEqual((translateRequest('anthropic', 'responses', body(1500), 'gpt-5', { wantUsage: true }).body as any).reasoning, { effort: 'low' });
  const off = { ...body(2000), thinking: { type: 'disabled' } };
  assert.equal((translateRequest('anthropic', 'responses', off, 'gpt-5', { wantUsage: true }).body as any).reasoning, undefined);
});

test('same-format Anthropic: only a budget below 1024 is touched (cheap raw check first)', () => {
  assert.equal(mayHaveSmallBudget(Buffer.from('{"thinking":{"type":"enabled","budget_tokens":500}}')), true);
  assert.equal(mayHaveSmallBudget(Buffer.from('{"thinking":{"type":"enabled","budget_tokens": 2048}}')), false);
  assert.equal(mayHaveSmallBudget(Buffer.from('{"messages":[]}')), false);
  const f = fixAnthropicBudget({ max_tokens: 32000, thinking: { type: 'enabled', budget_tokens: 500 } })!;
  assert.deepEqual(f.body, { max_tokens: 32000, thinking: { type: 'enabled', budget_tokens: 1024 } });
  assert.equal(fixAnthropicBudget({ max_tokens: 32000, thinking: { type: 'enabled', budget_tokens: 4000 } }), undefined);
});
