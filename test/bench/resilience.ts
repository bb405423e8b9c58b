// Bench section: CPU per request with circuit breakers, limits (max_in_flight, rpm, tpm) and rate-limit foresight
// on, against the bare node:http proxy measured in the same run (and the router without limits, for the cost of
// the limits alone). Its own router and bare proxy processes; bounded in count and time.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { interleaved, load, median, medianRatio, startProcess, type Proc } from './measure.js';
import type { BenchContext } from './sections.js';
import { Health } from '../../main/health/health.js';
import { parseConfig } from '../../main/config/load.js';

/** The walker's health bookkeeping alone, per request (admit, observe the headers, settle, release), in µs of CPU. */
function bookkeepingMicros(n: number): number {
  const cfg = parseConfig('[[providers]]\nname = "a"\nbase_url = "http://127.0.0.1:1"\nmax_in_flight = 48\nrpm = 10000000\ntpm = 1000000000\n[providers.available_models]\nm = "x"\n', 'bench.toml');
  const h = new Health();
  const target = { provider: cfg.providers[0]!, model: 'x' };
  const headers = { 'content-type': 'application/json', 'content-length': '300', 'x-ratelimit-remaining-requests': '4999', 'x-ratelimit-reset-requests': '12ms' };
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const g = h.gate(cfg, 200);
    const k = h.tryAdmit(cfg, target, g.tokens);
    if ('skip' in k) throw new Error(k.skip);
    h.observe(k, headers);
    h.settle(k, { kind: 'ok' });
    h.release(k, 18);
  }
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / n;
}

const small = Buffer.from(JSON.stringify({ model: 'bench', max_tokens: 64, messages: [{ role: 'user', content: 'Say hello in one short sentence, please.' }] }));

export async function resilienceOverhead(ctx: BenchContext): Promise<void> {
  const procs: Proc[] = [];
  const home = mkdtempSync(join(tmpdir(), 'router67-bench-res-'));
  try {
    const bare = await startProcess([join(__dirname, 'bare-proxy.js')], { BENCH_UPSTREAM_PORT: String(ctx.upstreamPort) }, /LISTEN (\d+)/);
    procs.push(bare.proc);
    writeFileSync(
      join(home, 'config.toml'),
      `[daemon]\nlog_level = "warn"\nmax_connections = 64\nbreaker_failures = 5\nbreaker_failure_ratio = 0.5\n\n[[providers]]\nname = "bench"\nbase_url = "http://127.0.0.1:${ctx.upstreamPort}"\n` +
        `auth = { header = "x-api-key", api_key = "bench-key" }\nmax_in_flight = 48\nrpm = 10000000\ntpm = 1000000000\n[providers.available_models]\nbench = "bench-upstream"\n`,
    );
    const router = await startProcess(
      [join(__dirname, '..', '..', 'main', 'cli', 'index.js'), 'daemon', '--listen', '127.0.0.1:0', '--no-intercept'],
      { ROUTER67_HOME: home },
      /listening on http:\/\/(127\.0\.0\.1:\d+)/,
    );
    procs.push(router.proc);
    const targets = [
      { name: 'bare proxy', url: `http://127.0.0.1:${bare.match[1]}`, pid: bare.proc.pid },
      { name: 'router67, no limits', url: ctx.routerUrl, pid: ctx.routerPid },
      { name: 'router67, breakers+limits', url: `http://${router.match[1]}`, pid: router.proc.pid },
    ];
    const n = ctx.N(10_000);
    for (const t of targets) await load(t.url, '/v1/messages', small, ctx.N(20000), 32); // warm-up to steady state (see bench.ts)
    // five interleaved rounds so drift hits every target alike; the ratio is the median of the rounds' ratios
    const ROUNDS = 5;
    const m = await interleaved(targets, ROUNDS, (t) => load(t.url, '/v1/messages', small, Math.ceil(n / ROUNDS), 32));
    const per = (name: string) => median(m.cpu[targets.findIndex((t) => t.name === name)]!);
    const errors = (name: string) => m.runs[targets.findIndex((t) => t.name === name)]!.reduce((a, r) => a + r.errors, 0);
    const micros = bookkeepingMicros(ctx.N(500_000));
    console.log(`resilience: breakers, limits (max_in_flight 48, rpm, tpm) and foresight on, 32 connections (${n} requests each, ${ROUNDS} interleaved rounds)`);
    for (const t of targets) console.log(`  ${t.name.padEnd(26)} cpu/req ${ctx.fmt(per(t.name))} ms  errors ${errors(t.name)}`);
    console.log(`  health bookkeeping alone: ${ctx.fmt(micros, 2)} µs CPU per request`);
    console.log('');
    ctx.checks.push(['CPU/req, breakers+limits on, vs bare proxy', medianRatio(m.cpu[2]!, m.cpu[0]!), 1.3, '×']);
  } finally {
    for (const p of procs) p.stop();
    rmSync(home, { recursive: true, force: true });
  }
}
