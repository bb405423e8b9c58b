// Trusting router67's CA in the operating system's certificate stores.
//
// Each adapter turns "trust this CA" / "stop trusting it" into a list of exact steps (argument arrays
// and file operations). The steps are data, so the macOS and Windows adapters are unit-tested on the
// commands they produce; `runSteps` executes them with execFile-style argument arrays, never a shell.
//
// System stores (Debian/Ubuntu, Fedora/RHEL, Arch, openSUSE, macOS System keychain) need root and run
// inside the privileged helper. NSS databases (Chromium's ~/.pki/nssdb, Firefox profiles) belong to the
// user and must be edited as the user, never as root (root would leave root-owned files in the user's
// home); the Windows current-user Root store needs no admin either.
import { execFile } from 'node:child_process';
import { accessSync, chmodSync, constants, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { rootCertificates } from 'node:tls';

/** The file name router67's CA gets in the Linux anchor folders. */
export const ANCHOR_NAME = 'router67.crt';
/** The NSS nickname. */
export const NSS_NICKNAME = 'router67';
export const MACOS_SYSTEM_KEYCHAIN = '/Library/Keychains/System.keychain';

export type Step =
  | { kind: 'mkdir'; path: string }
  | { kind: 'copy'; from: string; to: string; mode: number }
  | { kind: 'remove'; path: string }
  | { kind: 'write'; path: string; content: string; mode: number }
  | { kind: 'run'; argv: string[]; /** A failing exit status is not an error (e.g. removing what is not there). */ allowFail?: boolean };

/** The CA as the adapters need it. `certPath` must hold exactly this certificate's PEM. */
export interface CaRef {
  certPath: string;
  certPem: string;
  /** Hex SHA-1 of the DER (macOS and Windows identify certificates by it). */
  sha1: string;
}

export type StoreId = 'debian' | 'fedora' | 'arch' | 'suse' | 'nss' | 'macos' | 'windows';

export interface TrustAdapter {
  id: StoreId;
  /** Human-readable name of the store, for doctor and install output. */
  label: string;
  /** Needs root/admin (runs in the privileged helper). */
  admin: boolean;
  trust(ca: CaRef): Step[];
  untrust(ca: CaRef): Step[];
  /** How to tell whether the CA is trusted: a bundle file that must contain it, or a command that must succeed. */
  check(ca: CaRef): { bundle: string } | { argv: string[] };
}

interface LinuxStoreDef {
  id: 'debian' | 'fedora' | 'suse';
  label: string;
  anchors: string;
  update: string[];
  /** Debian's script only notices a removed local certificate with --fresh (else its links dangle). */
  untrustUpdate?: string[];
  bundle: string;
}

const LINUX_STORES: LinuxStoreDef[] = [
  { id: 'debian', label: 'Debian/Ubuntu CA store', anchors: '/usr/local/share/ca-certificates', update: ['update-ca-certificates'], untrustUpdate: ['update-ca-certificates', '--fresh'], bundle: '/etc/ssl/certs/ca-certificates.crt' },
  { id: 'fedora', label: 'Fedora/RHEL CA trust', anchors: '/etc/pki/ca-trust/source/anchors', update: ['update-ca-trust', 'extract'], bundle: '/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem' },
  { id: 'suse', label: 'openSUSE CA store', anchors: '/etc/pki/trust/anchors', update: ['update-ca-certificates'], bundle: '/var/lib/ca-certificates/ca-bundle.pem' },
];

function anchorAdapter(d: LinuxStoreDef): TrustAdapter {
  const target = join(d.anchors, ANCHOR_NAME).replace(/\\/g, '/');
  return {
    id: d.id,
    label: d.label,
    admin: true,
    trust: (ca) => [
      { kind: 'mkdir', path: d.anchors },
      { kind: 'copy', from: ca.certPath, to: target, mode: 0o644 },
      { kind: 'run', argv: [...d.update] },
    ],
    untrust: () => [
      { kind: 'remove', path: target },
      { kind: 'run', argv: [...(d.untrustUpdate ?? d.update)] },
    ],
    check: () => ({ bundle: d.bundle }),
  };
}

export const debianAdapter = (): TrustAdapter => anchorAdapter(LINUX_STORES[0]!);
export const fedoraAdapter = (): TrustAdapter => anchorAdapter(LINUX_STORES[1]!);
export const suseAdapter = (): TrustAdapter => anchorAdapter(LINUX_STORES[2]!);

/** Arch (p11-kit): `trust anchor --store` copies the certificate into its trust source and re-extracts. */
export function archAdapter(): TrustAdapter {
  return {
    id: 'arch',
    label: 'Arch p11-kit trust',
    admin: true,
    trust: (ca) => [
      { kind: 'run', argv: ['trust', 'anchor', '--remove', ca.certPath], allowFail: true },
      { kind: 'run', argv: ['trust', 'anchor', '--store', ca.certPath] },
    ],
    untrust: (ca) => [{ kind: 'run', argv: ['trust', 'anchor', '--remove', ca.certPath], allowFail: true }],
    check: () => ({ bundle: '/etc/ca-certificates/extracted/tls-ca-bundle.pem' }),
  };
}

export function macosAdapter(): TrustAdapter {
  return {
    id: 'macos',
    label: 'macOS System keychain',
    admin: true,
    trust: (ca) => [{ kind: 'run', argv: ['security', 'add-trusted-cert', '-d', '-r', 'trustRoot', '-k', MACOS_SYSTEM_KEYCHAIN, ca.certPath] }],
    untrust: (ca) => [
      { kind: 'run', argv: ['security', 'remove-trusted-cert', '-d', ca.certPath], allowFail: true },
      { kind: 'run', argv: ['security', 'delete-certificate', '-Z', ca.sha1.toUpperCase(), MACOS_SYSTEM_KEYCHAIN], allowFail: true },
    ],
    check: (ca) => ({ argv: ['security', 'verify-cert', '-c', ca.certPath] }),
  };
}

/** Windows current-user Root store: no admin needed (Windows shows its own confirmation). */
export function windowsAdapter(): TrustAdapter {
  return {
    id: 'windows',
    label: 'Windows current-user Root store',
    admin: false,
    trust: (ca) => [{ kind: 'run', argv: ['certutil', '-addstore', '-user', 'Root', ca.certPath] }],
    untrust: (ca) => [{ kind: 'run', argv: ['certutil', '-delstore', '-user', 'Root', ca.sha1.toLowerCase()], allowFail: true }],
    check: (ca) => ({ argv: ['certutil', '-user', '-verifystore', 'Root', ca.sha1.toLowerCase()] }),
  };
}

/** One NSS database (`sql:` format, cert9.db), edited as the user who owns it. */
export function nssAdapter(dbDir: string): TrustAdapter {
  const db = `sql:${dbDir}`;
  return {
    id: 'nss',
    label: `NSS database ${dbDir}`,
    admin: false,
    trust: (ca) => [
      { kind: 'run', argv: ['certutil', '-d', db, '-D', '-n', NSS_NICKNAME], allowFail: true },
      { kind: 'run', argv: ['certutil', '-d', db, '-A', '-t', 'C,,', '-n', NSS_NICKNAME, '-i', ca.certPath] },
    ],
    untrust: () => [{ kind: 'run', argv: ['certutil', '-d', db, '-D', '-n', NSS_NICKNAME], allowFail: true }],
    check: () => ({ argv: ['certutil', '-d', db, '-L', '-n', NSS_NICKNAME] }),
  };
}

// ---------------------------------------------------------------------------------------------
// Detection

export interface DetectContext {
  platform?: NodeJS.Platform;
  env?: NodeJS.ProcessEnv;
  exists?: (p: string) => boolean;
  readFile?: (p: string) => string | undefined;
  /** Whether a command is on PATH. */
  which?: (cmd: string) => boolean;
}

export function onPath(cmd: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const dirs = (env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin').split(delimiter);
  for (const d of [...dirs, '/usr/sbin', '/sbin']) {
    if (!d) continue;
    try {
      accessSync(join(d, cmd), constants.X_OK);
      return true;
    } catch {
      /* next */
    }
  }
  return false;
}

function readOsRelease(read: (p: string) => string | undefined): string[] {
  const text = read('/etc/os-release') ?? read('/usr/lib/os-release') ?? '';
  const ids: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^(ID|ID_LIKE)=("?)([^"]*)\2\s*$/.exec(line);
    if (m) ids.push(...m[3]!.toLowerCase().split(/\s+/).filter(Boolean));
  }
  return ids;
}

/** Which Linux family's trust store applies: os-release first, then the tools and folders present. */
export function detectLinuxStore(ctx: DetectContext = {}): 'debian' | 'fedora' | 'arch' | 'suse' | undefined {
  const exists = ctx.exists ?? existsSync;
  const read =
    ctx.readFile ??
    ((p: string) => {
      try {
        return readFileSync(p, 'utf8');
      } catch {
        return undefined;
      }
    });
  const which = ctx.which ?? ((c: string) => onPath(c, ctx.env));
  const ids = readOsRelease(read);
  const has = (...names: string[]) => names.some((n) => ids.includes(n));
  if (has('suse', 'opensuse') && which('update-ca-certificates')) return 'suse';
  if (has('debian', 'ubuntu') && which('update-ca-certificates')) return 'debian';
  if (has('fedora', 'rhel', 'centos') && which('update-ca-trust')) return 'fedora';
  if (has('arch') && which('trust')) return 'arch';
  if (which('update-ca-certificates') && exists('/usr/local/share/ca-certificates')) return 'debian';
  if (which('update-ca-trust') && exists('/etc/pki/ca-trust/source/anchors')) return 'fedora';
  if (which('update-ca-certificates') && exists('/etc/pki/trust/anchors')) return 'suse';
  if (which('trust') && exists('/etc/ca-certificates/trust-source')) return 'arch';
  return undefined;
}

/** The system store adapter for this machine (undefined on an unknown Linux). */
export function systemAdapter(ctx: DetectContext = {}): TrustAdapter | undefined {
  const platform = ctx.platform ?? process.platform;
  if (platform === 'darwin') return macosAdapter();
  if (platform === 'win32') return windowsAdapter();
  if (platform !== 'linux') return undefined;
  switch (detectLinuxStore(ctx)) {
    case 'debian':
      return debianAdapter();
    case 'fedora':
      return fedoraAdapter();
    case 'suse':
      return suseAdapter();
    case 'arch':
      return archAdapter();
    default:
      return undefined;
  }
}

/** The user's NSS databases that exist: Chromium's shared one and Firefox profiles (classic and snap). */
export function findNssDbs(homeDir: string, ctx: { exists?: (p: string) => boolean; list?: (p: string) => string[] } = {}): string[] {
  const exists = ctx.exists ?? existsSync;
  const list =
    ctx.list ??
    ((p: string) => {
      try {
        return readdirSync(p);
      } catch {
        return [];
      }
    });
  const out: string[] = [];
  for (const d of [join(homeDir, '.pki', 'nssdb'), join(homeDir, 'snap', 'chromium', 'current', '.pki', 'nssdb')]) {
    if (exists(join(d, 'cert9.db'))) out.push(d);
  }
  for (const base of [join(homeDir, '.mozilla', 'firefox'), join(homeDir, 'snap', 'firefox', 'common', '.mozilla', 'firefox')]) {
    for (const name of list(base)) {
      const d = join(base, name);
      if (exists(join(d, 'cert9.db'))) out.push(d);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Execution

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}
export type Exec = (argv: string[], opts?: { input?: string; timeoutMs?: number }) => Promise<ExecResult>;

/** Runs argv[0] with the remaining arguments as an array (no shell). Never rejects: a spawn error is code 127. */
export const execArgv: Exec = (argv, opts = {}) =>
  new Promise((resolve) => {
    const [cmd, ...args] = argv;
    if (!cmd) return resolve({ code: 127, stdout: '', stderr: 'empty command' });
    const child = execFile(cmd, args, { timeout: opts.timeoutMs ?? 60_000, windowsHide: true, maxBuffer: 8 * 1024 * 1024 }, (err, stdout, stderr) => {
      let code = 0;
      if (err) {
        const e = err as NodeJS.ErrnoException & { code?: string | number };
        code = typeof e.code === 'number' ? e.code : e.code === 'ENOENT' ? 127 : (child.exitCode ?? 1);
      }
      resolve({ code, stdout: String(stdout), stderr: String(stderr) || (err && code === 127 ? `${cmd}: not found` : '') });
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });

export class StepError extends Error {
  constructor(
    readonly step: Step,
    readonly result?: ExecResult,
  ) {
    super(
      step.kind === 'run'
        ? `${step.argv.join(' ')} failed (exit ${result?.code ?? '?'}): ${(result?.stderr || result?.stdout || '').trim().split('\n').slice(-3).join(' ')}`
        : `${step.kind} failed`,
    );
    this.name = 'StepError';
  }
}

export async function runSteps(steps: Step[], exec: Exec = execArgv): Promise<void> {
  for (const s of steps) {
    switch (s.kind) {
      case 'mkdir':
        mkdirSync(s.path, { recursive: true, mode: 0o755 });
        break;
      case 'copy':
        copyFileSync(s.from, s.to);
        chmodSync(s.to, s.mode);
        break;
      case 'remove':
        rmSync(s.path, { force: true });
        break;
      case 'write':
        writeFileSync(s.path, s.content, { mode: s.mode });
        chmodSync(s.path, s.mode);
        break;
      case 'run': {
        const r = await exec(s.argv);
        if (r.code !== 0 && !s.allowFail) throw new StepError(s, r);
        break;
      }
    }
  }
}

function pemBody(pem: string): string {
  return pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
}

/** Whether a PEM bundle text contains this certificate. */
export function bundleContains(bundleText: string, certPem: string): boolean {
  const body = pemBody(certPem);
  return body.length > 0 && bundleText.replace(/\s+/g, '').includes(body);
}

export async function isTrusted(adapter: TrustAdapter, ca: CaRef, exec: Exec = execArgv): Promise<boolean> {
  const c = adapter.check(ca);
  if ('bundle' in c) {
    try {
      return bundleContains(readFileSync(c.bundle, 'utf8'), ca.certPem);
    } catch {
      return false;
    }
  }
  return (await exec(c.argv)).code === 0;
}

// ---------------------------------------------------------------------------------------------
// Combined bundle for clients whose CA setting replaces their roots (Python requests/httpx, curl)

/** The system's root bundle file on Linux, if any. */
export function systemBundlePath(ctx: DetectContext = {}): string | undefined {
  const exists = ctx.exists ?? existsSync;
  for (const p of [...LINUX_STORES.map((s) => s.bundle), '/etc/ca-certificates/extracted/tls-ca-bundle.pem', '/etc/ssl/cert.pem']) {
    if (exists(p)) return p;
  }
  return undefined;
}

/**
 * Writes system roots + router67's CA to `target` — never our CA alone, since SSL_CERT_FILE, REQUESTS_CA_BUNDLE
 * and CURL_CA_BUNDLE replace a client's roots. The roots come from the system bundle where one exists,
 * else from Node's bundled Mozilla roots.
 */
export function writeCombinedBundle(target: string, caPem: string, ctx: DetectContext & { systemBundle?: string } = {}): void {
  let roots: string;
  const sys = ctx.systemBundle ?? ((ctx.platform ?? process.platform) === 'linux' ? systemBundlePath(ctx) : undefined);
  if (sys) {
    roots = readFileSync(sys, 'utf8');
    if (bundleContains(roots, caPem)) roots = removeFromBundle(roots, caPem);
  } else {
    roots = rootCertificates.join('\n');
  }
  writeFileSync(target, `${roots.trimEnd()}\n${caPem.trim()}\n`, { mode: 0o644 });
}

function removeFromBundle(bundle: string, certPem: string): string {
  const body = pemBody(certPem);
  return bundle.replace(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n?/g, (m) => (pemBody(m) === body ? '' : m));
}
