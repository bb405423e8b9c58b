// Running `router67 helper <op> <args>` with root/administrator rights through the OS prompt.
//
//   Linux   pkexec <node> <cli.js> helper <op> b64:…          (polkit's dialog; exit 126/127 = refused)
//   macOS   osascript -e 'do shell script "…" with administrator privileges'   ("User canceled" -128)
//   Windows powershell -EncodedCommand <Start-Process … -Verb RunAs; WaitForExit>   (UAC; cancel = 1223)
//   root    the operation runs in this process, no prompt.
//
// Quoting: the only data in these command lines is our own argv — the node binary path, the CLI script
// path, the literal word "helper", an operation name from a fixed list, and the arguments as
// `b64:<base64url>` (alphabet [A-Za-z0-9_-:]). Paths are still quoted properly for each layer: POSIX
// single quotes inside an AppleScript string literal (backslash and double quote escaped); on Windows the
// command line follows CommandLineToArgvW rules inside a PowerShell single-quoted literal, and the whole
// PowerShell script is passed base64-encoded (-EncodedCommand), so no outer layer parses it.
import { encodeArgs, runOperation, type HelperContext, type Operation, type OpResult } from './helper.js';
import { execArgv, onPath, type Exec, type ExecResult } from './truststore.js';
import { defaultCliCommand } from './watchdog.js';

export type ElevateHow = 'direct' | 'pkexec' | 'osascript' | 'runas';

export type ElevateResult =
  | { ok: true; how: ElevateHow; result?: OpResult; stdout: string; stderr: string }
  | { ok: false; how: ElevateHow; reason: 'refused' | 'unavailable' | 'failed'; code: number; message: string; result?: OpResult; stdout: string; stderr: string };

/** How to start our own CLI: node (or Electron as node) + the CLI script. */
export interface HelperCommand {
  execPath: string;
  args: string[];
  /** Extra environment (Electron needs ELECTRON_RUN_AS_NODE=1); passed through /usr/bin/env on Linux. */
  env?: Record<string, string>;
}

export function defaultHelperCommand(): HelperCommand {
  return defaultCliCommand();
}

export function helperArgv(cmd: HelperCommand, op: Operation, args: unknown): string[] {
  return [cmd.execPath, ...cmd.args, 'helper', op, encodeArgs(args)];
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export function appleScriptString(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** Quotes one argument for a Windows command line (CommandLineToArgvW / MSVCRT rules). */
export function winQuote(s: string): string {
  if (s !== '' && !/[\s"]/.test(s)) return s;
  let out = '"';
  let bs = 0;
  for (const ch of s) {
    if (ch === '\\') {
      bs++;
      continue;
    }
    if (ch === '"') {
      out += '\\'.repeat(bs * 2 + 1) + '"';
    } else {
      out += '\\'.repeat(bs) + ch;
    }
    bs = 0;
  }
  return `${out}${'\\'.repeat(bs * 2)}"`;
}

function psLiteral(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

export const WINDOWS_CANCELLED = 1223;

// Not `Start-Process -Wait`: that waits for the process's descendants too (a job object), and the helper leaves
// the hosts-block watchdog running behind it. WaitForExit() waits for the helper alone; reading $p.Handle first
// keeps ExitCode available after the process ended.
export function powershellScript(cmd: HelperCommand, argv: string[]): string {
  const [file, ...rest] = argv;
  const env = Object.entries(cmd.env ?? {})
    .map(([k, v]) => `$env:${k} = ${psLiteral(v)}; `)
    .join('');
  return (
    `${env}try { $p = Start-Process -FilePath ${psLiteral(file!)} -ArgumentList ${psLiteral(rest.map(winQuote).join(' '))} ` +
    `-Verb RunAs -PassThru -WindowStyle Hidden; $h = $p.Handle; $p.WaitForExit(); exit $p.ExitCode } catch { exit ${WINDOWS_CANCELLED} }`
  );
}

/** The exact argv that runs the helper elevated on a platform. */
export function elevatedArgv(platform: NodeJS.Platform, cmd: HelperCommand, op: Operation, args: unknown): { how: ElevateHow; argv: string[] } {
  const argv = helperArgv(cmd, op, args);
  for (const k of Object.keys(cmd.env ?? {})) if (!ENV_NAME.test(k)) throw new Error(`bad environment name ${JSON.stringify(k)}`);
  const envArgs = Object.entries(cmd.env ?? {}).map(([k, v]) => `${k}=${v}`);
  if (platform === 'linux') {
    return { how: 'pkexec', argv: ['pkexec', ...(envArgs.length ? ['/usr/bin/env', ...envArgs] : []), ...argv] };
  }
  if (platform === 'darwin') {
    const shell = [...(envArgs.length ? ['/usr/bin/env', ...envArgs] : []), ...argv].map(shQuote).join(' ');
    return { how: 'osascript', argv: ['osascript', '-e', `do shell script ${appleScriptString(shell)} with administrator privileges`] };
  }
  if (platform === 'win32') {
    const script = powershellScript(cmd, argv);
    return { how: 'runas', argv: ['powershell.exe', '-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-EncodedCommand', Buffer.from(script, 'utf16le').toString('base64')] };
  }
  throw new Error(`elevation is not supported on ${platform}`);
}

/** Classifies a finished elevation attempt. */
export function classify(how: ElevateHow, r: ExecResult): ElevateResult {
  const result = parseResult(r.stdout);
  const base = { how, stdout: r.stdout, stderr: r.stderr, ...(result ? { result } : {}) };
  if (r.code === 0) return { ok: true, ...base };
  let reason: 'refused' | 'unavailable' | 'failed' = 'failed';
  if (how === 'pkexec') {
    if (/No authentication agent|cannot open display|not a setuid|must be setuid/i.test(r.stderr)) reason = 'unavailable';
    else if (r.code === 126 || r.code === 127) reason = 'refused';
  } else if (how === 'osascript') {
    if (/User cancel+ed|\(-128\)/.test(r.stderr)) reason = 'refused';
  } else if (how === 'runas') {
    if (r.code === WINDOWS_CANCELLED) reason = 'refused';
  }
  const message =
    reason === 'refused'
      ? 'the administrator prompt was cancelled or authentication failed'
      : reason === 'unavailable'
        ? `no way to ask for administrator rights here (${r.stderr.trim().split('\n')[0] ?? ''}); run the command with sudo`
        : (result?.message ?? (r.stderr.trim() || `helper exited with status ${r.code}`));
  return { ok: false, ...base, reason, code: r.code, message };
}

function parseResult(stdout: string): OpResult | undefined {
  const line = stdout.trim().split('\n').pop();
  if (!line?.startsWith('{')) return undefined;
  try {
    return JSON.parse(line) as OpResult;
  } catch {
    return undefined;
  }
}

export function isPrivileged(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

export interface ElevateOptions {
  platform?: NodeJS.Platform;
  command?: HelperCommand;
  exec?: Exec;
  /** Treat this process as privileged (default: uid 0). Windows has no cheap check, so it always prompts. */
  privileged?: boolean;
  /** Passed to in-process runs (tests). */
  context?: HelperContext;
}

/** Runs a helper operation with privileges: in this process when already root, else through the OS prompt. */
export async function runElevated(op: Operation, args: unknown, opts: ElevateOptions = {}): Promise<ElevateResult> {
  const platform = opts.platform ?? process.platform;
  if (opts.privileged ?? isPrivileged()) {
    try {
      const result = await runOperation(op, args, { platform, ...opts.context });
      return { ok: true, how: 'direct', result, stdout: '', stderr: '' };
    } catch (e) {
      const message = (e as Error).message;
      return { ok: false, how: 'direct', reason: 'failed', code: 1, message, result: { ok: false, op, message }, stdout: '', stderr: '' };
    }
  }
  const { how, argv } = elevatedArgv(platform, opts.command ?? defaultHelperCommand(), op, args);
  if (how === 'pkexec' && !opts.exec && !onPath('pkexec')) {
    return { ok: false, how, reason: 'unavailable', code: 127, message: 'pkexec is not installed; run the command with sudo', stdout: '', stderr: '' };
  }
  const r = await (opts.exec ?? execArgv)(argv, { timeoutMs: 5 * 60_000 });
  return classify(how, r);
}
