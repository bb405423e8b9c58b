// The daemon validates config.toml in a child process so zod never enters its own memory (idle-memory target):
// the child gives exactly what parseConfig gives (every default applied, the same issues: file, line, key path,
// message), hot reload reports the same errors, and a core started that way has not loaded zod.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, parseConfig, type ConfigIssue } from '../../main/config/load.js';
import { parseConfigOffThread } from '../../main/config/offthread.js';
import { eventually, provider, startCore, tempHome } from '../helpers/core.js';

const file = '/tmp/c.toml';

function inProcess(text: string): { config?: unknown; issues?: ConfigIssue[]; message?: string } {
  try {
    return { config: parseConfig(text, file) };
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    return { issues: e.issues, message: e.message };
  }
}

async function offThread(text: string): Promise<{ config?: unknown; issues?: ConfigIssue[]; message?: string }> {
  try {
    return { config: await parseConfigOffThread(text, file) };
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return { issues: e.issues, message: e.message };
  }
}

describe('config validated off-thread', () => {
  const texts: [string, string][] = [
    ['the empty file (every default)', ''],
    ['a provider with models, extra headers and unknown keys', provider('alpha', 'https://api.example.com', { m: 'alpha-m', 'claude-x': 'y' }, 'extra_headers = { "anthropic-version" = "2023-06-01" }\nfuture_key = 1') + '\n[daemon]\nmax_connections = 8\n'],
    ['a TOML syntax error', '[daemon]\nlog_level = "info\n'],
    ['schema errors', `[daemon]\nlog_level = "loud"\n\n[[providers]]\nname = "a"\nbase_url = "ftp://x"\n[providers.available_models]\nm = 3\n`],
    ['a missing field', '[[providers]]\nname = "a"\n'],
  ];
  for (const [what, text] of texts) {
    it(`gives what parseConfig gives: ${what}`, async () => {
      assert.deepEqual(await offThread(text), inProcess(text));
    });
  }

  it('hot reload on a core that validates off-thread keeps the last good config and reports file, line and key', async () => {
    const t = await startCore(provider('alpha', 'http://127.0.0.1:9', { m: 'alpha-m' }), { validateOffThread: true });
    try {
      const good = t.core.config;
      const reported = new Promise<ConfigIssue[]>((r) => t.core.once('config-error', r));
      writeFileSync(t.configPath, provider('alpha', 'nonsense', { m: 'alpha-m' }));
      const issues = await reported;
      assert.deepEqual(
        issues.map((i) => ({ file: i.file, line: i.line, path: i.path })),
        [{ file: t.configPath, line: 4, path: 'providers[0].base_url' }],
      );
      assert.equal(t.core.config, good, 'the last good config keeps running');
      const changed = new Promise((r) => t.core.once('config', r));
      writeFileSync(t.configPath, provider('beta', 'http://127.0.0.1:9', { m: 'beta-m' }));
      await changed;
      assert.equal(t.core.config.providers[0]!.name, 'beta');
      await eventually(() => assert.equal(t.core.status().configErrors.length, 0));
    } finally {
      await t.stop();
    }
  });

  it('a core that validates off-thread has not loaded zod', () => {
    const home = tempHome();
    writeFileSync(join(home, 'config.toml'), provider('alpha', 'http://127.0.0.1:9', { m: 'alpha-m' }));
    const script = `
const { Core } = require(${JSON.stringify(join(__dirname, '../../main/core/core.js'))});
const { silentLogger } = require(${JSON.stringify(join(__dirname, '../../main/log/logger.js'))});
const zod = () => Object.keys(require.cache).some((k) => /[\\\\/]node_modules[\\\\/]zod[\\\\/]/.test(k));
(async () => {
  const core = await Core.start({ home: process.argv[1], httpListen: '127.0.0.1:0', logger: silentLogger, env: {}, admin: false, watch: false, validateOffThread: true });
  console.log(JSON.stringify({ zod: zod(), providers: core.config.providers.length, maxConnections: core.config.daemon.max_connections }));
  await core.stop({ drainMs: 100 });
})().catch((e) => { console.error(e); process.exit(1); });
`;
    const r = spawnSync(process.execPath, ['-e', script, home], { encoding: 'utf8', timeout: 20_000 });
    rmSync(home, { recursive: true, force: true });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { zod: boolean; providers: number; maxConnections: number };
    assert.deepEqual(out, { zod: false, providers: 1, maxConnections: parseConfig('', file).daemon.max_connections });
  });
});
