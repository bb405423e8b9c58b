// Upstream name resolution that never goes through the hosts file.
//
// While interception is on, the hosts file sends api.anthropic.com (etc.) to router67 itself; the
// daemon's own calls to those origins would loop back into it if they used dns.lookup (getaddrinfo,
// which reads the hosts file). `createUpstreamLookup` returns a `lookup` for net/tls/undici `connect`
// options that resolves intercepted names with dns.Resolver (c-ares: DNS queries only) and every other
// name with the ordinary dns.lookup.
//
// Local caching resolvers can read the hosts file themselves (systemd-resolved's stub 127.0.0.53 and
// dnsmasq do), so: when the system's only name servers are systemd-resolved's stub, the real upstream list
// from /run/systemd/resolve/resolv.conf is used; and an answer naming router67's own listen address is
// discarded, with an error that says to set `[daemon] upstream_dns`.
import { lookup as systemLookup, Resolver, type LookupAddress, type LookupOptions } from 'node:dns';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';

export type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;
export type LookupFunction = (hostname: string, options: LookupOptions | number | LookupCallback, callback?: LookupCallback) => void;

export interface UpstreamLookup extends LookupFunction {
  setInterceptHosts(hosts: Iterable<string>): void;
  clearCache(): void;
  /** The name servers used for intercepted hosts. */
  readonly servers: string[];
}

export interface UpstreamLookupOptions {
  interceptHosts: Iterable<string>;
  /** Name servers for intercepted hosts ("1.1.1.1", "9.9.9.9:53", "[2606:4700::1111]:53"); default: the system's. */
  servers?: string[];
  /** Addresses that must never be returned (router67's listen IP): an answer with only these is an error. */
  avoid?: string[];
  timeoutMs?: number;
  /** Cache TTL bounds, seconds. */
  minTtl?: number;
  maxTtl?: number;
}

const RESOLVED_STUBS = new Set(['127.0.0.53', '127.0.0.54']);

function nameservers(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    if (m) out.push(m[1]!);
  }
  return out;
}

/**
 * The system's name servers as c-ares sees them, except that systemd-resolved's stub is replaced by
 * the upstream servers it uses (the stub answers from /etc/hosts).
 */
export function defaultUpstreamServers(read: (p: string) => string | undefined = readText, current: string[] = new Resolver().getServers()): string[] {
  if (process.platform !== 'linux') return current;
  const conf = nameservers(read('/etc/resolv.conf') ?? '');
  const stubOnly = (list: string[]) => list.length > 0 && list.every((s) => RESOLVED_STUBS.has(s.replace(/:53$/, '')));
  if (stubOnly(conf) || stubOnly(current)) {
    const real = nameservers(read('/run/systemd/resolve/resolv.conf') ?? '').filter((s) => !RESOLVED_STUBS.has(s));
    if (real.length > 0) return real;
  }
  return current;
}

function readText(p: string): string | undefined {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return undefined;
  }
}

interface CacheEntry {
  v4: string[];
  v6: string[];
  expires: number;
}

function errno(code: string, message: string, hostname: string): NodeJS.ErrnoException {
  const e = new Error(message) as NodeJS.ErrnoException & { hostname?: string };
  e.code = code;
  e.hostname = hostname;
  return e;
}

function norm(h: string): string {
  return h.toLowerCase().replace(/\.$/, '');
}

export function createUpstreamLookup(opts: UpstreamLookupOptions): UpstreamLookup {
  const resolver = new Resolver({ timeout: opts.timeoutMs ?? 3000, tries: 2 });
  const servers = opts.servers && opts.servers.length > 0 ? opts.servers : defaultUpstreamServers(readText, resolver.getServers());
  resolver.setServers(servers);
  const avoid = new Set((opts.avoid ?? []).flatMap((a) => [a, `::ffff:${a}`]));
  const minTtl = opts.minTtl ?? 5;
  const maxTtl = opts.maxTtl ?? 300;
  let hosts = new Set<string>();
  const cache = new Map<string, CacheEntry>();
  const pending = new Map<string, Promise<CacheEntry>>();

  const resolveFamily = (fn: 'resolve4' | 'resolve6', host: string) =>
    new Promise<{ addrs: string[]; ttl: number; err?: NodeJS.ErrnoException }>((resolve) => {
      resolver[fn](host, { ttl: true }, (err, recs) => {
        if (err) return resolve({ addrs: [], ttl: minTtl, err });
        resolve({ addrs: recs.map((r) => r.address), ttl: Math.min(...recs.map((r) => r.ttl), maxTtl) });
      });
    });

  const resolveHost = (host: string): Promise<CacheEntry> => {
    const hit = cache.get(host);
    if (hit && hit.expires > Date.now()) return Promise.resolve(hit);
    let p = pending.get(host);
    if (!p) {
      p = Promise.all([resolveFamily('resolve4', host), resolveFamily('resolve6', host)])
        .then(([a, b]) => {
          const v4 = a.addrs.filter((x) => !avoid.has(x));
          const v6 = b.addrs.filter((x) => !avoid.has(x));
          if (v4.length + v6.length === 0) {
            if (a.addrs.length + b.addrs.length > 0) {
              throw errno('ELOOP', `upstream DNS answered ${host} with router67's own address (the name server reads the hosts file); set [daemon] upstream_dns`, host);
            }
            const e = a.err ?? b.err;
            throw errno(e?.code ?? 'ENOTFOUND', `upstream DNS lookup of ${host} failed: ${e?.code ?? 'no addresses'}`, host);
          }
          const ttl = Math.max(minTtl, Math.min(a.addrs.length ? a.ttl : maxTtl, b.addrs.length ? b.ttl : maxTtl));
          const entry = { v4, v6, expires: Date.now() + ttl * 1000 };
          cache.set(host, entry);
          return entry;
        })
        .finally(() => pending.delete(host));
      pending.set(host, p);
    }
    return p;
  };

  const fn = ((hostname: string, options: LookupOptions | number | LookupCallback, callback?: LookupCallback) => {
    let cb = callback;
    let o: LookupOptions = {};
    if (typeof options === 'function') cb = options;
    else if (typeof options === 'number') o = { family: options };
    else if (options) o = options;
    if (!cb) throw new TypeError('lookup needs a callback');
    const done = cb;
    const host = norm(hostname);
    if (!hosts.has(host) || isIP(host)) {
      systemLookup(hostname, o as LookupOptions & { all: boolean }, done as never);
      return;
    }
    const family = o.family === 'IPv4' ? 4 : o.family === 'IPv6' ? 6 : (o.family ?? 0);
    resolveHost(host).then(
      (e) => {
        const list: LookupAddress[] = [];
        if (family !== 6) list.push(...e.v4.map((address) => ({ address, family: 4 })));
        if (family !== 4) list.push(...e.v6.map((address) => ({ address, family: 6 })));
        if (list.length === 0) return done(errno('ENOTFOUND', `no IPv${family} address for ${host}`, host), o.all ? [] : '');
        if (o.all) return done(null, list);
        done(null, list[0]!.address, list[0]!.family);
      },
      (err: NodeJS.ErrnoException) => done(err, o.all ? [] : ''),
    );
  }) as UpstreamLookup;

  fn.setInterceptHosts = (h) => {
    hosts = new Set([...h].map(norm));
  };
  fn.clearCache = () => cache.clear();
  Object.defineProperty(fn, 'servers', { value: servers, enumerable: true });
  fn.setInterceptHosts(opts.interceptHosts);
  return fn;
}
