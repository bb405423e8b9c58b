// Measuring helpers for the benchmark: processes, /proc CPU and memory, latency percentiles, load loops.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';

export interface Proc {
  child: ChildProcess;
  pid: number;
  stop(): void;
}

/** Spawns a node script and waits for a line matching `re`; returns the match. */
export function startProcess(args: string[], env: NodeJS.ProcessEnv, re: RegExp, ms = 15_000): Promise<{ proc: Proc; match: RegExpExecArray }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`timed out starting ${args.join(' ')}:\n${out}`));
    }, ms);
    const on = (d: Buffer) => {
      out += d.toString();
      const m = re.exec(out);
      if (m) {
        clearTimeout(timer);
        child.stdout!.off('data', on);
        child.stderr!.off('data', on);
        child.stdout!.resume();
        child.stderr!.resume();
        resolve({ proc: { child, pid: child.pid!, stop: () => child.kill('SIGKILL') }, match: m });
      }
    };
    child.stdout!.on('data', on);
    child.stderr!.on('data', on);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${args.join(' ')} exited ${code}:\n${out}`));
    });
  });
}

const TICK_MS = 10; // USER_HZ is 100 on Linux

/**
 * CPU time (user + system) of a process so far, in ms, every thread included. Read from the scheduler's own
 * clock (/proc/<pid>/task/<tid>/sched, nanoseconds) where the kernel has it; /proc/<pid>/stat's ticks are the
 * fallback. Tick-based accounting (CONFIG_TICK_CPU_ACCOUNTING, HZ 250 here) charges a whole tick to whoever it
 * finds running: a process that wakes for 0.1 ms per request is then measured by sampling, a few percent off
 * per run. A thread that exits between two readings takes its time with it, so compare at steady state.
 */
export function cpuMs(pid: number): number {
  try {
    let ms = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const m = /se\.sum_exec_runtime\s*:\s*([\d.]+)/.exec(readFileSync(`/proc/${pid}/task/${tid}/sched`, 'utf8'));
      if (!m) throw new Error('no sum_exec_runtime');
      ms += Number(m[1]);
    }
    return ms;
  } catch {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  }
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (!s.length) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * The same load on several server processes in `rounds` interleaved rounds (A B C, A B C, …), so whatever drifts
 * during a bench (other work on the machine, CPU clocks, caches) hits each target alike. Per target: each
 * round's result and its process CPU per request (ms; NaN for a target without a pid, e.g. the upstream called directly). Compare two targets with medianRatio.
 */
export async function interleaved<T extends { pid?: number }>(
  targets: readonly T[],
  rounds: number,
  run: (t: T) => Promise<RunResult>,
): Promise<{ runs: RunResult[][]; cpu: number[][] }> {
  const runs: RunResult[][] = targets.map(() => []);
  const cpu: number[][] = targets.map(() => []);
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < targets.length; i++) {
      const t = targets[i]!;
      const c0 = t.pid ? cpuMs(t.pid) : 0;
      const r = await run(t);
      cpu[i]!.push(t.pid ? (cpuMs(t.pid) - c0) / r.n : NaN);
      runs[i]!.push(r);
    }
  }
  return { runs, cpu };
}

/** The median over rounds of a[i] / b[i]: two targets' figures from the same rounds of interleaved(). */
export function medianRatio(a: number[], b: number[]): number {
  return median(a.map((x, i) => x / b[i]!));
}

/** One result for a target's rounds: the median of each figure, requests and errors summed. */
export function mergeRuns(rs: RunResult[]): RunResult {
  const m = (f: (r: RunResult) => number | undefined) => median(rs.map(f).filter((x): x is number => x !== undefined && !Number.isNaN(x)));
  return { n: rs.reduce((a, r) => a + r.n, 0), seconds: rs.reduce((a, r) => a + r.seconds, 0), p50: m((r) => r.p50), p99: m((r) => r.p99), ttfbP50: m((r) => r.ttfbP50), ttfbP99: m((r) => r.ttfbP99), errors: rs.reduce((a, r) => a + r.errors, 0) };
}

/** Resident and peak resident memory of a process, in MB (Linux /proc). */
export function memMb(pid: number): { rss: number; peak: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(s)?.[1] ?? 0);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

export function pct(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export interface RunResult {
  n: number;
  seconds: number;
  p50: number;
  p99: number;
  ttfbP50?: number;
  ttfbP99?: number;
  errors: number;
}

/**
 * Sends `n` POSTs of `body` over `connections` keep-alive connections. For streams, time to first byte is
 * the first body chunk. Bounded: stops after n requests or maxSeconds, whichever comes first.
 */
export async function load(url: string, path: string, body: Buffer, n: number, connections: number, maxSeconds = 60): Promise<RunResult> {
  const pool = new Pool(url, { connections, pipelining: 1, keepAliveTimeout: 60_000 });
  try {
    return await runBounded(n, connections, maxSeconds, async () => {
      const r = await pool.request({ path, method: 'POST', body, headers: { 'content-type': 'application/json', 'x-api-key': 'bench-client', 'anthropic-version': '2023-06-01' } });
      let first: number | undefined;
      for await (const _c of r.body) first ??= performance.now();
      return { ok: r.statusCode === 200, first };
    });
  } finally {
    await pool.close();
  }
}

/**
 * Runs `one` up to `n` times on `conns` concurrent workers, stopping after maxSeconds; latency per call, time to
 * first byte where `one` reports it (`first`, a performance.now() reading), and the calls that failed or threw.
 */
export async function runBounded(n: number, conns: number, maxSeconds: number, one: () => Promise<{ ok: boolean; first?: number }>): Promise<RunResult> {
  const lat: number[] = [];
  const ttfb: number[] = [];
  let next = 0;
  let errors = 0;
  const t0 = performance.now();
  const deadline = t0 + maxSeconds * 1000;
  const worker = async () => {
    while (next < n && performance.now() < deadline) {
      next++;
      const s = performance.now();
      try {
        const r = await one();
        if (!r.ok) errors++;
        if (r.first !== undefined) ttfb.push(r.first - s);
      } catch {
        errors++;
      }
      lat.push(performance.now() - s);
    }
  };
  await Promise.all(Array.from({ length: conns }, worker));
  const seconds = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  ttfb.sort((a, b) => a - b);
  return { n: lat.length, seconds, p50: pct(lat, 50), p99: pct(lat, 99), ttfbP50: pct(ttfb, 50), ttfbP99: pct(ttfb, 99), errors };
}
