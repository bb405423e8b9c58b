// Route evaluation: what `[[routes]]` add to planning one request, in process. 100 routes whose cheap conditions
// (model globs, path, headers, dialect) are all tested and none but the last matches, against the same config
// without routes; and, informational, 100 routes that also ask about the body (one parse, a small body).
import { parseConfig } from '../../main/config/load.js';
import { planRoute, type RouteRequest } from '../../main/routing/plan.js';
import { TargetStats } from '../../main/routing/stats.js';
import type { BenchContext } from './sections.js';

const PROVIDERS = ['a', 'b', 'c', 'd']
  .map((n) => `[[providers]]\nname = "${n}"\nbase_url = "https://${n}.example"\n[providers.available_models]\n"claude-sonnet-4-5" = "${n}-sonnet"\n`)
  .join('\n');

function routes(n: number, body: boolean): string {
  const out: string[] = [];
  for (let i = 0; i < n - 1; i++) {
    const kind = i % 4;
    const match =
      kind === 0
        ? `{ model = "gpt-${i}-*" }`
        : kind === 1
          ? `{ model = ["o${i}-*", "claude-${i}-haiku-*"], dialect = "openai" }`
          : kind === 2
            ? `{ headers = { "x-router67-route" = "r${i}" } }`
            : body
              ? `{ model = "claude-*", min_input_tokens = ${100_000 + i}, has_images = true }`
              : `{ path = "/v1/route-${i}/*", host = "h${i}.example" }`;
    out.push(`[[routes]]\nname = "r${i}"\nmatch = ${match}\nto = ["${'abcd'[i % 4]}", "a"]\nstrategy = "${['fallback', 'round-robin', 'least-busy', 'weighted'][i % 4]}"\n`);
  }
  out.push(`[[routes]]\nname = "last"\nmatch = { model = "claude-*" }\nto = ["a", "b", { provider = "c", model = "forced" }]\nstrategy = "least-latency"\n`);
  return out.join('\n');
}

function perRequestUs(cfg: ReturnType<typeof parseConfig>, req: RouteRequest, n: number): number {
  const stats = new TargetStats();
  const deps = { stats };
  for (let i = 0; i < 20_000; i++) planRoute(cfg, req, deps); // warm up (JIT, compiled routes)
  let best = Infinity;
  for (let round = 0; round < 5; round++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) planRoute(cfg, req, deps);
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1000 / n);
  }
  return best;
}

export async function routeEvaluation(ctx: BenchContext): Promise<void> {
  const body = Buffer.from(JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'Say hello in one short sentence, please.' }] }));
  const req: RouteRequest = {
    model: 'claude-sonnet-4-5',
    dialect: 'anthropic',
    path: '/v1/messages',
    headers: { 'content-type': 'application/json', 'x-api-key': 'k', 'anthropic-version': '2023-06-01', 'user-agent': 'claude-cli/2.0' },
    body,
  };
  const n = ctx.N(100_000);
  const none = parseConfig(PROVIDERS, 'bench.toml');
  const cheap = parseConfig(PROVIDERS + routes(100, false), 'bench.toml');
  const withBody = parseConfig(PROVIDERS + routes(100, true), 'bench.toml');
  const base = perRequestUs(none, req, n);
  const r100 = perRequestUs(cheap, req, n);
  const b100 = perRequestUs(withBody, req, n);
  console.log('\n== route evaluation (planRoute, in process, best of 5 × %d) ==', n);
  console.log(`no [[routes]]:                                  ${ctx.fmt(base, 2)} µs per request`);
  console.log(`100 routes, last matches (model/path/headers):  ${ctx.fmt(r100, 2)} µs  (+${ctx.fmt(r100 - base, 2)} µs)`);
  console.log(`100 routes incl. body facts (one parse):        ${ctx.fmt(b100, 2)} µs  (+${ctx.fmt(b100 - base, 2)} µs, informational)`);
  ctx.checks.push(['route evaluation, 100 routes: µs added per request', r100 - base, 5, 'µs']);
}
