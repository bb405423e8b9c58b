// Route evaluation: what `[[routes]]` add to planning one request, in process. 100 routes whose cheap conditions
// (model globs, path, headers, dialect) are all tested and none but the last matches, against the same config
// without routes; and, informational, 100 routes that also ask about the body (one parse, a small body).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../main/config/load.js';
import { load, startProcess, type Proc, type RunResult } from './measure.js';
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

/** c=1 added latency through a daemon with 100 routes (the last one matching) against one without routes. */
export async function routedLatency(ctx: BenchContext): Promise<void> {
  const base = `[daemon]\nlog_level = "warn"\nmax_connections = 64\n\n[[providers]]\nname = "bench"\nbase_url = "http://127.0.0.1:${ctx.upstreamPort}"\nauth = { header = "x-api-key", api_key = "bench-key" }\n[providers.available_models]\nbench = "bench-upstream"\n`;
  const many: string[] = [];
  for (let i = 0; i < 99; i++) {
    const match = i % 3 === 0 ? `{ model = "gpt-${i}-*" }` : i % 3 === 1 ? `{ headers = { "x-router67-route" = "r${i}" } }` : `{ path = "/v1/route-${i}/*" }`;
    many.push(`[[routes]]\nname = "r${i}"\nmatch = ${match}\nto = ["bench"]\n`);
  }
  many.push(`[[routes]]\nname = "last"\nmatch = { model = "bench" }\nto = ["bench"]\n`);
  const homes: string[] = [];
  const procs: Proc[] = [];
  const start = async (toml: string) => {
    const home = mkdtempSync(join(tmpdir(), 'router67-bench-routes-'));
    homes.push(home);
    writeFileSync(join(home, 'config.toml'), toml);
    const r = await startProcess([join(__dirname, '..', '..', 'main', 'cli', 'index.js'), 'daemon', '--listen', '127.0.0.1:0', '--no-intercept'], { ROUTER67_HOME: home }, /listening on http:\/\/(127\.0\.0\.1:\d+)/);
    procs.push(r.proc);
    return `http://${r.match[1]}`;
  };
  try {
    const plain = await start(base);
    const routed = await start(base + '\n' + many.join('\n'));
    const body = Buffer.from(JSON.stringify({ model: 'bench', max_tokens: 64, messages: [{ role: 'user', content: 'Say hello in one short sentence, please.' }] }));
    for (const u of [plain, routed]) await load(u, '/v1/messages', body, ctx.N(20000), 32); // warm-up to steady state (see bench.ts)
    const direct = `http://127.0.0.1:${ctx.upstreamPort}`;
    const runs: Record<'direct' | 'plain' | 'routed', RunResult[]> = { direct: [], plain: [], routed: [] };
    for (let round = 0; round < 3; round++) {
      runs.direct.push(await load(direct, '/v1/messages', body, ctx.N(1000), 1));
      runs.plain.push(await load(plain, '/v1/messages', body, ctx.N(1000), 1));
      runs.routed.push(await load(routed, '/v1/messages', body, ctx.N(1000), 1));
    }
    const best = (k: 'direct' | 'plain' | 'routed') => Math.min(...runs[k].map((r) => r.p50));
    const errors = (k: 'plain' | 'routed') => runs[k].reduce((n, r) => n + r.errors, 0);
    const added = (k: 'plain' | 'routed') => best(k) - best('direct');
    console.log('c=1 through the daemon, small body (best p50 of 3 alternating runs):');
    console.log(`  direct                   p50 ${ctx.fmt(best('direct'))} ms`);
    console.log(`  no [[routes]]            p50 ${ctx.fmt(best('plain'))} ms  added ${ctx.fmt(added('plain'))} ms  errors ${errors('plain')}`);
    console.log(`  100 routes, last matches p50 ${ctx.fmt(best('routed'))} ms  added ${ctx.fmt(added('routed'))} ms  errors ${errors('routed')}`);
    ctx.checks.push(['c=1 added latency with 100 routes vs none', added('routed') / added('plain'), 1.1, '×']);
  } finally {
    for (const p of procs) p.stop();
    for (const h of homes) rmSync(h, { recursive: true, force: true });
  }
}
