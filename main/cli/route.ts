// `router67 route --explain FILE.json`: which route and targets a request would get, without sending it. Asks the
// running daemon (its live state: in flight, latency, breakers and rate limits) over the admin endpoint; without one, explains
// from config.toml alone.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { paths, resolveHome } from '../core/paths.js';
import { callDaemon } from '../core/running.js';
import { EXIT, UsageError, type Command } from './command.js';
import type { ExplainInput } from '../routing/explain.js';
import type { ExplainView } from '../ui/types.js';

async function askDaemon(home: string, input: ExplainInput): Promise<ExplainView | undefined> {
  const a = await callDaemon(home, '/api/route/explain', { body: input, timeoutMs: 10_000 });
  if (!a) return undefined;
  const body = a.json() as ExplainView | { error: string };
  if (a.status !== 200) throw new Error(`the daemon refused the request: ${(body as { error: string }).error}`);
  return body as ExplainView;
}

export const routeCommand: Command = {
  summary: 'explain which route and providers a request would take',
  help: `Usage: router67 route --explain FILE.json [options]

Prints, for a request body (FILE.json, or - for standard input), the route
that matches, the ordered targets and each one's current state (cooldown, in
flight, time to first byte), without sending anything. With a running daemon
the state is live; otherwise config.toml is read.

Options:
  --explain FILE     the request body (JSON with a "model")
  --path PATH        the API path (default: guessed from the body, e.g. /v1/messages)
  --header 'K: V'    a request header (repeatable), for match.headers
  --host HOST        as if intercepted on HOST (match.host)
  --app NAME         as if sent by app NAME (match.app)
  --config FILE      explain against this config file (never asks the daemon)
  --json             machine-readable output
  -h, --help         this help`,
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        explain: { type: 'string' },
        path: { type: 'string' },
        header: { type: 'string', multiple: true },
        host: { type: 'string' },
        app: { type: 'string' },
        config: { type: 'string' },
        json: { type: 'boolean' },
      },
      strict: true,
    });
    if (!values.explain) {
      process.stderr.write('router67 route: --explain FILE.json is required\n');
      return EXIT.usage;
    }
    const text = values.explain === '-' ? readFileSync(0, 'utf8') : readFileSync(values.explain, 'utf8');
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (e) {
      throw new UsageError(`${values.explain} is not JSON: ${(e as Error).message}`);
    }
    const headers: Record<string, string> = {};
    for (const h of values.header ?? []) {
      const i = h.indexOf(':');
      if (i <= 0) throw new UsageError(`--header "${h}": expected "Name: value"`);
      headers[h.slice(0, i).trim().toLowerCase()] = h.slice(i + 1).trim();
    }
    const { parseExplainInput, explainRoute, formatExplain } = await import('../routing/explain.js');
    const input = parseExplainInput({
      body,
      ...(values.path ? { path: values.path } : {}),
      ...(Object.keys(headers).length ? { headers } : {}),
      ...(values.host ? { host: values.host } : {}),
      ...(values.app ? { app: values.app } : {}),
    });
    if (typeof input === 'string') throw new UsageError(input);
    const home = resolveHome();
    let result = values.config ? undefined : await askDaemon(home, input);
    if (!result) {
      const { loadConfigFile } = await import('../config/load.js');
      const { config } = loadConfigFile(values.config ?? paths(home).config);
      result = explainRoute(config, input);
    }
    process.stdout.write(values.json ? JSON.stringify(result, null, 2) + '\n' : formatExplain(result));
    return EXIT.ok;
  },
};
