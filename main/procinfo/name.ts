// Naming the app behind a connection from its process (executable path and command line), or, when the process is
// unknown, from the request's User-Agent. Pure functions: the platform lookups (linux.ts, darwin.ts, win32.ts) find
// the process; this says what to call it.

/** What a lookup found about the client process. */
export interface ProcInfo {
  pid: number;
  /** Full path of the executable when known, else its name. */
  exe: string;
  /** The command line, split into arguments (argv[0] first). */
  argv: string[];
}

const base = (p: string): string => p.split(/[\\/]/).pop() ?? p;
const bare = (p: string): string => base(p).replace(/\.exe$/i, '');

const PYTHON = /^(python|pythonw|pypy)(\d+(\.\d+)*)?$/i;
const NODE = /^(node|nodejs|bun|deno|tsx|ts-node)$/i;
/** Interpreter options that take the next argument as their value. */
const PY_VALUE_OPTS = new Set(['-W', '-X', '--check-hash-based-pycs']);
const NODE_VALUE_OPTS = new Set(['-r', '--require', '--import', '--loader', '--experimental-loader', '--env-file', '--title', '--inspect-port', '-C', '--conditions']);

function knownApp(text: string): string | undefined {
  const t = text.replace(/\\/g, '/');
  if (/(^|\/)claude(\.exe)?$|@anthropic-ai\/claude-code|\/claude\/versions\//i.test(t)) return 'Claude Code';
  if (/(^|\/)codex(-[a-z0-9_-]+)?(\.exe)?$|@openai\/codex|(^|\/)codex\.js$/i.test(t)) return 'Codex';
  if (/(^|\/)cursor(\.exe)?$|cursor\.app\/|cursor helper/i.test(t)) return 'Cursor';
  if (/visual studio code(\s-\s\w+)?\.app\/|(^|\/)code(-insiders|-oss)?(\.exe)?$|code helper|\/share\/code(-insiders)?\/|microsoft vs code|vscodium|(^|\/)codium(\.exe)?$/i.test(t)) return 'VS Code';
  return undefined;
}

/** The script an interpreter runs: its first argument that is not an option (or an option's value). */
function scriptOf(argv: string[], valueOpts: Set<string>, python: boolean): string | undefined {
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (python && a === '-m') return argv[i + 1];
    if (python && a === '-c') return undefined;
    if ((!python && (a === '-e' || a === '--eval' || a === '-p' || a === '--print')) || a === '-') return undefined;
    if (a === 'run' && i === 1 && /bun|deno/i.test(bare(argv[0]!))) continue;
    if (valueOpts.has(a)) {
      i++;
      continue;
    }
    if (a.startsWith('-')) continue;
    return a;
  }
  return undefined;
}

/** The package a script inside node_modules belongs to ("…/node_modules/@scope/pkg/bin/x.js" → "@scope/pkg"). */
function packageOf(script: string): string | undefined {
  const m = /node_modules[\\/]((?:@[^\\/]+[\\/])?[^\\/]+)[\\/]/.exec(script);
  return m ? m[1]!.replace(/\\/g, '/') : undefined;
}

/**
 * The app's name: Claude Code, Codex, Cursor, VS Code, a Python or Node script by its script name (a Node
 * package's script by its package), else the executable's name.
 */
export function nameApp(p: Pick<ProcInfo, 'exe' | 'argv'>): string | undefined {
  const exe = p.exe || p.argv[0] || '';
  const argv = p.argv.length ? p.argv : [exe];
  const direct = knownApp(exe) ?? knownApp(argv[0] ?? '');
  if (direct) return direct;
  const name = bare(exe);
  const interp = PYTHON.test(name) || PYTHON.test(bare(argv[0] ?? '')) ? 'python' : NODE.test(name) || NODE.test(bare(argv[0] ?? '')) ? 'node' : undefined;
  if (interp) {
    const script = scriptOf(argv, interp === 'python' ? PY_VALUE_OPTS : NODE_VALUE_OPTS, interp === 'python');
    if (script) {
      const known = knownApp(script);
      if (known) return known;
      if (interp === 'node') {
        const pkg = packageOf(script);
        if (pkg) return pkg;
      }
      return base(script);
    }
    return name || undefined;
  }
  // Electron helpers and others that set their process title: argv[0] may say more than the executable
  return name || (argv[0] ? bare(argv[0]) : undefined);
}

/** A name from the User-Agent, for a connection whose process is unknown. */
export function nameFromUserAgent(ua: string | undefined): string | undefined {
  if (!ua) return undefined;
  if (/^claude-cli\/|claude-code/i.test(ua)) return 'Claude Code';
  if (/^codex[_ -]|codex_cli|codex_exec/i.test(ua)) return 'Codex';
  if (/\bcursor\b/i.test(ua)) return 'Cursor';
  if (/\bvscode\b|visual studio code/i.test(ua)) return 'VS Code';
  // the first product token without its version: "OpenAI/Python 1.54.0" → "OpenAI/Python", "curl/8.5" → "curl"
  const first = ua.trim().split(/\s+/, 1)[0]!;
  const m = /^([^/]+(?:\/[A-Za-z][^/\d]*)?)(?:\/[\dv].*)?$/.exec(first);
  const out = (m ? m[1]! : first).slice(0, 64);
  return out || undefined;
}

/** Splits a Windows command line into arguments (CommandLineToArgvW's rules for quotes and backslashes). */
export function splitWindowsCommandLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  let any = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === '\\') {
      let n = 0;
      while (line[i] === '\\') {
        n++;
        i++;
      }
      if (line[i] === '"') {
        cur += '\\'.repeat(Math.floor(n / 2));
        if (n % 2) cur += '"';
        else quoted = !quoted;
        any = true;
      } else {
        cur += '\\'.repeat(n);
        i--;
      }
      any = true;
      continue;
    }
    if (c === '"') {
      quoted = !quoted;
      any = true;
      continue;
    }
    if (!quoted && (c === ' ' || c === '\t')) {
      if (any) out.push(cur);
      cur = '';
      any = false;
      continue;
    }
    cur += c;
    any = true;
  }
  if (any) out.push(cur);
  return out;
}
