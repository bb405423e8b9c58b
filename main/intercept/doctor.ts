// `router67 doctor`: is interception set up and working? One line per check, with the fix when it fails,
// then the exact lines that make each client family trust the router67 CA.
import { lookup } from 'node:dns/promises';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { connect } from 'node:tls';
import type { Config } from '../config/schema.js';
import type { CoreStatus } from '../core/core.js';
import { caMatchesHosts, caPaths, checkKeyMode, inspectCaCert, type CaCertFacts } from '../tls/ca.js';
import { createUpstreamLookup } from '../system/dns.js';
import { defaultHostsPath, inspectHostsFile } from '../system/hosts.js';
import { linuxRedirectState } from '../system/redirect.js';
import { findNssDbs, isTrusted, nssAdapter, onPath, systemAdapter, writeCombinedBundle, type Exec } from '../system/truststore.js';
import { listenPlan } from './interceptor.js';
import { bundlePath } from './setup.js';
import { clientAdvice, detectClients, type ClientId, type DetectedClient, type TrustFacts } from './clients.js';
import { readFileSync } from 'node:fs';

export type CheckStatus = 'ok' | 'fail' | 'warn' | 'skip';

export interface Check {
  id: string;
  status: CheckStatus;
  message: string;
  fix?: string;
}

export interface ClientLine {
  client: string;
  lines: string[];
  note?: string;
  /** An installed client found on this machine (Codex CLI, Claude Code). */
  detected?: { id: ClientId; path: string; version?: string; trusted: boolean };
}

export interface DoctorReport {
  ok: boolean;
  checks: Check[];
  clients: ClientLine[];
}

export interface DoctorOptions {
  home: string;
  config: Config;
  /** The running daemon's status, when one runs. */
  daemon?: CoreStatus;
  platform?: NodeJS.Platform;
  hostsPath?: string;
  userHome?: string;
  exec?: Exec;
  timeoutMs?: number;
  /** The environment the clients run with (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** Installed clients (default: found on PATH and in npm's global bin folders). */
  installedClients?: DetectedClient[];
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function tlsProbe(host: string, port: number, servername: string, ca: string, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const s = connect({ host, port, servername, ca, ALPNProtocols: ['http/1.1'] });
    const t = setTimeout(() => {
      s.destroy();
      resolve('timed out');
    }, timeoutMs);
    s.once('secureConnect', () => {
      clearTimeout(t);
      s.destroy();
      resolve(undefined);
    });
    s.once('error', (e) => {
      clearTimeout(t);
      resolve(e.message);
    });
  });
}

export async function runDoctor(o: DoctorOptions): Promise<DoctorReport> {
  const platform = o.platform ?? process.platform;
  const checks: Check[] = [];
  const add = (c: Check) => checks.push(c);
  const hosts = o.config.intercept_hosts;
  const plan = listenPlan(o.config);
  const p = caPaths(o.home);
  const timeoutMs = o.timeoutMs ?? 3000;

  // --- CA
  let facts: CaCertFacts | undefined;
  let osTrusted: boolean | undefined;
  if (existsSync(p.cert) && existsSync(p.key)) {
    try {
      facts = inspectCaCert(readFileSync(p.cert, 'utf8'));
      add({ id: 'ca', status: 'ok', message: `CA present: ${facts.commonName}, valid until ${facts.notAfter.toISOString().slice(0, 10)}` });
    } catch (e) {
      add({ id: 'ca', status: 'fail', message: `CA unreadable: ${(e as Error).message}`, fix: 'router67 install' });
    }
  } else add({ id: 'ca', status: 'fail', message: `no CA in ${p.dir}`, fix: 'router67 install' });
  const mode = checkKeyMode(o.home);
  if (mode) {
    add(
      mode.ok
        ? { id: 'ca-key-mode', status: 'ok', message: `CA key mode ${mode.mode.toString(8).padStart(4, '0')}` }
        : { id: 'ca-key-mode', status: 'fail', message: `CA key mode ${mode.mode.toString(8).padStart(4, '0')}: readable by others`, fix: `chmod 600 ${shellQuote(p.key)}` },
    );
  }
  if (facts) {
    add(
      caMatchesHosts(facts, hosts)
        ? { id: 'ca-hosts', status: 'ok', message: `CA limited (nameConstraints) to ${facts.permittedHosts.join(', ')}` }
        : { id: 'ca-hosts', status: 'fail', message: `CA limited to ${facts.permittedHosts.join(', ')} but intercept_hosts is ${hosts.join(', ')}`, fix: 'router67 install (re-issues the CA)' },
    );
    const ref = { certPath: p.cert, certPem: facts.certPem, sha1: facts.sha1 };
    const adapter = systemAdapter({ platform });
    if (!adapter) add({ id: 'ca-trusted', status: 'warn', message: 'no supported system trust store found', fix: `trust ${p.cert} by hand` });
    else {
      const trusted = await isTrusted(adapter, ref, o.exec);
      osTrusted = trusted;
      add(
        trusted
          ? { id: 'ca-trusted', status: 'ok', message: `CA trusted by the ${adapter.label}` }
          : { id: 'ca-trusted', status: 'fail', message: `CA not trusted by the ${adapter.label}`, fix: 'router67 install' },
      );
    }
    if (platform === 'linux' && onPath('certutil')) {
      for (const db of findNssDbs(o.userHome ?? homedir())) {
        const ok = await isTrusted(nssAdapter(db), ref, o.exec);
        add(ok ? { id: 'nss', status: 'ok', message: `CA trusted in ${db}` } : { id: 'nss', status: 'warn', message: `CA not in ${db} (Chromium/Firefox)`, fix: 'router67 install' });
      }
    }
  }

  // --- hosts block
  const hostsPath = o.hostsPath ?? defaultHostsPath(platform);
  const on = o.daemon?.intercept.state === 'on';
  let blocks: ReturnType<typeof inspectHostsFile> = [];
  try {
    blocks = inspectHostsFile(hostsPath);
  } catch (e) {
    add({ id: 'hosts-block', status: 'fail', message: `cannot read ${hostsPath}: ${(e as Error).message}` });
  }
  const stale = blocks.filter((b) => !b.alive);
  if (stale.length) {
    add({
      id: 'hosts-block',
      status: 'fail',
      message: `${hostsPath} has a router67 block whose daemon (pid ${stale.map((b) => b.owner?.pid ?? '?').join(', ')}) is gone: intercepted hosts point at nothing`,
      fix: `start router67 (it removes stale blocks) or: sudo router67 helper remove-hosts '{"which":"stale"}'`,
    });
  } else if (on) {
    const mine = blocks.find((b) => b.owner?.pid === o.daemon!.pid);
    const missing = mine ? hosts.filter((h) => !mine.hosts.includes(h.toLowerCase())) : hosts;
    add(
      mine && missing.length === 0
        ? { id: 'hosts-block', status: 'ok', message: `hosts block present, owned by the running daemon (pid ${o.daemon!.pid})` }
        : { id: 'hosts-block', status: 'fail', message: mine ? `hosts block lacks ${missing.join(', ')}` : `no hosts block for the running daemon (pid ${o.daemon!.pid})`, fix: 'restart router67 daemon' },
    );
  } else if (blocks.length) {
    add({ id: 'hosts-block', status: 'warn', message: `a router67 block owned by pid ${blocks.map((b) => b.owner?.pid).join(', ')} is present but this home's daemon is not intercepting` });
  } else {
    add({ id: 'hosts-block', status: 'ok', message: `no hosts block (interception is off)` });
  }

  // --- resolution, listener, redirect
  for (const h of hosts) {
    if (!on) {
      add({ id: `resolve:${h}`, status: 'skip', message: `${h}: interception off` });
      continue;
    }
    try {
      const addrs = await lookup(h, { all: true });
      const hit = addrs.some((a) => a.address === plan.ip || a.address === `::ffff:${plan.ip}`);
      add(
        hit
          ? { id: `resolve:${h}`, status: 'ok', message: `${h} resolves to ${plan.ip}` }
          : { id: `resolve:${h}`, status: 'fail', message: `${h} resolves to ${addrs.map((a) => a.address).join(', ')}, not ${plan.ip}`, fix: platform === 'darwin' ? 'sudo dscacheutil -flushcache; sudo killall -HUP mDNSResponder' : 'check /etc/nsswitch.conf ("files" before "dns") and flush the DNS cache' },
      );
    } catch (e) {
      add({ id: `resolve:${h}`, status: 'fail', message: `${h} does not resolve: ${(e as Error).message}` });
    }
  }
  if (on && facts) {
    const err = await tlsProbe(plan.ip, plan.port, hosts[0]!, facts.certPem, timeoutMs);
    add(
      err
        ? { id: 'listener', status: 'fail', message: `TLS listener on ${plan.ip}:${plan.port} not reachable: ${err}`, fix: plan.redirected ? 'router67 install (adds the redirect rule)' : 'restart router67 daemon' }
        : { id: 'listener', status: 'ok', message: `TLS listener on ${plan.ip}:${plan.port} answers for ${hosts[0]} with a certificate from the router67 CA` },
    );
  } else add({ id: 'listener', status: 'skip', message: 'daemon not intercepting' });
  if (o.config.daemon.redirect_port !== undefined && platform === 'linux') {
    if (process.getuid?.() !== 0) add({ id: 'redirect', status: 'skip', message: 'nftables rules can only be read as root (sudo router67 doctor)' });
    else {
      const st = await linuxRedirectState({ ip: plan.ip, toPort: o.config.daemon.redirect_port }, o.exec).catch(() => undefined);
      add(
        st?.matches
          ? { id: 'redirect', status: 'ok', message: `nftables: ${plan.ip}:${plan.port} -> ${plan.ip}:${o.config.daemon.redirect_port}` }
          : { id: 'redirect', status: 'fail', message: `nftables redirect to port ${o.config.daemon.redirect_port} missing`, fix: 'router67 install' },
      );
    }
  }

  // --- upstream DNS bypass
  const up = createUpstreamLookup({ interceptHosts: hosts, servers: o.config.daemon.upstream_dns, avoid: [plan.ip], timeoutMs: Math.min(timeoutMs, 3000) });
  for (const h of hosts) {
    const r = await new Promise<string>((resolve) =>
      up(h, { all: true }, (err, addrs) => resolve(err ? `error: ${err.message}` : (addrs as { address: string }[]).map((a) => a.address).join(', '))),
    );
    add(
      r.startsWith('error')
        ? { id: `upstream-dns:${h}`, status: 'fail', message: `upstream DNS (${up.servers.join(', ') || 'system'}) for ${h}: ${r.slice(7)}`, fix: 'set [daemon] upstream_dns = ["1.1.1.1", "9.9.9.9"] (any reachable name servers)' }
        : { id: `upstream-dns:${h}`, status: 'ok', message: `upstream DNS bypasses the hosts file: ${h} -> ${r}` },
    );
  }

  // --- client lines
  const bundle = bundlePath(o.home);
  if (facts) {
    try {
      writeCombinedBundle(bundle, facts.certPem, { platform });
    } catch {
      /* reported through the lines below anyway */
    }
  }
  const ca = p.cert;
  const win = platform === 'win32';
  const set = (k: string, v: string) => (win ? `setx ${k} "${v}"` : `export ${k}=${shellQuote(v)}`);
  const clients: ClientLine[] = [
    { client: 'Node.js (SDKs, CLIs)', lines: [set('NODE_EXTRA_CA_CERTS', ca)], note: 'adds the router67 CA to Node\'s roots; ignored by a node binary with file capabilities (setcap)' },
    {
      client: 'Python requests/httpx, curl',
      lines: [set('SSL_CERT_FILE', bundle), set('REQUESTS_CA_BUNDLE', bundle), set('CURL_CA_BUNDLE', bundle)],
      note: 'these replace the roots, so they point at a bundle of the system roots plus the router67 CA',
    },
  ];
  // installed coding CLIs with their own trust rules: the exact line each needs, or none
  const env = o.env ?? process.env;
  const found = o.installedClients ?? detectClients({ env, platform, ...(o.userHome ? { userHome: o.userHome } : {}) });
  const installed: ClientLine[] = [];
  for (const c of found) {
    if (!facts) {
      add({ id: `client:${c.id}`, status: 'skip', message: `${clientLabel(c)}: no router67 CA yet`, fix: 'router67 install' });
      continue;
    }
    const e = clientEntry(c, { caPem: facts.certPem, caPath: ca, bundlePath: bundle, osTrusted, env, platform });
    add(e.check);
    installed.push(e.line);
  }
  clients.unshift(...installed);
  if (platform === 'darwin') {
    clients.push({
      client: 'macOS GUI apps (they do not read your shell profile)',
      lines: [`launchctl setenv NODE_EXTRA_CA_CERTS ${shellQuote(ca)}`, `launchctl setenv SSL_CERT_FILE ${shellQuote(bundle)}`, `launchctl setenv REQUESTS_CA_BUNDLE ${shellQuote(bundle)}`],
    });
  }
  return { ok: !checks.some((c) => c.status === 'fail'), checks, clients };
}

function clientLabel(c: DetectedClient): string {
  return `${c.name}${c.version ? ` ${c.version}` : ''} (${c.path})`;
}

/** One installed client: its doctor check and its trust line(s), as `doctor` prints them (also the first-run page). */
export function clientEntry(c: DetectedClient, f: TrustFacts): { check: Check; line: ClientLine } {
  const label = clientLabel(c);
  const advice = clientAdvice(c.id, f);
  const check: Check = advice.trusted
    ? { id: `client:${c.id}`, status: 'ok', message: `${label}: ${advice.note}` }
    : { id: `client:${c.id}`, status: 'warn', message: `${label} will not trust the router67 CA: ${advice.note}`, fix: advice.lines.join('; ') };
  return {
    check,
    line: { client: label, lines: advice.lines, note: advice.note, detected: { id: c.id, path: c.path, ...(c.version ? { version: c.version } : {}), trusted: advice.trusted } },
  };
}

export function formatDoctor(r: DoctorReport): string {
  const mark: Record<CheckStatus, string> = { ok: 'ok  ', fail: 'FAIL', warn: 'warn', skip: 'skip' };
  const out: string[] = [];
  for (const c of r.checks) {
    out.push(`${mark[c.status]}  ${c.message}`);
    if (c.fix && (c.status === 'fail' || c.status === 'warn')) out.push(`      fix: ${c.fix}`);
  }
  out.push('', 'Make clients trust the router67 CA:');
  for (const c of r.clients) {
    out.push(`  ${c.client}:`);
    for (const l of c.lines) out.push(`    ${l}`);
    if (c.note) out.push(`    (${c.note})`);
  }
  return out.join('\n') + '\n';
}

export interface ClientTrustOptions {
  home: string;
  env?: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
  userHome?: string;
  exec?: Exec;
  installedClients?: DetectedClient[];
}

/**
 * The installed Claude Code / Codex and the exact trust line each needs, as `doctor` prints them. Before the
 * router67 CA exists: as they will be once set up (install puts the CA in the OS store where there is one).
 */
export async function clientTrustLines(o: ClientTrustOptions): Promise<{ lines: ClientLine[]; caExists: boolean }> {
  const platform = o.platform ?? process.platform;
  const env = o.env ?? process.env;
  const found = o.installedClients ?? detectClients({ env, platform, ...(o.userHome ? { userHome: o.userHome } : {}) });
  const p = caPaths(o.home);
  let facts: CaCertFacts | undefined;
  try {
    facts = existsSync(p.cert) ? inspectCaCert(readFileSync(p.cert, 'utf8')) : undefined;
  } catch {
    facts = undefined;
  }
  const adapter = systemAdapter({ platform });
  const osTrusted = facts && adapter ? await isTrusted(adapter, { certPath: p.cert, certPem: facts.certPem, sha1: facts.sha1 }, o.exec).catch(() => undefined) : adapter !== undefined;
  const f: TrustFacts = { caPath: p.cert, bundlePath: bundlePath(o.home), osTrusted, env, platform, ...(facts ? { caPem: facts.certPem } : {}) };
  return { lines: found.map((c) => clientEntry(c, f).line), caExists: facts !== undefined };
}
