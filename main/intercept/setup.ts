// `router67 install` and `router67 uninstall`: the one-time setup interception needs, and its exact reversal.
//
// install:   seed config.toml when there is none; create (or re-issue) the constrained CA; trust it in the
//            system store and the user's NSS databases; Linux: the nftables redirect when [daemon]
//            redirect_port is set; macOS: the lo0 alias (+ pf redirect when redirect_port is set); write the
//            combined CA bundle for Python/curl. Every privileged step goes to the helper in one batch (one
//            prompt), and only when something is missing, so running install again changes nothing.
// uninstall: hosts block, CA trust (system + NSS), redirect rule, alias, then the CA files; the user's
//            config stays unless --purge.
import { existsSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { loadConfigFile } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { paths } from '../core/paths.js';
import { caPaths, ensureCa, inspectCaCert, type LoadedCa } from '../tls/ca.js';
import type { ElevateOptions } from '../system/elevate.js';
import type { Operation } from '../system/helper.js';
import { defaultHostsPath, inspectHostsFile } from '../system/hosts.js';
import { linuxRedirectState } from '../system/redirect.js';
import { findNssDbs, isTrusted, nssAdapter, onPath, runSteps, systemAdapter, writeCombinedBundle, type CaRef, type Exec, type TrustAdapter } from '../system/truststore.js';
import { listenPlan, Privileged, PromptRefusedError } from './interceptor.js';

export const SEED_CONFIG = `# router67 config: https://github.com/hinryd/router67 (schema unchanged) plus router67's additions.
# Keys are read from environment variables here; the app can also keep them in the OS keychain.

intercept_hosts = ["api.anthropic.com", "api.openai.com", "openrouter.ai"]

[daemon]
listen          = "127.0.67.1:443"   # TLS listener for the intercepted hosts
http_listen     = "127.0.0.1:6767"   # plain endpoint for clients that can set a base URL
log_level       = "info"
max_connections = 32
# Linux/macOS: run the daemon unprivileged on this port; "router67 install" adds a rule sending
# 127.0.67.1:443 to it.
# redirect_port = 8443

[[providers]]
name     = "anthropic"
base_url = "https://api.anthropic.com"
auth     = { header = "x-api-key", value_env = "ANTHROPIC_API_KEY" }
extra_headers = { "anthropic-version" = "2023-06-01" }

[providers.available_models]
"claude-sonnet-4.6" = "claude-sonnet-4-5-20250929"

[[providers]]
name     = "openrouter"
base_url = "https://openrouter.ai/api"
auth     = { header = "Authorization", prefix = "Bearer ", value_env = "OPENROUTER_API_KEY" }

[providers.available_models]
"claude-sonnet-4.6" = "anthropic/claude-sonnet-4.6"
`;

export interface SetupOptions {
  home: string;
  configPath?: string;
  platform?: NodeJS.Platform;
  /** The user's home folder, for NSS databases (default: os.homedir()). */
  userHome?: string;
  nss?: boolean;
  hostsPath?: string;
  elevate?: ElevateOptions;
  exec?: Exec;
  /** Progress lines. */
  say?: (line: string) => void;
  /**
   * Runs install's privileged steps (default: one helper batch through the OS prompt). Set up interception passes
   * one that adds them to the prompt that writes the hosts block, so the whole setup asks once.
   */
  runPrivileged?: (ops: { op: Operation; args: unknown }[]) => Promise<void>;
}

export function bundlePath(home: string): string {
  return join(caPaths(home).dir, 'bundle.pem');
}

function caRef(home: string, which: 'current' | 'previous' = 'current'): CaRef | undefined {
  const p = caPaths(home);
  const file = which === 'current' ? p.cert : join(p.dir, 'previous.crt');
  if (!existsSync(file)) return undefined;
  const certPem = readFileSync(file, 'utf8');
  try {
    return { certPath: file, certPem, sha1: inspectCaCert(certPem).sha1 };
  } catch {
    return undefined;
  }
}

export interface InstallResult {
  config: Config;
  configSeeded: boolean;
  ca: LoadedCa;
  caCreated: boolean;
  caReissued: boolean;
  privilegedOps: Operation[];
  nssDbs: string[];
  bundle: string;
}

export async function install(o: SetupOptions): Promise<InstallResult> {
  const say = o.say ?? (() => {});
  const platform = o.platform ?? process.platform;
  const configPath = o.configPath ?? paths(o.home).config;
  let configSeeded = false;
  // the JSON Schema for editor completion, beside the config (the seed's first line points at it)
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const jsonSchema = require('../config/json-schema.js') as typeof import('../config/json-schema.js');
  try {
    jsonSchema.writeSchemaFile(o.home);
  } catch (e) {
    say(`could not write ${jsonSchema.schemaPath(o.home)}: ${(e as Error).message}`);
  }
  if (!existsSync(configPath)) {
    writeFileSync(configPath, `${jsonSchema.schemaDirective(configPath, o.home)}\n${SEED_CONFIG}`, { mode: 0o600, flag: 'wx' });
    configSeeded = true;
    say(`wrote ${configPath} (router67's example; keys come from ANTHROPIC_API_KEY and OPENROUTER_API_KEY)`);
  }
  const { config } = loadConfigFile(configPath);

  const ensured = ensureCa(o.home, config.intercept_hosts);
  const caReissued = ensured.created && ensured.replacedCertPem !== undefined;
  if (caReissued) say(`re-issued the router67 CA for ${config.intercept_hosts.join(', ')} (the previous one will be untrusted)`);
  else if (ensured.created) say(`created the router67 CA (${ensured.ca.commonName}) in ${caPaths(o.home).dir}, limited to ${config.intercept_hosts.join(', ')}`);
  else say(`router67 CA present (${ensured.ca.commonName})`);
  const ref = caRef(o.home)!;

  const ops: { op: Operation; args: unknown }[] = [];
  const adapter: TrustAdapter | undefined = systemAdapter({ platform });
  if (!adapter) say('no supported system trust store found: trust the CA by hand (see "router67 doctor")');
  const prev = caReissued ? caRef(o.home, 'previous') : undefined;
  if (adapter && prev && (adapter.id === 'macos' || adapter.id === 'windows' || adapter.id === 'arch')) {
    if (adapter.admin) ops.push({ op: 'untrust-ca', args: { home: o.home, which: 'previous' } });
    else await runSteps(adapter.untrust(prev), o.exec);
  }
  if (adapter && (caReissued || !(await isTrusted(adapter, ref, o.exec)))) {
    if (adapter.admin) ops.push({ op: 'trust-ca', args: { home: o.home } });
    else {
      await runSteps(adapter.trust(ref), o.exec);
      say(`trusted the CA in the ${adapter.label}`);
    }
  } else if (adapter) say(`the CA is already trusted by the ${adapter.label}`);

  const plan = listenPlan(config);
  if (platform === 'darwin') {
    ops.push({ op: 'alias-on', args: { ip: plan.ip } });
    if (config.daemon.redirect_port !== undefined) ops.push({ op: 'redirect-on', args: { ip: plan.ip, port: config.daemon.redirect_port } });
  } else if (platform === 'linux' && config.daemon.redirect_port !== undefined) {
    const st = await linuxRedirectState({ ip: plan.ip, toPort: config.daemon.redirect_port }, o.exec).catch(() => undefined);
    if (!st?.matches) ops.push({ op: 'redirect-on', args: { ip: plan.ip, port: config.daemon.redirect_port } });
    else say(`nftables redirect ${plan.ip}:443 -> ${plan.ip}:${config.daemon.redirect_port} already present`);
  }
  if (ops.length > 0) {
    say(`administrator rights needed for: ${ops.map((x) => x.op).join(', ')}`);
    try {
      if (o.runPrivileged) await o.runPrivileged(ops);
      else await new Privileged(o.hostsPath ?? defaultHostsPath(platform), { platform, ...o.elevate }).run('batch', { ops });
    } catch (e) {
      // A refused prompt changes nothing: what this run created before asking goes again.
      if (e instanceof PromptRefusedError) undoCreated(configPath, o.home, { configSeeded, caCreated: ensured.created && !caReissued });
      throw e;
    }
    for (const x of ops) say(`done: ${x.op}`);
  }

  const nssDbs: string[] = [];
  if (o.nss !== false && platform === 'linux') {
    for (const db of findNssDbs(o.userHome ?? homedir())) {
      if (!onPath('certutil')) {
        say(`found the NSS database ${db} but certutil is missing (install libnss3-tools / nss-tools)`);
        break;
      }
      await runSteps(nssAdapter(db).trust(ref), o.exec);
      nssDbs.push(db);
      say(`trusted the CA in ${db}`);
    }
  }

  const bundle = bundlePath(o.home);
  writeCombinedBundle(bundle, ref.certPem, { platform });
  say(`wrote ${bundle} (system roots + the router67 CA, for Python and curl)`);
  return { config, configSeeded, ca: ensured.ca, caCreated: ensured.created, caReissued, privilegedOps: ops.map((x) => x.op), nssDbs, bundle };
}

/** Removes the config this run seeded and the CA it created (not a re-issued one: the old key is gone). */
function undoCreated(configPath: string, home: string, what: { configSeeded: boolean; caCreated: boolean }): void {
  if (what.caCreated) {
    const p = caPaths(home);
    rmSync(p.cert, { force: true });
    rmSync(p.key, { force: true });
    try {
      rmdirSync(p.dir);
    } catch {
      /* not empty: other files were there before */
    }
  }
  if (what.configSeeded) rmSync(configPath, { force: true });
}

export interface UninstallOptions extends SetupOptions {
  /** Remove the whole home folder (config, logs) too. */
  purge?: boolean;
}

export async function uninstall(o: UninstallOptions): Promise<{ privilegedOps: Operation[] }> {
  const say = o.say ?? (() => {});
  const platform = o.platform ?? process.platform;
  const hostsPath = o.hostsPath ?? defaultHostsPath(platform);
  let config: Config | undefined;
  try {
    config = loadConfigFile(o.configPath ?? paths(o.home).config).config;
  } catch {
    config = undefined;
  }
  const ops: { op: Operation; args: unknown }[] = [];
  let blocks = 0;
  try {
    blocks = inspectHostsFile(hostsPath).length;
  } catch {
    /* unreadable: nothing we can tell */
  }
  if (blocks > 0) ops.push({ op: 'remove-hosts', args: { which: 'all' } });

  const adapter = systemAdapter({ platform });
  const cur = caRef(o.home);
  const prev = caRef(o.home, 'previous');
  if (adapter && (adapter.id === 'debian' || adapter.id === 'fedora' || adapter.id === 'suse')) {
    // Anchor folders: our file has a fixed name; remove it whether or not ca.crt still exists.
    const copy = adapter.trust({ certPath: '', certPem: '', sha1: '' }).find((s) => s.kind === 'copy');
    const anchor = copy?.kind === 'copy' ? copy.to : undefined;
    if ((anchor && existsSync(anchor)) || (cur && (await isTrusted(adapter, cur, o.exec)))) ops.push({ op: 'untrust-ca', args: { home: o.home } });
  } else if (adapter) {
    for (const [which, ref] of [['current', cur], ['previous', prev]] as const) {
      if (!ref || !(await isTrusted(adapter, ref, o.exec))) continue;
      if (adapter.admin) ops.push({ op: 'untrust-ca', args: { home: o.home, which } });
      else await runSteps(adapter.untrust(ref), o.exec);
    }
  }
  const ip = config ? listenPlan(config).ip : '127.0.67.1';
  if (platform === 'linux') {
    if (onPath('nft')) {
      const root = process.getuid?.() === 0;
      const st = root ? await linuxRedirectState(undefined, o.exec).catch(() => undefined) : undefined;
      // A normal user may not list nftables rules: then ask the helper whenever a redirect is configured.
      if (st?.present || (!root && config?.daemon.redirect_port !== undefined)) ops.push({ op: 'redirect-off', args: {} });
    }
  } else if (platform === 'darwin') {
    ops.push({ op: 'redirect-off', args: {} }, { op: 'alias-off', args: { ip } });
  }
  if (ops.length > 0) {
    say(`administrator rights needed for: ${ops.map((x) => x.op).join(', ')}`);
    const priv = new Privileged(hostsPath, { platform, ...o.elevate });
    await priv.run('batch', { ops });
    for (const x of ops) say(`done: ${x.op}`);
  }
  if (o.nss !== false && platform === 'linux' && onPath('certutil')) {
    for (const db of findNssDbs(o.userHome ?? homedir())) {
      await runSteps(nssAdapter(db).untrust(cur ?? { certPath: '', certPem: '', sha1: '' }), o.exec);
      say(`removed the CA from ${db}`);
    }
  }
  rmSync(caPaths(o.home).dir, { recursive: true, force: true });
  say(`deleted ${caPaths(o.home).dir}`);
  if (o.purge) {
    rmSync(o.home, { recursive: true, force: true });
    say(`deleted ${o.home}`);
  } else if (existsSync(o.configPath ?? paths(o.home).config)) {
    say(`kept ${o.configPath ?? paths(o.home).config} (use --purge to delete it and the logs)`);
  }
  return { privilegedOps: ops.map((x) => x.op) };
}

