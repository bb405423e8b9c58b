// The intercepted path: a TLS client → router67's TLS listener (HTTP/1.1 and HTTP/2) → the benchmark upstream,
// router67 runs as the daemon does (built by the composition root: usage history included, tls-router.ts),
// beside the barest node TLS passthrough (node:https for HTTP/1.1, node:http2 for HTTP/2) in the same run.
// CPU per request is each server process's own (/proc), so the client's share is not counted; the targets take
// turns in fifteen interleaved rounds and the ratio is the median of the rounds' ratios (measure.ts interleaved).
import { connect as h2connect, type ClientHttp2Session } from 'node:http2';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { connect as tlsConnect } from 'node:tls';
import { Pool } from 'undici';
import { cpuMs, interleaved, median, medianRatio, mergeRuns, pct, runBounded, startProcess, type Proc, type RunResult } from './measure.js';
import type { BenchContext } from './sections.js';

const HOST = 'api.anthropic.com';
const HEADERS = { 'content-type': 'application/json', 'x-api-key': 'bench-client', 'anthropic-version': '2023-06-01' };
const SMALL = Buffer.from(JSON.stringify({ model: 'bench', max_tokens: 64, messages: [{ role: 'user', content: 'Say hello in one short sentence, please.' }] }));
const STREAM = Buffer.from(JSON.stringify({ model: 'bench', stream: true, max_tokens: 64, messages: [{ role: 'user', content: 'Say hello in one short sentence, please.' }] }));

/**
 * One handshake with a listener that waits for a request (never ends on its own): done at the session ticket
 * (a full handshake; the server sends it with its HTTP/2 SETTINGS) or at secureConnect when resuming. Bounded.
 */
function handshake(port: number, ca: string, session?: Buffer): Promise<{ ms: number; reused: boolean; session?: Buffer }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let ms = 0;
    const timer = setTimeout(() => (s.destroy(), reject(new Error('handshake: no session ticket within 5 s'))), 5000);
    const done = (r: { ms: number; reused: boolean; session?: Buffer }) => {
      clearTimeout(timer);
      s.destroy();
      resolve(r);
    };
    const s = tlsConnect({ host: '127.0.0.1', port, servername: HOST, ca, ALPNProtocols: ['h2'], ...(session ? { session } : {}) }, () => {
      ms = performance.now() - t0;
      if (s.isSessionReused()) done({ ms, reused: true });
    });
    s.on('session', (t: Buffer) => done({ ms, reused: s.isSessionReused(), session: t }));
    s.on('error', (e) => (clearTimeout(timer), reject(e)));
  });
}

/** A client kept across the rounds of a measurement: its connections (and their handshakes) are made once. */
interface Client {
  run(body: Buffer, n: number, conns: number, maxSeconds?: number): Promise<RunResult>;
  close(): Promise<void>;
}

/** HTTP/1.1 over TLS: up to 32 keep-alive connections (undici); each run is bounded by n and maxSeconds. */
function h1Client(port: number, ca: string): Client {
  const pool = new Pool(`https://${HOST}:${port}`, {
    connections: 32,
    pipelining: 1,
    keepAliveTimeout: 600_000,
    connect: (_opts, cb) => {
      const s = tlsConnect({ host: '127.0.0.1', port, servername: HOST, ca, ALPNProtocols: ['http/1.1'] });
      s.once('secureConnect', () => cb(null, s));
      s.once('error', (e) => cb(e, null));
    },
  });
  return {
    run: (body, n, conns, maxSeconds = 60) =>
      runBounded(n, conns, maxSeconds, async () => {
        const r = await pool.request({ path: '/v1/messages', method: 'POST', body, headers: HEADERS });
        let first: number | undefined;
        for await (const _c of r.body) first ??= performance.now();
        return { ok: r.statusCode === 200, first };
      }),
    close: () => pool.close(),
  };
}

/** HTTP/2: one session (as HTTP/2 clients do), `conns` concurrent streams on it (node:http2). */
async function h2Client(port: number, ca: string): Promise<Client> {
  const session: ClientHttp2Session = await new Promise((resolve, reject) => {
    const s = h2connect(`https://${HOST}`, { createConnection: () => tlsConnect({ host: '127.0.0.1', port, servername: HOST, ca, ALPNProtocols: ['h2'] }) });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
  return {
    run: (body, n, conns, maxSeconds = 60) =>
      runBounded(n, conns, maxSeconds, () =>
        new Promise((resolve) => {
          const req = session.request({ ':method': 'POST', ':path': '/v1/messages', ...HEADERS });
          let status = 0;
          let first: number | undefined;
          req.on('response', (h) => (status = Number(h[':status'])));
          req.on('data', () => (first ??= performance.now()));
          req.on('end', () => resolve({ ok: status === 200, first }));
          req.on('error', () => resolve({ ok: false, first }));
          req.end(body);
        }),
      ),
    close: () => new Promise<void>((r) => session.close(() => r())),
  };
}

export async function interceptedPath(ctx: BenchContext): Promise<void> {
  const procs: Proc[] = [];
  try {
    const home = join(ctx.home, 'intercept');
    mkdirSync(home, { recursive: true });
    writeFileSync(
      join(home, 'config.toml'),
      `intercept_hosts = ["${HOST}"]\n[daemon]\nlog_level = "warn"\nmax_connections = 64\nlisten = "127.0.67.1:443"\n\n[[providers]]\nname = "bench"\nbase_url = "http://127.0.0.1:${ctx.upstreamPort}"\nauth = { header = "x-api-key", api_key = "bench-key" }\n[providers.available_models]\nbench = "bench-upstream"\n`,
    );
    const router = await startProcess([join(__dirname, 'tls-router.js')], { ROUTER67_HOME: home }, /LISTEN (\d+) (\S+)/);
    procs.push(router.proc);
    const ca = readFileSync(router.match[2]!, 'utf8');
    const bare = await startProcess([join(__dirname, 'bare-tls-proxy.js')], { ROUTER67_HOME: home, BENCH_UPSTREAM_PORT: String(ctx.upstreamPort) }, /LISTEN (\d+) (\d+)/);
    procs.push(bare.proc);
    const rPort = Number(router.match[1]);
    const b1 = Number(bare.match[1]);
    const b2 = Number(bare.match[2]);
    const targets = [
      { name: 'bare node:https', proto: 'h1', port: b1, pid: bare.proc.pid },
      { name: 'router67', proto: 'h1', port: rPort, pid: router.proc.pid },
      { name: 'bare node:http2', proto: 'h2', port: b2, pid: bare.proc.pid },
      { name: 'router67', proto: 'h2', port: rPort, pid: router.proc.pid },
    ] as const;
    // handshakes against the listener in its own process: its CPU per handshake, full and resumed. Measured before
    // the request load, once the process has settled after a few to warm up: after the load it is still paying for
    // it (its usage history thread catching up, V8 shrinking the heap once allocation stops), which is not a
    // handshake's cost, and neither is the work of its first seconds.
    for (let i = 0; i < 100; i++) await handshake(rPort, ca);
    await new Promise((r) => setTimeout(r, 2000));
    const hs = ctx.N(300);
    let ticket: Buffer | undefined;
    const wall: Record<'full' | 'resumed', number[]> = { full: [], resumed: [] };
    const cpu: Record<'full' | 'resumed', number> = { full: 0, resumed: 0 };
    for (const kind of ['full', 'resumed'] as const) {
      const c0 = cpuMs(router.proc.pid);
      for (let i = 0; i < hs; i++) {
        const r = await handshake(rPort, ca, kind === 'resumed' ? ticket : undefined);
        if (kind === 'full') ticket = r.session;
        if (kind === 'full' || r.reused) wall[kind].push(r.ms);
      }
      cpu[kind] = (cpuMs(router.proc.pid) - c0) / hs;
      wall[kind].sort((a, b) => a - b);
    }
    console.log(`TLS handshakes with router67's listener (${hs} each; its own process's CPU, client elsewhere)`);
    console.log(`  full     server CPU ${ctx.fmt(cpu.full)} ms/handshake, wall p50 ${ctx.fmt(pct(wall.full, 50))} ms`);
    console.log(`  resumed  server CPU ${ctx.fmt(cpu.resumed)} ms/handshake, wall p50 ${ctx.fmt(pct(wall.resumed, 50))} ms (${wall.resumed.length}/${hs} resumed)\n`);
    const clients = new Map<(typeof targets)[number], Client>();
    for (const t of targets) clients.set(t, t.proto === 'h1' ? h1Client(t.port, ca) : await h2Client(t.port, ca));
    for (const t of targets) await clients.get(t)!.run(SMALL, ctx.N(20000), 32); // warm-up to steady state, as in bench.ts
    await new Promise((r) => setTimeout(r, 2000));
    // fifteen rounds, not five (the same requests in all): on a shared machine one round's ratio swings from 0.8 to
    // 2.5, so the median of five moves a lot between runs of one build (HTTP/1.1 1.19-1.58, HTTP/2 1.31-1.58 within
    // an hour here); the median of fifteen moved less (HTTP/1.1 1.22-1.62, mostly 1.35-1.47; HTTP/2 1.29-1.43)
    const ROUNDS = 15;
    const scenarios = [
      { key: 'c32', label: '32 concurrent, small body', body: SMALL, n: ctx.N(20000), conns: 32 },
      { key: 'stream', label: 'streaming (52 SSE events), 1 at a time', body: STREAM, n: ctx.N(1000), conns: 1 },
    ];
    const res: Record<string, { runs: RunResult[][]; cpu: number[][] }> = {};
    for (const s of scenarios) res[s.key] = await interleaved(targets, ROUNDS, (t) => clients.get(t)!.run(s.body, Math.ceil(s.n / ROUNDS), s.conns));
    for (const c of clients.values()) await c.close();
    console.log('intercepted path: TLS client → TLS listener → upstream (times in ms)');
    for (const s of scenarios) {
      console.log(`${s.label} (${s.n} requests)`);
      console.log('  target                  p50      p99      ttfb p50  req/s     cpu/req  errors');
      targets.forEach((t, i) => {
        const r = mergeRuns(res[s.key]!.runs[i]!);
        const cpu = median(res[s.key]!.cpu[i]!);
        console.log(
          `  ${`${t.name} ${t.proto === 'h1' ? 'HTTP/1.1' : 'HTTP/2'}`.padEnd(22)}  ${ctx.fmt(r.p50).padStart(7)}  ${ctx.fmt(r.p99).padStart(7)}  ${ctx.fmt(r.ttfbP50).padStart(8)}  ${ctx.fmt(r.n / r.seconds, 0).padStart(7)}  ${ctx.fmt(cpu, 3).padStart(7)}  ${r.errors}`,
        );
      });
      if (s.key === 'c32') {
        const c = res[s.key]!.cpu;
        const per = (a: number[], b: number[]) => a.map((x, i) => (x / b[i]!).toFixed(2)).join(' ');
        console.log(`  CPU ratio per round: HTTP/1.1 ${per(c[1]!, c[0]!)}; HTTP/2 ${per(c[3]!, c[2]!)}`);
      }
      console.log('');
    }
    ctx.checks.push(['TLS listener CPU per cached-host handshake (resumed)', cpu.resumed, 2, 'ms']);
    ctx.checks.push(['TLS listener CPU per full handshake', cpu.full, 2, 'ms']);
    const c = res['c32']!.cpu;
    ctx.checks.push(['intercepted CPU/req vs node:https, HTTP/1.1', medianRatio(c[1]!, c[0]!), 1.3, '×']);
    ctx.checks.push(['intercepted CPU/req vs node:http2, HTTP/2', medianRatio(c[3]!, c[2]!), 1.3, '×']);
  } finally {
    for (const p of procs) p.stop();
  }
}
