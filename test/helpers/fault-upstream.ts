// A local OpenAI Chat upstream driven by a script of faults, one step per request: reset the connection, answer a
// status (with or without Retry-After), answer late, stream with a cut. Records when each request came, when its
// first byte went out and when its socket closed, on the test process's clock (performance.now()).
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

export type Step =
  | 'ok'
  | 'reset'
  | 'hang'
  | 'drop-mid-stream'
  /** Streams its first chunk, then ends the response cleanly, without a finish_reason or [DONE]. */
  | 'end-mid-stream'
  | { status: number; retryAfter?: string; body?: string }
  | { delayMs: number; then?: Step };

export interface Seen {
  at: number;
  body: string;
  json: Record<string, unknown>;
  /** When the response headers were written (first byte), if they were. */
  firstByteAt?: number;
  /** When the request's socket closed before its response ended. */
  closedAt?: number;
}

export interface FaultUpstream {
  url: string;
  name: string;
  /** Steps for the next requests, in order; when empty, `otherwise`. */
  script: Step[];
  otherwise: Step;
  seen: Seen[];
  /** Resolves with the next Seen whose socket closes early (a client abort). */
  nextClose(): Promise<Seen>;
  close(): Promise<void>;
}

export async function startFaultUpstream(name: string, otherwise: Step = 'ok'): Promise<FaultUpstream> {
  const closeWaiters: ((s: Seen) => void)[] = [];
  const sockets = new Set<Socket>();
  const u: FaultUpstream = {
    url: '',
    name,
    script: [],
    otherwise,
    seen: [],
    nextClose: () => new Promise((r) => closeWaiters.push(r)),
    close: async () => {},
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: Record<string, unknown> = {};
      try {
        json = JSON.parse(body) as Record<string, unknown>;
      } catch {
        /* not JSON */
      }
      const s: Seen = { at: performance.now(), body, json };
      u.seen.push(s);
      res.on('close', () => {
        if (res.writableFinished) return;
        s.closedAt = performance.now();
        for (const w of closeWaiters.splice(0)) w(s);
      });
      const head = (status: number, headers: Record<string, string>) => {
        res.writeHead(status, headers);
        res.flushHeaders();
        s.firstByteAt = performance.now();
      };
      const run = (step: Step): void => {
        if (typeof step === 'object' && 'delayMs' in step) {
          const t = setTimeout(() => run(step.then ?? 'ok'), step.delayMs);
          res.on('close', () => clearTimeout(t));
          return;
        }
        if (step === 'reset') return void req.socket.destroy();
        if (step === 'hang') return;
        if (typeof step === 'object') {
          const h: Record<string, string> = { 'content-type': 'application/json' };
          if (step.retryAfter !== undefined) h['retry-after'] = step.retryAfter;
          head(step.status, h);
          res.end(step.body ?? JSON.stringify({ error: { message: `${name} says ${step.status}`, type: 'upstream_error' } }));
          return;
        }
        const model = String(json.model ?? '');
        const text = `Hello from ${name}!`;
        if (json.stream !== true) {
          head(200, { 'content-type': 'application/json' });
          res.end(
            JSON.stringify({
              id: `chatcmpl-${name}`,
              object: 'chat.completion',
              created: 1_700_000_000,
              model,
              choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null }, finish_reason: 'stop', logprobs: null }],
              usage: { prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 },
            }),
          );
          return;
        }
        head(200, { 'content-type': 'text/event-stream' });
        const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
          `data: ${JSON.stringify({ id: `chatcmpl-${name}`, object: 'chat.completion.chunk', created: 1_700_000_000, model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
        res.write(chunk({ role: 'assistant', content: 'Hello' }));
        if (step === 'drop-mid-stream') {
          setTimeout(() => req.socket.destroy(), 20);
          return;
        }
        if (step === 'end-mid-stream') return void res.end();
        res.write(chunk({ content: ` from ${name}!` }));
        res.write(chunk({}, 'stop'));
        res.end('data: [DONE]\n\n');
      };
      run(u.script.length ? u.script.shift()! : u.otherwise);
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  u.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  u.close = () =>
    new Promise((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    });
  return u;
}

/** A clock whose sleeps return at once (on the next turn) and are recorded; cancellation still wins. */
export function recordingClock(): { now(): number; sleep(ms: number, cancel: { cancelled: boolean }): Promise<boolean>; waits: number[] } {
  const waits: number[] = [];
  return {
    waits,
    now: () => performance.now(),
    sleep: (ms, cancel) => {
      waits.push(ms);
      return new Promise((r) => setImmediate(() => r(!cancel.cancelled)));
    },
  };
}
