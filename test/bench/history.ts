// Usage history: the Usage view's query over 1,000,000 stored requests (target ≤ 200 ms), and what recording costs
// per entry — on the proxy's thread (History.add: the row, the queue, its share of the batch message) and on the
// history thread (the row and its rollups written, in batches of 500).
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { History, toRow } from '../../main/usage/history.js';
import { HistoryDb } from '../../main/usage/history-db.js';
import { pack } from '../../main/usage/history-batch.js';
import type { LogEntry } from '../../main/ui/types.js';
import { seedHistory } from '../helpers/seed-history.js';
import type { BenchContext } from './sections.js';

const DAY = 86_400_000;

function entry(i: number, at: number): LogEntry {
  return {
    id: `b-${i}`,
    startedAt: new Date(at).toISOString(),
    dialect: 'anthropic',
    method: 'POST',
    path: '/v1/messages',
    model: 'claude-sonnet-4.6',
    stream: true,
    provider: ['anthropic', 'openrouter'][i % 2]!,
    upstreamModel: 'claude-sonnet-4-5',
    status: 200,
    state: 'done',
    attempts: [{ provider: 'anthropic', model: 'claude-sonnet-4-5', status: 200, error: null, durationMs: 900, ttfbMs: 300 }],
    ttfbMs: 300 + (i % 50),
    durationMs: 900,
    inputTokens: 1200,
    outputTokens: 300,
    cacheReadTokens: 1000,
    costUsd: 0.0042,
    app: ['Claude Code', 'Codex'][i % 2]!,
    bytesIn: 4000,
    bytesOut: 2500,
  };
}

export async function usageHistory(ctx: BenchContext): Promise<void> {
  const rows = 1_000_000; // the target is for a million rows, --quick or not
  const file = join(ctx.home, 'bench-usage.db');
  rmSync(file, { force: true });
  const now = Date.now();
  const seedMs = seedHistory(file, rows, now, 90);
  const db = new HistoryDb(file);
  console.log(`\nusage history (${rows.toLocaleString('en-US')} rows over 90 days; seeded in ${(seedMs / 1000).toFixed(1)} s)`);
  const ranges: [string, number][] = [
    ['today', now - (now % DAY)],
    ['7 days', now - 7 * DAY],
    ['30 days', now - 30 * DAY],
    ['90 days', now - 90 * DAY],
  ];
  let worst = 0;
  for (const [label, from] of ranges) {
    db.query({ from, to: now }); // warm
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      db.query({ from, to: now });
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    const median = times[2]!;
    worst = Math.max(worst, times[4]!);
    console.log(`  Usage view query, ${label.padEnd(8)}  median ${ctx.fmt(median, 1)} ms, slowest ${ctx.fmt(times[4], 1)} ms`);
  }
  ctx.checks.push(['Usage view query over 1M rows, slowest range (ms)', worst, 200, 'ms']);

  // writing: the history thread's share, batches of 500
  const batches = ctx.N(200);
  const batch = pack(Array.from({ length: 500 }, (_, i) => toRow(entry(i, now))));
  let t = performance.now();
  for (let b = 0; b < batches; b++) db.insertBatches([batch]);
  const writeUs = ((performance.now() - t) * 1000) / (batches * 500);
  db.close();
  console.log(`  write, history thread: ${ctx.fmt(writeUs, 1)} µs per entry (a packed batch of 500 stored, its hourly and daily rollups and TTFB histograms)`);

  // recording: the proxy thread's share (History.add → batch → postMessage to the worker)
  const h = new History({ file, retentionDays: 3650 });
  h.start();
  await h.count();
  const n = ctx.N(50_000);
  const entries = Array.from({ length: n }, (_, i) => entry(i, now));
  const cpu = process.cpuUsage();
  t = performance.now();
  for (const e of entries) h.add(e);
  h.flush();
  const addUs = ((performance.now() - t) * 1000) / n;
  const t2 = performance.now();
  await h.count(); // waits until the worker wrote them all
  const drainMs = performance.now() - t2;
  const used = process.cpuUsage(cpu); // this process: the proxy's thread and the history thread
  const bothUs = (used.user + used.system) / n;
  // the same query, through the worker thread (what the window waits for)
  const t3 = performance.now();
  const r = await h.query({ from: now - 30 * DAY, to: now });
  const viaWorker = performance.now() - t3;
  await h.close();
  rmSync(file, { force: true });
  console.log(`  record, proxy thread:  ${ctx.fmt(addUs, 2)} µs per entry (History.add, batching and posting included)`);
  console.log(`  both threads (process CPU): ${ctx.fmt(bothUs, 2)} µs per entry (add, pack, post, packed batch + rollups written)`);
  console.log(`  ${n.toLocaleString('en-US')} entries written by the worker ${ctx.fmt(drainMs, 0)} ms after the last add`);
  console.log(`  30-day report through the worker thread: ${ctx.fmt(viaWorker, 1)} ms (query ${r.queryMs} ms), ${r.totals.requests.toLocaleString('en-US')} requests`);
  ctx.checks.push(['Recording cost on the proxy thread (µs per entry)', addUs, 20, 'µs']);
}
