// First run without a terminal's help: the starting config from the environment's keys and a running Ollama
// (a local stand-in answering /api/tags), `router67 init`, the no-config daemon message, and install's refused
// prompt leaving nothing behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseConfig } from '../../main/config/load.js';
import { ConfigExistsError, detectStarter, offered, probeOllama, starterToml, writeNewConfig } from '../../main/config/starter.js';
import { install } from '../../main/intercept/setup.js';
import { mockOllama } from '../helpers/mock-ollama.js';
import type { Exec } from '../../main/system/truststore.js';

const root = resolve(__dirname, '..', '..', '..');
const CLI = join(root, 'dist', 'main', 'cli', 'index.js');

const KEYS = { ANTHROPIC_API_KEY: 'sk-ant-secret-value-1', OPENROUTER_API_KEY: 'sk-or-secret-value-2', GEMINI_API_KEY: 'gm-secret-3', OPENAI_API_KEY: '  ' };

test('detection: keys set in the environment, Ollama\'s models; the config refers to variables and holds no key', async () => {
  const ollama = await mockOllama(['qwen3:8b', 'llama3.2:latest']);
  try {
    const d = await detectStarter({ env: KEYS, ollamaUrl: ollama.url });
    const found = Object.fromEntries(d.entries.map((e) => [e.id, e.found]));
    assert.equal(found['env:ANTHROPIC_API_KEY'], true);
    assert.equal(found['env:OPENROUTER_API_KEY'], true);
    assert.equal(found['env:OPENAI_API_KEY'], false, 'blank is not set');
    assert.equal(found['env:DEEPSEEK_API_KEY'], false);
    assert.equal(found.ollama, true);
    assert.deepEqual(d.ollama.models, ['llama3.2:latest', 'qwen3:8b']);
    // Gemini is found but not offered (its path cannot be expressed as a base URL)
    assert.deepEqual(offered(d).map((e) => e.provider), ['anthropic', 'openrouter', 'ollama']);

    const all = starterToml(d, offered(d).map((e) => e.id));
    const cfg = parseConfig(all.text, 'starter.toml');
    assert.deepEqual(cfg.providers.map((p) => p.name), ['anthropic', 'openrouter', 'ollama']);
    assert.equal(cfg.providers[0]!.auth?.value_env, 'ANTHROPIC_API_KEY');
    assert.equal(cfg.providers[1]!.auth?.value_env, 'OPENROUTER_API_KEY');
    assert.equal(cfg.providers[2]!.auth, undefined, 'a local Ollama gets no credential');
    assert.equal(cfg.providers[2]!.format, 'ollama');
    assert.equal(cfg.providers[2]!.base_url, ollama.url);
    assert.deepEqual(Object.keys(cfg.providers[2]!.available_models), ['llama3.2:latest', 'qwen3:8b']);
    for (const v of Object.values(KEYS)) if (v.trim()) assert.ok(!all.text.includes(v), 'no key value in the file');

    // unticked entries stay out; ids not offered are ignored
    const some = starterToml(d, ['ollama', 'env:GEMINI_API_KEY', 'env:DEEPSEEK_API_KEY']);
    assert.deepEqual(some.providers, ['ollama']);
    assert.deepEqual(parseConfig(starterToml(d, []).text, 'x.toml').providers, []);
  } finally {
    await ollama.close();
  }
});

test('Ollama: not running, not Ollama, and never a non-loopback address', async () => {
  const gone = await mockOllama([]);
  const url = gone.url;
  await gone.close();
  assert.deepEqual(await probeOllama(url), { url, running: false, models: [], detail: 'not running' });
  const other = createServer((_q, r) => r.writeHead(200, { 'content-type': 'text/html' }).end('<html>'));
  await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
  try {
    const r = await probeOllama(`http://127.0.0.1:${(other.address() as AddressInfo).port}`);
    assert.equal(r.running, false);
    assert.match(r.detail!, /not Ollama/);
  } finally {
    await new Promise((r) => other.close(r));
  }
  assert.equal((await probeOllama('http://192.0.2.1:11434')).detail, 'only a loopback address is probed');
});

test('writeNewConfig: atomic, 0600, never over an existing file unless forced', () => {
  const dir = mkdtempSync(join(tmpdir(), 'r67-starter-'));
  try {
    const file = join(dir, 'sub', 'config.toml');
    writeNewConfig(file, 'a = 1\n');
    assert.equal(readFileSync(file, 'utf8'), 'a = 1\n');
    if (process.platform !== 'win32') assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.throws(() => writeNewConfig(file, 'b = 2\n'), ConfigExistsError);
    assert.equal(readFileSync(file, 'utf8'), 'a = 1\n', 'kept');
    writeNewConfig(file, 'b = 2\n', { force: true });
    assert.equal(readFileSync(file, 'utf8'), 'b = 2\n');
    assert.deepEqual(readdirSync(join(dir, 'sub')), ['config.toml'], 'no temp file left');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('install: a refused prompt leaves nothing behind (no seeded config, no CA)', async () => {
  const home = mkdtempSync(join(tmpdir(), 'r67-setup-'));
  try {
    let prompts = 0;
    const exec: Exec = async (argv) => {
      if (argv[0] === 'osascript') {
        prompts++;
        return { code: 1, stdout: '', stderr: 'execution error: User canceled. (-128)' };
      }
      return { code: 1, stdout: '', stderr: '' };
    };
    await assert.rejects(install({ home, platform: 'darwin', exec, elevate: { privileged: false, exec } }), (e: Error & { refused?: boolean }) => e.refused === true);
    assert.equal(prompts, 1);
    assert.equal(existsSync(join(home, 'config.toml')), false);
    assert.equal(existsSync(join(home, 'ca')), false);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

function run(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((res) => {
    const p = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? '', HOME: env.HOME ?? tmpdir(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('exit', (code) => res({ code, out, err }));
  });
}

test('router67 init: prints what it found, writes the starting config, refuses to overwrite without --force', async () => {
  const home = mkdtempSync(join(tmpdir(), 'r67-init-'));
  const ollama = await mockOllama(['qwen3:8b']);
  try {
    const env = { ROUTER67_HOME: home, HOME: home, ANTHROPIC_API_KEY: 'sk-ant-secret-value-1', DEEPSEEK_API_KEY: 'ds-secret' };
    const r = await run(['init', '--ollama', ollama.url, '--skip', 'deepseek'], env);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /yes {2}ANTHROPIC_API_KEY \(Anthropic\)/);
    assert.match(r.out, /no {3}OPENAI_API_KEY \(OpenAI\)/);
    assert.match(r.out, new RegExp(`yes  Ollama at ${ollama.url.replace(/[.]/g, '\\.')}: qwen3:8b`));
    assert.match(r.out, /Providers: anthropic, ollama/);
    assert.match(r.out, /wrote .*config\.toml/);
    const text = readFileSync(join(home, 'config.toml'), 'utf8');
    assert.deepEqual(parseConfig(text, 'c.toml').providers.map((p) => p.name), ['anthropic', 'ollama']);
    assert.ok(!text.includes('sk-ant-secret-value-1') && !text.includes('ds-secret'));

    const again = await run(['init', '--ollama', ollama.url], env);
    assert.equal(again.code, 1);
    assert.match(again.err, /already exists; nothing was written \(use --force/);
    assert.equal(readFileSync(join(home, 'config.toml'), 'utf8'), text, 'untouched');

    const forced = await run(['init', '--ollama', ollama.url, '--only', 'deepseek', '--force'], env);
    assert.equal(forced.code, 0, forced.err);
    assert.deepEqual(parseConfig(readFileSync(join(home, 'config.toml'), 'utf8'), 'c.toml').providers.map((p) => p.name), ['deepseek']);

    const dry = await run(['init', '--ollama', ollama.url, '--dry-run', '--config', join(home, 'other.toml')], env);
    assert.equal(dry.code, 0);
    assert.match(dry.out, /value_env = "ANTHROPIC_API_KEY"/);
    assert.equal(existsSync(join(home, 'other.toml')), false);

    const bad = await run(['init', '--only', 'nosuch'], env);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /unknown provider "nosuch"/);
  } finally {
    await ollama.close();
    rmSync(home, { recursive: true, force: true });
  }
});

test('router67 daemon with no config says how to get one, and that interception is not set up (not a failure)', async () => {
  const home = mkdtempSync(join(tmpdir(), 'r67-noconf-'));
  const p = spawn(process.execPath, [CLI, 'daemon', '--listen', '127.0.0.1:0'], {
    env: { PATH: process.env.PATH ?? '', HOME: home, ROUTER67_HOME: home },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    let out = '';
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    await new Promise<void>((res, rej) => {
      p.stdout.on('data', (d) => {
        out += d;
        if (/listening on/.test(out)) res();
      });
      p.on('exit', (c) => rej(new Error(`daemon exited ${c}: ${err}`)));
    });
    assert.match(out, /no config at .*config\.toml yet: running with no providers/);
    assert.match(out, /router67 init {5}writes a starting config/);
    assert.match(out, /interception is not set up yet \(no local CA\): run "router67 install"/);
    assert.doesNotMatch(err, /interception is off/);
    const code = await new Promise<number | null>((res) => {
      p.on('exit', (c) => res(c));
      p.kill('SIGTERM');
    });
    assert.equal(code, 0);
  } finally {
    if (p.exitCode === null) p.kill('SIGKILL');
    rmSync(home, { recursive: true, force: true });
  }
});

test('Set up interception asks once: install\'s privileged steps go in the prompt that writes the hosts block (Linux)', async (t) => {
  const { compose } = await import('../../main/app/compose.js');
  const { silentLogger } = await import('../../main/log/logger.js');
  const { SecretStore } = await import('../../main/secrets/store.js');
  const { decodeArgs } = await import('../../main/system/helper.js');
  const { systemAdapter } = await import('../../main/system/truststore.js');
  const home = mkdtempSync(join(tmpdir(), 'r67-fold-'));
  t.after(() => rmSync(home, { recursive: true, force: true }));
  writeFileSync(join(home, 'hosts'), '127.0.0.1 localhost\n');
  const prompts: string[][] = [];
  let answer: 'accept' | 'refuse' = 'refuse';
  const exec: Exec = async (argv) => {
    if (argv[0] !== 'pkexec') return { code: 1, stdout: '', stderr: '' };
    prompts.push(argv);
    if (answer === 'refuse') return { code: 126, stdout: '', stderr: 'Error executing command as another user: Not authorized' };
    const op = argv.at(-2);
    const result = op === 'batch' ? { ok: true, op, detail: [{ ok: true, op: 'trust-ca' }, { ok: true, op: 'apply-hosts', detail: { changed: true } }] } : { ok: true, op };
    return { code: 0, stdout: JSON.stringify(result) + '\n', stderr: '' };
  };
  const parts = await compose({
    ui: 'daemon',
    home,
    env: {},
    httpListen: '127.0.0.1:0',
    logger: silentLogger,
    hostsPath: join(home, 'hosts'),
    bind: '127.0.0.1:0',
    caCheck: false,
    openSecrets: async () => SecretStore.none('test'),
    elevate: { privileged: false, platform: 'linux', exec },
    install: { platform: 'linux', nss: false, exec },
  });
  t.after(() => parts.stop({ drainMs: 10 }));
  assert.equal(parts.interception.setupInfo().needed, true);

  await assert.rejects(parts.interception.setup(), (e: Error & { refused?: boolean }) => e.refused === true);
  assert.equal(prompts.length, 1, 'one prompt');
  assert.deepEqual(parts.core.status().intercept.state, 'off', 'refused is not a failure');
  assert.equal(parts.interception.address, undefined, 'no listener left');
  assert.equal(existsSync(join(home, 'ca')), false, 'the CA it created went again');
  assert.equal(existsSync(join(home, 'config.toml')), false, 'the config it seeded went again');
  assert.equal(parts.interception.setupInfo().needed, true);

  answer = 'accept';
  await parts.interception.setup();
  assert.equal(prompts.length, 2, 'one more prompt, for everything');
  const last = prompts[1]!;
  const trusts = systemAdapter({ platform: 'linux' })?.admin === true;
  if (trusts) {
    assert.equal(last.at(-2), 'batch');
    const { ops } = decodeArgs(last.at(-1)!) as { ops: { op: string; args: { hosts?: string[]; ip?: string } }[] };
    assert.deepEqual(ops.map((o) => o.op), ['trust-ca', 'apply-hosts']);
    assert.deepEqual(ops[1]!.args.hosts, ['api.anthropic.com', 'api.openai.com', 'openrouter.ai']);
    assert.equal(ops[1]!.args.ip, '127.0.67.1');
  } else {
    assert.equal(last.at(-2), 'apply-hosts', 'no system store to trust in: only the block needs the prompt');
  }
  assert.equal(parts.core.status().intercept.state, 'on');
  assert.equal(parts.interception.setupInfo().needed, false);
  assert.ok(parts.interception.address, 'the TLS listener runs');
});
