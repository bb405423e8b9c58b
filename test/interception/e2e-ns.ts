// The end-to-end interception test. Runs INSIDE a private mount + network namespace (started by e2e.test.ts
// with `unshare --mount --net --fork`): /etc/hosts and the Debian trust-store folders are bind-mounted copies,
// the network is an isolated loopback, so the machine itself is never touched.
//
// Cast: a tiny DNS server (the "real DNS", used through [daemon] upstream_dns), a TLS stand-in for the real
// origins on 127.0.99.1:443 (its own CA, trusted by the daemon through NODE_EXTRA_CA_CERTS), local mock
// providers over plain HTTP, the router67 CLI (install, daemon, status, doctor, uninstall) and unmodified
// clients: curl trusting the OS store, the official SDKs with default base URLs + NODE_EXTRA_CA_CERTS.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer, type Server } from 'node:https';
import { dirname, join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { createCa, LeafCertStore, leafKeySync, parseCa } from '../../main/tls/ca.js';
import { parseHosts } from '../../main/system/hosts.js';
import { startDnsServer, type DnsServer } from './dns-server.js';
import { startMockUpstream, type MockUpstream } from '../helpers/mock-upstream.js';
import { startAgentUpstream, type AgentUpstream } from '../clients/agent-upstream.js';
import { checkTwoTurns, describeTurns } from '../clients/checks.js';
import { CLAUDE_BIN, CODEX_BIN, clientsMissing, clientsRequired, runClient, tail } from '../clients/harness.js';
import { bundleContains } from '../../main/system/truststore.js';

const ROOT = join(__dirname, '..', '..', '..');
const CLI = join(ROOT, 'dist', 'main', 'cli', 'index.js');
const CLIENT = join(__dirname, 'e2e-client.js');
const HOSTS = ['api.anthropic.com', 'api.openai.com', 'openrouter.ai'];
const ORIGIN_IP = '127.0.99.1';
const NOBODY = 65534;

// ---- namespace setup --------------------------------------------------------------------------------

const base = mkdtempSync('/tmp/r67-e2e-');
chmodSync(base, 0o755);
const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: 'pipe' });
sh('mount', ['--make-rprivate', '/']);
sh('ip', ['link', 'set', 'lo', 'up']);
function bind(path: string, isDir: boolean, empty = false): string {
  const copy = join(base, 'mnt', path.replace(/\//g, '_'));
  mkdirSync(join(base, 'mnt'), { recursive: true });
  if (isDir) {
    if (empty || !existsSync(path)) mkdirSync(copy, { recursive: true });
    else cpSync(path, copy, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
  } else writeFileSync(copy, readFileSync(path));
  if (!isDir) chmodSync(copy, statSync(path).mode & 0o7777);
  if (isDir && !existsSync(path)) mkdirSync(path, { recursive: true });
  sh('mount', ['--bind', copy, path]);
  return copy;
}
const hostsCopy = bind('/etc/hosts', false);
bind('/etc/ssl/certs', true);
bind('/usr/local/share/ca-certificates', true);
bind('/etc/ca-certificates.conf', false);
bind('/etc/ca-certificates/update.d', true, true); // no hooks (Java's would touch dpkg state outside)

/** Every file's bytes and every link's target under a folder. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string, rel: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = lstatSync(p);
      const r = rel ? `${rel}/${name}` : name;
      if (st.isSymbolicLink()) out[r] = `link:${readlinkSync(p)}`;
      else if (st.isDirectory()) walk(p, r);
      else out[r] = `file:${(st.mode & 0o777).toString(8)}:${createHash('sha256').update(readFileSync(p)).digest('hex')}`;
    }
  };
  walk(dir, '');
  return out;
}
const trustSnapshot = () => ({ certs: snapshot('/etc/ssl/certs'), local: snapshot('/usr/local/share/ca-certificates') });
const hostsBefore = readFileSync('/etc/hosts');
const trustBefore = trustSnapshot();

// ---- the cast ----------------------------------------------------------------------------------------

interface OriginRequest {
  host: string;
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}
const originRequests: OriginRequest[] = [];
let origin: Server;
let dns: DnsServer;
let primary: MockUpstream;
let secondary: MockUpstream;
let agent: AgentUpstream;
const originCaFile = join(base, 'origin-ca.pem');
const children = new Set<ChildProcess>();

async function startCast(): Promise<void> {
  // The stand-in for the real api.anthropic.com / api.openai.com / openrouter.ai.
  const files = createCa(HOSTS);
  writeFileSync(originCaFile, files.certPem, { mode: 0o644 });
  const store = new LeafCertStore(parseCa(files.certPem, files.keyPem), HOSTS, leafKeySync());
  origin = createHttpsServer({ SNICallback: store.SNICallback }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const host = (req.socket as TLSSocket).servername || '';
      const body = Buffer.concat(chunks).toString('utf8');
      originRequests.push({ host, method: req.method ?? '', path: req.url ?? '', headers: req.headers, body });
      const h = { 'content-type': 'application/json', 'x-origin': 'stand-in', 'request-id': 'req_origin' };
      if (req.method === 'GET' && req.url?.startsWith('/v1/models')) {
        res.writeHead(200, h);
        res.end(
          host === 'api.openai.com'
            ? JSON.stringify({ object: 'list', data: [{ id: 'origin-gpt', object: 'model', created: 0, owned_by: 'origin' }] })
            : JSON.stringify({ data: [{ type: 'model', id: 'origin-claude', display_name: 'Origin', created_at: '2025-01-01T00:00:00Z' }], has_more: false, first_id: 'origin-claude', last_id: 'origin-claude' }),
        );
        return;
      }
      if (req.method === 'GET' && /^\/api\/claude_code\/(settings|policy_limits)/.test(req.url ?? '')) {
        // what Claude Code asks api.anthropic.com for first (passed through by router67): nothing configured
        res.writeHead(404, h);
        res.end(JSON.stringify({ type: 'error', error: { type: 'not_found_error', message: 'Not found' } }));
        return;
      }
      if (req.method === 'POST' && req.url === '/v1/messages') {
        const model = (JSON.parse(body) as { model?: string }).model;
        res.writeHead(200, h);
        res.end(JSON.stringify({ id: 'msg_origin', type: 'message', role: 'assistant', model, content: [{ type: 'text', text: 'hello from the real origin' }], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 3, output_tokens: 5 } }));
        return;
      }
      res.writeHead(404, h);
      res.end(JSON.stringify({ error: { message: `origin: nothing at ${req.url}` } }));
    });
  });
  await new Promise<void>((r) => origin.listen(443, ORIGIN_IP, r));
  dns = await startDnsServer(Object.fromEntries(HOSTS.map((h) => [h, [ORIGIN_IP]])));
  primary = await startMockUpstream('primary', '500');
  secondary = await startMockUpstream('secondary', 'ok');
  agent = await startAgentUpstream();
}

function config(extra = ''): string {
  return `intercept_hosts = ${JSON.stringify(HOSTS)}

[daemon]
listen = "127.0.67.1:443"
http_listen = "127.0.0.1:6767"
upstream_dns = ["${dns.address}"]
drain_timeout_ms = 1000
${extra}

[[providers]]
name = "primary"
base_url = "${primary.url}"
auth = { header = "x-api-key", value_env = "PRIMARY_KEY" }
[providers.available_models]
"claude-sonnet-4.6" = "mock-claude-primary"

[[providers]]
name = "secondary"
base_url = "${secondary.url}"
auth = { header = "Authorization", prefix = "Bearer ", value_env = "SECONDARY_KEY" }
[providers.available_models]
"claude-sonnet-4.6" = "mock-claude"
"gpt-5" = "mock-gpt"

# the real clients' default models (Claude Code, Codex), to the scripted agent upstream
[[providers]]
name = "agent-anthropic"
base_url = "${agent.url}"
format = "anthropic"
auth = { header = "x-api-key", value_env = "PRIMARY_KEY" }
[providers.available_models]
"claude-opus-5-5" = "up-anthropic"
"claude-haiku-4-5" = "up-anthropic"

[[providers]]
name = "agent-responses"
base_url = "${agent.url}"
format = "responses"
auth = { header = "Authorization", prefix = "Bearer ", value_env = "SECONDARY_KEY" }
[providers.available_models]
"gpt-5.5" = "up-responses"
`;
}

// ---- process helpers ---------------------------------------------------------------------------------

function baseEnv(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, ROUTER67_HOME: home, HOME: join(base, 'userhome'), LANG: 'C' };
  return env;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 30_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

const cli = (home: string, ...args: string[]) => run(process.execPath, [CLI, ...args], baseEnv(home));

interface Daemon {
  child: ChildProcess;
  pid: number;
  out: () => string;
  exited: Promise<number | null>;
}

async function startDaemon(home: string, opts: { asNobody?: boolean } = {}): Promise<Daemon> {
  const env = { ...baseEnv(home), NODE_EXTRA_CA_CERTS: originCaFile, PRIMARY_KEY: 'key-primary', SECONDARY_KEY: 'key-secondary' };
  const argv = [process.execPath, CLI, 'daemon'];
  const child = opts.asNobody
    ? spawn('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', ...argv], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => (children.delete(child), r(code))));
  const deadline = Date.now() + 20_000;
  while (!/listening on http:\/\//.test(out)) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`daemon did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.match(out, /intercepting api\.anthropic\.com, api\.openai\.com, openrouter\.ai on https:\/\/127\.0\.67\.1:443/, out);
  return { child, pid: child.pid!, out: () => out, exited };
}

async function stopDaemon(d: Daemon, signal: NodeJS.Signals): Promise<number | null> {
  d.child.kill(signal);
  const t = setTimeout(() => d.child.kill('SIGKILL'), 10_000);
  const code = await d.exited;
  clearTimeout(t);
  return code;
}

function client(home: string, spec: Record<string, unknown>): Promise<Record<string, unknown>> {
  const env = { PATH: process.env.PATH, HOME: join(base, 'userhome'), NODE_EXTRA_CA_CERTS: join(home, 'ca', 'ca.crt') };
  return run(process.execPath, [CLIENT, JSON.stringify(spec)], env, 30_000).then((r) => {
    try {
      return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
    } catch {
      return { ok: false, error: `client crashed: ${r.stderr}` };
    }
  });
}

const MESSAGES_BODY = JSON.stringify({ model: 'claude-sonnet-4.6', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] });

async function curlMessages(): Promise<{ code: number | null; json: Record<string, unknown>; headers: string }> {
  const r = await run('curl', ['-sS', '--max-time', '15', '-D', '-', 'https://api.anthropic.com/v1/messages', '-H', 'x-api-key: client-key', '-H', 'anthropic-version: 2023-06-01', '-H', 'content-type: application/json', '-d', MESSAGES_BODY], { PATH: process.env.PATH }, 20_000);
  const [headers, body] = r.stdout.split(/\r\n\r\n/, 2) as [string, string | undefined];
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(body ?? '') as Record<string, unknown>;
  } catch {
    json = { raw: r.stdout, stderr: r.stderr };
  }
  return { code: r.code, json, headers };
}

function blocks() {
  return parseHosts(readFileSync('/etc/hosts', 'latin1'));
}

/** Live (not zombie) `router67 helper watch` processes guarding `ownerPid`'s block, from /proc. */
function watchdogsOf(ownerPid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      const i = argv.indexOf('watch');
      if (i < 1 || argv[i - 1] !== 'helper' || !argv[i + 1]?.startsWith('b64:')) continue;
      const stat = readFileSync(`/proc/${name}/stat`, 'latin1');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      const a = JSON.parse(Buffer.from(argv[i + 1]!.slice(4), 'base64url').toString('utf8')) as { owner?: { pid?: number } };
      if (a.owner?.pid === ownerPid) out.push(Number(name));
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

/** Polls until `check` holds; returns the milliseconds from `since`. Fails after `limitMs`. */
async function until(check: () => boolean, since: number, limitMs: number, what: string): Promise<number> {
  for (;;) {
    if (check()) return Date.now() - since;
    if (Date.now() - since > limitMs) assert.fail(`${what}: not within ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Power loss: the watchdog and the daemon die at once, neither cleans up. */
async function killWithWatchdog(d: Daemon): Promise<void> {
  const w = watchdogsOf(d.pid);
  assert.equal(w.length, 1, 'one watchdog guards the block');
  process.kill(w[0]!, 'SIGKILL');
  await stopDaemon(d, 'SIGKILL');
  await until(() => watchdogsOf(d.pid).length === 0, Date.now(), 5000, 'the killed watchdog is gone');
}

after(async () => {
  for (const c of children) c.kill('SIGKILL');
  origin?.closeAllConnections();
  origin?.close();
  await dns?.close();
  await primary?.close();
  await secondary?.close();
  await agent?.close();
  // The bind mounts vanish with the namespace; their sources (and everything else here) go now.
  rmSync(base, { recursive: true, force: true });
});

// ---- the scenario --------------------------------------------------------------------------------------

const home = join(base, 'home');
const home2 = join(base, 'home-unprivileged');

test('setup: stand-in origin, DNS, mock providers', async () => {
  mkdirSync(join(base, 'userhome'), { recursive: true });
  await startCast();
  mkdirSync(home, { recursive: true });
});

test('install: CA created, trusted by the OS store, bundle written; running it again changes nothing', async () => {
  writeFileSync(join(home, 'config.toml'), config());
  const r = await cli(home, 'install');
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /created the router67 CA/);
  assert.match(r.stdout, /done: trust-ca/);
  assert.equal(statSync(join(home, 'ca', 'ca.key')).mode & 0o777, 0o600);
  assert.ok(existsSync('/usr/local/share/ca-certificates/router67.crt'));
  const bundle = readFileSync('/etc/ssl/certs/ca-certificates.crt', 'utf8');
  // the store gets the checked certificate re-encoded (line endings may differ from ca.crt's): compared as base64
  assert.ok(bundleContains(bundle, readFileSync(join(home, 'ca', 'ca.crt'), 'utf8')), 'the CA is in the system bundle');
  const again = await cli(home, 'install');
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /already trusted/);
  assert.doesNotMatch(again.stdout, /administrator rights needed/);
  assert.deepEqual(blocks(), [], 'install does not touch the hosts file');
});

test('daemon (root, :443): curl, both official SDKs, passthrough, status, doctor; SIGTERM leaves no block', async () => {
  const d = await startDaemon(home);
  try {
    const b = blocks();
    assert.equal(b.length, 1);
    assert.equal(b[0]!.owner?.pid, d.pid);
    assert.deepEqual([...b[0]!.hosts].sort(), [...HOSTS].sort());

    // curl, no flags about certificates: it trusts the OS store.
    const c = await curlMessages();
    assert.equal(c.code, 0, JSON.stringify(c.json));
    assert.equal((c.json.content as { text: string }[])[0]!.text, 'Hello from secondary!');
    assert.match(c.headers, /x-router67-provider: secondary/i);
    // The chain: primary answered 500, secondary served; each got its own key, never the client's.
    assert.equal(primary.requests.at(-1)!.headers['x-api-key'], 'key-primary');
    assert.equal(secondary.requests.at(-1)!.headers.authorization, 'Bearer key-secondary');
    assert.equal(secondary.requests.at(-1)!.json!.model, 'mock-claude');

    // The official SDKs with default base URLs.
    const a1 = await client(home, { sdk: 'anthropic', op: 'create', model: 'claude-sonnet-4.6', apiKey: 'client-key' });
    assert.deepEqual([a1.ok, a1.text, a1.provider], [true, 'Hello from secondary!', 'secondary'], JSON.stringify(a1));
    const a2 = await client(home, { sdk: 'anthropic', op: 'stream', model: 'claude-sonnet-4.6', apiKey: 'client-key' });
    assert.deepEqual([a2.ok, a2.text], [true, 'Hello from secondary!'], JSON.stringify(a2));
    const o1 = await client(home, { sdk: 'openai', op: 'create', model: 'gpt-5', apiKey: 'sk-client' });
    assert.deepEqual([o1.ok, o1.text, o1.provider], [true, 'Hello from secondary!', 'secondary'], JSON.stringify(o1));
    const o2 = await client(home, { sdk: 'openai', op: 'stream', model: 'gpt-5', apiKey: 'sk-client' });
    assert.deepEqual([o2.ok, o2.text], [true, 'Hello from secondary!'], JSON.stringify(o2));

    // An unconfigured model and other paths go to the real origin, unchanged, with the client's own key.
    const before = originRequests.length;
    const p1 = await client(home, { sdk: 'anthropic', op: 'create', model: 'claude-unconfigured-1', apiKey: 'client-own-key' });
    assert.deepEqual([p1.ok, p1.text, p1.origin, p1.provider], [true, 'hello from the real origin', 'stand-in', null], JSON.stringify(p1));
    const seen = originRequests[before]!;
    assert.equal(seen.host, 'api.anthropic.com');
    assert.equal(seen.path, '/v1/messages');
    // (this SDK version sends the key as a bearer token; whichever header it used arrives as it was)
    assert.equal(seen.headers['x-api-key'] ?? String(seen.headers.authorization).replace(/^Bearer /, ''), 'client-own-key', JSON.stringify(seen.headers));
    assert.equal(JSON.parse(seen.body).model, 'claude-unconfigured-1');
    const m1 = await client(home, { sdk: 'openai', op: 'models', apiKey: 'sk-client-own' });
    assert.deepEqual(m1, { ok: true, ids: ['origin-gpt'] });
    assert.equal(originRequests.at(-1)!.headers.authorization, 'Bearer sk-client-own');
    assert.equal(originRequests.at(-1)!.host, 'api.openai.com');
    const m2 = await client(home, { sdk: 'anthropic', op: 'models', apiKey: 'client-own-key' });
    assert.deepEqual(m2, { ok: true, ids: ['origin-claude'] });

    const st = await cli(home, 'status', '--json');
    assert.equal(st.code, 0, st.stderr);
    const sj = JSON.parse(st.stdout) as { intercept: { state: string; enabled: boolean } };
    assert.deepEqual([sj.intercept.state, sj.intercept.enabled], ['on', true]);
    const doc = await cli(home, 'doctor', '--json');
    const report = JSON.parse(doc.stdout) as { ok: boolean; checks: { id: string; status: string; message: string }[] };
    assert.equal(report.ok, true, JSON.stringify(report.checks.filter((x) => x.status === 'fail'), null, 1));
    for (const id of ['ca', 'ca-key-mode', 'ca-hosts', 'ca-trusted', 'hosts-block', 'resolve:api.anthropic.com', 'listener', 'upstream-dns:api.openai.com']) {
      assert.equal(report.checks.find((x) => x.id === id)?.status, 'ok', id);
    }
    assert.equal(doc.code, 0);
  } finally {
    assert.equal(await stopDaemon(d, 'SIGTERM'), 0, d.out());
  }
  assert.deepEqual(readFileSync('/etc/hosts'), hostsBefore, 'SIGTERM leaves /etc/hosts as it was');
});

const clientsSkip = clientsMissing() && !clientsRequired() ? clientsMissing()! : false;

/** The requests router67 passed through to the stand-in origin since `from` (one line each). */
function originSaw(from: number): string {
  return (
    originRequests
      .slice(from)
      .map((o) => `${o.method} https://${o.host}${o.path}${o.headers['content-encoding'] ? ` (content-encoding: ${o.headers['content-encoding']})` : ''}`)
      .join('; ') || 'nothing'
  );
}

function twoTurns(turns: Parameters<typeof checkTwoTurns>[1], output: string, context: string): void {
  try {
    checkTwoTurns(agent, turns, output);
  } catch (e) {
    assert.fail(`${(e as Error).message}\n${context}`);
  }
}

test('Claude Code with its default base URL, nothing set after install: a tool call and the answer, through interception', { skip: clientsSkip, timeout: 150_000 }, async () => {
  const missing = clientsMissing();
  assert.equal(missing, undefined, missing);
  const d = await startDaemon(home);
  try {
    const userHome = join(base, 'claude-home');
    mkdirSync(join(userHome, 'project'), { recursive: true });
    const r = Math.random().toString(16).slice(2, 10);
    const originFrom = originRequests.length;
    agent.script = { tool: 'Bash', args: { command: `echo r67-$((6*7))-${r}`, description: 'Print the check marker' }, answer: `R67 intercepted answer ${r}` };
    const from = agent.turns.length;
    // https://api.anthropic.com (its default), no NODE_EXTRA_CA_CERTS: the CA is in the OS store.
    const claude = await runClient(CLAUDE_BIN, ['-p', 'Run the check command with the Bash tool and tell me what it printed.', '--output-format', 'json', '--allowedTools', 'Bash(echo:*)', '--no-session-persistence'], {
      cwd: join(userHome, 'project'),
      timeoutMs: 120_000,
      env: { PATH: process.env.PATH, HOME: userHome, LANG: 'C.UTF-8', ANTHROPIC_API_KEY: 'sk-ant-client-key', ANTHROPIC_SMALL_FAST_MODEL: 'claude-haiku-4-5', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1', DISABLE_AUTOUPDATER: '1' },
    });
    let out: any;
    try {
      out = JSON.parse(claude.stdout.trim().split('\n').pop() ?? '');
    } catch {
      out = undefined;
    }
    const turns = agent.turns.slice(from);
    const says = `claude exit ${claude.code}${claude.timedOut ? ' (timed out)' : ''}; upstream saw: ${describeTurns(turns) || 'nothing'}; result ${JSON.stringify(out?.result)}; stderr ${tail(claude.stderr, 500)}; stdout ${out ? '' : tail(claude.stdout, 500)}\npassed through to the origin: ${originSaw(originFrom)}\ndaemon: ${tail(d.out(), 1500)}`;
    twoTurns(turns, `r67-42-${r}`, says);
    assert.equal(out?.is_error, false, says);
    assert.match(String(out?.result), new RegExp(`R67 intercepted answer ${r}`), says);
  } finally {
    agent.script = undefined;
    assert.equal(await stopDaemon(d, 'SIGTERM'), 0, d.out());
  }
  assert.deepEqual(readFileSync('/etc/hosts'), hostsBefore);
});

test('Codex with its default provider (api.openai.com), nothing set after install: a tool call and the answer, through interception', { skip: clientsSkip, timeout: 150_000 }, async () => {
  const missing = clientsMissing();
  assert.equal(missing, undefined, missing);
  const d = await startDaemon(home);
  try {
    const userHome = join(base, 'codex-home');
    const codexHome = join(userHome, '.codex');
    mkdirSync(join(userHome, 'project'), { recursive: true });
    mkdirSync(codexHome, { recursive: true });
    const r = Math.random().toString(16).slice(2, 10);
    const originFrom = originRequests.length;
    agent.script = { tool: 'exec_command', args: { cmd: `echo r67-$((6*7))-${r}` }, answer: `R67 intercepted answer ${r}` };
    const from = agent.turns.length;
    // the built-in openai provider with OPENAI_API_KEY; no SSL_CERT_FILE / CODEX_CA_CERTIFICATE: the CA is in the OS store.
    const codex = await runClient(CODEX_BIN, ['exec', '--skip-git-repo-check', '--json', '-m', 'gpt-5.5', 'Run the check command and tell me what it printed.'], {
      cwd: join(userHome, 'project'),
      timeoutMs: 120_000,
      env: { PATH: process.env.PATH, HOME: userHome, CODEX_HOME: codexHome, LANG: 'C.UTF-8', OPENAI_API_KEY: 'sk-client-key' },
    });
    const events = codex.stdout
      .split('\n')
      .map((l) => {
        try {
          return JSON.parse(l) as any;
        } catch {
          return undefined;
        }
      })
      .filter(Boolean);
    const turns = agent.turns.slice(from);
    const says = `codex exit ${codex.code}${codex.timedOut ? ' (timed out)' : ''}; upstream saw: ${describeTurns(turns) || 'nothing'}; events ${events.map((e) => `${e.type}${e.message ? `(${String(e.message).slice(0, 200)})` : ''}`).join(',')}; stderr ${tail(codex.stderr, 500)}\npassed through to the origin: ${originSaw(originFrom)}\ndaemon: ${tail(d.out(), 1500)}`;
    twoTurns(turns, `r67-42-${r}`, says);
    const said = events.filter((e) => e.type === 'item.completed' && e.item?.type === 'agent_message').map((e) => String(e.item.text));
    assert.equal(codex.code, 0, says);
    assert.match(said.at(-1) ?? '', new RegExp(`R67 intercepted answer ${r}`), says);

    // doctor finds both installed clients and says neither needs a setting (the CA is in the OS store)
    const doc = await run(process.execPath, [CLI, 'doctor', '--json'], { ...baseEnv(home), PATH: `${dirname(CODEX_BIN)}:${process.env.PATH}` });
    const report = JSON.parse(doc.stdout) as { checks: { id: string; status: string; message: string }[]; clients: { client: string; lines: string[]; detected?: { id: string; trusted: boolean } }[] };
    const found = report.clients.filter((c) => c.detected).map((c) => [c.detected!.id, c.detected!.trusted, c.lines]);
    assert.deepEqual(found, [
      ['claude-code', true, []],
      ['codex', true, []],
    ], JSON.stringify(report.clients, null, 1));
    assert.match(report.checks.find((c) => c.id === 'client:codex')!.message, /^Codex CLI 0\.\d+\.\d+ \(.*\): uses the OS roots, which trust the router67 CA: nothing to set$/);
    assert.equal(report.checks.find((c) => c.id === 'client:claude-code')!.status, 'ok');
  } finally {
    agent.script = undefined;
    assert.equal(await stopDaemon(d, 'SIGTERM'), 0, d.out());
  }
  assert.deepEqual(readFileSync('/etc/hosts'), hostsBefore);
});

test('SIGKILL of the daemon and its watchdog (power loss) leaves a stale block; the next start removes it first; doctor points at it meanwhile', async () => {
  const d1 = await startDaemon(home);
  await killWithWatchdog(d1);
  const stale = blocks();
  assert.equal(stale.length, 1);
  assert.equal(stale[0]!.owner?.pid, d1.pid);
  const doc = await cli(home, 'doctor', '--json');
  const hb = (JSON.parse(doc.stdout) as { checks: { id: string; status: string; message: string }[] }).checks.find((x) => x.id === 'hosts-block')!;
  assert.equal(hb.status, 'fail');
  assert.match(hb.message, /is gone/);
  const d2 = await startDaemon(home);
  try {
    assert.match(d2.out(), /removing 1 stale router67 block/);
    const now = blocks();
    assert.equal(now.length, 1);
    assert.equal(now[0]!.owner?.pid, d2.pid);
    assert.equal((await curlMessages()).code, 0);
  } finally {
    assert.equal(await stopDaemon(d2, 'SIGTERM'), 0, d2.out());
  }
  assert.deepEqual(readFileSync('/etc/hosts'), hostsBefore);
});

test('fail open: SIGKILL the daemon while a client streams; within 2 s no block, a client reaches the real origin, the watchdog exits; none left after a clean stop', async () => {
  // What the "real DNS" says for clients (the block goes first in the file, so it wins while router67 runs).
  const realDns = Buffer.concat([hostsBefore, Buffer.from(`\n${ORIGIN_IP} api.anthropic.com\n`)]);
  writeFileSync('/etc/hosts', realDns);
  let open: (() => void) | undefined;
  try {
    const d = await startDaemon(home);
    const [watchdog, ...more] = watchdogsOf(d.pid);
    assert.ok(watchdog, 'a watchdog started with the block');
    assert.deepEqual(more, []);
    assert.equal(execFileSync('ps', ['-o', 'uid=', '-p', String(watchdog)]).toString().trim(), '0', 'with the rights that wrote the block (root here)');

    // A client streaming through the daemon: the provider sends its first word, then holds the rest.
    secondary.gate = new Promise<void>((r) => (open = r));
    const body = JSON.stringify({ model: 'claude-sonnet-4.6', max_tokens: 16, stream: true, messages: [{ role: 'user', content: 'hi' }] });
    const stream = spawn('curl', ['-sS', '-N', '--max-time', '20', 'https://api.anthropic.com/v1/messages', '-H', 'x-api-key: client-key', '-H', 'anthropic-version: 2023-06-01', '-H', 'content-type: application/json', '-d', body], { env: { PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'pipe'] });
    let streamed = '';
    stream.stdout.on('data', (c) => (streamed += c));
    const streamEnd = new Promise<number | null>((r) => stream.on('close', r));
    await until(() => /"text":"Hello"/.test(streamed), Date.now(), 15_000, `the stream's first word (got ${JSON.stringify(streamed)})`);
    assert.doesNotMatch(streamed, /message_stop/);

    const killedAt = Date.now();
    d.child.kill('SIGKILL');
    const blockGoneMs = await until(() => blocks().length === 0, killedAt, 2000, 'the hosts block removed after SIGKILL');
    assert.ok(blockGoneMs <= 2000, `block gone after ${blockGoneMs} ms`);
    assert.deepEqual(readFileSync('/etc/hosts'), realDns, 'every byte outside the block as it was');
    await d.exited;
    const watchdogGoneMs = await until(() => watchdogsOf(d.pid).length === 0, killedAt, 5000, 'the watchdog exits');
    process.stdout.write(`# fail open: block gone ${blockGoneMs} ms after SIGKILL, watchdog exited after ${watchdogGoneMs} ms\n`);
    assert.notEqual(await streamEnd, 0, 'the cut stream is an error for the client, not a clean end');

    // Nothing points at the dead router67: a client reaches the real origin (its own CA; names from the hosts file).
    const from = originRequests.length;
    const r = await run('curl', ['-sS', '--max-time', '10', '--cacert', originCaFile, 'https://api.anthropic.com/v1/messages', '-H', 'x-api-key: client-key', '-H', 'content-type: application/json', '-d', MESSAGES_BODY], { PATH: process.env.PATH }, 15_000);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { content: { text: string }[] }).content[0]!.text, 'hello from the real origin');
    assert.equal(originRequests.length, from + 1);
    assert.equal(originRequests.at(-1)!.headers['x-api-key'], 'client-key');

    // A clean stop: the daemon removes its block, then the watchdog exits too.
    const d2 = await startDaemon(home);
    const [w2] = watchdogsOf(d2.pid);
    assert.ok(w2);
    assert.equal(await stopDaemon(d2, 'SIGTERM'), 0, d2.out());
    assert.deepEqual(readFileSync('/etc/hosts'), realDns);
    await until(() => watchdogsOf(d2.pid).length === 0, Date.now(), 5000, 'no watchdog left after a clean stop');
    assert.equal(existsSync(`/proc/${w2}/cmdline`) && readFileSync(`/proc/${w2}/cmdline`, 'utf8').includes('watch'), false, 'the watchdog process is gone');
  } finally {
    open?.();
    writeFileSync('/etc/hosts', hostsBefore);
  }
});

test('uninstall leaves /etc/hosts and the trust store byte-identical; config kept', async () => {
  const r = await cli(home, 'uninstall');
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(existsSync(join(home, 'ca')), false);
  assert.equal(existsSync(join(home, 'config.toml')), true);
  assert.deepEqual(readFileSync('/etc/hosts'), hostsBefore);
  assert.deepEqual(trustSnapshot(), trustBefore);
});

test('unprivileged daemon on a high port behind the nftables rule', async () => {
  mkdirSync(home2, { recursive: true });
  writeFileSync(join(home2, 'config.toml'), config('redirect_port = 8443'));
  // install runs privileged (as root here; pkexec on a desktop), then the files belong to the user.
  const r = await cli(home2, 'install');
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /done: redirect-on/);
  assert.match(execFileSync('nft', ['list', 'table', 'ip', 'router67']).toString(), /ip daddr 127\.0\.67\.1 tcp dport 443 dnat (ip )?to 127\.0\.67\.1:8443/);
  execFileSync('chown', ['-R', `${NOBODY}:${NOBODY}`, home2]);
  // Stands in for the approved prompt: the user may write this hosts file (the daemon writes it in place,
  // since /etc itself is not writable by the user).
  const owner = statSync(hostsCopy);
  chownSync(hostsCopy, NOBODY, NOBODY);
  try {
    const d = await startDaemon(home2, { asNobody: true });
    try {
      assert.match(d.out(), /listening on 127\.0\.67\.1:8443/);
      const ps = execFileSync('ps', ['-o', 'uid=', '-p', String(d.pid)]).toString().trim();
      assert.equal(ps, String(NOBODY), 'setpriv execs the daemon as nobody (same pid)');
      assert.equal(blocks()[0]!.owner?.pid, d.pid);
      const c = await curlMessages();
      assert.equal(c.code, 0, JSON.stringify(c.json));
      assert.equal((c.json.content as { text: string }[])[0]!.text, 'Hello from secondary!');
      const a = await client(home2, { sdk: 'anthropic', op: 'create', model: 'claude-unconfigured-2', apiKey: 'client-own-key' });
      assert.deepEqual([a.ok, a.text], [true, 'hello from the real origin'], JSON.stringify(a));
      const o = await client(home2, { sdk: 'openai', op: 'stream', model: 'gpt-5', apiKey: 'sk-client' });
      assert.deepEqual([o.ok, o.text], [true, 'Hello from secondary!'], JSON.stringify(o));
    } finally {
      assert.equal(await stopDaemon(d, 'SIGTERM'), 0, d.out());
    }
    assert.deepEqual(readFileSync('/etc/hosts'), hostsBefore);
    const k = await startDaemon(home2, { asNobody: true });
    const [kw] = watchdogsOf(k.pid);
    assert.equal(execFileSync('ps', ['-o', 'uid=', '-p', String(kw)]).toString().trim(), String(NOBODY), 'the watchdog has the daemon\'s rights, no more');
    await killWithWatchdog(k);
    assert.equal(blocks().length, 1);
    const d3 = await startDaemon(home2, { asNobody: true });
    assert.match(d3.out(), /removing 1 stale router67 block/);
    assert.equal(blocks()[0]!.owner?.pid, d3.pid);
    assert.equal(await stopDaemon(d3, 'SIGTERM'), 0, d3.out());
    assert.deepEqual(readFileSync('/etc/hosts'), hostsBefore);
  } finally {
    chownSync(hostsCopy, owner.uid, owner.gid);
  }
  const u = await cli(home2, 'uninstall');
  assert.equal(u.code, 0, u.stdout + u.stderr);
  assert.match(u.stdout, /done: redirect-off/);
  assert.doesNotMatch(execFileSync('nft', ['list', 'tables']).toString(), /router67/);
  assert.deepEqual(readFileSync('/etc/hosts'), hostsBefore);
  assert.deepEqual(trustSnapshot(), trustBefore);
});
