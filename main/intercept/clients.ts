// Coding CLIs that call the intercepted hosts and bring their own idea of which roots to trust: `router67 doctor`
// finds the installed ones and says the exact line each needs (or that it needs none).
//
// - Codex CLI (Rust, rustls with the OS roots): trusts the router67 CA once it is in the OS store.
//   CODEX_CA_CERTIFICATE (first) or SSL_CERT_FILE *replace* those roots, so they must name a bundle of the
//   system roots plus the router67 CA, never ca.crt alone. An untrusted CA only shows
//   `invalid peer certificate: UnknownIssuer` and reconnects forever.
// - Claude Code 2.x (a native Bun binary): its bundled roots plus the OS store, so nothing to set once the CA is
//   in the OS store; CLAUDE_CODE_CERT_STORE=bundled ignores the OS store. NODE_EXTRA_CA_CERTS adds a CA, and is
//   read from the process environment only (not from ~/.claude/settings.json).
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, delimiter, dirname, join } from 'node:path';

export type ClientId = 'codex' | 'claude-code';

export interface DetectedClient {
  id: ClientId;
  name: string;
  /** The command found (as found, before following links). */
  path: string;
  version?: string;
}

const KNOWN: { id: ClientId; name: string; bin: string; pkg: string }[] = [
  { id: 'claude-code', name: 'Claude Code', bin: 'claude', pkg: '@anthropic-ai/claude-code' },
  { id: 'codex', name: 'Codex CLI', bin: 'codex', pkg: '@openai/codex' },
];

export interface DetectOptions {
  env?: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
  userHome?: string;
  /** The running node binary (its prefix is npm's default global prefix). */
  execPath?: string;
}

function npmrcPrefix(file: string): string | undefined {
  try {
    const m = /^\s*prefix\s*=\s*(.+?)\s*$/m.exec(readFileSync(file, 'utf8'));
    return m?.[1];
  } catch {
    return undefined;
  }
}

/** Folders to look in: PATH, then npm's global bin folders (which need not be on PATH). */
export function searchDirs(o: DetectOptions = {}): string[] {
  const env = o.env ?? process.env;
  const platform = o.platform ?? process.platform;
  const home = o.userHome ?? homedir();
  const win = platform === 'win32';
  const dirs = (env.PATH ?? env.Path ?? '').split(win ? ';' : delimiter).filter(Boolean);
  const prefixes = [env.npm_config_prefix, env.NPM_CONFIG_PREFIX, npmrcPrefix(join(home, '.npmrc'))];
  const execPath = o.execPath ?? process.execPath;
  prefixes.push(win ? dirname(execPath) : dirname(dirname(execPath)));
  if (win && env.APPDATA) prefixes.push(join(env.APPDATA, 'npm'));
  for (const p of prefixes) if (p) dirs.push(win ? p : join(p, 'bin'));
  dirs.push(join(home, '.local', 'bin'), join(home, '.claude', 'local')); // Claude Code's own installers
  return [...new Set(dirs)];
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** The version of the package (or native install) a command belongs to, when it can be told from the files. */
function versionOf(cmd: string, pkg: string): string | undefined {
  let real: string;
  try {
    real = realpathSync(cmd);
  } catch {
    return undefined;
  }
  let dir = dirname(real);
  for (let i = 0; i < 5; i++) {
    const pj = join(dir, 'package.json');
    if (existsSync(pj)) {
      try {
        const j = JSON.parse(readFileSync(pj, 'utf8')) as { name?: string; version?: string };
        if (j.name === pkg && j.version) return j.version;
      } catch {
        /* not ours */
      }
    }
    dir = dirname(dir);
  }
  const v = /^(\d+\.\d+\.\d+[^/\\]*)$/.exec(basename(real)); // ~/.local/share/claude/versions/2.1.x
  return v?.[1];
}

/** Installed Codex CLI and Claude Code: the first match of each on PATH or in npm's global bin folders. */
export function detectClients(o: DetectOptions = {}): DetectedClient[] {
  const win = (o.platform ?? process.platform) === 'win32';
  const exts = win ? ['.cmd', '.exe', '.ps1', ''] : [''];
  const out: DetectedClient[] = [];
  for (const k of KNOWN) {
    found: for (const dir of searchDirs(o)) {
      for (const ext of exts) {
        const p = join(dir, k.bin + ext);
        if (isFile(p)) {
          const version = versionOf(p, k.pkg);
          out.push({ id: k.id, name: k.name, path: p, ...(version ? { version } : {}) });
          break found;
        }
      }
    }
  }
  return out;
}

export interface TrustFacts {
  /** The router67 CA (PEM); absent before there is one (then no file "has" it). */
  caPem?: string;
  caPath: string;
  /** System roots + the router67 CA. */
  bundlePath: string;
  /** Is the CA in the OS trust store? undefined: unknown. */
  osTrusted: boolean | undefined;
  env?: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
}

export interface ClientAdvice {
  /** Does the client trust the router67 CA as things stand? */
  trusted: boolean;
  /** The exact lines to run (none when nothing is needed). */
  lines: string[];
  /** Why, in a few words. */
  note: string;
}

function pemBody(pem: string): string {
  return pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
}

/** Does the PEM file at `file` contain the certificate `caPem`? */
export function fileHasCert(file: string, caPem: string | undefined): boolean {
  if (!caPem || !pemBody(caPem)) return false;
  try {
    return readFileSync(file, 'utf8').replace(/\s+/g, '').includes(pemBody(caPem));
  } catch {
    return false;
  }
}

function quote(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export function setLine(platform: NodeJS.Platform, k: string, v: string): string {
  return platform === 'win32' ? `setx ${k} "${v}"` : `export ${k}=${quote(v)}`;
}

/** What one client needs to trust the router67 CA. */
export function clientAdvice(id: ClientId, f: TrustFacts): ClientAdvice {
  const env = f.env ?? process.env;
  const platform = f.platform ?? process.platform;
  const set = (k: string, v: string) => setLine(platform, k, v);
  if (id === 'codex') {
    const key = env.CODEX_CA_CERTIFICATE ? 'CODEX_CA_CERTIFICATE' : env.SSL_CERT_FILE ? 'SSL_CERT_FILE' : undefined;
    if (key) {
      const file = env[key]!;
      if (fileHasCert(file, f.caPem)) return { trusted: true, lines: [], note: `${key}=${file} has the router67 CA: nothing to set` };
      return {
        trusted: false,
        lines: [set('CODEX_CA_CERTIFICATE', f.bundlePath)],
        note: `${key}=${file} replaces Codex's roots and lacks the router67 CA (Codex would only print "invalid peer certificate: UnknownIssuer"); the bundle is the system roots plus the router67 CA — never ca.crt alone`,
      };
    }
    if (f.osTrusted) return { trusted: true, lines: [], note: 'uses the OS roots, which trust the router67 CA: nothing to set' };
    return {
      trusted: false,
      lines: [set('CODEX_CA_CERTIFICATE', f.bundlePath)],
      note: 'the router67 CA is not in the OS store, whose roots Codex uses (it would only print "invalid peer certificate: UnknownIssuer"); CODEX_CA_CERTIFICATE (or SSL_CERT_FILE) replaces the roots, so it names the bundle of system roots plus the router67 CA — never ca.crt alone',
    };
  }
  const extra = env.NODE_EXTRA_CA_CERTS;
  if (extra && fileHasCert(extra, f.caPem)) return { trusted: true, lines: [], note: `NODE_EXTRA_CA_CERTS=${extra} has the router67 CA: nothing to set` };
  const bundledOnly = env.CLAUDE_CODE_CERT_STORE === 'bundled';
  if (f.osTrusted && !bundledOnly) return { trusted: true, lines: [], note: 'trusts its bundled roots plus the OS store, which has the router67 CA: nothing to set' };
  return {
    trusted: false,
    lines: [set('NODE_EXTRA_CA_CERTS', f.caPath)],
    note: `${bundledOnly ? 'CLAUDE_CODE_CERT_STORE=bundled ignores the OS store' : 'the router67 CA is not in the OS store'}; NODE_EXTRA_CA_CERTS adds it, and must be in the environment (Claude Code ignores it in ~/.claude/settings.json)${extra ? `; it replaces your NODE_EXTRA_CA_CERTS=${extra} (put both certificates in one file to keep both)` : ''}`,
  };
}
