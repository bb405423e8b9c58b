// A WebSocket client for the tests (the `ws` package, as Node 20 has no stable global WebSocket):
// messages are queued as parsed JSON; turn() sends a response.create and collects up to the last event.
import type { ClientRequestArgs } from 'node:http';
import WebSocket, { type ClientOptions } from 'ws';

const TERMINAL = new Set(['response.completed', 'response.failed', 'response.incomplete', 'error']);

export class WsConn {
  private readonly queue: any[] = [];
  private readonly waiters: { resolve: (m: any) => void; reject: (e: Error) => void }[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (d) => {
      const m = JSON.parse(String(d));
      const w = this.waiters.shift();
      if (w) w.resolve(m);
      else this.queue.push(m);
    });
    this.closed = new Promise((r) =>
      ws.once('close', (code, reason) => {
        for (const w of this.waiters.splice(0)) w.reject(new Error(`closed ${code}`));
        r({ code, reason: reason.toString() });
      }),
    );
  }

  next(ms = 5000): Promise<any> {
    const m = this.queue.shift();
    if (m !== undefined) return Promise.resolve(m);
    return new Promise((resolve, reject) => {
      const w = {
        resolve: (v: any) => {
          clearTimeout(t);
          resolve(v);
        },
        reject: (e: Error) => {
          clearTimeout(t);
          reject(e);
        },
      };
      const t = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error('no message within the time limit'));
      }, ms);
      this.waiters.push(w);
    });
  }

  send(msg: unknown): void {
    this.ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
  }

  /** Sends one event and collects the answer's messages up to the terminal one. */
  async turn(msg: unknown): Promise<any[]> {
    this.send(msg);
    return this.until();
  }

  async until(): Promise<any[]> {
    const out: any[] = [];
    for (;;) {
      const m = await this.next();
      out.push(m);
      if (TERMINAL.has(m.type)) return out;
    }
  }

  close(): Promise<{ code: number; reason: string }> {
    this.ws.close(1000);
    return this.closed;
  }
}

export type Connected = { conn: WsConn; headers: Record<string, string | string[] | undefined> } | { status: number; body: string };

/** Opens a connection; an HTTP answer instead of the upgrade resolves with its status and body. */
export function connect(url: string, opts: ClientOptions & ClientRequestArgs = {}, protocols?: string[]): Promise<Connected> {
  return new Promise((resolve, reject) => {
    const ws = protocols ? new WebSocket(url, protocols, opts) : new WebSocket(url, opts);
    const conn = new WsConn(ws);
    ws.once('upgrade', (res) => ws.once('open', () => resolve({ conn, headers: res.headers })));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.once('error', reject);
  });
}

export async function open(url: string, opts: ClientOptions & ClientRequestArgs = {}, protocols?: string[]): Promise<WsConn> {
  const c = await connect(url, opts, protocols);
  if (!('conn' in c)) throw new Error(`upgrade refused: ${c.status} ${c.body}`);
  return c.conn;
}
