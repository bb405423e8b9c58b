// npm run bench: the router's speed and memory beside a direct call and a bare node:http proxy, in one run.
// Everything runs on loopback, each server in its own process; every loop is bounded in count and time.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { interleaved, load, median, medianRatio, memMb, mergeRuns, startProcess, type Proc, type RunResult } from './measure.js';
import { extraSections, type BenchContext } from './sections.js';

const quick = process.argv.includes('--quick');
const scale = quick ? 0.1 : 1;
const N = (n: number) => Math.max(50, Math.round(n * scale));
const dist = join(__dirname, '..', '..');

const small = Buffer.from(JSON.stringify({ model: 'bench', max_tokens: 64, messages: [{ role: 'user', content: 'Say hello in one short sentence, please.' }] }));
const smallStream = Buffer.from(JSON.stringify({ model: 'bench', stream: true, max_tokens: 64, messages: [{ role: 'user', content: 'Say hello in one short sentence, please.' }] }));
const big = Buffer.from(JSON.stringify({ model: 'bench', max_tokens: 64, messages: [{ role: 'user', content: 'x'.repeat(256 * 1024 - 100) }] }));

interface Target {
  name: string;
  url: string;
  proc?: Proc;
}

function fmt(n: number | undefined, d = 3): string {
  return n === undefined || Number.isNaN(n) ? '—' : n.toFixed(d);
}

async function main(): Promise<void> {
  const procs: Proc[] = [];
  const home = mkdtempSync(join(tmpdir(), 'router67-bench-'));
  try {
    const up = await startProcess([join(__dirname, 'upstream.js')], {}, /LISTEN (\d+)/);
    procs.push(up.proc);
    const upPort = Number(up.match[1]);
    const bare = await startProcess([join(__dirname, 'bare-proxy.js')], { BENCH_UPSTREAM_PORT: String(upPort) }, /LISTEN (\d+)/);
    procs.push(bare.proc);
    writeFileSync(
      join(home, 'config.toml'),
      `[daemon]\nlog_level = "warn"\nmax_connections = 64\n\n[[providers]]\nname = "bench"\nbase_url = "http://127.0.0.1:${upPort}"\nauth = { header = "x-api-key", api_key = "bench-key" }\n[providers.available_models]\nbench = "bench-upstream"\n`,
    );
    const router = await startProcess(
      [join(dist, 'main', 'cli', 'index.js'), 'daemon', '--listen', '127.0.0.1:0', '--no-intercept'],
      { ROUTER67_HOME: home },
      /listening on http:\/\/(127\.0\.0\.1:\d+)/,
    );
    procs.push(router.proc);
    await new Promise((r) => setTimeout(r, 2000));
    const routerIdle = memMb(router.proc.pid);
    const bareIdle = memMb(bare.proc.pid);

    const targets: Target[] = [
      { name: 'direct', url: `http://127.0.0.1:${upPort}` },
      { name: 'bare proxy', url: `http://127.0.0.1:${bare.match[1]}`, proc: bare.proc },
      { name: 'router67', url: `http://${router.match[1]}`, proc: router.proc },
    ];

    const results: Record<string, Record<string, RunResult & { cpuPerReq?: number }>> = {};
    const scenarios: { key: string; label: string; body: Buffer; n: number; conns: number }[] = [
      { key: 'seq', label: 'sequential, 1 connection, small body', body: small, n: N(3000), conns: 1 },
      { key: 'big', label: 'sequential, 1 connection, 256 KB body', body: big, n: N(600), conns: 1 },
      { key: 'c32', label: '32 connections, small body', body: small, n: N(20000), conns: 32 },
      { key: 'stream', label: 'streaming (52 SSE events), 1 connection', body: smallStream, n: N(1500), conns: 1 },
    ];
    const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7);
    // Warm-up to steady state: a router is left running all day, so what counts is its cost once V8 has compiled
    // its hot code. 20,000 requests at 32 connections do it (perf: after 500, V8's compiler threads were still
    // busy with router67's code during the measured runs, a cost the far smaller bare proxy had already paid).
    for (const t of targets) await load(t.url, '/v1/messages', small, N(20000), 32);
    await new Promise((r) => setTimeout(r, 2000)); // what the warm-up left to do in the background (history rows, GC) is done
    // the targets take turns: five interleaved rounds per scenario, so drift hits each alike; each figure is the
    // median of its rounds, and the CPU ratio the median of the rounds' ratios
    const ROUNDS = 5;
    const measured = targets.map((t) => ({ ...t, pid: t.proc?.pid }));
    const c32Cpu: number[][] = [];
    for (const s of scenarios) {
      if (only && s.key !== only) continue;
      results[s.key] = {};
      const m = await interleaved(measured, ROUNDS, (t) => load(t.url, '/v1/messages', s.body, Math.ceil(s.n / ROUNDS), s.conns));
      measured.forEach((t, i) => {
        results[s.key]![t.name] = { ...mergeRuns(m.runs[i]!), cpuPerReq: t.proc ? median(m.cpu[i]!) : undefined };
        if (s.key === 'c32') c32Cpu[i] = m.cpu[i]!;
      });
    }
    const routerPeak = memMb(router.proc.pid).peak;
    const barePeak = memMb(bare.proc.pid).peak;

    console.log(`router67 benchmark${quick ? ' (quick)' : ''} — node ${process.version}, all on loopback, times in ms\n`);
    for (const s of scenarios) {
      if (!results[s.key]) continue;
      console.log(`${s.label} (${s.n} requests)`);
      console.log('  target        p50      p99      ttfb p50  req/s     cpu/req  errors');
      for (const t of targets) {
        const r = results[s.key]![t.name]!;
        console.log(
          `  ${t.name.padEnd(12)}  ${fmt(r.p50).padStart(7)}  ${fmt(r.p99).padStart(7)}  ${fmt(r.ttfbP50).padStart(8)}  ${fmt(r.n / r.seconds, 0).padStart(7)}  ${fmt(r.cpuPerReq, 3).padStart(7)}  ${r.errors}`,
        );
      }
      console.log('');
    }
    console.log(`memory (MB): router67 idle ${fmt(routerIdle.rss, 1)}, peak ${fmt(routerPeak, 1)}; bare proxy idle ${fmt(bareIdle.rss, 1)}, peak ${fmt(barePeak, 1)}\n`);

    const none = { p50: NaN, ttfbP50: NaN, cpuPerReq: NaN } as RunResult & { cpuPerReq?: number };
    const r = (k: string, t: string) => results[k]?.[t] ?? none;
    const checks: [string, number, number, string][] = [
      ['CPU per request vs bare proxy (32 conns)', c32Cpu.length ? medianRatio(c32Cpu[2]!, c32Cpu[1]!) : NaN, 1.3, '×'],
      ['added p50, 1 connection', r('seq', 'router67').p50 - r('seq', 'direct').p50, 0.25, 'ms'],
      ['streaming TTFB added (p50)', r('stream', 'router67').ttfbP50! - r('stream', 'direct').ttfbP50!, 0.4, 'ms'],
      ['256 KB body added p50', r('big', 'router67').p50 - r('big', 'direct').p50, 1, 'ms'],
      ['RSS idle (2 s after ready)', routerIdle.rss, 55, 'MB'],
    ];
    const ctx: BenchContext = { home, upstreamPort: upPort, routerUrl: `http://${router.match[1]}`, routerPid: router.proc.pid, N, checks, fmt };
    for (const section of extraSections) await section(ctx);

    console.log('targets');
    let failed = 0;
    for (const [label, value, limit, unit] of checks) {
      if (Number.isNaN(value)) continue;
      const ok = value <= limit;
      if (!ok) failed++;
      console.log(`  ${ok ? 'ok  ' : 'MISS'}  ${label.padEnd(44)} ${fmt(value)} ${unit} (target ≤ ${limit} ${unit})`);
    }
    console.log(`\n${checks.length - failed} of ${checks.length} targets met`);
  } finally {
    for (const p of procs) p.stop();
    rmSync(home, { recursive: true, force: true });
  }
}

main().catch((e: Error) => {
  console.error(e.stack ?? e.message);
  process.exit(1);
});
