// The Interceptor in process, against a scratch hosts file and a TLS listener on an ephemeral port
// (the end-to-end test covers the real /etc/hosts, port 443 and the passthrough, inside a namespace).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request as httpsRequest } from 'node:https';
import { startCore, provider, eventually } from '../helpers/core.js';
import { startMockUpstream } from '../helpers/mock-upstream.js';
import { ensureCa } from '../../main/tls/ca.js';
import { Interceptor } from '../../main/intercept/interceptor.js';
import { applyBlock, parseHosts } from '../../main/system/hosts.js';

function post(port: number, servername: string, ca: string, body: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port, servername, ca, method: 'POST', path: '/v1/messages', headers: { 'content-type': 'application/json', host: servername, 'x-api-key': 'client' }, agent: false, timeout: 5000 },
      (res) => {
        let data = '';
        res.on('data', (d) => (data += d));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: data }));
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end(body);
  });
}

const BODY = JSON.stringify({ model: 'claude-x', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] });

test('on: listener + block; routes by model; follows intercept_hosts changes; off: block removed, listener closed', async () => {
  const up = await startMockUpstream('mock');
  const toml = (hosts: string[]) => `intercept_hosts = ${JSON.stringify(hosts)}\n[daemon]\nlisten = "127.0.67.1:443"\n` + provider('mock', up.url, { 'claude-x': 'mock-claude' });
  const t = await startCore(toml(['api.anthropic.com', 'api.openai.com']));
  const hostsPath = join(t.home, 'hosts');
  const original = '127.0.0.1 localhost\r\n# keep me\r\n';
  writeFileSync(hostsPath, original);
  const ca = ensureCa(t.home, ['api.anthropic.com', 'api.openai.com']).ca;
  const ic = new Interceptor(t.core, { hostsPath, bind: '127.0.0.1:0' });
  try {
    await ic.start();
    assert.equal(t.core.status().intercept.state, 'on');
    const b = parseHosts(readFileSync(hostsPath, 'latin1'));
    assert.equal(b.length, 1);
    assert.equal(b[0]!.owner?.pid, process.pid);
    assert.equal(b[0]!.ip, '127.0.67.1');
    assert.deepEqual(b[0]!.hosts.sort(), ['api.anthropic.com', 'api.openai.com']);
    const port = ic.address!.port;
    const r = await post(port, 'api.anthropic.com', ca.certPem, BODY);
    assert.equal(r.status, 200, r.body);
    assert.equal(r.headers['x-router67-provider'], 'mock');
    assert.equal(JSON.parse(r.body).content[0].text, 'Hello from mock!');
    assert.equal(t.core.log.recent(1)[0]!.host, 'api.anthropic.com');
    await assert.rejects(post(port, 'www.example.com', ca.certPem, BODY));

    // Hot reload: a host dropped from intercept_hosts leaves the block and the listener.
    writeFileSync(t.configPath, toml(['api.openai.com']));
    assert.equal(await t.core.reload(), true);
    await eventually(() => assert.deepEqual(parseHosts(readFileSync(hostsPath, 'latin1'))[0]!.hosts, ['api.openai.com']));
    await assert.rejects(post(port, 'api.anthropic.com', ca.certPem, BODY));
    assert.equal((await post(port, 'api.openai.com', ca.certPem, BODY)).status, 200);
    // A host the CA does not cover is not intercepted (install must re-issue the CA first).
    writeFileSync(t.configPath, toml(['api.openai.com', 'api.mistral.ai']));
    assert.equal(await t.core.reload(), true);
    await ic.settled();
    assert.deepEqual(parseHosts(readFileSync(hostsPath, 'latin1'))[0]!.hosts, ['api.openai.com']);
    await assert.rejects(post(port, 'api.mistral.ai', ca.certPem, BODY));

    await ic.stop();
    assert.equal(readFileSync(hostsPath, 'latin1'), original);
    assert.equal(t.core.status().intercept.state, 'off');
    await assert.rejects(post(port, 'api.openai.com', ca.certPem, BODY));
    await ic.stop(); // idempotent
  } finally {
    await ic.stop().catch(() => {});
    await t.stop();
    await up.close();
  }
});

test('start removes a stale block first; without a CA it reports an error and leaves nothing behind', async () => {
  const t = await startCore(`intercept_hosts = ["api.anthropic.com"]\n`);
  const hostsPath = join(t.home, 'hosts');
  const original = '127.0.0.1 localhost\n';
  writeFileSync(hostsPath, applyBlock(original, { ip: '127.0.67.1', hosts: ['api.anthropic.com'], owner: { pid: 2 ** 30 } }));
  const ic = new Interceptor(t.core, { hostsPath, bind: '127.0.0.1:0' });
  try {
    await assert.rejects(ic.start(), /run "router67 install" first/);
    assert.equal(readFileSync(hostsPath, 'latin1'), original, 'stale block removed even though start failed');
    const st = t.core.status().intercept;
    assert.equal(st.state, 'error');
    assert.match(st.error!, /router67 install/);
    assert.equal(ic.running, false);
  } finally {
    await t.stop();
  }
});
