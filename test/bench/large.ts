// Bench section: a 200 MB non-streamed answer relayed to a client that reads it, through a router process of
// its own, so its peak RSS (VmHWM) shows what the buffering cap (max_buffered_response_bytes) holds it to.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { request } from 'undici';
import { memMb, startProcess } from './measure.js';
import type { BenchContext } from './sections.js';

const SIZE = 200 * 1024 * 1024;

async function fetchLarge(url: string): Promise<{ bytes: number; ms: number }> {
  const t0 = performance.now();
  const r = await request(`${url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': 'k', 'x-bench-bytes': String(SIZE) },
    body: JSON.stringify({ model: 'bench', max_tokens: 64, messages: [{ role: 'user', content: 'A very long answer, please.' }] }),
    bodyTimeout: 120_000,
  });
  let bytes = 0;
  for await (const c of r.body) bytes += (c as Buffer).length;
  if (r.statusCode !== 200) throw new Error(`large answer: status ${r.statusCode}`);
  return { bytes, ms: performance.now() - t0 };
}

export async function largeAnswer(ctx: BenchContext): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), 'router67-bench-large-'));
  writeFileSync(
    join(home, 'config.toml'),
    `[daemon]\nlog_level = "warn"\n\n[[providers]]\nname = "bench"\nbase_url = "http://127.0.0.1:${ctx.upstreamPort}"\nauth = { header = "x-api-key", api_key = "k" }\n[providers.available_models]\nbench = "bench-upstream"\n`,
  );
  const router = await startProcess(
    [join(__dirname, '..', '..', 'main', 'cli', 'index.js'), 'daemon', '--listen', '127.0.0.1:0', '--no-intercept'],
    { ROUTER67_HOME: home },
    /listening on http:\/\/(127\.0\.0\.1:\d+)/,
  );
  try {
    const idle = memMb(router.proc.pid);
    const direct = await fetchLarge(`http://127.0.0.1:${ctx.upstreamPort}`);
    const routed = await fetchLarge(`http://${router.match[1]}`);
    if (routed.bytes !== SIZE) throw new Error(`large answer: got ${routed.bytes} of ${SIZE} bytes`);
    const peak = memMb(router.proc.pid).peak;
    const mbps = (r: { bytes: number; ms: number }) => r.bytes / 1024 / 1024 / (r.ms / 1000);
    console.log('200 MB non-streamed answer, read by the client as it arrives (router in its own process)');
    console.log(`  direct ${ctx.fmt(mbps(direct), 0)} MB/s, router67 ${ctx.fmt(mbps(routed), 0)} MB/s`);
    console.log(`  router67 RSS idle ${ctx.fmt(idle.rss, 1)} MB, peak ${ctx.fmt(peak, 1)} MB\n`);
    ctx.checks.push(['RSS peak relaying a 200 MB answer', peak, 200, 'MB']);
  } finally {
    router.proc.stop();
    rmSync(home, { recursive: true, force: true });
  }
}
