// Budgets in USD (config `[budgets]`): daily and monthly, overall, per provider and per app. What was spent
// (finished entries' costUsd) is counted per local day and month, reset at local midnight and on the 1st, and kept
// in a small state file in router67's home (written atomically, debounced) so a restart keeps it.
//
// - soft limit (`soft_daily`, `soft_monthly`): crossing it notifies once per period (a 'notice' event the core
//   turns into a logger warning, a status change and the window's/tray's notice);
// - hard limit (`daily`, `monthly`): reaching it notifies once too, and then a provider's budget skips that
//   provider (the chain moves on); an app's or the overall budget refuses the request (402, see README).
// A cost is known only when an exchange finishes: requests already running when a limit is reached still finish.
import { EventEmitter } from 'node:events';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Budget, Config } from '../config/schema.js';
import type { BudgetNotice, BudgetView } from '../ui/types.js';
import { localDayBounds } from './history.js';

export type { BudgetNotice, BudgetView } from '../ui/types.js';

type Scope = BudgetView['scope'];
type Period = BudgetView['period'];

interface Spent {
  day: number;
  month: number;
}

interface State {
  version: 1;
  /** The local day ("2026-12-01") and month ("2026-12") the counts belong to. */
  day: string;
  month: string;
  /** "overall", "provider:<name>", "app:<name>". */
  spent: Record<string, Spent>;
  /** Notices already given this day / month ("soft:provider:x"). */
  notifiedDay: string[];
  notifiedMonth: string[];
}

export interface BudgetsOptions {
  /** The state file (router67's home/budgets.json). */
  file: string;
  config(): Config;
  /** The clock (tests inject one). */
  now?: () => Date;
  /** Delay before a change is written (default 1 s). */
  debounceMs?: number;
  /** A state file that cannot be read or written (the counts go on in memory). */
  onError?(message: string): void;
}

const pad = (n: number) => String(n).padStart(2, '0');
export const localDay = (d: Date) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
export const localMonth = (d: Date) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}`;
const usd = (n: number) => `$${n < 1 ? n.toFixed(4).replace(/0{1,2}$/, '') : n.toFixed(2)}`;

function keyOf(scope: Scope, name?: string): string {
  return scope === 'overall' ? 'overall' : `${scope}:${name}`;
}
function label(scope: Scope, name?: string): string {
  return scope === 'overall' ? 'overall budget' : `${scope} budget "${name}"`;
}

/** Emits 'notice' (BudgetNotice) once per period and limit crossed. */
export class Budgets extends EventEmitter {
  private state: State;
  private readonly recent: BudgetNotice[] = [];
  private timer?: NodeJS.Timeout;
  private readonly now: () => Date;
  /** The same clock in ms: roll() checks it on every request without making a Date. */
  private readonly nowMs: () => number;
  private readonly debounceMs: number;

  constructor(private readonly opts: BudgetsOptions) {
    super();
    this.now = opts.now ?? (() => new Date());
    const injected = opts.now;
    this.nowMs = injected ? () => injected().getTime() : Date.now;
    this.debounceMs = opts.debounceMs ?? 1000;
    this.state = this.read();
    this.roll();
  }

  /** Why a request from `app` must be refused (an app's or the overall hard limit is reached), or undefined. */
  refusal(app: string | undefined): string | undefined {
    const b = this.opts.config().budgets;
    if (!b) return undefined;
    this.roll();
    const app_ = app !== undefined ? b.apps[app] : undefined;
    return (app_ && this.over('app', app, app_)) ?? (b.overall && this.over('overall', undefined, b.overall));
  }

  /** Why provider `name` is skipped (its hard limit is reached), or undefined: "budget: provider budget "x" daily $5.00 reached". */
  providerBlocked(name: string): string | undefined {
    const b = this.opts.config().budgets?.providers[name];
    if (!b) return undefined;
    this.roll();
    return this.over('provider', name, b);
  }

  private over(scope: Scope, name: string | undefined, b: Budget): string | undefined {
    const s = this.state.spent[keyOf(scope, name)];
    const day = s?.day ?? 0;
    const month = s?.month ?? 0;
    if (b.daily !== undefined && day >= b.daily) return `budget: ${label(scope, name)} daily limit ${usd(b.daily)} reached (${usd(day)} spent today)`;
    if (b.monthly !== undefined && month >= b.monthly) return `budget: ${label(scope, name)} monthly limit ${usd(b.monthly)} reached (${usd(month)} spent this month)`;
    return undefined;
  }

  /** Counts a finished exchange's cost against the overall, its provider's and its app's budgets. */
  add(cost: number | undefined, provider: string | undefined, app: string | undefined): void {
    if (!cost || !(cost > 0)) return;
    this.roll();
    const scopes: [Scope, string | undefined][] = [['overall', undefined]];
    if (provider) scopes.push(['provider', provider]);
    if (app) scopes.push(['app', app]);
    for (const [scope, name] of scopes) {
      const k = keyOf(scope, name);
      const s = (this.state.spent[k] ??= { day: 0, month: 0 });
      s.day += cost;
      s.month += cost;
    }
    this.schedule();
    const b = this.opts.config().budgets;
    if (!b) return;
    for (const [scope, name] of scopes) {
      const budget = scope === 'overall' ? b.overall : scope === 'provider' ? b.providers[name!] : b.apps[name!];
      if (budget) this.check(scope, name, budget);
    }
  }

  private check(scope: Scope, name: string | undefined, b: Budget): void {
    const s = this.state.spent[keyOf(scope, name)]!;
    const limits: [BudgetNotice['level'], Period, number | undefined, number][] = [
      ['hard', 'daily', b.daily, s.day],
      ['hard', 'monthly', b.monthly, s.month],
      ['soft', 'daily', b.soft_daily, s.day],
      ['soft', 'monthly', b.soft_monthly, s.month],
    ];
    for (const [level, period, limit, spent] of limits) {
      if (limit === undefined || spent < limit) continue;
      const list = period === 'daily' ? this.state.notifiedDay : this.state.notifiedMonth;
      const id = `${level}:${keyOf(scope, name)}`;
      if (list.includes(id)) continue;
      list.push(id);
      this.schedule();
      const what = label(scope, name);
      const then =
        level === 'soft'
          ? 'notice only; requests go on'
          : scope === 'provider'
            ? `"${name}" is skipped until the ${period === 'daily' ? 'day' : 'month'} ends`
            : `requests are refused until the ${period === 'daily' ? 'day' : 'month'} ends`;
      const notice: BudgetNotice = {
        level,
        scope,
        period,
        spent: round(spent),
        limit,
        at: this.now().toISOString(),
        message: `${what}: ${usd(spent)} spent ${period === 'daily' ? 'today' : 'this month'}, ${level === 'soft' ? 'soft' : 'hard'} ${period} limit ${usd(limit)} — ${then}`,
      };
      if (name !== undefined) notice.name = name;
      this.recent.push(notice);
      if (this.recent.length > 50) this.recent.shift();
      this.emit('notice', notice);
    }
  }

  /** Every configured budget with what was spent against it (for status, the window and `router67 status`). */
  views(): BudgetView[] {
    const b = this.opts.config().budgets;
    if (!b) return [];
    this.roll();
    const out: BudgetView[] = [];
    const add = (scope: Scope, name: string | undefined, budget: Budget) => {
      const s = this.state.spent[keyOf(scope, name)];
      const periods: [Period, number | undefined, number | undefined, number][] = [
        ['daily', budget.daily, budget.soft_daily, s?.day ?? 0],
        ['monthly', budget.monthly, budget.soft_monthly, s?.month ?? 0],
      ];
      for (const [period, limit, soft, spent] of periods) {
        if (limit === undefined && soft === undefined) continue;
        const v: BudgetView = { scope, period, spent: round(spent), over: limit !== undefined && spent >= limit };
        if (name !== undefined) v.name = name;
        if (limit !== undefined) v.limit = limit;
        if (soft !== undefined) v.soft = soft;
        out.push(v);
      }
    };
    if (b.overall) add('overall', undefined, b.overall);
    for (const [n, x] of Object.entries(b.providers)) add('provider', n, x);
    for (const [n, x] of Object.entries(b.apps)) add('app', n, x);
    return out;
  }

  /** The notices given in the current day (daily) and month (monthly), oldest first. */
  notices(): BudgetNotice[] {
    this.roll();
    return this.recent.filter((n) => {
      const at = new Date(n.at);
      return n.period === 'daily' ? localDay(at) === this.state.day : localMonth(at) === this.state.month;
    });
  }

  /** What was spent today and this month (overall, or for one provider / app). */
  spent(scope: Scope = 'overall', name?: string): Spent {
    this.roll();
    const s = this.state.spent[keyOf(scope, name)];
    return { day: round(s?.day ?? 0), month: round(s?.month ?? 0) };
  }

  /** Writes the state now (and cancels a pending write). */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.write();
  }

  /** The local day the state was last checked against, as [start, end) in ms: within it, roll() has nothing to do. */
  private checked = { start: 0, end: 0 };

  /** A new day or month empties its counts (and lets its notices come again). */
  private roll(): void {
    const t = this.nowMs();
    if (t >= this.checked.start && t < this.checked.end) return;
    const now = new Date(t);
    this.checked = localDayBounds(t);
    const day = localDay(now);
    const month = localMonth(now);
    if (day === this.state.day && month === this.state.month) return;
    const newMonth = month !== this.state.month;
    for (const s of Object.values(this.state.spent)) {
      s.day = 0;
      if (newMonth) s.month = 0;
    }
    this.state.day = day;
    this.state.notifiedDay = [];
    if (newMonth) {
      this.state.month = month;
      this.state.notifiedMonth = [];
    }
    this.schedule();
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.write();
    }, this.debounceMs);
    this.timer.unref();
  }

  private read(): State {
    const now = this.now();
    const empty: State = { version: 1, day: localDay(now), month: localMonth(now), spent: {}, notifiedDay: [], notifiedMonth: [] };
    let text: string;
    try {
      text = readFileSync(this.opts.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.opts.onError?.(`budgets state ${this.opts.file}: ${(e as Error).message}`);
      return empty;
    }
    try {
      const j = JSON.parse(text) as Partial<State>;
      if (j.version !== 1 || typeof j.day !== 'string' || typeof j.month !== 'string' || !j.spent || typeof j.spent !== 'object') throw new Error('not a budgets state file');
      const spent: Record<string, Spent> = {};
      for (const [k, v] of Object.entries(j.spent)) {
        if (v && Number.isFinite(v.day) && Number.isFinite(v.month)) spent[k] = { day: v.day, month: v.month };
      }
      const strings = (a: unknown) => (Array.isArray(a) ? a.filter((x): x is string => typeof x === 'string') : []);
      return { version: 1, day: j.day, month: j.month, spent, notifiedDay: strings(j.notifiedDay), notifiedMonth: strings(j.notifiedMonth) };
    } catch (e) {
      this.opts.onError?.(`budgets state ${this.opts.file} is unreadable (${(e as Error).message}); counting from zero`);
      return empty;
    }
  }

  private write(): void {
    const tmp = `${this.opts.file}.${process.pid}.tmp`;
    try {
      mkdirSync(dirname(this.opts.file), { recursive: true, mode: 0o700 });
      writeFileSync(tmp, JSON.stringify(this.state), { mode: 0o600 });
      renameSync(tmp, this.opts.file);
    } catch (e) {
      this.opts.onError?.(`budgets state ${this.opts.file}: ${(e as Error).message}`);
    }
  }
}

function round(n: number): number {
  return Math.round(n * 1e6) / 1e6;
}
