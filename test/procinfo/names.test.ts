// Naming the app from a process (executable + command line) and from a User-Agent; the macOS and Windows lookups
// on their exact commands (argv) and recorded outputs; the Linux /proc parsing on recorded table lines; the time box.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nameApp, nameFromUserAgent, splitWindowsCommandLine } from '../../main/procinfo/name.js';
import { decodeProcAddress, findSocket, lookupLinux, normalizeIp } from '../../main/procinfo/linux.js';
import { lsofArgs, parseLsof, psArgsArgs, psCommArgs } from '../../main/procinfo/darwin.js';
import { parsePowershell, powershellArgs } from '../../main/procinfo/win32.js';
import { AppLookup, type ConnectionAddress } from '../../main/procinfo/lookup.js';

test('names: the known apps, scripts by their name, packages by theirs, else the executable', () => {
  const cases: [string, string[], string][] = [
    ['/usr/bin/node', ['node', '/home/u/.npm-global/lib/node_modules/@anthropic-ai/claude-code/cli.js'], 'Claude Code'],
    ['/home/u/.local/share/claude/versions/1.0.98', ['claude'], 'Claude Code'],
    ['/usr/local/bin/claude', ['claude', '-p', 'hi'], 'Claude Code'],
    ['/usr/lib/node_modules/@openai/codex/bin/codex-x86_64-unknown-linux-musl', ['codex', 'exec'], 'Codex'],
    ['/usr/bin/node', ['node', '/usr/lib/node_modules/@openai/codex/bin/codex.js', 'exec', 'hi'], 'Codex'],
    ['/Applications/Cursor.app/Contents/Frameworks/Cursor Helper (Plugin).app/Contents/MacOS/Cursor Helper (Plugin)', ['Cursor Helper (Plugin)'], 'Cursor'],
    ['C:\\Users\\u\\AppData\\Local\\Programs\\cursor\\Cursor.exe', ['Cursor.exe', '--type=utility'], 'Cursor'],
    ['/usr/share/code/code', ['/usr/share/code/code', '--type=utility'], 'VS Code'],
    ['/Applications/Visual Studio Code.app/Contents/Frameworks/Code Helper (Plugin).app/Contents/MacOS/Code Helper (Plugin)', ['Code Helper (Plugin)'], 'VS Code'],
    ['C:\\Program Files\\Microsoft VS Code\\Code.exe', ['Code.exe'], 'VS Code'],
    ['/usr/bin/python3.12', ['python3', '-u', '-W', 'ignore', '/home/u/bin/summarise.py', '--fast'], 'summarise.py'],
    ['/usr/bin/python3.12', ['python3', '-m', 'aider', '--model', 'x'], 'aider'],
    ['/usr/bin/python3.12', ['python3', '-c', 'print(1)'], 'python3.12'],
    ['/usr/bin/node', ['node', '--require', 'ts-node/register', './tools/batch.ts'], 'batch.ts'],
    ['/usr/bin/node', ['node', '/usr/lib/node_modules/@acme/agent/bin/run.js'], '@acme/agent'],
    ['/usr/bin/node', ['node', '-e', 'fetch(1)'], 'node'],
    ['/usr/bin/bun', ['bun', 'run', 'agent.ts'], 'agent.ts'],
    ['C:\\Python312\\python.exe', ['C:\\Python312\\python.exe', 'C:\\work\\job.py'], 'job.py'],
    ['/usr/bin/curl', ['curl', '-s', 'http://127.0.0.1:6767'], 'curl'],
    ['', ['aider'], 'aider'],
  ];
  for (const [exe, argv, want] of cases) assert.equal(nameApp({ exe, argv }), want, `${exe} ${argv.join(' ')}`);
});

test('names from the User-Agent', () => {
  assert.equal(nameFromUserAgent('claude-cli/1.0.98 (external, cli)'), 'Claude Code');
  assert.equal(nameFromUserAgent('codex_cli_rs/0.40.0 (Debian 12; x86_64) xterm'), 'Codex');
  assert.equal(nameFromUserAgent('Mozilla/5.0 (Macintosh) Cursor/1.5.0 Chrome/132'), 'Cursor');
  assert.equal(nameFromUserAgent('OpenAI/Python 1.54.0'), 'OpenAI/Python');
  assert.equal(nameFromUserAgent('Anthropic/JS 0.60.0'), 'Anthropic/JS');
  assert.equal(nameFromUserAgent('curl/8.5.0'), 'curl');
  assert.equal(nameFromUserAgent('python-httpx/0.27.0'), 'python-httpx');
  assert.equal(nameFromUserAgent(undefined), undefined);
  assert.equal(nameFromUserAgent(''), undefined);
});

test('Windows command lines split like CommandLineToArgvW', () => {
  assert.deepEqual(splitWindowsCommandLine('"C:\\Program Files\\nodejs\\node.exe" C:\\work\\a.js --x "a b"'), ['C:\\Program Files\\nodejs\\node.exe', 'C:\\work\\a.js', '--x', 'a b']);
  assert.deepEqual(splitWindowsCommandLine('a\\\\"b c" d\\e "f\\"g"'), ['a\\b c', 'd\\e', 'f"g']);
});

const conn4: ConnectionAddress = { remoteAddress: '127.0.0.1', remotePort: 51234, localAddress: '127.0.0.1', localPort: 6767 };

test('Linux: /proc/net/tcp{,6} lines decoded; the client end found (also behind a redirect); the pid found through fd links', async () => {
  assert.deepEqual(decodeProcAddress('0100007F:1A6F'), ['127.0.0.1', 6767]);
  assert.deepEqual(decodeProcAddress('0000000000000000FFFF00000100007F:C822'), ['127.0.0.1', 51234]);
  assert.deepEqual(decodeProcAddress('00000000000000000000000001000000:1A6F'), ['::1', 6767]);
  assert.equal(normalizeIp('::ffff:127.0.0.1'), '127.0.0.1');
  assert.equal(normalizeIp('0:0:0:0:0:0:0:1'), '::1');
  const head = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
  const table =
    head +
    '   0: 0100007F:1A6F 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 1111 1 0000000000000000 100 0 0 10 0\n' +
    '   1: 0100007F:1A6F 0100007F:C822 01 00000000:00000000 00:00000000 00000000  1000        0 2222 1 0000000000000000 20 4 30 10 -1\n' +
    '   2: 0100007F:C822 0100007F:1A6F 01 00000000:00000000 00:00000000 00000000  1001        0 3333 1 0000000000000000 20 4 30 10 -1\n';
  assert.deepEqual(findSocket(table, conn4), { inode: 3333, uid: 1001 });
  // behind the nftables redirect the client's socket names 127.0.67.1:443, this end a high port
  const redirected = head + '   0: 0100007F:C822 0143007F:01BB 01 00000000:00000000 00:00000000 00000000     0        0 4444 1 0 20 4 30 10 -1\n';
  assert.deepEqual(findSocket(redirected, { ...conn4, localPort: 8443 }), { inode: 4444, uid: 0 });
  assert.equal(findSocket(table, { ...conn4, remotePort: 1 }), undefined);

  // a fake /proc: the lookup walks fd links to the socket's inode and reads exe + cmdline
  const proc = mkdtempSync(join(tmpdir(), 'r67-proc-'));
  try {
    mkdirSync(join(proc, 'net'));
    writeFileSync(join(proc, 'net', 'tcp'), table.replace(/  1001 /, `  ${process.getuid!()} `));
    writeFileSync(join(proc, 'net', 'tcp6'), head);
    for (const [pid, links] of [[10, ['/dev/null', 'socket:[2222]']], [42, ['pipe:[9]', 'socket:[3333]']]] as const) {
      mkdirSync(join(proc, String(pid), 'fd'), { recursive: true });
      links.forEach((l, i) => symlinkSync(l, join(proc, String(pid), 'fd', String(i))));
      symlinkSync('/usr/bin/python3.12', join(proc, String(pid), 'exe'));
      writeFileSync(join(proc, String(pid), 'cmdline'), `python3\0/home/u/agent-${pid}.py\0--x\0`);
    }
    const info = await lookupLinux(conn4, { proc });
    assert.deepEqual(info, { pid: 42, exe: '/usr/bin/python3.12', argv: ['python3', '/home/u/agent-42.py', '--x'] });
    assert.equal(nameApp(info!), 'agent-42.py');
  } finally {
    rmSync(proc, { recursive: true, force: true });
  }
});

test('macOS: lsof and ps run without a shell on the exact argv; recorded output parsed', async () => {
  assert.deepEqual(lsofArgs(conn4), ['-nP', '-iTCP@127.0.0.1:51234', '-sTCP:ESTABLISHED', '-Fpcn']);
  assert.deepEqual(lsofArgs({ ...conn4, remoteAddress: '::1' }), ['-nP', '-iTCP@[::1]:51234', '-sTCP:ESTABLISHED', '-Fpcn']);
  // recorded: `lsof -nP -iTCP@127.0.0.1:51234 -sTCP:ESTABLISHED -Fpcn` with the router (pid 700) and the client (pid 812)
  const recorded = 'p700\ncnode\nf23\nn127.0.0.1:6767->127.0.0.1:51234\np812\ncclaude\nf19\nn127.0.0.1:51234->127.0.0.1:6767\n';
  assert.deepEqual(parseLsof(recorded, conn4), { pid: 812, command: 'claude' });
  assert.equal(parseLsof('p700\ncnode\nf23\nn127.0.0.1:6767->127.0.0.1:51234\n', conn4), undefined);
  assert.deepEqual(parseLsof('p9\ncpython3.12\nf5\nn[::1]:51234->[::1]:6767\n', { ...conn4, remoteAddress: '::1' }), { pid: 9, command: 'python3.12' });
  // pf rdr: the client's socket shows the address it dialled (127.0.67.1:443), the listener accepts on :8443; a
  // socket of another process sharing the client's end (to another address) is not taken when the dialled one is known
  const redirected = { remoteAddress: '127.0.0.1', remotePort: 51234, localAddress: '127.0.67.1', localPort: 8443 };
  const rdr = 'p700\ncnode\nf23\nn127.0.67.1:8443->127.0.0.1:51234\np650\ncother\nf7\nn127.0.0.1:51234->127.0.0.9:443\np812\ncclaude\nf19\nn127.0.0.1:51234->127.0.67.1:443\n';
  assert.deepEqual(parseLsof(rdr, { ...redirected, dialledAddress: '127.0.67.1', dialledPort: 443 }), { pid: 812, command: 'claude' });
  assert.deepEqual(parseLsof(rdr, redirected), { pid: 650, command: 'other' }, 'dialled address unknown: the first socket with the client\'s end, as before');
  assert.deepEqual(parseLsof(rdr.replace(/p650[^p]*/, ''), redirected), { pid: 812, command: 'claude' });
  const calls: [string, string[]][] = [];
  const outputs: Record<string, string> = {
    lsof: recorded,
    'ps -ww -o comm= -p 812': '/Users/u/.local/share/claude/versions/1.0.98\n',
    'ps -ww -o args= -p 812': 'claude --continue\n',
  };
  const lookup = new AppLookup({
    platform: 'darwin',
    run: async (file, args) => {
      calls.push([file, args]);
      return outputs[file === 'lsof' ? 'lsof' : `${file} ${args.join(' ')}`] ?? '';
    },
  });
  const key = {};
  const sock = conn4;
  const first = lookup.meta(key, sock, {});
  assert.equal(first.app, undefined);
  assert.equal(await first.appPending, 'Claude Code');
  assert.deepEqual(lookup.meta(key, sock, {}), { app: 'Claude Code' }, 'cached on the connection');
  assert.deepEqual(calls, [
    ['lsof', ['-nP', '-iTCP@127.0.0.1:51234', '-sTCP:ESTABLISHED', '-Fpcn']],
    ['ps', psCommArgs(812)],
    ['ps', psArgsArgs(812)],
  ]);
  assert.deepEqual(psCommArgs(812), ['-ww', '-o', 'comm=', '-p', '812']);
});

test('Windows: Get-NetTCPConnection through powershell.exe (no shell) on the exact argv; recorded JSON parsed', async () => {
  const args = powershellArgs(conn4);
  assert.deepEqual(args.slice(0, 5), ['-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-Command']);
  assert.equal(
    args[5],
    "$c = Get-NetTCPConnection -LocalAddress '127.0.0.1' -LocalPort 51234 -State Established -ErrorAction SilentlyContinue | Select-Object -First 1; " +
      'if ($c) { $p = Get-CimInstance Win32_Process -Filter "ProcessId=$($c.OwningProcess)"; ' +
      '[pscustomobject]@{ pid = [int]$c.OwningProcess; exe = $p.ExecutablePath; name = $p.Name; cmd = $p.CommandLine } | ConvertTo-Json -Compress }',
  );
  assert.throws(() => powershellArgs({ ...conn4, remoteAddress: "127.0.0.1'; Remove-Item x; '" }));
  // recorded output of that command for a Python script and for Cursor
  const py = '{"pid":5120,"exe":"C:\\\\Python312\\\\python.exe","name":"python.exe","cmd":"\\"C:\\\\Python312\\\\python.exe\\" C:\\\\work\\\\nightly job.py"}';
  assert.deepEqual(parsePowershell(py), { pid: 5120, exe: 'C:\\Python312\\python.exe', argv: ['C:\\Python312\\python.exe', 'C:\\work\\nightly', 'job.py'] });
  const quoted = '{"pid":5121,"exe":"C:\\\\Python312\\\\python.exe","name":"python.exe","cmd":"python.exe \\"C:\\\\work\\\\nightly job.py\\""}';
  assert.equal(nameApp(parsePowershell(quoted)!), 'nightly job.py');
  const cursor = '{"pid":77,"exe":"C:\\\\Users\\\\u\\\\AppData\\\\Local\\\\Programs\\\\cursor\\\\Cursor.exe","name":"Cursor.exe","cmd":null}';
  assert.equal(nameApp(parsePowershell(cursor)!), 'Cursor');
  assert.equal(parsePowershell(''), undefined);
  assert.equal(parsePowershell('Get-NetTCPConnection : not recognized'), undefined);
  const calls: [string, string[]][] = [];
  const lookup = new AppLookup({ platform: 'win32', run: async (f, a) => (calls.push([f, a]), py) });
  assert.equal(await lookup.meta({}, conn4, {}).appPending, 'nightly');
  assert.deepEqual(calls, [['powershell.exe', args]]);
});

test('time box: a lookup that hangs holds a request no longer than the wait, falls back to the User-Agent, never fails', async () => {
  let runs = 0;
  const lookup = new AppLookup({ platform: 'darwin', waitMs: 30, timeoutMs: 200, run: () => (runs++, new Promise<string>(() => {})) });
  const key = {};
  const t0 = performance.now();
  const m = lookup.meta(key, conn4, { 'user-agent': 'OpenAI/Python 1.54.0' });
  assert.equal(await m.appPending, 'OpenAI/Python');
  const waited = performance.now() - t0;
  assert.ok(waited < 150, `waited ${waited} ms`);
  // the lookup ends at its time box with nothing; the connection then answers at once from the User-Agent
  await new Promise((r) => setTimeout(r, 250));
  assert.deepEqual(lookup.meta(key, conn4, { 'user-agent': 'curl/8' }), { app: 'curl' });
  assert.equal(runs, 1, 'one lookup per connection');
  // not loopback, or switched off: no lookup at all
  const off = new AppLookup({ platform: 'darwin', enabled: () => false, run: () => (runs++, Promise.resolve('')) });
  assert.equal(await off.meta({}, conn4, {}).appPending, undefined);
  assert.equal(await lookup.lookup({ ...conn4, remoteAddress: '192.168.1.9' }), undefined);
  assert.equal(runs, 1);
});
