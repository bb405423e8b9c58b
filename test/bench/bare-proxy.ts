// Reference point for the benchmark: the barest useful node:http passthrough proxy (no routing, no logging).
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

const target = Number(process.env.BENCH_UPSTREAM_PORT);
const agent = new Agent({ keepAlive: true, maxSockets: 64 });
const server = createServer((req, res) => {
  const up = request({ host: '127.0.0.1', port: target, path: req.url, method: req.method, headers: req.headers, agent }, (r) => {
    res.writeHead(r.statusCode ?? 502, r.headers);
    r.pipe(res);
  });
  up.on('error', () => {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  });
  req.pipe(up);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`LISTEN ${(server.address() as AddressInfo).port}\n`);
});
