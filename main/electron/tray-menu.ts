// The tray's context menu as a pure function of state (no electron import: unit-tested as is).
// Every action lives in the menu, since Linux desktops differ in what a click on the icon does.

export interface TrayState {
  intercept: { enabled: boolean; state: 'off' | 'on' | 'starting' | 'error'; listen: string; error?: string };
  /** The plain local endpoint, e.g. 127.0.0.1:6767. */
  http: string;
  requestsToday: number;
  configErrors: number;
  loginItem: { supported: boolean; enabled: boolean };
  /** A switch is in progress (admin prompt open). */
  busy: boolean;
  /** A one-line message for the user, e.g. a refused admin prompt. */
  notice?: string;
  /** Providers whose OAuth sign-in must be renewed (issue 6). */
  signInNeeded?: string[];
  /** The latest budget notice of the current period (soft limit crossed, hard limit reached). */
  budget?: string;
  /** Providers not fully usable now: "alpha: breaker open (retry in 4 s)" (main/health). */
  degraded?: string[];
  /** Today's cost from the usage history (issue 11): null when no request today had a known price. */
  costToday?: number | null;
  /** The app that sent the most requests today, and how many. */
  busiestApp?: { name: string; requests: number };
  /** The usage history's problem, when it has one. */
  historyProblem?: string;
  /** Interception is not set up yet (no local CA): the menu offers Set up interception… instead of the switch. */
  setupNeeded?: boolean;
}

export type TrayAction = 'toggle-intercept' | 'setup-intercept' | 'open' | 'toggle-login' | 'quit';

export interface TrayMenuItem {
  id: string;
  type: 'normal' | 'checkbox' | 'separator';
  label?: string;
  enabled?: boolean;
  checked?: boolean;
  action?: TrayAction;
}

export type TrayLook = 'on' | 'off' | 'error';

export function trayLook(s: TrayState): TrayLook {
  if ((s.intercept.state === 'error' && !s.setupNeeded) || s.configErrors > 0) return 'error';
  return s.intercept.enabled && s.intercept.state === 'on' ? 'on' : 'off';
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

export function fmtUsd(x: number): string {
  return x < 0.01 && x > 0 ? `$${x.toFixed(4)}` : `$${x.toFixed(2)}`;
}

export function stateLine(s: TrayState): string {
  const cost = s.costToday === undefined ? '' : s.costToday === null ? (s.requestsToday ? ' · cost —' : '') : ` · ${fmtUsd(s.costToday)}`;
  const today = plural(s.requestsToday, 'request', 'requests') + ' today' + cost;
  if (s.setupNeeded && s.intercept.state !== 'on' && s.intercept.state !== 'starting') return `Interception not set up · local endpoint ${s.http} · ${today}`;
  switch (s.intercept.state) {
    case 'on':
      return `Intercepting on ${s.intercept.listen} · ${today}`;
    case 'starting':
      return `Starting interception… · ${today}`;
    case 'error':
      return `Interception failed · ${today}`;
    default:
      return `Not intercepting · local endpoint ${s.http} · ${today}`;
  }
}

export function trayTooltip(s: TrayState): string {
  const lines = [`router67 — ${stateLine(s)}`];
  if (s.intercept.state === 'error' && s.intercept.error && !s.setupNeeded) lines.push(s.intercept.error);
  if (s.configErrors) lines.push(`config.toml: ${plural(s.configErrors, 'error', 'errors')}`);
  if (s.notice) lines.push(s.notice);
  if (s.signInNeeded?.length) lines.push(`Sign-in needed: ${s.signInNeeded.join(', ')}`);
  if (s.budget) lines.push(s.budget);
  for (const d of s.degraded ?? []) lines.push(d);
  if (s.busiestApp) lines.push(`Busiest app today: ${s.busiestApp.name} (${plural(s.busiestApp.requests, 'request', 'requests')})`);
  if (s.historyProblem) lines.push(`Usage history: ${s.historyProblem}`);
  return lines.join('\n');
}

export function trayMenuModel(s: TrayState): TrayMenuItem[] {
  const items: TrayMenuItem[] = [{ id: 'state', type: 'normal', label: stateLine(s), enabled: false }];
  if (s.intercept.state === 'error' && s.intercept.error && !s.setupNeeded) {
    items.push({ id: 'intercept-error', type: 'normal', label: truncate(s.intercept.error), enabled: false });
  }
  if (s.configErrors > 0) {
    items.push({
      id: 'config-errors',
      type: 'normal',
      label: `config.toml has ${plural(s.configErrors, 'error', 'errors')} — the last good config runs`,
      enabled: false,
    });
  }
  if (s.notice) items.push({ id: 'notice', type: 'normal', label: truncate(s.notice), enabled: false });
  if (s.budget) items.push({ id: 'budget', type: 'normal', label: truncate(s.budget), enabled: true, action: 'open' });
  if (s.signInNeeded?.length) {
    items.push({ id: 'sign-in', type: 'normal', label: truncate(`Sign-in needed: ${s.signInNeeded.join(', ')} — open router67…`), enabled: true, action: 'open' });
  }
  items.push(
    { id: 'sep-1', type: 'separator' },
    s.setupNeeded
      ? {
          id: 'intercept',
          type: 'normal',
          label: s.busy ? 'Setting up interception (waiting for permission…)' : 'Set up interception…',
          enabled: !s.busy,
          action: 'setup-intercept',
        }
      : {
          id: 'intercept',
          type: 'checkbox',
          label: s.busy ? 'Intercept (waiting for permission…)' : 'Intercept',
          checked: s.intercept.enabled,
          enabled: !s.busy,
          action: 'toggle-intercept',
        },
    { id: 'open', type: 'normal', label: 'Open router67…', enabled: true, action: 'open' },
    { id: 'sep-2', type: 'separator' },
    {
      id: 'login',
      type: 'checkbox',
      label: 'Launch at login',
      checked: s.loginItem.enabled,
      enabled: s.loginItem.supported,
      action: 'toggle-login',
    },
    { id: 'sep-3', type: 'separator' },
    { id: 'quit', type: 'normal', label: 'Quit router67', enabled: true, action: 'quit' },
  );
  return items;
}

function truncate(s: string, n = 90): string {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > n ? one.slice(0, n - 1) + '…' : one;
}

/** Icon file (in resources/) for a look on a platform: template images on macOS, ICO on Windows, PNG elsewhere. */
export function trayIconFile(look: TrayLook, platform: NodeJS.Platform): string {
  const cap = look[0]!.toUpperCase() + look.slice(1);
  if (platform === 'darwin') return `tray${cap}Template.png`;
  if (platform === 'win32') return `tray-${look}.ico`;
  return `tray-${look}.png`;
}

/** Electron MenuItemConstructorOptions-shaped objects with click handlers bound to actions. */
export function toMenuTemplate(
  items: TrayMenuItem[],
  run: (a: TrayAction) => void,
): { id: string; type: TrayMenuItem['type']; label?: string; enabled?: boolean; checked?: boolean; click?: () => void }[] {
  return items.map((i) => {
    const { action, ...rest } = i;
    return action ? { ...rest, click: () => run(action) } : rest;
  });
}
