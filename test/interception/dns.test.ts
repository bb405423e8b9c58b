import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type AddressInfo } from 'node:net';
import { lookup } from 'node:dns/promises';
import { Agent, request } from 'undici';
import { createUpstreamLookup, defaultUpstreamServers } from '../../main/system/dns.js';
import { startDnsServer } from './dns-server.js';

function lookupP(fn: ReturnType<typeof createUpstreamLookup>, host: string, opts: object | number): Promise<unknown> {
  return new Promise((resolve, reject) => fn(host, opts, (err, address, family) => (err ? reject(err) : resolve(family === undefined ? address : { address, family }))));
}

test('intercepted names resolve through DNS, never the hosts file; other names use the system lookup', async () => {
  // "localhost" is in /etc/hosts (127.0.0.1); our DNS server says otherwise — the DNS answer must win.
  const dns = await startDnsServer({ localhost: ['127.0.99.7', '::7'] });
  try {
    const fn = createUpstreamLookup({ interceptHosts: ['LOCALHOST.'], servers: [dns.address] });
    assert.deepEqual(fn.servers, [dns.address]);
    assert.deepEqual(await lookupP(fn, 'localhost', { all: true }), [
      { address: '127.0.99.7', family: 4 },
      { address: '::7', family: 6 },
    ]);
    assert.deepEqual(await lookupP(fn, 'localhost', { family: 4 }), { address: '127.0.99.7', family: 4 });
    assert.deepEqual(await lookupP(fn, 'localhost', 6), { address: '::7', family: 6 });
    assert.ok(dns.queries.some((q) => q.name === 'localhost' && q.type === 1));
    // Cached: no new queries.
    const n = dns.queries.length;
    await lookupP(fn, 'localhost', {});
    assert.equal(dns.queries.length, n);
    // Not intercepted: the ordinary lookup (hosts file).
    fn.setInterceptHosts(['api.example.test']);
    const sys = await lookup('localhost', { family: 4 });
    assert.deepEqual(await lookupP(fn, 'localhost', { family: 4 }), { address: sys.address, family: 4 });
  } finally {
    await dns.close();
  }
});

test("an answer with only router67's own address is refused (a resolver that reads the hosts file)", async () => {
  const dns = await startDnsServer({ 'api.anthropic.com': ['127.0.67.1'], 'gone.example.test': [] });
  try {
    const fn = createUpstreamLookup({ interceptHosts: ['api.anthropic.com', 'missing.example.test'], servers: [dns.address], avoid: ['127.0.67.1'] });
    await assert.rejects(lookupP(fn, 'api.anthropic.com', { all: true }), (e: NodeJS.ErrnoException) => e.code === 'ELOOP' && /upstream_dns/.test(e.message));
    await assert.rejects(lookupP(fn, 'missing.example.test', {}), (e: NodeJS.ErrnoException) => e.code === 'ENOTFOUND');
  } finally {
    await dns.close();
  }
});

test('works as the lookup of net.connect and of an undici Agent', async () => {
  const dns = await startDnsServer({ 'api.anthropic.com': ['127.0.0.1'] });
  const tcp = createServer((c) => c.end('tcp-ok'));
  await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
  const port = (tcp.address() as AddressInfo).port;
  const http = (await import('node:http')).createServer((req, res) => res.end(`http-ok ${req.headers.host}`));
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const hport = (http.address() as AddressInfo).port;
  const fn = createUpstreamLookup({ interceptHosts: ['api.anthropic.com'], servers: [dns.address] });
  const agent = new Agent({ connect: { lookup: fn as never } });
  try {
    const got = await new Promise<string>((resolve, reject) => {
      const s = connect({ host: 'api.anthropic.com', port, lookup: fn as never });
      let d = '';
      s.on('data', (x) => (d += x));
      s.on('end', () => resolve(d));
      s.on('error', reject);
    });
    assert.equal(got, 'tcp-ok');
    const res = await request(`http://api.anthropic.com:${hport}/x`, { dispatcher: agent });
    assert.equal(await res.body.text(), `http-ok api.anthropic.com:${hport}`);
  } finally {
    await agent.close();
    tcp.close();
    http.close();
    await dns.close();
  }
});

test("systemd-resolved's stub is replaced by its upstream servers", () => {
  const files: Record<string, string> = {
    '/etc/resolv.conf': '# stub\nnameserver 127.0.0.53\noptions edns0\n',
    '/run/systemd/resolve/resolv.conf': 'nameserver 192.0.2.1\nnameserver 2001:db8::1\n',
  };
  const read = (p: string) => files[p];
  if (process.platform === 'linux') {
    assert.deepEqual(defaultUpstreamServers(read, ['127.0.0.53']), ['192.0.2.1', '2001:db8::1']);
    assert.deepEqual(defaultUpstreamServers(() => 'nameserver 10.0.0.1\n', ['10.0.0.1']), ['10.0.0.1']);
  }
});
