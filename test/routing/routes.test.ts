// Routing rules: matching, chains, validation (file/line/key) and every strategy, with an injected clock and
// seeded randomness.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, parseConfig } from '../../main/config/load.js';
import type { Config } from '../../main/config/schema.js';
import { compileGlob } from '../../main/routing/match.js';
import { planRoute, type RouteRequest } from '../../main/routing/plan.js';
import { TargetStats } from '../../main/routing/stats.js';
import { seededRandom as seeded } from '../../main/health/retry.js';

const PROVIDERS = `
[[providers]]
name = "anthropic"
base_url = "https://api.anthropic.com"
[providers.available_models]
"claude-sonnet-4-5" = "claude-sonnet-4-5-20250929"
"claude-3-5-haiku-latest" = "claude-3-5-haiku-20241022"

[[providers]]
name = "cheap"
base_url = "https://cheap.example"
format = "openai"
[providers.available_models]
"claude-3-5-haiku-latest" = "cheap-small"

[[providers]]
name = "deepseek"
base_url = "https://api.deepseek.com"
format = "openai"

[[providers]]
name = "vision"
base_url = "https://vision.example"
format = "openai"
`;

function cfg(routes: string): Config {
  return parseConfig(PROVIDERS + routes, 'config.toml');
}

function req(body: Record<string, unknown>, over: Partial<RouteRequest> = {}): RouteRequest {
  return {
    model: String(body.model),
    dialect: 'anthropic',
    path: '/v1/messages',
    headers: {},
    body: Buffer.from(JSON.stringify(body)),
    ...over,
  };
}

const names = (p: { targets: { provider: { name: string }; model: string }[] }) => p.targets.map((t) => `${t.provider.name}/${t.model}`);

describe('route matching', () => {
  it('globs: *, ?, exact, case', () => {
    assert.equal(compileGlob('claude-*-haiku-*')('claude-3-5-haiku-latest'), true);
    assert.equal(compileGlob('claude-*-haiku-*')('claude-sonnet-4-5'), false);
    assert.equal(compileGlob('gpt-4?')('gpt-4o'), true);
    assert.equal(compileGlob('a.b')('axb'), false);
    assert.equal(compileGlob('API.x.com', true)('api.X.com'), true);
  });

  it('no routes: exactly today (available_models, file order, no route recorded)', () => {
    const c = cfg('');
    const p = planRoute(c, req({ model: 'claude-3-5-haiku-latest' }));
    assert.deepEqual(names(p), ['anthropic/claude-3-5-haiku-20241022', 'cheap/cheap-small']);
    assert.equal(p.route, undefined);
    assert.equal(p.targets[0]!.why, undefined);
  });

  it('the first matching route decides; a request no route matches routes as today', () => {
    const c = cfg(`
[[routes]]
name = "background"
match = { model = "claude-*-haiku-*" }
to = ["cheap", { provider = "deepseek", model = "deepseek-chat" }]

[[routes]]
name = "any-haiku"
match = { model = ["claude-3-5-haiku-latest"] }
to = ["anthropic"]
`);
    const p = planRoute(c, req({ model: 'claude-3-5-haiku-latest' }));
    assert.equal(p.route, 'background');
    assert.equal(p.strategy, 'fallback');
    assert.deepEqual(names(p), ['cheap/cheap-small', 'deepseek/deepseek-chat']);
    assert.deepEqual(p.targets.map((t) => t.why), ['rule', 'rule']);
    const q = planRoute(c, req({ model: 'claude-sonnet-4-5' }));
    assert.equal(q.route, undefined);
    assert.deepEqual(names(q), ['anthropic/claude-sonnet-4-5-20250929']);
  });

  it('a provider target without a mapping sends the requested name; chains expand by name, duplicates dropped', () => {
    const c = cfg(`
[[routes]]
name = "background"
match = { model = "claude-*-haiku-*" }
to = ["cheap", { provider = "deepseek", model = "deepseek-chat" }]

[[routes]]
name = "long"
match = { min_input_tokens = 1000 }
to = [{ chain = "background" }, "anthropic", "cheap", "vision"]
`);
    const p = planRoute(c, req({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'x'.repeat(6000) }] }));
    assert.equal(p.route, 'long');
    assert.deepEqual(names(p), ['cheap/claude-sonnet-4-5', 'deepseek/deepseek-chat', 'anthropic/claude-sonnet-4-5-20250929', 'vision/claude-sonnet-4-5']);
    assert.equal(p.targets[0]!.why, 'rule (chain "background")');
    const short = planRoute(c, req({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'hi' }] }));
    assert.equal(short.route, undefined);
  });

  it('body facts: images, tools, tool results, thinking, stream, token bounds (each dialect)', () => {
    const c = cfg(`
[[routes]]
name = "images"
match = { has_images = true }
to = ["vision"]
[[routes]]
name = "thinking"
match = { thinking = true }
to = ["deepseek"]
[[routes]]
name = "tools-stream"
match = { has_tools = true, stream = true }
to = ["cheap"]
[[routes]]
name = "results"
match = { has_tool_results = true }
to = ["anthropic"]
[[routes]]
name = "search"
match = { tool = "web_search*" }
to = ["anthropic"]
[[routes]]
name = "small"
match = { max_input_tokens = 50 }
to = ["cheap"]
`);
    const img = { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } };
    assert.equal(planRoute(c, req({ model: 'm', messages: [{ role: 'user', content: [img, { type: 'text', text: 'what?' }] }] })).route, 'images');
    assert.equal(
      planRoute(c, req({ model: 'm', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,AA==' } }] }] }, { dialect: 'openai', path: '/v1/chat/completions' })).route,
      'images',
    );
    assert.equal(planRoute(c, req({ model: 'm', input: [{ role: 'user', content: [{ type: 'input_image', image_url: 'https://x/y.png' }] }] }, { dialect: 'responses' })).route, 'images');
    assert.equal(planRoute(c, req({ model: 'm', thinking: { type: 'enabled', budget_tokens: 2048 }, messages: [] })).route, 'thinking');
    assert.equal(planRoute(c, req({ model: 'm', reasoning_effort: 'high', messages: [] }, { dialect: 'openai' })).route, 'thinking');
    assert.equal(planRoute(c, req({ model: 'm', reasoning: { effort: 'low' }, input: 'hi' }, { dialect: 'responses' })).route, 'thinking');
    assert.notEqual(planRoute(c, req({ model: 'm', thinking: { type: 'disabled' }, messages: [] })).route, 'thinking');
    const tool = { name: 'f', description: 'd', input_schema: { type: 'object' } };
    assert.equal(planRoute(c, req({ model: 'm', stream: true, tools: [tool], messages: [{ role: 'user', content: 'x'.repeat(3000) }] })).route, 'tools-stream');
    assert.equal(planRoute(c, req({ model: 'm', stream: false, tools: [tool], messages: [{ role: 'user', content: 'x'.repeat(3000) }] })).route, undefined);
    assert.equal(
      planRoute(c, req({ model: 'm', messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: 'x'.repeat(3000) }] }] })).route,
      'results',
    );
    assert.equal(planRoute(c, req({ model: 'm', messages: [{ role: 'user', content: 'hi' }] })).route, 'small');
    const search = { type: 'web_search_20250305', name: 'web_search', max_uses: 5 };
    assert.equal(planRoute(c, req({ model: 'm', tools: [search], messages: [{ role: 'user', content: 'x'.repeat(3000) }] })).route, 'search');
  });

  it('dialect, path, headers, host and app; every key must hold', () => {
    const c = cfg(`
[[routes]]
name = "tagged"
match = { headers = { "X-Router67-Route" = "cheap*" } }
to = ["cheap"]
[[routes]]
name = "codex"
match = { app = "codex*", host = "api.openai.com" }
to = ["deepseek"]
[[routes]]
name = "chat"
match = { dialect = ["openai"], path = "/v1/chat/*" }
to = ["vision"]
`);
    assert.equal(planRoute(c, req({ model: 'm' }, { headers: { 'x-router67-route': 'cheap-please' } })).route, 'tagged');
    assert.equal(planRoute(c, req({ model: 'm' }, { headers: { 'x-router67-route': 'other' } })).route, undefined);
    assert.equal(planRoute(c, req({ model: 'm' }, { app: 'Codex CLI', host: 'api.openai.com' })).route, 'codex');
    assert.equal(planRoute(c, req({ model: 'm' }, { app: 'codex' })).route, undefined, 'host missing');
    assert.equal(planRoute(c, req({ model: 'm' }, { dialect: 'openai', path: '/v1/chat/completions?x=1' })).route, 'chat');
    assert.equal(planRoute(c, req({ model: 'm' }, { dialect: 'anthropic', path: '/v1/chat/completions' })).route, undefined);
  });

  it('the body is parsed only when a route needs it', () => {
    const c = cfg(`
[[routes]]
match = { model = "a-*" }
to = ["cheap"]
[[routes]]
match = { model = "b-*", min_input_tokens = 10 }
to = ["cheap"]
`);
    const bad = { model: 'a-1', dialect: 'anthropic' as const, path: '/v1/messages', headers: {}, body: Buffer.from('{"model":"a-1", oops') };
    assert.equal(planRoute(c, bad).route, '#1');
    const origParse = JSON.parse;
    let parses = 0;
    JSON.parse = ((...a: Parameters<typeof JSON.parse>) => (parses++, origParse(...a))) as typeof JSON.parse;
    try {
      planRoute(c, req({ model: 'z' }));
      assert.equal(parses, 0, 'no route needed the body');
      planRoute(c, req({ model: 'b-1', messages: [{ role: 'user', content: 'hello there, a longer text' }] }));
      assert.equal(parses, 1, 'parsed once');
    } finally {
      JSON.parse = origParse;
    }
  });
});

describe('route validation (file, line, key)', () => {
  const issues = (routes: string) => {
    try {
      cfg(routes);
      return [];
    } catch (e) {
      assert.ok(e instanceof ConfigError, String(e));
      return e.issues.map((i) => `${i.line}:${i.path}: ${i.message}`);
    }
  };
  const base = PROVIDERS.split('\n').length;

  it('unknown provider, unknown chain, empty chain, unknown match key, bad strategy', () => {
    let got = issues(`
[[routes]]
name = "a"
to = ["nope"]
match = { model = "x" }

[[routes]]
name = "b"
match = { model = "y" }
to = [{ chain = "missing" }]

`);
    assert.ok(got.some((g) => g.startsWith(`${base + 3}:routes[0].to[0]: no provider is named "nope"`)), got.join('\n'));
    assert.ok(got.some((g) => g.includes('routes[1].to[0].chain: no route is named "missing"')), got.join('\n'));
    // shape errors come first (the cross-checks run on a well-formed file)
    got = issues(`
[[routes]]
name = "c"
match = { model = "z" }
to = []

[[routes]]
match = { modle = "z" }
to = ["cheap"]
strategy = "fastest"
`);
    assert.ok(got.some((g) => g.includes('routes[0].to: a route needs at least one target')), got.join('\n'));
    assert.ok(got.some((g) => g.includes('routes[1].match') && /modle/.test(g)), got.join('\n'));
    assert.ok(got.some((g) => g.includes('routes[1].strategy')), got.join('\n'));
  });

  it('a route after a catch-all is unreachable; cycles between chains', () => {
    const got = issues(`
[[routes]]
name = "all"
to = ["cheap"]

[[routes]]
name = "later"
match = { model = "x" }
to = ["anthropic"]

[[routes]]
name = "p"
match = { model = "p" }
to = [{ chain = "q" }]

[[routes]]
name = "q"
match = { model = "q" }
to = [{ chain = "p" }]
`);
    assert.ok(got.some((g) => g.includes('routes[1].match: this route is never reached: "all"')), got.join('\n'));
    assert.ok(got.some((g) => g.includes('cycle: "p" → "q" → "p"')), got.join('\n'));
  });
});

describe('strategies', () => {
  const spread = (strategy: string, weights = '') =>
    cfg(`
[[routes]]
name = "spread"
match = { model = "m" }
to = [{ provider = "anthropic"${weights ? ', weight = 3' : ''} }, { provider = "cheap"${weights ? ', weight = 1' : ''} }, "deepseek"]
strategy = "${strategy}"
`);

  it('round-robin: even distribution over 10,000 picks, the rest of the chain behind', () => {
    const c = spread('round-robin');
    const firsts = new Map<string, number>();
    for (let i = 0; i < 10_000; i++) {
      const p = planRoute(c, req({ model: 'm' }));
      assert.equal(p.targets.length, 3);
      firsts.set(p.targets[0]!.provider.name, (firsts.get(p.targets[0]!.provider.name) ?? 0) + 1);
    }
    for (const n of ['anthropic', 'cheap', 'deepseek']) assert.ok(Math.abs(firsts.get(n)! - 10_000 / 3) <= 2, `${n}: ${firsts.get(n)}`);
  });

  it('weighted: first pick in proportion to weight (3:1:1) within 2% over 10,000 seeded picks', () => {
    const c = spread('weighted', 'w');
    const random = seeded(42);
    const firsts = new Map<string, number>();
    for (let i = 0; i < 10_000; i++) {
      const p = planRoute(c, req({ model: 'm' }), { random });
      assert.equal(new Set(p.targets.map((t) => t.provider.name)).size, 3, 'every target, once');
      firsts.set(p.targets[0]!.provider.name, (firsts.get(p.targets[0]!.provider.name) ?? 0) + 1);
    }
    const share = (n: string) => firsts.get(n)! / 10_000;
    assert.ok(Math.abs(share('anthropic') - 0.6) < 0.02, `anthropic ${share('anthropic')}`);
    assert.ok(Math.abs(share('cheap') - 0.2) < 0.02, `cheap ${share('cheap')}`);
    assert.ok(Math.abs(share('deepseek') - 0.2) < 0.02, `deepseek ${share('deepseek')}`);
    const p = planRoute(c, req({ model: 'm' }), { random: () => 0 });
    assert.equal(p.targets[0]!.why, 'weight 3 of 5');
  });

  it('least-busy: fewest in flight first, ties in file order', () => {
    const c = spread('least-busy');
    const stats = new TargetStats();
    stats.begin('anthropic/m');
    stats.begin('anthropic/m');
    stats.begin('cheap/m');
    const p = planRoute(c, req({ model: 'm' }), { stats });
    assert.deepEqual(names(p), ['deepseek/m', 'cheap/m', 'anthropic/m']);
    assert.deepEqual(p.targets.map((t) => t.why), ['busy 0', 'busy 1', 'busy 2']);
  });

  it('least-latency: moves to a faster provider, and comes back after recovery (exploration)', () => {
    const c = cfg(`
[[routes]]
name = "fast"
match = { model = "m" }
to = ["anthropic", "cheap"]
strategy = "least-latency"
`);
    let now = 1_000_000;
    const stats = new TargetStats(() => now);
    const random = seeded(7);
    const truth: Record<string, number> = { anthropic: 100, cheap: 300 };
    const run = (n: number) => {
      const firsts: Record<string, number> = { anthropic: 0, cheap: 0 };
      for (let i = 0; i < n; i++) {
        now += 1000;
        const p = planRoute(c, req({ model: 'm' }), { stats, random, now: () => now });
        const first = p.targets[0]!;
        firsts[first.provider.name]!++;
        stats.ttfb(`${first.provider.name}/m`, truth[first.provider.name]!); // the first target answers
      }
      return firsts;
    };
    stats.ttfb('anthropic/m', 100);
    stats.ttfb('cheap/m', 300);
    const a = run(200);
    assert.ok(a.anthropic! > 160, `fast anthropic first: ${JSON.stringify(a)}`);
    truth.anthropic = 2000; // anthropic slows down
    run(20);
    const b = run(200);
    assert.ok(b.cheap! > 160, `moved to cheap: ${JSON.stringify(b)}`);
    truth.anthropic = 50; // recovers: only exploration can notice
    run(100);
    const d = run(200);
    assert.ok(d.anthropic! > 160, `came back to anthropic: ${JSON.stringify(d)}`);
    const p = planRoute(c, req({ model: 'm' }), { stats, random: () => 0.99, now: () => now });
    assert.match(p.targets[0]!.why!, /^latency \d+ ms$/);
  });

  it('cheapest: by the injected price, unknown last; without prices, file order and says why', () => {
    const c = spread('cheapest');
    const prices = (prov: string) => ({ anthropic: 9, cheap: 0.5 })[prov as 'anthropic' | 'cheap'];
    const p = planRoute(c, req({ model: 'm' }), { prices });
    assert.deepEqual(names(p), ['cheap/m', 'anthropic/m', 'deepseek/m']);
    assert.deepEqual(p.targets.map((t) => t.why), ['price $0.50/M', 'price $9.00/M', 'price unknown']);
    const q = planRoute(c, req({ model: 'm' }));
    assert.deepEqual(names(q), ['anthropic/m', 'cheap/m', 'deepseek/m']);
    assert.equal(q.targets[0]!.why, 'cheapest: no price table, in order');
  });
});

describe('a route\'s hedge setting', () => {
  it('is carried on each of its targets (the walker reads it before the provider\'s own)', () => {
    const c = cfg(`
[[routes]]
name = "hedged"
match = { model = "claude-3-5-haiku-latest" }
to = ["cheap", "anthropic"]
hedge = "p95"

[[routes]]
name = "plain"
match = { model = "claude-sonnet-4-5" }
to = ["anthropic"]
`);
    const hedged = planRoute(c, req({ model: 'claude-3-5-haiku-latest', messages: [] }));
    assert.deepEqual(hedged.targets.map((t) => [t.provider.name, t.hedge]), [['cheap', 'p95'], ['anthropic', 'p95']]);
    const plain = planRoute(c, req({ model: 'claude-sonnet-4-5', messages: [] }));
    assert.deepEqual(plain.targets.map((t) => t.hedge), [undefined]);
    assert.throws(() => cfg('\n[[routes]]\nto = ["cheap"]\nhedge = "sometimes"\n'), ConfigError);
  });
});
