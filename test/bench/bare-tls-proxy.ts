// Reference point for the intercepted path: the barest TLS passthrough proxies node offers, with the same kind of
// certificate router67 serves (an ECDSA P-256 leaf from a router67 CA): node:https for HTTP/1.1 and node:http2 for
// HTTP/2, each forwarding to the upstream over a keep-alive node:http agent (no routing, no logging).
import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createSecureServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import { leafKeySync, loadCa, mintLeaf } from '../../main/tls/ca.js';

const target = Number(process.env.BENCH_UPSTREAM_PORT);
const agent = new Agent({ keepAlive: true, maxSockets: 64 });
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'host']);

function forward(method: string, path: string, headers: IncomingHttpHeaders, body: Readable, reply: (status: number, h: IncomingHttpHeaders) => NodeJS.WritableStream, fail: () => void): void {
  const h: IncomingHttpHeaders = {};
  for (const k of Object.keys(headers)) if (k[0] !== ':' && !HOP.has(k)) h[k] = headers[k];
  const up = request({ host: '127.0.0.1', port: target, path, method, headers: h, agent }, (r) => {
    const out: IncomingHttpHeaders = {};
    for (const k of Object.keys(r.headers)) if (!HOP.has(k)) out[k] = r.headers[k];
    r.pipe(reply(r.statusCode ?? 502, out));
  });
  up.on('error', fail);
  body.pipe(up);
}

async function main(): Promise<void> {
  const home = process.env.ROUTER67_HOME!;
  const ca = loadCa(home)!.ca;
  const leaf = leafKeySync();
  const cert = mintLeaf(ca, leaf, 'api.anthropic.com');
  const key = leaf.keyPem;
  const h1 = createHttpsServer({ key, cert, keepAliveTimeout: 60_000 }, (req, res) =>
    forward(req.method ?? 'GET', req.url ?? '/', req.headers, req, (s, h) => (res.writeHead(s, h), res), () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    }),
  );
  const h2 = createSecureServer({ key, cert }, (req, res) =>
    forward(req.method, req.url, req.headers, req, (s, h) => (res.writeHead(s, h), res as unknown as NodeJS.WritableStream), () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    }),
  );
  await new Promise<void>((r) => h1.listen(0, '127.0.0.1', r));
  await new Promise<void>((r) => h2.listen(0, '127.0.0.1', r));
  process.stdout.write(`LISTEN ${(h1.address() as AddressInfo).port} ${(h2.address() as AddressInfo).port}\n`);
}

main().catch((e: Error) => {
  console.error(e.stack ?? e.message);
  process.exit(1);
});
