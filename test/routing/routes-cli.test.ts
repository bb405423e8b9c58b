// router67 route --explain (from the file, and from a running daemon), router67 schema, the #:schema directive the
// install seed carries, and the Routes editor's TOML round trip (comments, unknown keys, order).
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'smol-toml';
import { install } from '../../main/intercept/setup.js';
import { planRoutesEdit, loadRoutesState } from '../../main/config/routes-edit.js';
import { revisionOf } from '../../main/config/save.js';

const CLI = join(__dirname, '..', '..', 'main', 'cli', 'index.js');
const run = (args: string[], env: NodeJS.ProcessEnv, input?: string) =>
  spawnSync(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 20_000, input });

const CONFIG = `# top comment
[[providers]]
name = "main"
base_url = "http://127.0.0.1:9"
[providers.available_models]
"claude-3-5-haiku-latest" = "main-haiku"

[[providers]]
name = "cheap"
base_url = "http://127.0.0.1:9"

# the background route
[[routes]]
name = "background"
match = { model = "claude-*-haiku-*" }   # haiku-class
to = [{ provider = "cheap", model = "small" }, "main"]
x_future = 1

[[routes]]
name = "long"
match = { min_input_tokens = 60000 }
to = ["main"]
`;

const BODY = JSON.stringify({ model: 'claude-3-5-haiku-latest', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] });

function waitFor(child: ChildProcess, re: RegExp, ms = 15_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re}; got:\n${out}`)), ms);
    const on = (d: Buffer) => {
      out += d.toString();
      if (re.test(out)) {
        clearTimeout(timer);
        resolve(out);
      }
    };
    child.stdout?.on('data', on);
    child.stderr?.on('data', on);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code}; got:\n${out}`));
    });
  });
}

describe('router67 route --explain and router67 schema', () => {
  it('explains from config.toml without a daemon, and from the running daemon with live state', async () => {
    const home = mkdtempSync(join(tmpdir(), 'r67-routes-cli-'));
    const env = { ROUTER67_HOME: home };
    try {
      writeFileSync(join(home, 'config.toml'), CONFIG);
      writeFileSync(join(home, 'body.json'), BODY);
      const r = run(['route', '--explain', join(home, 'body.json')], env);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /route: +background \(strategy fallback\)/);
      assert.match(r.stdout, /1\. cheap → small +\[rule\] +ready/);
      assert.match(r.stdout, /2\. main → main-haiku/);
      assert.match(r.stdout, /daemon is not running/);
      const j = run(['route', '--explain', '-', '--json', '--path', '/v1/messages'], env, BODY);
      assert.equal(j.status, 0, j.stderr);
      assert.equal((JSON.parse(j.stdout) as { route: string }).route, 'background');
      assert.equal(run(['route'], env).status, 2);
      assert.equal(run(['route', '--explain', join(home, 'config.toml')], env).status, 1, 'not JSON');

      const child = spawn(process.execPath, [CLI, 'daemon', '--listen', '127.0.0.1:0', '--no-intercept'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      try {
        await waitFor(child, /listening on http:\/\/127\.0\.0\.1:\d+/);
        const live = run(['route', '--explain', join(home, 'body.json'), '--json'], env);
        assert.equal(live.status, 0, live.stderr);
        const res = JSON.parse(live.stdout) as { route: string; targets: { state: string; inFlight?: number }[]; notes: string[] };
        assert.equal(res.route, 'background');
        assert.equal(res.targets[0]!.inFlight, 0, 'live state from the daemon');
        assert.match(res.targets[0]!.state, /ready, not used yet/);
        assert.ok(!res.notes.some((n) => /not running/.test(n)), res.notes.join('; '));
      } finally {
        child.kill('SIGTERM');
        await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
      }
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('schema prints the JSON Schema of the config (routes included); --write puts it in the home', () => {
    const home = mkdtempSync(join(tmpdir(), 'r67-schema-'));
    try {
      const r = run(['schema'], { ROUTER67_HOME: home });
      assert.equal(r.status, 0, r.stderr);
      const s = JSON.parse(r.stdout) as { properties: Record<string, { items?: { properties?: Record<string, unknown> } }> };
      assert.ok(s.properties.providers);
      assert.deepEqual(Object.keys(s.properties.routes!.items!.properties!).sort(), ['hedge', 'match', 'name', 'strategy', 'to']);
      const w = run(['schema', '--write'], { ROUTER67_HOME: home });
      assert.equal(w.status, 0, w.stderr);
      assert.deepEqual(JSON.parse(readFileSync(join(home, 'config.schema.json'), 'utf8')), s);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('install writes the schema into the home and seeds the config with the #:schema directive', async () => {
    const home = mkdtempSync(join(tmpdir(), 'r67-setup-schema-'));
    try {
      await install({ home, platform: 'win32', exec: async () => ({ code: 0, stdout: '{"ok":true,"op":"batch"}\n', stderr: '' }) });
      const text = readFileSync(join(home, 'config.toml'), 'utf8');
      assert.equal(text.split('\n')[0], '#:schema ./config.schema.json');
      assert.equal(existsSync(join(home, 'config.schema.json')), true);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});

describe('the Routes editor: TOML round trip', () => {
  it('an edit re-emits only the changed route; comments, unknown keys and other tables stay byte for byte', () => {
    const dir = mkdtempSync(join(tmpdir(), 'r67-routes-edit-'));
    try {
      const file = join(dir, 'config.toml');
      writeFileSync(file, CONFIG);
      const st = loadRoutesState(file);
      assert.deepEqual(st.providers, ['main', 'cheap']);
      assert.equal(st.routes[0]!.to, '[ { provider = "cheap", model = "small" }, "main" ]');
      // change the second route, move it first; add a third
      const routes = [{ ...st.routes[1]!, to: '["cheap", "main"]', strategy: 'round-robin' as const }, st.routes[0]!, { name: 'img', match: '{ has_images = true }', to: '["main"]', strategy: '' as const }];
      const plan = planRoutesEdit(CONFIG, file, { revision: revisionOf(CONFIG), routes });
      assert.ok(plan.ok, JSON.stringify(!plan.ok && plan.issues));
      const out = plan.text;
      assert.ok(out.startsWith('# top comment\n[[providers]]'), out);
      assert.ok(out.includes('# the background route\n[[routes]]\nname = "background"\nmatch = { model = "claude-*-haiku-*" }   # haiku-class'), out);
      const doc = parse(out) as { routes: Record<string, unknown>[] };
      assert.deepEqual(
        doc.routes.map((r) => [r.name, r.strategy ?? null]),
        [
          ['long', 'round-robin'],
          ['background', null],
          ['img', null],
        ],
      );
      assert.equal(doc.routes[1]!.x_future, 1);
      // validation names the field
      const bad = planRoutesEdit(CONFIG, file, { revision: revisionOf(CONFIG), routes: [{ ...st.routes[0]!, to: '["nobody"]' }, { ...st.routes[1]!, match: '{ model = ' }] });
      assert.ok(!bad.ok);
      assert.deepEqual(
        bad.issues.map((i) => i.path),
        [['routes', 1, 'match']],
        'TOML syntax first',
      );
      const bad2 = planRoutesEdit(CONFIG, file, { revision: revisionOf(CONFIG), routes: [{ ...st.routes[0]!, to: '["nobody"]' }] });
      assert.ok(!bad2.ok);
      assert.deepEqual(bad2.issues[0]!.path, ['routes', 0, 'to']);
      assert.match(bad2.issues[0]!.message, /^to\[0\]: no provider is named "nobody"/);
      // removing every route drops the key
      const none = planRoutesEdit(CONFIG, file, { revision: revisionOf(CONFIG), routes: [] });
      assert.ok(none.ok);
      assert.equal((parse(none.text) as { routes?: unknown }).routes, undefined);
      assert.ok(none.text.includes('"claude-3-5-haiku-latest" = "main-haiku"'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
