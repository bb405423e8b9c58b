// TLS on the interception listener: a new host's first handshake (leaf minted + SecureContext built) and a cached one.
import { performance } from 'node:perf_hooks';
import { connect, createServer } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { createCa, generateLeafKey, LeafCertStore, parseCa } from '../../main/tls/ca.js';
import { pct } from './measure.js';
import type { BenchContext } from './sections.js';

function handshake(port: number, servername: string, ca: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const s = connect({ host: '127.0.0.1', port, servername, ca, ALPNProtocols: ['http/1.1'] }, () => {
      const ms = performance.now() - t0;
      s.destroy();
      resolve(ms);
    });
    s.on('error', reject);
  });
}

export async function tlsHandshakes(ctx: BenchContext): Promise<void> {
  const n = ctx.N(200);
  const hosts = Array.from({ length: n }, (_, i) => `h${i}.bench.example`);
  const spare = Array.from({ length: n }, (_, i) => `m${i}.bench.example`);
  const ca = createCa([...hosts, ...spare]);
  const loaded = parseCa(ca.certPem, ca.keyPem);
  const leaf = await generateLeafKey();
  const store = new LeafCertStore(loaded, hosts, leaf);
  const server = createServer({ SNICallback: store.SNICallback, ALPNProtocols: ['http/1.1'] }, (s) => s.end());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  try {
    // in-process cost of a new host's context (mint + createSecureContext), then of a cached lookup
    const mint: number[] = [];
    const cached: number[] = [];
    const store2 = new LeafCertStore(loaded, spare, leaf);
    for (const h of spare) {
      let t = performance.now();
      store2.contextFor(h);
      mint.push(performance.now() - t);
      t = performance.now();
      store2.contextFor(h);
      cached.push(performance.now() - t);
    }
    // full loopback handshakes: first for each host, then again
    const first: number[] = [];
    const again: number[] = [];
    for (const h of hosts) first.push(await handshake(port, h, ca.certPem));
    for (const h of hosts) again.push(await handshake(port, h, ca.certPem));
    for (const a of [mint, cached, first, again]) a.sort((x, y) => x - y);
    console.log(`TLS on the interception listener (${n} hosts), ms`);
    console.log(`  new host context (mint + SecureContext)  p50 ${ctx.fmt(pct(mint, 50))}  p99 ${ctx.fmt(pct(mint, 99))}`);
    console.log(`  cached host context                      p50 ${ctx.fmt(pct(cached, 50))}  p99 ${ctx.fmt(pct(cached, 99))}`);
    console.log(`  handshake, new host                      p50 ${ctx.fmt(pct(first, 50))}  p99 ${ctx.fmt(pct(first, 99))}`);
    console.log(`  handshake, cached host                   p50 ${ctx.fmt(pct(again, 50))}  p99 ${ctx.fmt(pct(again, 99))}\n`);
    // both ends of these handshakes run in this one process, so each figure carries the client's CPU too
    ctx.checks.push(['TLS handshake, new host p50 (both ends)', pct(first, 50), 20, 'ms']);
    ctx.checks.push(['TLS handshake, cached host p50 (both ends)', pct(again, 50), 2, 'ms']);
    ctx.checks.push(['TLS new host context p50 (mint + context)', pct(mint, 50), 20, 'ms']);
    ctx.checks.push(['TLS cached host context p50', pct(cached, 50), 2, 'ms']);
  } finally {
    server.close();
  }
}
