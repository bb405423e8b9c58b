// `router67 usage` and `router67 logs` as a user runs them, against a real daemon process routing to a local upstream.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { provider } from '../helpers/core.js';
import { startMockUpstream, type MockUpstream } from '../helpers/mock-upstream.js';
import { parseSince } from '../../main/cli/usage.js';
import { formatLine } from '../../main/cli/logs.js';

const CLI = join(__dirname, '..', '..', 'main', 'cli', 'index.js');

function run(args: string[], env: NodeJS.ProcessEnv) {
  return spawnSync(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 15_000 });
}

/** Resolves with everything printed so far once `re` matches (stdout). */
function waitFor(child: ChildProcess, re: RegExp, ms = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re}; got:\n${out}`)), ms);
    const on = (d: Buffer) => {
      out += d.toString();
      if (re.test(out)) {
        clearTimeout(timer);
        child.stdout?.off('data', on);
        resolve(out);
      }
    };
    child.stdout?.on('data', on);
    child.stderr?.on('data', on);
  });
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((r) => (child.exitCode !== null ? r(child.exitCode) : child.once('exit', (c) => r(c))));
}

async function call(addr: string, model: string): Promise<number> {
  const r = await fetch(`http://${addr}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': 'test-agent' },
    body: JSON.stringify({ model, max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
  });
  await r.text();
  return r.status;
}

describe('router67 usage and router67 logs', () => {
  let home: string;
  let env: NodeJS.ProcessEnv;
  let a: MockUpstream;
  let b: MockUpstream;
  let daemon: ChildProcess;
  let addr: string;

  before(async () => {
    home = mkdtempSync(join(tmpdir(), 'router67-usage-cli-'));
    env = { ROUTER67_HOME: home, NO_COLOR: '' };
    a = await startMockUpstream('alpha');
    b = await startMockUpstream('beta');
    writeFileSync(join(home, 'config.toml'), `[daemon]\nlog_level = "warn"\n${provider('alpha', a.url, { 'm-a': 'alpha-up' })}${provider('beta', b.url, { 'm-b': 'beta-up' })}`);
    daemon = spawn(process.execPath, [CLI, 'daemon', '--listen', '127.0.0.1:0', '--no-intercept'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = await waitFor(daemon, /listening on http:\/\/(127\.0\.0\.1:\d+)/);
    addr = /listening on http:\/\/(127\.0\.0\.1:\d+)/.exec(out)![1]!;
  });

  after(async () => {
    daemon?.kill('SIGTERM');
    if (daemon) await exited(daemon);
    await a?.close();
    await b?.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('logs --follow prints one line per finished request, filtered by provider, as they finish', async () => {
    const follow = spawn(process.execPath, [CLI, 'logs', '--follow', '--provider', 'beta'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      // the stream is open once the daemon has answered (the comment line is not printed): give it a request to see
      await new Promise((r) => setTimeout(r, 0));
      let seen = '';
      const got = waitFor(follow, /beta\/beta-up/);
      // requests until the follower is connected and has printed the beta one
      for (let i = 0; i < 50 && !seen; i++) {
        assert.equal(await call(addr, 'm-a'), 200);
        assert.equal(await call(addr, 'm-b'), 200);
        seen = await Promise.race([got, new Promise<string>((r) => setTimeout(() => r(''), 200))]);
      }
      // the app column names the process behind the connection: this test file (main/procinfo)
      assert.match(seen, /^\d\d:\d\d:\d\d {2}cli\.test\.js {3}200 {2}beta\/beta-up {2}ttfb \d+ ms {2}\d+ ms/m);
      assert.doesNotMatch(seen, /alpha/, 'filtered on the daemon side');
      assert.doesNotMatch(seen, /\x1b\[/, 'no colours when stdout is not a TTY');
    } finally {
      follow.kill('SIGINT');
      assert.equal(await exited(follow), 0);
    }
    // without --follow: the recent ones, then it exits
    const recent = run(['logs', '-n', '3', '--provider', 'alpha'], env);
    assert.equal(recent.status, 0, recent.stderr);
    const lines = recent.stdout.trim().split('\n');
    assert.ok(lines.length >= 1 && lines.length <= 3, recent.stdout);
    for (const l of lines) assert.match(l, /alpha\/alpha-up/);
  });

  it('usage reads the history: text, --json and --csv agree with what was routed', async () => {
    // the daemon writes in batches (every 250 ms): wait until every request so far is in the database
    const status = () => JSON.parse(run(['status', '--json'], env).stdout) as { requests: { total: number } };
    const total = status().requests.total;
    let j: { totals: { requests: number; costUsd: number | null }; byProvider: { key: string; requests: number }[] } | undefined;
    for (let i = 0; i < 50; i++) {
      const r = run(['usage', '--json'], env);
      assert.equal(r.status, 0, r.stderr);
      j = JSON.parse(r.stdout);
      if (j!.totals.requests === total) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(j!.totals.requests, total);
    assert.equal(j!.totals.costUsd, null, 'no prices configured: cost unknown, not 0');
    const betaCount = j!.byProvider.find((g) => g.key === 'beta')!.requests;
    assert.ok(betaCount >= 1);

    const csv = run(['usage', '--since', '7d', '--by', 'provider', '--csv'], env);
    assert.equal(csv.status, 0, csv.stderr);
    const rows = csv.stdout.trim().split('\n');
    assert.equal(rows[0], 'provider,requests,errors,input_tokens,output_tokens,cache_read_tokens,cache_write_tokens,reasoning_tokens,cost_usd');
    assert.ok(rows.includes(`beta,${betaCount},0,${betaCount * b.usage.input},${betaCount * b.usage.output},0,0,0,`), csv.stdout);

    const text = run(['usage', '--by', 'model'], env);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`^requests ${total} \\(0 failed\\)`, 'm'));
    assert.match(text.stdout, /^beta-up\s+\d+/m);
    assert.match(text.stdout, /cost —/);

    const bad = run(['usage', '--by', 'colour'], env);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--by: expected one of app, provider, model, route/);
    assert.equal(run(['usage', '--since', 'yesterday'], env).status, 2);
  });

  it('parses --since and formats a line with colours on a TTY', () => {
    const now = new Date(2026, 10, 20, 15, 30).getTime();
    assert.equal(parseSince('today', now), new Date(2026, 10, 20).getTime());
    assert.equal(parseSince('7d', now), new Date(2026, 10, 14).getTime());
    assert.equal(parseSince('12h', now), now - 12 * 3_600_000);
    assert.equal(parseSince('2026-11-01', now), new Date(2026, 10, 1).getTime());
    const line = formatLine(
      { id: 'x', startedAt: new Date(now).toISOString(), dialect: 'anthropic', method: 'POST', path: '/v1/messages', state: 'error', stream: true, attempts: 2, status: 502, provider: 'p', upstreamModel: 'm', app: 'Codex', error: 'all failed' },
      true,
    );
    assert.match(line, /\x1b\[31m502\x1b\[0m/);
    assert.match(line, /Codex/);
    assert.match(line, /2 attempts/);
  });
});
