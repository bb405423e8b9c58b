// A tiny authoritative DNS server on loopback UDP for tests: answers A/AAAA from a table, NXDOMAIN otherwise.
// It stands in for "the real DNS" so upstream lookups of intercepted hosts can be checked to bypass the hosts file.
import { createSocket, type Socket } from 'node:dgram';
import { isIPv4, isIPv6 } from 'node:net';

export interface DnsServer {
  address: string; // "127.0.0.1:PORT"
  queries: { name: string; type: number }[];
  close(): Promise<void>;
}

function readName(buf: Buffer, off: number): { name: string; end: number } {
  const labels: string[] = [];
  while (buf[off]! !== 0) {
    const len = buf[off]!;
    labels.push(buf.subarray(off + 1, off + 1 + len).toString('ascii'));
    off += len + 1;
  }
  return { name: labels.join('.').toLowerCase(), end: off + 1 };
}

function ipv6Bytes(ip: string): Buffer {
  const [head, tail] = ip.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), i * 2));
  return b;
}

/** records: name -> addresses (IPv4 and/or IPv6). */
export async function startDnsServer(records: Record<string, string[]>, host = '127.0.0.1'): Promise<DnsServer> {
  const sock: Socket = createSocket('udp4');
  const queries: { name: string; type: number }[] = [];
  sock.on('message', (msg, rinfo) => {
    if (msg.length < 12) return;
    const q = readName(msg, 12);
    const qtype = msg.readUInt16BE(q.end);
    queries.push({ name: q.name, type: qtype });
    const question = msg.subarray(12, q.end + 4);
    const addrs = records[q.name];
    const answers: Buffer[] = [];
    for (const a of addrs ?? []) {
      if (qtype === 1 && isIPv4(a)) {
        const rd = Buffer.from(a.split('.').map(Number));
        answers.push(Buffer.concat([Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4]), rd]));
      } else if (qtype === 28 && isIPv6(a)) {
        answers.push(Buffer.concat([Buffer.from([0xc0, 0x0c, 0, 28, 0, 1, 0, 0, 0, 30, 0, 16]), ipv6Bytes(a)]));
      }
    }
    const header = Buffer.alloc(12);
    msg.copy(header, 0, 0, 2);
    header.writeUInt16BE(0x8180 | (addrs ? 0 : 3), 2);
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answers.length, 6);
    sock.send(Buffer.concat([header, question, ...answers]), rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => sock.bind(0, host, resolve));
  const port = sock.address().port;
  return {
    address: `${host}:${port}`,
    queries,
    close: () => new Promise((resolve) => sock.close(() => resolve())),
  };
}
