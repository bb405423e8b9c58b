// `router67 logs [--follow] [--app X] [--provider Y]`: finished requests from the running daemon, one compact line
// each, over its admin endpoint (GET /api/log/stream, server-sent events, the admin token). Colours only on a TTY
// (and never with NO_COLOR).
import { request } from 'node:http';
import { parseArgs } from 'node:util';
import { paths, resolveHome } from '../core/paths.js';
import { readToken } from '../admin/server.js';
import { runningDaemon } from '../core/running.js';
import type { LogLine } from '../usage/log-stream.js';
import { EXIT, type Command } from './command.js';

const C = { dim: '\x1b[2m', red: '\x1b[31m', green: '\x1b[32m', yellow: '\x1b[33m', cyan: '\x1b[36m', reset: '\x1b[0m' };

function ms(n: number | undefined): string {
  if (n === undefined) return '—';
  return n < 1000 ? `${Math.round(n)} ms` : `${(n / 1000).toFixed(n < 10_000 ? 2 : 1)} s`;
}

function tok(n: number | undefined): string {
  if (n === undefined) return '?';
  return n < 1000 ? String(n) : n < 1e6 ? `${(n / 1000).toFixed(1)}k` : `${(n / 1e6).toFixed(2)}M`;
}

/** One line: time, app, status, provider/model, TTFB, duration, tokens, cost, error. */
export function formatLine(e: LogLine, color: boolean): string {
  const c = (code: string, s: string) => (color ? `${code}${s}${C.reset}` : s);
  const d = new Date(e.startedAt);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const time = `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  const status = e.status === undefined ? '---' : String(e.status);
  const ok = e.state !== 'error' && e.status !== undefined && e.status < 400;
  const statusC = c(ok ? C.green : e.status !== undefined && e.status < 500 ? C.yellow : C.red, status);
  const target = e.provider ? `${e.provider}/${e.upstreamModel ?? e.model ?? '?'}` : (e.model ?? e.path);
  const tokens = e.inputTokens !== undefined || e.outputTokens !== undefined ? `${tok(e.inputTokens)}→${tok(e.outputTokens)} tok` : '';
  const cache = e.cacheReadTokens ? ` (cache ${tok(e.cacheReadTokens)})` : '';
  const cost = e.costUsd !== undefined ? `$${e.costUsd.toFixed(4)}` : '';
  const parts = [
    c(C.dim, time),
    (e.app ?? '-').padEnd(12),
    statusC,
    c(C.cyan, target),
    `ttfb ${ms(e.ttfbMs)}`,
    ms(e.durationMs),
    tokens + cache,
    cost,
    e.attempts > 1 ? c(C.dim, `${e.attempts} attempts`) : '',
    e.error ? c(C.red, e.error.replace(/\s+/g, ' ').slice(0, 160)) : '',
  ];
  return parts.filter(Boolean).join('  ');
}

export const logsCommand: Command = {
  summary: 'finished requests from the running daemon, one line each',
  help: `Usage: router67 logs [--follow] [--app NAME] [--provider NAME] [-n N] [--json]

Prints finished requests from the running daemon (over its loopback,
token-protected admin endpoint), one compact line each: time, app, status,
provider/model, time to first byte, duration, tokens, cost, error.

Options:
  -f, --follow       keep printing requests as they finish (Ctrl+C stops)
  --app NAME         only this app (as the log names it: "Claude Code", "Codex", …)
  --provider NAME    only this provider
  -n, --lines N      how many recent requests to print first (default 20; 0 with --follow)
  --json             one JSON object per line instead
  -h, --help         this help

Exit codes: 0 ok, 3 not running, 1 failure.`,
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        follow: { type: 'boolean', short: 'f' },
        app: { type: 'string' },
        provider: { type: 'string' },
        lines: { type: 'string', short: 'n' },
        json: { type: 'boolean' },
      },
      strict: true,
    });
    const lines = values.lines === undefined ? (values.follow ? 0 : 20) : Number(values.lines);
    if (!Number.isInteger(lines) || lines < 0) {
      process.stderr.write(`router67 logs: --lines: expected a whole number, not "${values.lines}"\n`);
      return EXIT.usage;
    }
    const home = resolveHome();
    const st = runningDaemon(home);
    if (!st?.admin) {
      process.stderr.write('router67 is not running (start it with "router67 daemon")\n');
      return EXIT.notRunning;
    }
    const token = readToken(paths(home).adminToken);
    if (!token) {
      process.stderr.write(`router67 logs: cannot read the admin token at ${paths(home).adminToken}\n`);
      return EXIT.failure;
    }
    const q = new URLSearchParams({ backlog: String(lines), follow: values.follow ? '1' : '0' });
    if (values.app) q.set('app', values.app);
    if (values.provider) q.set('provider', values.provider);
    const color = !values.json && process.stdout.isTTY === true && !process.env.NO_COLOR;
    const url = new URL(`/api/log/stream?${q}`, st.admin);
    return new Promise<number>((resolve) => {
      const req = request(url, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' } }, (res) => {
        if (res.statusCode !== 200) {
          process.stderr.write(`router67 logs: the daemon answered ${res.statusCode}\n`);
          res.resume();
          return resolve(EXIT.failure);
        }
        res.setEncoding('utf8');
        let buf = '';
        res.on('data', (chunk: string) => {
          buf += chunk;
          let i: number;
          while ((i = buf.indexOf('\n\n')) >= 0) {
            const frame = buf.slice(0, i);
            buf = buf.slice(i + 2);
            const ev = /^event: (.*)$/m.exec(frame)?.[1];
            const data = /^data: (.*)$/m.exec(frame)?.[1];
            if (ev !== 'entry' || !data) continue;
            try {
              const e = JSON.parse(data) as LogLine;
              process.stdout.write((values.json ? JSON.stringify(e) : formatLine(e, color)) + '\n');
            } catch {
              /* a broken frame */
            }
          }
        });
        res.on('end', () => {
          if (values.follow) process.stderr.write('router67 logs: the daemon stopped\n');
          resolve(EXIT.ok);
        });
        res.on('error', () => resolve(EXIT.failure));
      });
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (e.code === 'ECONNREFUSED') {
          process.stderr.write('router67 is not running\n');
          resolve(EXIT.notRunning);
        } else {
          process.stderr.write(`router67 logs: ${e.message}\n`);
          resolve(EXIT.failure);
        }
      });
      req.end();
      const stop = () => {
        req.destroy();
        resolve(EXIT.ok);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
  },
};
