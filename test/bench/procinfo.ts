// The app-behind-each-connection lookup (main/procinfo) on Linux, per new connection: a client process that held
// a connection before (the common case: found through the processes remembered) and a cold one (a fresh lookup:
// the /proc-wide scan). The client is this process; its CPU around each lookup, and of that the search of the socket
// table alone (the kernel walks its connection hash table bucket by bucket up to the row), beside the table's size
// and the cost of reading it whole.
import { readFileSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import { AppLookup } from '../../main/procinfo/lookup.js';
import { findSocketIn } from '../../main/procinfo/linux.js';
import type { ConnectionAddress } from '../../main/procinfo/lookup.js';
import type { BenchContext } from './sections.js';

const cpu = () => {
  const u = process.cpuUsage();
  return { user: u.user / 1000, system: u.system / 1000 };
};

export async function appLookups(ctx: BenchContext): Promise<void> {
  if (process.platform !== 'linux') {
    console.log('app lookup per connection: Linux only, skipped\n');
    return;
  }
  const server = createServer((s) => s.on('error', () => {}));
  const accepted: Socket[] = [];
  server.on('connection', (s) => accepted.push(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const open = async (): Promise<{ client: Socket; server: Socket; conn: { remoteAddress: string; remotePort: number; localAddress: string; localPort: number } }> => {
    const client = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => client.once('connect', resolve).once('error', reject));
    const deadline = Date.now() + 5000;
    while (!accepted.length) {
      if (Date.now() > deadline) throw new Error('app lookup bench: connection not accepted within 5 s');
      await new Promise((r) => setImmediate(r));
    }
    const s = accepted.shift()!;
    return { client, server: s, conn: { remoteAddress: s.remoteAddress!, remotePort: s.remotePort!, localAddress: s.localAddress!, localPort: s.localPort! } };
  };
  /** Both ends closed before the next lookup is timed, so their events are not counted in it. */
  const shut = (...socks: Socket[]) => Promise.all(socks.map((x) => new Promise((r) => (x.destroyed && x.closed ? r(null) : (x.once('close', r), x.destroy())))));
  /** Redirect mode's shape: the listener "accepts" on port 1, the client dialled the real port (its row shows that). */
  const ACCEPTED_PORT = 1;
  type Mode = 'direct' | 'dialled unknown' | 'dialled known';
  /** `n` lookups per mode; the modes take turns connection by connection, so the table's drift hits each alike. */
  const run = async (n: number, lookupFor: () => AppLookup, modes: Mode[] = ['direct']) => {
    const acc = modes.map(() => ({ total: 0, table: 0, found: 0, bytes: 0, searchBytes: 0, each: [] as number[] }));
    for (let i = 0; i < n * modes.length; i++) {
      const mode = modes[i % modes.length]!;
      const r = acc[i % modes.length]!;
      const opened = await open();
      const { client, server: end } = opened;
      const conn: ConnectionAddress = mode === 'direct' ? opened.conn : { ...opened.conn, localPort: ACCEPTED_PORT };
      const dialled = { address: opened.conn.localAddress, port: opened.conn.localPort };
      const apps = lookupFor();
      apps.redirect({ address: conn.localAddress, port: ACCEPTED_PORT }, mode === 'dialled known' ? dialled : undefined);
      const read0 = apps.linux?.stats.tableBytes ?? 0;
      const c0 = cpu();
      const info = await apps.lookup(conn);
      const c1 = cpu();
      const count = { bytes: 0 };
      findSocketIn('/proc', mode === 'dialled known' ? { ...conn, dialledAddress: dialled.address, dialledPort: dialled.port } : conn, undefined, count); // the table search again, alone
      const c2 = cpu();
      r.bytes += (apps.linux?.stats.tableBytes ?? 0) - read0;
      r.searchBytes += count.bytes;
      await shut(client, end);
      if (info?.pid === process.pid) r.found++;
      const ms = c1.user - c0.user + c1.system - c0.system;
      r.total += ms;
      r.table += c2.user - c1.user + c2.system - c1.system;
      r.each.push(ms);
    }
    return acc.map((r) => {
      r.each.sort((x, y) => x - y);
      return { total: r.total / n, table: r.table / n, p50: r.each[n >> 1]!, max: r.each[n - 1]!, found: r.found, n, kb: r.bytes / n / 1024, searchKb: r.searchBytes / n / 1024 };
    });
  };
  try {
    const known = new AppLookup({ platform: 'linux' });
    const first = await open();
    await known.lookup(first.conn); // this process is now a client it knows
    await shut(first.client, first.server);
    const [k] = await run(ctx.N(500), () => known);
    const [cold] = await run(ctx.N(40), () => new AppLookup({ platform: 'linux' }));
    const [redirUnknown, redirKnown] = await run(ctx.N(200), () => known, ['dialled unknown', 'dialled known']);
    // the table the lookups searched, and what reading it whole costs (the kernel walks every hash bucket)
    const tcpText = readFileSync('/proc/net/tcp', 'latin1');
    const rows = tcpText.split('\n').length - 2;
    let whole = Infinity;
    for (let i = 0; i < 10; i++) {
      const c0 = cpu();
      readFileSync('/proc/net/tcp');
      const c1 = cpu();
      whole = Math.min(whole, c1.user - c0.user + c1.system - c0.system);
    }
    const line = (label: string, r: NonNullable<typeof k>) =>
      console.log(
        `  ${label.padEnd(36)} CPU ${ctx.fmt(r.total, 3)} ms/connection (p50 ${ctx.fmt(r.p50, 3)}, max ${ctx.fmt(r.max, 3)}; the table search alone ${ctx.fmt(r.table, 3)}, ${ctx.fmt(r.searchKb, 1)} KB read), tables read ${ctx.fmt(r.kb, 1)} KB/lookup, found ${r.found}/${r.n}`,
      );
    console.log('app lookup per new connection (Linux /proc; this process the client)');
    line('known client', k!);
    line('cold', cold!);
    line('redirected, dialled address unknown', redirUnknown!);
    line('redirected, dialled address known', redirKnown!);
    console.log(`  /proc/net/tcp: ${rows} rows, ${ctx.fmt(tcpText.length / 1024, 1)} KB; reading it whole ${ctx.fmt(whole, 3)} ms CPU (best of 10)\n`);
    ctx.checks.push(['app lookup CPU per new connection, known client', k!.total, 0.3, 'ms']);
  } finally {
    for (const x of accepted) x.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  }
}
