// What each part would cost the idle daemon: resident memory of a fresh node process that loads that module alone
// (then idles), over the bare Node floor (a process that loads nothing). Parts cost less together than the sum
// (shared node built-ins, one young generation), so this is a guide to where memory goes, not a ledger.
// Informational (no target): the idle-RSS target is measured on the daemon itself in bench.ts.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchContext } from './sections.js';

const dist = join(__dirname, '..', '..', 'main');

/** [label, when the daemon loads it, what to run]. */
const parts: [string, string, string][] = [
  ['bare Node floor', '—', ''],
  ['zod', 'config worker; window/IPC', `require(${JSON.stringify(require.resolve('zod'))})`],
  ['config schema (zod + schema)', 'config worker; window/IPC', `require(${JSON.stringify(join(dist, 'config', 'schema.js'))})`],
  ['a worker thread, run and exited', 'config validation', `new (require('node:worker_threads').Worker)('0', { eval: true })`],
  ['undici Agent', 'first upstream request', `require(${JSON.stringify(require.resolve('undici/lib/dispatcher/agent.js'))})`],
  ['formats (translation codecs)', 'start (via proxy)', `require(${JSON.stringify(join(dist, 'formats', 'index.js'))})`],
  ['proxy (with formats)', 'start', `require(${JSON.stringify(join(dist, 'proxy', 'proxy.js'))})`],
  ['core (config/load, proxy, log, admin, ws gateway)', 'start', `require(${JSON.stringify(join(dist, 'core', 'core.js'))})`],
  ['ws', 'first WebSocket upgrade', `require(${JSON.stringify(require.resolve('ws'))})`],
  ['node-forge', 'interception / install', `require(${JSON.stringify(require.resolve('node-forge'))})`],
  ['keytar', 'keychain in config; window', `try { require('keytar') } catch {}`],
  ['UI service', 'first window request', `require(${JSON.stringify(join(dist, 'ui', 'service.js'))})`],
  ['OAuth', '[oauth.*] in config; login', `require(${JSON.stringify(join(dist, 'oauth', 'attach.js'))})`],
  [
    'metrics (prom-client, own registry, default metrics)',
    'first /metrics scrape; [metrics] enabled',
    `const m = new (require(${JSON.stringify(join(dist, 'metrics', 'metrics.js'))}).Metrics)({ log: new (require('node:events'))(), inFlight: () => 0 }); m.scrape()`,
  ],
];

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** One round: every part in its own process at once, read after 2.5 s idle. */
async function round(): Promise<number[]> {
  const procs = parts.map(([, , code]) =>
    spawn(process.execPath, ['-e', `${code}; setInterval(() => {}, 1000)`], { stdio: 'ignore', cwd: join(dist, '..', '..') }),
  );
  try {
    await new Promise((r) => setTimeout(r, 2500));
    return procs.map((p) => (p.pid === undefined || p.exitCode !== null ? NaN : rssMb(p.pid)));
  } finally {
    for (const p of procs) p.kill();
  }
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
    console.log(`  ${label.padEnd(50)} ${cost.padStart(6)}   ${when}`);
  });
  console.log('');
}
