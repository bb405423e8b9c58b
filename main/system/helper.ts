// `router67 helper <operation> <args>`: the only code router67 runs as root/administrator.
//
// Each operation is narrow and its input is validated with zod before anything happens:
//   - host names must be host names, addresses must be loopback IPv4 (127.0.0.0/8), ports numbers;
//   - the only file path accepted is the router67 home folder (absolute, normalised), and the only file read
//     from it is ca/ca.crt (or ca/previous.crt): opened once, never through a symbolic link, read from that one
//     descriptor; it must hold exactly one certificate, a router67 CA whose critical nameConstraints permit only
//     host names of two labels or more (never a whole top-level domain, never every name) and exclude every IP.
//     What the trust store gets is that certificate re-encoded, from a root-owned copy, never the user's path
//     again (the user owns the folder: a file swapped after the check would otherwise be what gets trusted or
//     copied) — so the helper cannot be talked into trusting an arbitrary certificate or mapping a name elsewhere;
//   - the hosts file is the OS's own (not an argument).
// Commands are run with argument arrays (execFile), never a shell string.
//
// The argument is JSON, optionally transported as `b64:<base64url of the JSON>` (what `elevate` sends, so no
// quoting layer — pkexec, AppleScript, PowerShell — ever sees a quote or a space from data).
import { X509Certificate } from 'node:crypto';
import { closeSync, constants, fstatSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, normalize } from 'node:path';
import { isIPv4 } from 'node:net';
import { z } from 'zod';
import { CA_CN_PREFIX, caPaths, inspectCaCert, isHostName } from '../tls/ca.js';
import { hostNameProblem } from './hostname.js';
import { applyHostsFile, defaultHostsPath, removeHostsFile, type HostsChange, type WriteOps } from './hosts.js';
import { defaultCliCommand, spawnWatchdog, watchHosts, type SpawnWatchdog, type WatchOptions } from './watchdog.js';
import { linuxRedirectOff, linuxRedirectOn, macosAliasOff, macosAliasOn, macosRedirectOff, macosRedirectOn } from './redirect.js';
import { execArgv, onPath, runSteps, systemAdapter, type CaRef, type Exec, type Step, type TrustAdapter } from './truststore.js';

export const loopbackIPv4 = z
  .string()
  .refine((s) => isIPv4(s) && s.startsWith('127.'), 'expected a loopback IPv4 address (127.0.0.0/8)');
const hostName = z
  .string()
  .max(253)
  .superRefine((s, ctx) => {
    if (!isHostName(s)) ctx.addIssue({ code: 'custom', message: hostNameProblem(s) ?? 'expected a lower-case host name' });
  });
const highPort = z.number().int().min(1024).max(65535);
const pid = z.number().int().min(1).max(2 ** 31 - 1);
export const routerHome = z
  .string()
  .min(2)
  .max(4096)
  .refine((s) => !s.includes('\0') && isAbsolute(s) && normalize(s) === s && !s.split(/[\\/]/).includes('..'), 'expected an absolute, normalised path to the router67 home');

const owner = z.strictObject({ pid, start: z.string().regex(/^\d{1,20}$/).optional() });

export const OPERATIONS = {
  'apply-hosts': z.strictObject({
    ip: loopbackIPv4,
    hosts: z.array(hostName).min(1).max(100),
    owner,
    flush: z.boolean().default(true),
    /** Start the watchdog (helper `watch`) after writing the block: the elevated path, where no pipe crosses. */
    watch: z.boolean().optional(),
  }),
  'remove-hosts': z.strictObject({
    which: z.enum(['all', 'stale']).default('all'),
    ownerPid: pid.optional(),
    flush: z.boolean().default(true),
  }),
  'trust-ca': z.strictObject({ home: routerHome }),
  'untrust-ca': z.strictObject({ home: routerHome, which: z.enum(['current', 'previous']).default('current') }),
  'redirect-on': z.strictObject({ ip: loopbackIPv4, port: highPort }),
  'redirect-off': z.strictObject({}),
  'alias-on': z.strictObject({ ip: loopbackIPv4 }),
  'alias-off': z.strictObject({ ip: loopbackIPv4 }),
  'flush-dns': z.strictObject({}),
  /** Long-running: the hosts-block watchdog (main/system/watchdog.ts). Never part of a batch. */
  watch: z.strictObject({ owner, pipe: z.boolean().default(false), flush: z.boolean().default(true) }),
} as const;

export type Operation = keyof typeof OPERATIONS | 'batch';
export type OperationArgs<O extends keyof typeof OPERATIONS> = z.input<(typeof OPERATIONS)[O]>;

const single = z.discriminatedUnion(
  'op',
  (Object.keys(OPERATIONS) as (keyof typeof OPERATIONS)[]).filter((op) => op !== 'watch').map((op) => z.strictObject({ op: z.literal(op), args: OPERATIONS[op] })) as never,
);
const batchSchema = z.strictObject({ ops: z.array(single).min(1).max(10) });

export interface HelperContext {
  platform?: NodeJS.Platform;
  /** Tests only (in-process); the CLI never takes this from its arguments. */
  hostsPath?: string;
  hostsWriteOps?: WriteOps;
  exec?: Exec;
  trustAdapter?: TrustAdapter | null;
  /** Tests only: where macOS LaunchDaemons go (default /Library/LaunchDaemons). */
  launchdDir?: string;
  /** Tests: how apply-hosts {watch:true} starts the watchdog, and the watchdog's own knobs. */
  spawnWatchdog?: SpawnWatchdog;
  watch?: Omit<WatchOptions, 'hostsPath' | 'hostsWriteOps' | 'flush'>;
}

export interface OpResult {
  ok: boolean;
  op: string;
  message?: string;
  detail?: unknown;
}

export class HelperInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HelperInputError';
  }
}

/** Decodes an argument string: JSON, or `b64:` + base64url(JSON). */
export function decodeArgs(s: string | undefined): unknown {
  if (s === undefined || s === '') return {};
  const text = s.startsWith('b64:') ? Buffer.from(s.slice(4), 'base64url').toString('utf8') : s;
  try {
    return JSON.parse(text);
  } catch {
    throw new HelperInputError('arguments are not valid JSON');
  }
}

export function encodeArgs(args: unknown): string {
  return `b64:${Buffer.from(JSON.stringify(args ?? {}), 'utf8').toString('base64url')}`;
}

/** Validates an operation's arguments; throws HelperInputError naming the first problem. */
export function validate(op: string, raw: unknown): { op: Operation; args: unknown } {
  if (op === 'batch') {
    const r = batchSchema.safeParse(raw);
    if (!r.success) throw new HelperInputError(describe(r.error));
    return { op, args: r.data };
  }
  if (!Object.hasOwn(OPERATIONS, op)) throw new HelperInputError(`unknown helper operation ${JSON.stringify(op)}`);
  const schema = OPERATIONS[op as keyof typeof OPERATIONS];
  const r = schema.safeParse(raw);
  if (!r.success) throw new HelperInputError(describe(r.error));
  return { op: op as Operation, args: r.data };
}

function describe(err: z.ZodError): string {
  const i = err.issues[0]!;
  return `${i.path.length ? `${i.path.join('.')}: ` : ''}${i.message}`;
}

const MAX_CERT_BYTES = 64 * 1024;

/** A file of the user's read once: not through a symbolic link, not a FIFO or device, at most `max` bytes. */
function readOnce(file: string, max: number): string {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ELOOP') throw new Error(`${file} is not a regular file (a symbolic link)`);
    throw e;
  }
  try {
    if (!fstatSync(fd).isFile()) throw new Error(`${file} is not a regular file`);
    const buf = Buffer.alloc(max + 1);
    let n = 0;
    for (let r; n < buf.length && (r = readSync(fd, buf, n, buf.length - n, null)) > 0; ) n += r;
    if (n > max) throw new Error(`${file} is too large for a certificate`);
    return buf.toString('utf8', 0, n);
  } finally {
    closeSync(fd);
  }
}

/** A DER certificate as PEM. */
function toPem(der: Buffer): string {
  return `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;
}

function readCaRef(home: string, which: 'current' | 'previous'): CaRef & { certPem: string } {
  const p = caPaths(home);
  const file = which === 'current' ? p.cert : join(p.dir, 'previous.crt');
  const text = readOnce(file, MAX_CERT_BYTES);
  const refuse = (why: string) => new Error(`${file} is not a router67 CA restricted to the intercepted hosts (${why}); refusing to trust it`);
  // one certificate, re-encoded from its DER: what is checked is exactly what the trust store gets
  if ((text.match(/-----BEGIN /g) ?? []).length !== 1) throw refuse('it must hold exactly one certificate');
  let certPem: string;
  try {
    certPem = toPem(Buffer.from(new X509Certificate(text).raw));
  } catch {
    throw refuse('not a PEM certificate');
  }
  const facts = inspectCaCert(certPem);
  const nc = (facts.cert.extensions as { id?: string; critical?: boolean }[]).find((e) => e.id === NAME_CONSTRAINTS_OID);
  if (!facts.isCa || !facts.commonName.startsWith(CA_CN_PREFIX)) throw refuse('not a router67 CA');
  if (!nc?.critical || facts.permittedHosts.length === 0 || !facts.excludesAllIps) throw refuse('no critical nameConstraints permitting DNS names and excluding every IP');
  if (facts.permittedHosts.length > MAX_PERMITTED) throw refuse(`more than ${MAX_PERMITTED} permitted names`);
  // a one-label name ("com") covers a whole top-level domain, the empty name every name
  const broad = facts.permittedHosts.find((h) => !isHostName(h) || !h.includes('.'));
  if (broad !== undefined) throw refuse(`permitted name ${JSON.stringify(broad)} is not a host name of two labels or more`);
  return { certPath: '', certPem, sha1: facts.sha1 };
}

/** The nameConstraints extension (RFC 5280 §4.2.1.10). */
const NAME_CONSTRAINTS_OID = '2.5.29.30';
/** As many permitted names as apply-hosts takes hosts. */
const MAX_PERMITTED = 100;

/**
 * The checked certificate in a root-owned folder for the steps that need a path (the anchor copy, `trust`,
 * `security`); removed after. In /tmp on POSIX (sticky: nobody else can rename or replace what root made there),
 * not $TMPDIR, which the caller chooses.
 */
async function withStagedCa<T>(ca: CaRef & { certPem: string }, platform: NodeJS.Platform, run: (ref: CaRef) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(platform === 'win32' ? tmpdir() : '/tmp', 'router67-ca-'));
  try {
    const certPath = join(dir, 'router67.crt');
    writeFileSync(certPath, ca.certPem, { mode: 0o644, flag: 'wx' });
    return await run({ ...ca, certPath });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function flushSteps(platform: NodeJS.Platform): Step[] {
  if (platform === 'darwin') {
    return [
      { kind: 'run', argv: ['dscacheutil', '-flushcache'], allowFail: true },
      { kind: 'run', argv: ['killall', '-HUP', 'mDNSResponder'], allowFail: true },
    ];
  }
  if (platform === 'win32') return [{ kind: 'run', argv: ['ipconfig', '/flushdns'], allowFail: true }];
  const steps: Step[] = [];
  if (onPath('resolvectl')) steps.push({ kind: 'run', argv: ['resolvectl', 'flush-caches'], allowFail: true });
  if (onPath('nscd')) steps.push({ kind: 'run', argv: ['nscd', '-i', 'hosts'], allowFail: true });
  return steps;
}

export { flushSteps as dnsFlushSteps };

/** Runs one validated operation in this process (the caller must already be privileged). */
export async function runOperation(op: string, rawArgs: unknown, ctx: HelperContext = {}): Promise<OpResult> {
  const { args } = validate(op, rawArgs);
  const platform = ctx.platform ?? process.platform;
  const exec = ctx.exec ?? execArgv;
  const hostsPath = ctx.hostsPath ?? defaultHostsPath(platform);
  const adapter = () => {
    const a = ctx.trustAdapter === undefined ? systemAdapter({ platform }) : ctx.trustAdapter;
    if (!a) throw new Error('no supported system trust store found on this machine');
    return a;
  };
  const needPlatform = (...ok: NodeJS.Platform[]) => {
    if (!ok.includes(platform)) throw new Error(`${op} is not available on ${platform}`);
  };
  switch (op as Operation) {
    case 'apply-hosts': {
      const a = args as z.output<(typeof OPERATIONS)['apply-hosts']>;
      const r: HostsChange = applyHostsFile(hostsPath, { ip: a.ip, hosts: a.hosts, owner: a.owner }, ctx.hostsWriteOps);
      if (r.changed && a.flush) await runSteps(flushSteps(platform), exec);
      // With the rights that just wrote the block; no pipe crosses the elevation, so it watches the pid.
      const w = a.watch ? (ctx.spawnWatchdog ?? spawnWatchdog)(defaultCliCommand(), { owner: a.owner, pipe: false }) : undefined;
      return { ok: true, op, detail: { changed: r.changed, method: r.method, ...(w ? { watchdog: w.pid } : {}) } };
    }
    case 'remove-hosts': {
      const a = args as z.output<(typeof OPERATIONS)['remove-hosts']>;
      const r = removeHostsFile(hostsPath, { which: a.which, ...(a.ownerPid !== undefined ? { ownerPid: a.ownerPid } : {}), ...ctx.hostsWriteOps });
      if (r.changed && a.flush) await runSteps(flushSteps(platform), exec);
      return { ok: true, op, detail: { changed: r.changed, method: r.method, removed: r.removed?.length ?? 0 } };
    }
    case 'trust-ca': {
      const a = args as z.output<(typeof OPERATIONS)['trust-ca']>;
      const ref = readCaRef(a.home, 'current');
      const ad = adapter();
      await withStagedCa(ref, platform, (staged) => runSteps(ad.trust(staged), exec));
      return { ok: true, op, detail: { store: ad.id } };
    }
    case 'untrust-ca': {
      const a = args as z.output<(typeof OPERATIONS)['untrust-ca']>;
      const ad = adapter();
      let ref: (CaRef & { certPem: string }) | undefined;
      try {
        ref = readCaRef(a.home, a.which);
      } catch (e) {
        // The Linux anchor stores remove by our fixed file name; macOS and Windows need the certificate.
        if (ad.id === 'macos' || ad.id === 'windows' || ad.id === 'arch') throw e;
      }
      if (ref) await withStagedCa(ref, platform, (staged) => runSteps(ad.untrust(staged), exec));
      else await runSteps(ad.untrust({ certPath: '', certPem: '', sha1: '' }), exec);
      return { ok: true, op, detail: { store: ad.id } };
    }
    case 'redirect-on': {
      const a = args as z.output<(typeof OPERATIONS)['redirect-on']>;
      needPlatform('linux', 'darwin');
      if (platform === 'linux') await linuxRedirectOn({ ip: a.ip, toPort: a.port }, exec);
      else for (const c of macosRedirectOn({ ip: a.ip, toPort: a.port })) await mustRun(exec, c.argv, c.input);
      return { ok: true, op };
    }
    case 'redirect-off': {
      needPlatform('linux', 'darwin');
      if (platform === 'linux') {
        const removed = await linuxRedirectOff(exec);
        return { ok: true, op, detail: { removed } };
      }
      for (const c of macosRedirectOff()) await exec(c.argv);
      return { ok: true, op };
    }
    case 'alias-on': {
      needPlatform('darwin');
      await runSteps(macosAliasOn((args as { ip: string }).ip, ctx.launchdDir), exec);
      return { ok: true, op };
    }
    case 'alias-off': {
      needPlatform('darwin');
      await runSteps(macosAliasOff((args as { ip: string }).ip, ctx.launchdDir), exec);
      return { ok: true, op };
    }
    case 'flush-dns':
      await runSteps(flushSteps(platform), exec);
      return { ok: true, op };
    case 'watch': {
      const a = args as z.output<(typeof OPERATIONS)['watch']>;
      const r = await watchHosts(a, { ...ctx.watch, hostsPath, hostsWriteOps: ctx.hostsWriteOps, flush: () => runSteps(flushSteps(platform), exec) });
      return { ok: true, op, detail: r };
    }
    case 'batch': {
      const results: OpResult[] = [];
      for (const o of (args as { ops: { op: string; args: unknown }[] }).ops) {
        results.push(await runOperation(o.op, o.args, ctx));
      }
      return { ok: true, op, detail: results };
    }
  }
  throw new HelperInputError(`unknown helper operation ${JSON.stringify(op)}`);
}

async function mustRun(exec: Exec, argv: string[], input?: string): Promise<void> {
  const r = await exec(argv, input !== undefined ? { input } : {});
  if (r.code !== 0) throw new Error(`${argv.join(' ')} failed (exit ${r.code}): ${r.stderr.trim()}`);
}

export const HELPER_USAGE = `usage: router67 helper <operation> [<json>|b64:<base64url json>]

Privileged operations (run as root/administrator; the app and CLI elevate this command through the OS prompt):
  apply-hosts   {"ip":"127.0.67.1","hosts":["api.anthropic.com"],"owner":{"pid":123}}
  remove-hosts  {"which":"all"|"stale","ownerPid"?:123}
  trust-ca      {"home":"/home/me/.router67"}       trusts <home>/ca/ca.crt in the system store
  untrust-ca    {"home":"/home/me/.router67","which"?:"current"|"previous"}
  redirect-on   {"ip":"127.0.67.1","port":8443}     Linux nftables / macOS pf: <ip>:443 -> <ip>:<port>
  redirect-off  {}
  alias-on      {"ip":"127.0.67.1"}                 macOS: ifconfig lo0 alias, and a LaunchDaemon for every boot
  alias-off     {"ip":"127.0.67.1"}
  flush-dns     {}
  watch         {"owner":{"pid":123},"pipe"?:true}   stays running; removes that owner's hosts block when it
                                                    dies or closes the pipe on stdin, then exits
  batch         {"ops":[{"op":"trust-ca","args":{...}}, ...]}   several operations, one prompt

Prints one JSON line with the result. Exit status: 0 done, 1 failed, 2 invalid input.`;

/** The CLI entry for `router67 helper …`; argv excludes "helper". */
export async function runHelper(argv: string[], ctx: HelperContext = {}, out: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): Promise<number> {
  const [op, raw, ...extra] = argv;
  if (!op || op === '--help' || op === '-h' || op === 'help') {
    out(HELPER_USAGE);
    return op ? 0 : 2;
  }
  if (extra.length > 0) {
    out(JSON.stringify({ ok: false, op, message: 'too many arguments' }));
    return 2;
  }
  try {
    const result = await runOperation(op, decodeArgs(raw), ctx);
    out(JSON.stringify(result));
    return 0;
  } catch (e) {
    const invalid = e instanceof HelperInputError;
    out(JSON.stringify({ ok: false, op, message: (e as Error).message }));
    return invalid ? 2 : 1;
  }
}
