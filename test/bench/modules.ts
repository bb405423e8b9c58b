// What each part would cost the idle daemon: resident memory of a fresh node process that loads that module alone
// (then idles), over the bare Node floor (a process that loads nothing). Parts cost less together than the sum
// (shared node built-ins, one young generation), so this is a guide to where memory goes, not a ledger.
// Informational (no target): the idle-RSS target is measured on the daemon itself in bench.ts. Each process reports
// when its part is loaded (awaited: a thread or child exited, a database open), four at a time, so a busy machine
// still measures loaded parts.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchContext } from './sections.js';

const dist = join(__dirname, '..', '..', 'main');
const req = (...files: string[]) => files.map((f) => `require(${JSON.stringify(join(dist, f))})`).join('; ');
/** A scratch database for the history thread's row (removed by the process that made it). */
const scratchDb = `require('node:path').join(require('node:os').tmpdir(), 'router67-modules-' + process.pid + '.db')`;

/** [label, when the daemon loads it, what to run]. */
const parts: [string, string, string][] = [
  ['bare Node floor', '—', ''],
  ['zod', 'config child; window/IPC', `require(${JSON.stringify(require.resolve('zod'))})`],
  ['config schema (zod + schema)', 'config child; window/IPC', `require(${JSON.stringify(join(dist, 'config', 'schema.js'))})`],
  [
    'a worker thread, run and exited',
    '(config validation before: now a child)',
    `await new Promise((r) => new (require('node:worker_threads').Worker)('0', { eval: true }).once('exit', r))`,
  ],
  [
    'a child process, run and exited (+ node:child_process)',
    'config validation (child_process: listen loads it)',
    `await new Promise((r) => require('node:child_process').spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' }).once('exit', r))`,
  ],
  ['undici Agent', 'first upstream request', `require(${JSON.stringify(require.resolve('undici/lib/dispatcher/agent.js'))})`],
  ['formats (translation codecs)', 'first translation, Responses state or estimate', `require(${JSON.stringify(join(dist, 'formats', 'index.js'))})`],
  ['proxy (codecs now loaded late)', 'start', `require(${JSON.stringify(join(dist, 'proxy', 'proxy.js'))})`],
  ['core (config/load, proxy, log, admin, ws gateway)', 'start', `require(${JSON.stringify(join(dist, 'core', 'core.js'))})`],
  ['ws', 'first WebSocket upgrade', `require(${JSON.stringify(require.resolve('ws'))})`],
  ['node-forge', 'interception / install', `require(${JSON.stringify(require.resolve('node-forge'))})`],
  ['keytar', 'keychain in config; window', `try { require('keytar') } catch {}`],
  ['UI service', 'first window request', `require(${JSON.stringify(join(dist, 'ui', 'service.js'))})`],
  ['OAuth', '[oauth.*] in config; login', `require(${JSON.stringify(join(dist, 'oauth', 'attach.js'))})`],
  ['routing (plan, match, strategies, stats)', 'start (via proxy)', req('routing/plan.js', 'routing/stats.js')],
  ['routing/explain (with routing)', 'first explain (route --explain, Routes view)', req('routing/explain.js')],
  ['health (breakers, limits, foresight, retry, hedge, affinity)', 'start (via proxy)', req('health/health.js', 'health/retry.js', 'health/hedge.js', 'health/affinity.js')],
  ['usage: cost, prices (code), budgets', 'start', req('usage/cost.js', 'usage/budgets.js')],
  ['price table (@pydantic/genai-prices)', 'first price asked (a finished request)', `require(${JSON.stringify(require.resolve('@pydantic/genai-prices'))})`],
  ['procinfo: lookup', 'start', req('procinfo/lookup.js')],
  ['procinfo: lookup + naming + Linux reader', 'first connection', req('procinfo/lookup.js', 'procinfo/name.js', 'procinfo/linux.js')],
  ['metrics module (no prom-client; health pulls admin: http, crypto)', 'start', req('metrics/metrics.js', 'metrics/health.js')],
  ['usage history: History (tally, batching)', 'start', req('usage/history.js', 'usage/log-stream.js')],
  [
    'usage history: its thread + better-sqlite3, database open',
    'first finished request or query',
    `const f = ${scratchDb}; const h = new (${req('usage/history.js')}.History)({ file: f, retentionDays: 1 }); await h.count();` +
      ` process.on('SIGTERM', () => { for (const x of ['', '-wal', '-shm']) try { require('node:fs').rmSync(f + x) } catch {} process.exit() })`,
  ],
  [
    'metrics (prom-client, own registry, default metrics)',
    'first /metrics scrape; [metrics] enabled',
    `const m = new (require(${JSON.stringify(join(dist, 'metrics', 'metrics.js'))}).Metrics)({ log: new (require('node:events'))(), inFlight: () => 0 }); await m.scrape()`,
  ],
];

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/**
 * One part in its own process: its code runs (awaited: a thread or child it starts has exited, a database is
 * open), the process says so, idles 2.5 s and its RSS is read. Bounded: a part that is not loaded in 30 s is NaN.
 */
async function measure(code: string): Promise<number> {
  // the word goes out on fd 3 with fs.writeSync: process.stdout on a pipe would load net and streams into every process
  const say = (w: string) => `() => require('node:fs').writeSync(3, '${w}\\n')`;
  const script = `(async () => { ${code} })().then(${say('loaded')}, ${say('failed')}); setInterval(() => {}, 1000)`;
  const p = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'ignore', 'ignore', 'pipe'], cwd: join(dist, '..', '..') });
  try {
    const loaded = await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), 30_000);
      let out = '';
      (p.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => {
        out += d.toString();
        if (/loaded|failed/.test(out)) {
          clearTimeout(t);
          resolve(out.includes('loaded'));
        }
      });
      p.once('exit', () => {
        clearTimeout(t);
        resolve(false);
      });
    });
    if (!loaded) return NaN;
    await new Promise((r) => setTimeout(r, 2500));
    return p.pid === undefined || p.exitCode !== null ? NaN : rssMb(p.pid);
  } finally {
    p.kill();
  }
}

/** One round: every part, four processes at a time (so a busy machine still lets each finish loading). */
async function round(): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < parts.length; i += 4) out.push(...(await Promise.all(parts.slice(i, i + 4).map(([, , code]) => measure(code)))));
  return out;
}

export async function moduleCosts(ctx: BenchContext): Promise<void> {
  if (process.platform !== 'linux') return;
  const rounds = ctx.N(1000) >= 1000 ? 5 : 3;
  const all: number[][] = [];
  for (let i = 0; i < rounds; i++) all.push(await round());
  const median = (xs: number[]) => xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
  const med = parts.map((_, i) => median(all.map((r) => r[i]!)));
  const floor = med[0]!;
  console.log(`memory by part (MB RSS of a process loading it alone, median of ${rounds}; the floor is node idling):`);
  parts.forEach(([label, when], i) => {
    const v = med[i]!;
    const cost = i === 0 ? ctx.fmt(v, 1) : `+${ctx.fmt(v - floor, 1)}`;
    console.log(`  ${label.padEnd(66)} ${cost.padStart(6)}   ${when}`);
  });
  console.log('');
}
