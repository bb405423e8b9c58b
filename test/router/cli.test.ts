// The CLI as a user runs it: a real daemon process, status over the admin endpoint, signals, exit codes.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { provider } from '../helpers/core.js';
import { startMockUpstream, type MockUpstream } from '../helpers/mock-upstream.js';

const CLI = join(__dirname, '..', '..', 'main', 'cli', 'index.js');

function run(args: string[], env: NodeJS.ProcessEnv) {
  return spawnSync(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 15_000 });
}

function waitFor(child: ChildProcess, re: RegExp, ms = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re}; got:\n${out}`)), ms);
    const on = (d: Buffer) => {
      out += d.toString();
      const m = re.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(out);
      }
    };
    child.stdout?.on('data', on);
    child.stderr?.on('data', on);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code} before ${re}; got:\n${out}`));
    });
  });
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((r) => (child.exitCode !== null ? r(child.exitCode) : child.once('exit', (c) => r(c))));
}

describe('router67 CLI', () => {
  let home: string;
  let up: MockUpstream;
  let env: NodeJS.ProcessEnv;
  before(async () => {
    home = mkdtempSync(join(tmpdir(), 'router67-cli-'));
    up = await startMockUpstream('alpha');
    env = { ROUTER67_HOME: home };
  });
  after(async () => {
    await up.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('prints help and per-command help; unknown commands and options are usage errors', () => {
    const h = run(['--help'], env);
    assert.equal(h.status, 0);
    assert.match(h.stdout, /Commands:[\s\S]*daemon[\s\S]*status/);
    const d = run(['daemon', '--help'], env);
    assert.equal(d.status, 0);
    assert.match(d.stdout, /--config PATH/);
    assert.equal(run(['frobnicate'], env).status, 2);
    const bad = run(['status', '--bogus'], env);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /bogus/);
  });

  it('status says when no daemon runs (exit 3)', () => {
    const s = run(['status'], env);
    assert.equal(s.status, 3);
    assert.match(s.stdout, /not running/);
    assert.deepEqual(JSON.parse(run(['status', '--json'], env).stdout), { running: false });
  });

  it('a broken config fails the start with file, line and key (exit 78)', () => {
    const cfg = join(home, 'broken.toml');
    writeFileSync(cfg, '[daemon]\nmax_connections = -1\n');
    const r = run(['daemon', '--config', cfg, '--listen', '127.0.0.1:0', '--no-intercept'], env);
    assert.equal(r.status, 78);
    assert.match(r.stderr, new RegExp(`${cfg.replace(/[.]/g, '\\.')}:2: daemon\\.max_connections: `));
  });

  it('refuses a non-loopback plain endpoint unless opted in', () => {
    const r = run(['daemon', '--listen', '0.0.0.0:0', '--no-intercept'], env);
    assert.equal(r.status, 78);
    assert.match(r.stderr, /not a loopback address.*allow_non_loopback/);
  });

  it('runs, routes, reports status over the token-protected admin endpoint, and drains on SIGTERM', async () => {
    const cfg = join(home, 'config.toml');
    up.mode = 'ok';
    writeFileSync(cfg, provider('alpha', up.url, { 'gpt-x': 'alpha-gpt' }));
    const child = spawn(process.execPath, [CLI, 'daemon', '--listen', '127.0.0.1:0', '--no-intercept'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const out = await waitFor(child, /listening on http:\/\/(127\.0\.0\.1:\d+)/);
      const addr = /listening on http:\/\/(127\.0\.0\.1:\d+)/.exec(out)![1]!;
      const tokenFile = join(home, 'run', 'admin.token');
      assert.equal(statSync(tokenFile).mode & 0o777, 0o600);

      const s = run(['status', '--json'], env);
      assert.equal(s.status, 0, s.stderr);
      const st = JSON.parse(s.stdout) as { running: boolean; http: { address: string }; providers: { name: string }[] };
      assert.equal(st.running, true);
      assert.equal(st.http.address, addr);
      assert.deepEqual(st.providers.map((p) => p.name), ['alpha']);
      assert.match(run(['status'], env).stdout, /alpha\s+passthrough\s+auth ok · gpt-x/);

      // a second daemon on the same home refuses to start
      const second = run(['daemon', '--listen', '127.0.0.1:0', '--no-intercept'], env);
      assert.equal(second.status, 1);
      assert.match(second.stderr, /already running/);

      // the admin endpoint wants the token and a loopback Host
      const admin = (JSON.parse(s.stdout) as { admin: { url: string } }).admin.url;
      assert.equal((await fetch(`${admin}/api/status`)).status, 401);
      assert.equal((await fetch(`${admin}/api/status`, { headers: { authorization: 'Bearer wrong' } })).status, 401);

      // a slow stream in flight when SIGTERM arrives still completes
      up.words = Array.from({ length: 40 }, (_, i) => ` w${i}`);
      const client = new OpenAI({ baseURL: `http://${addr}/v1`, apiKey: 'x', maxRetries: 0 });
      const stream = client.chat.completions.stream({ model: 'gpt-x', messages: [{ role: 'user', content: 'hi' }] });
      await new Promise<void>((r) => stream.once('content', () => r()));
      child.kill('SIGTERM');
      const final = await stream.finalChatCompletion();
      assert.equal(final.choices[0]?.message.content?.trim().split(/\s+/).length, 40);
      assert.equal(await exited(child), 0);
      assert.equal(existsSync(join(home, 'run', 'daemon.json')), false);
      assert.equal(run(['status'], env).status, 3);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
