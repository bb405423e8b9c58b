// Runs INSIDE a private network namespace (tls-ns.test.ts starts it with `unshare --net --fork`): the TLS listener
// on 127.0.67.1:443 as interception binds it, and child processes with known script names calling it over
// HTTP/1.1 and HTTP/2; the log names each by its script. Then the same behind the nftables rule of redirect mode
// (listener on 127.0.67.1:18443, clients dial :443): named too, each client's row found by the dialled address.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCore, provider } from '../helpers/core.js';
import { startMockUpstream } from '../helpers/mock-upstream.js';
import { ensureCa } from '../../main/tls/ca.js';
import { Interceptor } from '../../main/intercept/interceptor.js';
import { linuxRedirectOff, linuxRedirectOn } from '../../main/system/redirect.js';
import { onPath } from '../../main/system/truststore.js';

const H1 = `
const https = require('node:https');
const [ca, n] = [require('node:fs').readFileSync(process.argv[2], 'utf8'), 2];
const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca, servername: 'api.anthropic.com' });
const body = JSON.stringify({ model: 'claude-x', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] });
const post = () => new Promise((resolve, reject) => {
  const req = https.request({ host: '127.0.67.1', port: 443, path: '/v1/messages', method: 'POST', agent, headers: { host: 'api.anthropic.com', 'content-type': 'application/json', 'x-api-key': 'k' } }, (res) => {
    res.resume(); res.on('end', () => resolve(res.statusCode));
  });
  req.on('error', reject); req.end(body);
});
(async () => { for (let i = 0; i < n; i++) console.log(await post()); agent.destroy(); })().catch((e) => { console.error(e); process.exit(1); });
`;

const H2 = `
const http2 = require('node:http2');
const ca = require('node:fs').readFileSync(process.argv[2], 'utf8');
const s = http2.connect('https://api.anthropic.com', { ca, servername: 'api.anthropic.com', lookup: (h, o, cb) => o && o.all ? cb(null, [{ address: '127.0.67.1', family: 4 }]) : cb(null, '127.0.67.1', 4) });
const body = JSON.stringify({ model: 'claude-x', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] });
const post = () => new Promise((resolve, reject) => {
  const r = s.request({ ':method': 'POST', ':path': '/v1/messages', 'content-type': 'application/json', 'x-api-key': 'k' });
  let status = 0; r.on('response', (h) => (status = h[':status'])); r.resume(); r.on('end', () => resolve(status)); r.on('error', reject); r.end(body);
});
(async () => { console.log(await post()); console.log(await post()); s.close(); })().catch((e) => { console.error(e); process.exit(1); });
`;

const run = (file: string, args: string[]) =>
  new Promise<string>((resolve, reject) => execFile(file, args, { timeout: 20_000 }, (err, out, errOut) => (err ? reject(new Error(`${err.message}\n${errOut}`)) : resolve(out))));

/**
 * A core intercepting api.anthropic.com (`daemon` is its [daemon] table) with the listener the interceptor options
 * give; `redirect` first puts the nftables rule of redirect mode in place. The HTTP/1.1 and HTTP/2 agents each call
 * it twice over one connection; the log must name both by their scripts, with one lookup per connection. `check`
 * then looks further at the core; everything is stopped and removed after.
 */
async function agentsNamed(
  daemon: string,
  opts: { bind?: string; redirect?: { ip: string; toPort: number }; port: number },
  check: (t: Awaited<ReturnType<typeof startCore>>) => void,
): Promise<void> {
  execFileSync('ip', ['link', 'set', 'lo', 'up']);
  const up = await startMockUpstream('mock');
  const t = await startCore(`intercept_hosts = ["api.anthropic.com"]\n[daemon]\n${daemon}` + provider('mock', up.url, { 'claude-x': 'mock-claude' }));
  const dir = mkdtempSync(join(tmpdir(), 'r67-tls-apps-'));
  const hostsPath = join(dir, 'hosts');
  writeFileSync(hostsPath, '127.0.0.1 localhost\n');
  const ca = ensureCa(t.home, ['api.anthropic.com']).ca;
  writeFileSync(join(dir, 'ca.pem'), ca.certPem);
  const ic = new Interceptor(t.core, { hostsPath, ...(opts.bind ? { bind: opts.bind } : {}) });
  try {
    if (opts.redirect) await linuxRedirectOn(opts.redirect);
    await ic.start();
    assert.equal(ic.address!.port, opts.port);
    writeFileSync(join(dir, 'tls-agent.js'), H1);
    writeFileSync(join(dir, 'h2_agent.js'), H2);
    assert.deepEqual((await run(process.execPath, [join(dir, 'tls-agent.js'), join(dir, 'ca.pem')])).trim().split('\n'), ['200', '200']);
    assert.deepEqual((await run(process.execPath, [join(dir, 'h2_agent.js'), join(dir, 'ca.pem')])).trim().split('\n'), ['200', '200']);
    const entries = t.core.log.recent(4).reverse();
    assert.deepEqual(entries.map((e) => [e.host, e.app]), [
      ['api.anthropic.com', 'tls-agent.js'],
      ['api.anthropic.com', 'tls-agent.js'],
      ['api.anthropic.com', 'h2_agent.js'],
      ['api.anthropic.com', 'h2_agent.js'],
    ]);
    assert.equal(t.core.apps.stats.lookups, 2, 'once per connection / HTTP/2 session');
    check(t);
  } finally {
    await ic.stop().catch(() => {});
    if (opts.redirect) await linuxRedirectOff().catch(() => false);
    await t.stop();
    await up.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('TLS listener on 127.0.67.1:443: HTTP/1.1 and HTTP/2 clients named by their scripts, one lookup per connection', () =>
  agentsNamed('listen = "127.0.67.1:443"\n', { bind: '127.0.67.1:443', port: 443 }, (t) => {
    const s = t.core.apps.stats;
    console.log(`TLS lookups: mean ${(s.totalMs / s.lookups).toFixed(1)} ms, max ${s.maxMs.toFixed(1)} ms`);
  }));

test('redirect mode (nftables 127.0.67.1:443 -> :18443): clients named, their rows found by the dialled address', { skip: onPath('nft') ? false : 'missing command nft (apt-get install nftables)' }, () =>
  agentsNamed('listen = "127.0.67.1:443"\nredirect_port = 18443\n', { redirect: { ip: '127.0.67.1', toPort: 18443 }, port: 18443 }, (t) => {
    const lp = t.core.apps.linux!;
    assert.deepEqual([lp.stats.dialled, lp.stats.fallbacks], [2, 0], 'each client row found exactly by 127.0.67.1:443, none taken as a fallback');
    const s = t.core.apps.stats;
    console.log(`TLS lookups (redirect mode): mean ${(s.totalMs / s.lookups).toFixed(1)} ms, max ${s.maxMs.toFixed(1)} ms; table bytes ${lp.stats.tableBytes} in ${lp.stats.tableReads} reads`);
  }));
