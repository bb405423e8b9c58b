// TLS on the interception listener: a new host's first handshake (leaf minted + SecureContext built), a cached
// host's full handshake and a cached host's resumed one (TLS 1.3 session ticket), with the ECDSA P-256 leaf key
// router67 uses and, for comparison, the RSA-2048 leaf key it used before (same RSA CA for both).
import { generateKeyPairSync } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { connect, createSecureContext, createServer, type SecureContext, type Server } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { createCa, generateLeafKey, LeafCertStore, leafKeySync, parseCa, type LeafKey, type LoadedCa } from '../../main/tls/ca.js';
import { pct } from './measure.js';
import type { BenchContext } from './sections.js';

type Session = Buffer | undefined;

/**
 * One handshake; resolves with its time and the session ticket the server sent (waited for). The client's trust
 * (router67's CA) is one SecureContext made once, as a real client holds its trust store (Claude Code the OS
 * store, Codex its rustls roots, Node NODE_EXTRA_CA_CERTS): a `ca` option instead parses the CA again on every
 * connect, and this bench's CA names all 800 test hosts, which made that parse most of the resumed figure.
 */
function handshake(port: number, servername: string, trust: SecureContext, session?: Buffer): Promise<{ ms: number; reused: boolean; session: Session }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let ms = 0;
    let reused = false;
    let ticket: Session;
    const s = connect({ host: '127.0.0.1', port, servername, secureContext: trust, ALPNProtocols: ['h2', 'http/1.1'], ...(session ? { session } : {}) }, () => {
      ms = performance.now() - t0;
      reused = s.isSessionReused();
    });
    s.on('session', (t: Buffer) => (ticket ??= t));
    // its tickets arrive before its end
    s.on('data', () => {});
    s.on('end', () => {
      s.destroy();
      resolve({ ms, reused, session: ticket });
    });
    s.on('error', reject);
  });
}

async function listen(store: LeafCertStore): Promise<{ server: Server; port: number }> {
  // the server writes before it ends, as an HTTP server does: OpenSSL sends TLS 1.3 session tickets with the first write
  const server = createServer({ SNICallback: store.SNICallback, ALPNProtocols: ['h2', 'http/1.1'] }, (s) => s.end('x'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port };
}

interface Figures {
  mint: number[];
  cached: number[];
  first: number[];
  full: number[];
  resumed: number[];
  notResumed: number;
}

async function measure(ca: LoadedCa, caPem: string, leaf: LeafKey, hosts: string[], spare: string[]): Promise<Figures> {
  const f: Figures = { mint: [], cached: [], first: [], full: [], resumed: [], notResumed: 0 };
  // warm-up: the first mints run cold (JIT, lazy node-forge)
  const warm = new LeafCertStore(ca, spare, leaf);
  for (const h of spare.slice(0, 20)) warm.contextFor(h);
  const store2 = new LeafCertStore(ca, spare, leaf);
  for (const h of spare) {
    let t = performance.now();
    store2.contextFor(h);
    f.mint.push(performance.now() - t);
    t = performance.now();
    store2.contextFor(h);
    f.cached.push(performance.now() - t);
  }
  const { server, port } = await listen(new LeafCertStore(ca, hosts, leaf));
  const trust = createSecureContext({ ca: caPem });
  try {
    const tickets = new Map<string, Session>();
    for (const h of hosts) {
      const r = await handshake(port, h, trust);
      f.first.push(r.ms);
      tickets.set(h, r.session);
    }
    for (const h of hosts) f.full.push((await handshake(port, h, trust)).ms);
    for (const h of hosts) {
      const r = await handshake(port, h, trust, tickets.get(h));
      if (r.reused) f.resumed.push(r.ms);
      else f.notResumed++;
    }
  } finally {
    server.close();
  }
  for (const a of [f.mint, f.cached, f.first, f.full, f.resumed]) a.sort((x, y) => x - y);
  return f;
}

export async function tlsHandshakes(ctx: BenchContext): Promise<void> {
  const n = ctx.N(200);
  const names = (p: string) => Array.from({ length: n }, (_, i) => `${p}${i}.bench.example`);
  const files = createCa([...names('e'), ...names('f'), ...names('r'), ...names('s')]);
  const ca = parseCa(files.certPem, files.keyPem);
  const ecdsa = await measure(ca, files.certPem, await generateLeafKey(), names('e'), names('f'));
  const rsa = await measure(ca, files.certPem, leafKeySync(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey), names('r'), names('s'));
  console.log(`TLS on the interception listener (${n} hosts; client and server in this one process), ms p50 / p99`);
  console.log('                                            ECDSA P-256 leaf      RSA-2048 leaf (before)');
  const row = (label: string, k: keyof Omit<Figures, 'notResumed'>) =>
    console.log(
      `  ${label.padEnd(40)}  ${`${ctx.fmt(pct(ecdsa[k], 50))} / ${ctx.fmt(pct(ecdsa[k], 99))}`.padEnd(20)}  ${ctx.fmt(pct(rsa[k], 50))} / ${ctx.fmt(pct(rsa[k], 99))}`,
    );
  row('new host context (mint + SecureContext)', 'mint');
  row('cached host context', 'cached');
  row('handshake, new host', 'first');
  row('handshake, cached host, full', 'full');
  row('handshake, cached host, resumed', 'resumed');
  console.log(`  resumption refused: ECDSA ${ecdsa.notResumed}/${n}, RSA ${rsa.notResumed}/${n}\n`);
  // both ends of these handshakes run in this one process, so each figure carries the client's CPU too
  ctx.checks.push(['TLS handshake, new host p50 (both ends)', pct(ecdsa.first, 50), 20, 'ms']);
  ctx.checks.push(['TLS handshake, cached host resumed p50 (both ends)', pct(ecdsa.resumed, 50), 2, 'ms']);
  ctx.checks.push(['TLS resumption refused', ecdsa.notResumed, 0, 'handshakes']);
  ctx.checks.push(['TLS new host context p50 (mint + context)', pct(ecdsa.mint, 50), 20, 'ms']);
  ctx.checks.push(['TLS cached host context p50', pct(ecdsa.cached, 50), 2, 'ms']);
}
