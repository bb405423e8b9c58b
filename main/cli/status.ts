// `router67 status`: asks the running daemon over its loopback admin endpoint.
import { parseArgs } from 'node:util';
import type { CoreStatus } from '../core/core.js';
import { resolveHome } from '../core/paths.js';
import { formatIssue } from '../config/load.js';
import { callDaemon } from '../core/running.js';
import { EXIT, type Command } from './command.js';
import { healthLine } from '../health/summary.js';

/** Fetches the running daemon's status; undefined when none runs. */
export async function fetchStatus(home: string): Promise<CoreStatus | undefined> {
  const a = await callDaemon(home, '/api/status', { timeoutMs: 5000, noToken: 'throw' });
  if (!a) return undefined;
  if (a.status !== 200) throw new Error(`the daemon answered ${a.status}`);
  return a.json() as CoreStatus;
}

export function formatStatus(s: CoreStatus): string {
  const lines = [
    `router67 ${s.version} running (pid ${s.pid}, since ${s.startedAt})`,
    `plain endpoint: http://${s.http.address}`,
    `interception:   ${s.intercept.state}${s.intercept.enabled ? ` on ${s.intercept.listen}` : ''}${s.intercept.error ? ` — ${s.intercept.error}` : ''}`,
    `config:         ${s.configPath}`,
    `requests:       ${s.requests.today} today, ${s.requests.total} since start, ${s.requests.inFlight} in flight`,
    `providers:`,
    ...s.providers.flatMap((p) => {
      const line = `  ${p.name.padEnd(16)} ${(p.format ?? 'passthrough').padEnd(11)} auth ${p.auth}${p.authDetail ? ` (${p.authDetail})` : ''} · ${p.models.join(', ') || 'no models'}`;
      const health = healthLine(p.health);
      return health ? [line, `  ${''.padEnd(16)} ${health}`] : [line];
    }),
  ];
  if (s.providers.length === 0) lines.push('  (none configured)');
  if (s.configErrors.length) lines.push('config errors (the last good config keeps running):', ...s.configErrors.map((i) => `  ${formatIssue(i)}`));
  if (s.warnings.length) lines.push('warnings:', ...s.warnings.map((w) => `  ${w}`));
  if (s.prices) lines.push(`prices:         ${s.prices.source}${s.prices.overrides ? ` + ${s.prices.overrides} from [prices]` : ''}`);
  if (s.budgets?.length) {
    const money = (n: number) => (n > 0 && n < 0.01 ? `$${n.toFixed(4)}` : `$${n.toFixed(2)}`);
    lines.push('budgets (USD):');
    for (const b of s.budgets) {
      const who = b.scope === 'overall' ? 'overall' : `${b.scope} ${b.name}`;
      const limit = b.limit !== undefined ? ` / ${money(b.limit)}` : '';
      const soft = b.soft !== undefined ? ` (notice at ${money(b.soft)})` : '';
      lines.push(`  ${who.padEnd(24)} ${b.period.padEnd(8)} ${money(b.spent)}${limit}${soft}${b.over ? '  LIMIT REACHED' : ''}`);
    }
  }
  if (s.budgetNotices?.length) lines.push('budget notices:', ...s.budgetNotices.map((n) => `  ${n.message}`));
  return lines.join('\n') + '\n';
}

export const statusCommand: Command = {
  summary: 'show the running daemon’s state',
  help: `Usage: router67 status [--json]

Asks the running daemon (over its loopback, token-protected admin endpoint) for
its state: endpoints, interception, providers and their credentials, breakers
(open, half-open), requests in flight and queued against each provider's limits,
rate-limited models, config errors, request counts, budgets (spent / limit today
and this month). --json adds the full health snapshot (per provider and model:
breaker, limits remaining, reset times).

Options:
  --json      machine-readable output
  -h, --help  this help

Exit codes: 0 running, 3 not running, 1 failure.`,
  async run(args) {
    const { values } = parseArgs({ args, options: { json: { type: 'boolean' } }, strict: true });
    const home = resolveHome();
    const s = await fetchStatus(home);
    if (!s) {
      if (values.json) process.stdout.write(JSON.stringify({ running: false }) + '\n');
      else process.stdout.write('router67 is not running\n');
      return EXIT.notRunning;
    }
    process.stdout.write(values.json ? JSON.stringify({ running: true, ...s }, null, 2) + '\n' : formatStatus(s));
    return EXIT.ok;
  },
};
