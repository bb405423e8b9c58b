// The app behind a connection, for real on Linux: child processes with known script names (a Node script, a
// Python script) call the plain endpoint; the log entry (and the JSONL line) names each by its script; a second
// request on the same connection reuses the lookup.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCore, provider, eventually } from '../helpers/core.js';
import { startMockUpstream } from '../helpers/mock-upstream.js';
import { skipUnless } from '../helpers/requires.js';

const run = (file: string, args: string[]) =>
  new Promise<string>((resolve, reject) => execFile(file, args, { timeout: 20_000 }, (err, out, errOut) => (err ? reject(new Error(`${err.message}\n${errOut}`)) : resolve(out))));

const NODE_CLIENT = `
const http = require('node:http');
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const body = JSON.stringify({ model: 'claude-x', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] });
function post() {
  return new Promise((resolve, reject) => {
    const req = http.request(process.argv[2] + '/v1/messages', { method: 'POST', agent, headers: { 'content-type': 'application/json', 'x-api-key': 'k' } }, (res) => {
      const port = res.socket.localPort;
      let d = ''; res.on('data', (c) => (d += c)); res.on('end', () => resolve(res.statusCode + ' ' + port));
    });
    req.on('error', reject);
    req.end(body);
  });
}
(async () => { console.log(await post()); console.log(await post()); agent.destroy(); })().catch((e) => { console.error(e); process.exit(1); });
`;

const PY_CLIENT = `
import http.client, json, sys
host, port = sys.argv[1].split(':')
c = http.client.HTTPConnection(host, int(port), timeout=10)
c.request('POST', '/v1/messages', json.dumps({'model': 'claude-x', 'max_tokens': 5, 'messages': [{'role': 'user', 'content': 'hi'}]}), {'content-type': 'application/json', 'x-api-key': 'k', 'user-agent': 'Python-urllib/3.11'})
r = c.getresponse(); r.read(); print(r.status)
`;

test('Linux: a Node script and a Python script calling the plain endpoint are named by their scripts in the log and JSONL', { skip: skipUnless({ linux: true, tools: ['python3'] }) }, async () => {
  const up = await startMockUpstream('mock');
  const t = await startCore(provider('mock', up.url, { 'claude-x': 'mock-claude' }));
  const dir = mkdtempSync(join(tmpdir(), 'r67-apps-'));
  try {
    writeFileSync(join(dir, 'acme-agent.js'), NODE_CLIENT);
    writeFileSync(join(dir, 'nightly_summary.py'), PY_CLIENT);
    const out = await run(process.execPath, [join(dir, 'acme-agent.js'), t.url]);
    const [a, b] = out.trim().split('\n');
    assert.match(a!, /^200 \d+$/);
    assert.equal(a, b, 'both requests on one connection');
    assert.equal((await run('python3', [join(dir, 'nightly_summary.py'), `127.0.0.1:${t.core.httpAddress.port}`])).trim(), '200');
    const entries = t.core.log.recent(3).reverse();
    assert.deepEqual(entries.map((e) => e.app), ['acme-agent.js', 'acme-agent.js', 'nightly_summary.py']);
    assert.equal(t.core.apps.stats.lookups, 2, 'one lookup per connection, not per request');
    assert.equal(t.core.apps.stats.found, 2);
    await t.core.log.close();
    const lines = readFileSync(join(t.home, 'logs', 'requests.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { app?: string });
    assert.deepEqual(lines.map((l) => l.app), ['acme-agent.js', 'acme-agent.js', 'nightly_summary.py']);
    // figures for the report
    const s = t.core.apps.stats;
    process.stdout.write(`# lookup per connection: mean ${(s.totalMs / s.lookups).toFixed(1)} ms, max ${s.maxMs.toFixed(1)} ms over ${s.lookups}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await t.stop();
    await up.close();
  }
});

test('Linux: identify_apps = false: no lookup, the User-Agent names the app', { skip: skipUnless({ linux: true, tools: ['python3'] }) }, async () => {
  const up = await startMockUpstream('mock');
  const t = await startCore(`[daemon]\nidentify_apps = false\n` + provider('mock', up.url, { 'claude-x': 'mock-claude' }));
  const dir = mkdtempSync(join(tmpdir(), 'r67-apps-'));
  try {
    writeFileSync(join(dir, 'nightly_summary.py'), PY_CLIENT);
    assert.equal((await run('python3', [join(dir, 'nightly_summary.py'), `127.0.0.1:${t.core.httpAddress.port}`])).trim(), '200');
    await eventually(() => assert.equal(t.core.log.recent(1)[0]?.app, 'Python-urllib'));
    assert.equal(t.core.apps.stats.lookups, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await t.stop();
    await up.close();
  }
});
