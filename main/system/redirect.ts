// Serving <listen ip>:443 from an unprivileged daemon on a high port.
//
// Linux: an nftables table of our own with an output nat chain:
//   ip daddr 127.0.67.1 tcp dport 443 dnat to 127.0.67.1:<port>
// (`redirect to :port` would send the connection to 127.0.0.1 and miss a listener bound to 127.0.67.1.)
// Only locally generated traffic passes the output hook, which is all we need for loopback clients.
// The ruleset text is generated from validated values only and fed to `nft -f -`; removal deletes the table.
//
// macOS: the listen IP must first be aliased onto lo0; a pf `rdr` rule in an anchor under com.apple/
// (which the stock /etc/pf.conf already evaluates) sends :443 to the high port.
import { isIPv4 } from 'node:net';
import type { Exec, Step } from './truststore.js';
import { execArgv } from './truststore.js';

export const NFT_FAMILY = 'ip';
export const NFT_TABLE = 'router67';
export const NFT_CHAIN = 'output';
export const PF_ANCHOR = 'com.apple/router67';

export interface RedirectSpec {
  ip: string;
  /** The port clients connect to (443). */
  fromPort?: number;
  /** The daemon's unprivileged port. */
  toPort: number;
}

function validate(spec: RedirectSpec): Required<RedirectSpec> {
  const fromPort = spec.fromPort ?? 443;
  if (!isIPv4(spec.ip)) throw new Error(`not an IPv4 address: ${JSON.stringify(spec.ip)}`);
  for (const p of [fromPort, spec.toPort]) {
    if (!Number.isInteger(p) || p < 1 || p > 65535) throw new Error(`not a port: ${String(p)}`);
  }
  return { ip: spec.ip, fromPort, toPort: spec.toPort };
}

/** The nftables rule line (as `nft list` prints it). */
export function nftRule(spec: RedirectSpec): string {
  const s = validate(spec);
  return `ip daddr ${s.ip} tcp dport ${s.fromPort} dnat to ${s.ip}:${s.toPort}`;
}

/**
 * A ruleset for `nft -f -` that replaces our table atomically: declaring the table first makes the
 * delete succeed whether or not it existed, and the whole file is one transaction.
 */
export function nftRuleset(spec: RedirectSpec): string {
  const rule = nftRule(spec);
  return [
    `table ${NFT_FAMILY} ${NFT_TABLE}`,
    `delete table ${NFT_FAMILY} ${NFT_TABLE}`,
    `table ${NFT_FAMILY} ${NFT_TABLE} {`,
    `\tchain ${NFT_CHAIN} {`,
    `\t\ttype nat hook output priority -100; policy accept;`,
    `\t\t${rule}`,
    `\t}`,
    `}`,
    '',
  ].join('\n');
}

export const nftApplyArgv = ['nft', '-f', '-'];
export const nftRemoveArgv = ['nft', 'delete', 'table', NFT_FAMILY, NFT_TABLE];
export const nftListArgv = ['nft', 'list', 'table', NFT_FAMILY, NFT_TABLE];

export interface RedirectState {
  present: boolean;
  /** The rule matches the spec asked about (when one was given). */
  matches?: boolean;
  rules: string[];
}

/** Reads `nft list table ip router67` output. */
export function parseNftList(text: string, spec?: RedirectSpec): RedirectState {
  const rules = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^ip daddr \S+ tcp dport \d+ dnat (ip )?to \S+$/.test(l));
  const r: RedirectState = { present: rules.length > 0, rules };
  if (spec) {
    const want = nftRule(spec);
    r.matches = rules.some((l) => l.replace(/ dnat ip to /, ' dnat to ') === want);
  }
  return r;
}

export async function linuxRedirectOn(spec: RedirectSpec, exec: Exec = execArgv): Promise<void> {
  const r = await exec(nftApplyArgv, { input: nftRuleset(spec) });
  if (r.code !== 0) throw new Error(`nft failed (exit ${r.code}): ${r.stderr.trim()}`);
}

/** Deletes our table; succeeds when it is already gone. */
export async function linuxRedirectOff(exec: Exec = execArgv): Promise<boolean> {
  const r = await exec(nftRemoveArgv);
  if (r.code === 0) return true;
  if (/No such file or directory|does not exist/i.test(r.stderr)) return false;
  throw new Error(`nft failed (exit ${r.code}): ${r.stderr.trim()}`);
}

export async function linuxRedirectState(spec?: RedirectSpec, exec: Exec = execArgv): Promise<RedirectState> {
  const r = await exec(nftListArgv);
  if (r.code !== 0) return { present: false, rules: [], ...(spec ? { matches: false } : {}) };
  return parseNftList(r.stdout, spec);
}

// ---------------------------------------------------------------------------------------------
// macOS (unit-tested commands; run for real only on a Mac)

// The alias is lost at reboot: a launchd job (a LaunchDaemon, run as root at boot) sets it again, so the daemon
// can listen after a restart without another "router67 install".
export const LAUNCHD_DIR = '/Library/LaunchDaemons';
export const ALIAS_JOB = 'com.router67.lo0-alias';

export function aliasPlistPath(dir = LAUNCHD_DIR): string {
  return `${dir}/${ALIAS_JOB}.plist`;
}

/** The LaunchDaemon that runs `/sbin/ifconfig lo0 alias <ip> up` at boot (no shell). */
export function aliasPlist(ip: string): string {
  if (!isIPv4(ip)) throw new Error(`not an IPv4 address: ${JSON.stringify(ip)}`);
  const args = ['/sbin/ifconfig', 'lo0', 'alias', ip, 'up'].map((a) => `\t\t<string>${a}</string>\n`).join('');
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n` +
    `<plist version="1.0">\n<dict>\n` +
    `\t<key>Label</key>\n\t<string>${ALIAS_JOB}</string>\n` +
    `\t<key>ProgramArguments</key>\n\t<array>\n${args}\t</array>\n` +
    `\t<key>RunAtLoad</key>\n\t<true/>\n` +
    `</dict>\n</plist>\n`
  );
}

/** The alias now, and the boot job (root-owned, 0644, as launchd requires) for every boot after. */
export function macosAliasOn(ip: string, launchdDir = LAUNCHD_DIR): Step[] {
  if (!isIPv4(ip)) throw new Error(`not an IPv4 address: ${JSON.stringify(ip)}`);
  return [
    { kind: 'run', argv: ['ifconfig', 'lo0', 'alias', ip, 'up'] },
    { kind: 'write', path: aliasPlistPath(launchdDir), content: aliasPlist(ip), mode: 0o644 },
  ];
}

/** The boot job out of launchd and off the disk, then the alias. */
export function macosAliasOff(ip: string, launchdDir = LAUNCHD_DIR): Step[] {
  if (!isIPv4(ip)) throw new Error(`not an IPv4 address: ${JSON.stringify(ip)}`);
  return [
    { kind: 'run', argv: ['launchctl', 'bootout', `system/${ALIAS_JOB}`], allowFail: true },
    { kind: 'remove', path: aliasPlistPath(launchdDir) },
    { kind: 'run', argv: ['ifconfig', 'lo0', '-alias', ip], allowFail: true },
  ];
}

/** The pf rule, fed to `pfctl -a com.apple/router67 -f -`. */
export function pfRules(spec: RedirectSpec): string {
  const s = validate(spec);
  return `rdr pass on lo0 inet proto tcp from any to ${s.ip} port ${s.fromPort} -> ${s.ip} port ${s.toPort}\n`;
}

/** Loads the anchor and enables pf (`-E` takes a reference, so pf stays on for other users of it). */
export function macosRedirectOn(spec: RedirectSpec): { argv: string[]; input?: string }[] {
  return [{ argv: ['pfctl', '-a', PF_ANCHOR, '-f', '-'], input: pfRules(spec) }, { argv: ['pfctl', '-E'] }];
}

export function macosRedirectOff(): { argv: string[] }[] {
  return [{ argv: ['pfctl', '-a', PF_ANCHOR, '-F', 'all'] }];
}
