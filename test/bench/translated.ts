// Bench section: translated streaming (Anthropic client → OpenAI-format provider) against same-dialect
// passthrough (Anthropic client → Anthropic provider), CPU per stream in a router process of its own.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { cpuMs, load, startProcess, type RunResult } from './measure.js';
import type { BenchContext } from './sections.js';

const body = (model: string) =>
  Buffer.from(JSON.stringify({ model, stream: true, max_tokens: 64, messages: [{ role: 'user', content: 'Say hello in one short sentence, please.' }] }));

/** One translated stream, checked: Anthropic events, one message_start, every token, message_stop. */
async function sanity(url: string): Promise<string | undefined> {
  const pool = new Pool(url);
  try {
    const r = await pool.request({ path: '/v1/messages', method: 'POST', body: body('xlate'), headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' } });
    const text = await r.body.text();
    if (r.statusCode !== 200) return `status ${r.statusCode}: ${text.slice(0, 200)}`;
    if ((text.match(/event: message_start/g) ?? []).length !== 1) return 'not exactly one message_start';
    if (!text.includes('event: message_stop') || !text.includes(' token49')) return 'incomplete translated stream';
    return undefined;
  } finally {
    await pool.close();
  }
}

export async function translatedStreaming(ctx: BenchContext): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), 'router67-bench-xlate-'));
  const base = `http://127.0.0.1:${ctx.upstreamPort}`;
  writeFileSync(
    join(home, 'config.toml'),
    `[daemon]\nlog_level = "warn"\nmax_connections = 64\n\n` +
      `[[providers]]\nname = "pass"\nbase_url = "${base}"\nformat = "anthropic"\nauth = { header = "x-api-key", api_key = "k" }\n[providers.available_models]\npass = "bench-upstream"\n\n` +
      `[[providers]]\nname = "xlate"\nbase_url = "${base}"\nformat = "openai"\nauth = { header = "authorization", prefix = "Bearer ", api_key = "k" }\n[providers.available_models]\nxlate = "bench-upstream"\n`,
  );
  const router = await startProcess(
    [join(__dirname, '..', '..', 'main', 'cli', 'index.js'), 'daemon', '--listen', '127.0.0.1:0', '--no-intercept'],
    { ROUTER67_HOME: home },
    /listening on http:\/\/(127\.0\.0\.1:\d+)/,
  );
  try {
    const url = `http://${router.match[1]}`;
    const bad = await sanity(url);
    if (bad) throw new Error(`translated stream sanity check failed: ${bad}`);
    const n = ctx.N(1500);
    for (const m of ['pass', 'xlate']) await load(url, '/v1/messages', body(m), ctx.N(300), 1); // warm-up
    const acc: Record<string, { cpu: number; n: number; runs: RunResult[] }> = { pass: { cpu: 0, n: 0, runs: [] }, xlate: { cpu: 0, n: 0, runs: [] } };
    // alternate the two so drift hits both alike
    for (let round = 0; round < 2; round++) {
      for (const m of ['pass', 'xlate']) {
        const c0 = cpuMs(router.proc.pid);
        const r = await load(url, '/v1/messages', body(m), Math.ceil(n / 2), 1);
        acc[m]!.cpu += cpuMs(router.proc.pid) - c0;
        acc[m]!.n += r.n;
        acc[m]!.runs.push(r);
      }
    }
    const per = (m: string) => acc[m]!.cpu / acc[m]!.n;
    const p50 = (m: string) => acc[m]!.runs.map((r) => r.p50).sort((a, b) => a - b)[0]!;
    const errors = (m: string) => acc[m]!.runs.reduce((s, r) => s + r.errors, 0);
    console.log(`translated streaming: Anthropic client, 52-event stream, 1 connection (${acc.pass!.n} + ${acc.xlate!.n} requests)`);
    console.log('  provider                          p50      cpu/stream  errors');
    console.log(`  anthropic (passthrough)       ${ctx.fmt(p50('pass')).padStart(7)}  ${ctx.fmt(per('pass')).padStart(10)}  ${errors('pass')}`);
    console.log(`  openai (translated)           ${ctx.fmt(p50('xlate')).padStart(7)}  ${ctx.fmt(per('xlate')).padStart(10)}  ${errors('xlate')}`);
    console.log('');
    ctx.checks.push(['translated stream CPU vs passthrough', per('xlate') / per('pass'), 1.5, '×']);
  } finally {
    router.proc.stop();
    rmSync(home, { recursive: true, force: true });
  }
}
