// Status: interception on/off (with the switch), where router67 listens, CA trust, keychain, config errors from
// hot reload (file, line, key), warnings, providers and request counts.
import type { Api, Features, ProviderHealthInfo, UiEvent, UiStatus } from '../../main/ui/types.js';
import { clear, fmtInt, h, toast, viewHead } from '../dom.js';
import { setupInterception } from '../setup-dialog.js';
import type { View, ViewContext } from './view.js';

class StatusView implements View {
  private api!: Api;
  private features: Features = { signIn: false, interceptToggle: false, firstRun: false };
  /** A calm, one-time line after a cancelled setup prompt (not an error). */
  private calm?: string;
  private status?: UiStatus;
  private busy = false;
  private notice?: string;
  private readonly body = h('div', { class: 'status-grid' });

  async mount(root: HTMLElement, ctx: ViewContext): Promise<void> {
    this.api = ctx.api;
    root.append(
      viewHead('Status', 'What router67 is doing right now.'),
      this.body,
    );
    try {
      this.features = await this.api.features();
      this.status = await this.api.status();
    } catch (e) {
      this.body.append(h('div', { class: 'banner banner-error', role: 'alert', text: (e as Error).message }));
      return;
    }
    this.render();
  }

  shown(): void {
    void this.api.status().then((s) => {
      this.status = s;
      this.render();
    });
  }

  onEvent(e: UiEvent): void {
    if (e.type === 'status') {
      this.status = e.status;
      this.render();
    }
  }

  private async toggle(on: boolean): Promise<void> {
    this.busy = true;
    this.notice = undefined;
    this.render();
    try {
      this.calm = undefined;
      const r = await this.api.setIntercept(on);
      // A refused prompt changed nothing: said once, calmly, in the card
      if (!r.ok && r.refused) this.calm = r.message;
      else if (!r.ok) {
        this.notice = r.message;
        toast(r.message, 'error');
      }
      this.status = await this.api.status();
    } catch (e) {
      this.notice = (e as Error).message;
    } finally {
      this.busy = false;
      this.render();
      (this.body.querySelector('#intercept-switch') as HTMLElement | null)?.focus();
    }
  }

  private async setup(): Promise<void> {
    if (!this.status || this.busy) return;
    this.notice = undefined;
    this.calm = undefined;
    const out = await setupInterception(this.api, this.status);
    if (out.cancelled || !out.result) {
      (this.body.querySelector('#setup-intercept') as HTMLElement | null)?.focus();
      return;
    }
    const r = out.result;
    if (r.ok) toast('Interception is set up and on.', 'ok');
    else if (r.refused) this.calm = r.message;
    else this.notice = r.message;
    try {
      this.status = await this.api.status();
    } catch {
      /* the next status event repaints */
    }
    this.render();
    (this.body.querySelector(r.ok ? '#intercept-switch' : '#setup-intercept') as HTMLElement | null)?.focus();
  }

  private render(): void {
    const s = this.status;
    if (!s) return;
    const focusedId = (document.activeElement as HTMLElement | null)?.id;
    clear(this.body);
    const card = (title: string, cls: string, ...kids: (Node | null | false)[]) => h('section', { class: `card ${cls}` }, h('h2', { text: title }), ...kids.filter((k): k is Node => !!k));
    const kv = (k: string, v: string, cls = '') => h('div', { class: 'kv' }, h('dt', { text: k }), h('dd', { class: cls, text: v }));

    // Interception: not set up yet (neutral, with the way to do it) or the switch
    const on = s.intercept.enabled;
    if (s.setup.needed && s.intercept.state !== 'on' && s.intercept.state !== 'starting') {
      this.body.append(
        card(
          'Interception',
          'intercept is-setup',
          h(
            'div',
            { class: 'switch-row' },
            h('div', null, h('div', { class: 'big', id: 'intercept-state', text: 'Not set up' }), h('div', { class: 'hint', text: 'Apps reach their providers directly; clients that use the local endpoint already go through router67.' })),
          ),
          s.setup.available
            ? h('div', { class: 'actions' }, h('button', { type: 'button', class: 'btn primary', id: 'setup-intercept', text: 'Set up interception…', disabled: this.busy, onclick: () => void this.setup() }))
            : h('p', { class: 'hint', text: 'Run "router67 install" in a terminal to set it up.' }),
          this.calm ? h('p', { class: 'hint calm-note', role: 'status', text: this.calm }) : null,
          this.notice ? h('p', { class: 'warn-text', role: 'alert', text: this.notice }) : null,
        ),
      );
    } else {
      const canToggle = this.features.interceptToggle;
      const sw = h(
        'button',
        {
          type: 'button',
          id: 'intercept-switch',
          class: 'switch' + (on ? ' on' : ''),
          role: 'switch',
          'aria-checked': on,
          'aria-label': 'Intercept API hosts',
          disabled: this.busy || !canToggle,
          onclick: () => void this.toggle(!on),
        },
        h('span', { class: 'knob', 'aria-hidden': 'true' }),
      );
      const stateWord =
        this.busy ? 'Waiting for permission…' : s.intercept.state === 'on' ? 'On' : s.intercept.state === 'starting' ? 'Starting…' : s.intercept.state === 'error' ? 'Failed' : 'Off';
      this.body.append(
        card(
          'Interception',
          'intercept ' + (s.intercept.state === 'error' ? 'is-error' : on ? 'is-on' : 'is-off'),
          h('div', { class: 'switch-row' }, sw, h('div', null, h('div', { class: 'big', id: 'intercept-state', text: stateWord }), h('div', { class: 'hint', text: on ? `Calls to the intercepted hosts come to ${s.intercept.listen}.` : 'Apps reach their providers directly; clients that use the local endpoint still go through router67.' }))),
          s.intercept.error ? h('p', { class: 'error-text', text: s.intercept.error }) : null,
          this.calm ? h('p', { class: 'hint calm-note', role: 'status', text: this.calm }) : null,
          this.notice ? h('p', { class: 'warn-text', role: 'alert', text: this.notice }) : null,
          !canToggle ? h('p', { class: 'hint', text: 'Interception is switched by the router67 app (menu bar); this daemon shows its state.' }) : null,
        ),
      );
    }

    // Endpoints
    this.body.append(
      card(
        'Listening on',
        '',
        h('dl', { class: 'kvs' }, kv('Local endpoint (HTTP)', `http://${s.http.address}`, 'mono'), kv('Interception (TLS)', s.intercept.listen, 'mono'), s.admin ? kv('Admin / this page', s.admin.url, 'mono') : null),
      ),
    );

    // Trust
    const ca = s.ca.installed === false || (s.setup.needed && s.ca.trusted !== true) ? 'Not set up yet' : s.ca.trusted === true ? 'Trusted' : s.ca.trusted === false ? 'Not trusted' : 'Unknown';
    this.body.append(
      card(
        'Certificates and keys',
        '',
        h(
          'dl',
          { class: 'kvs' },
          kv('Local CA', ca, s.ca.trusted === true ? 'ok-text' : s.ca.trusted === false && !s.setup.needed ? 'warn-text' : 'dim'),
          s.ca.detail ? kv('', s.ca.detail, 'hint') : null,
          kv('Keychain', s.keychain.available ? 'Available' : 'Not available', s.keychain.available ? 'ok-text' : 'warn-text'),
          !s.keychain.available && s.keychain.reason ? kv('', s.keychain.reason, 'hint') : null,
        ),
      ),
    );

    // Config
    const errs = s.configErrors;
    this.body.append(
      card(
        'Configuration',
        errs.length ? 'is-error' : '',
        h('dl', { class: 'kvs' }, kv('File', s.configPath, 'mono')),
        errs.length
          ? h(
              'div',
              { role: 'alert' },
              h('p', { class: 'error-text', text: `The file has ${errs.length} error${errs.length === 1 ? '' : 's'}; the last good configuration keeps running.` }),
              h(
                'ul',
                { class: 'config-errors' },
                ...errs.map((i) =>
                  h(
                    'li',
                    null,
                    h('span', { class: 'mono loc', text: `${i.file.split(/[\\/]/).pop()}${i.line ? `:${i.line}` : ''}${i.column ? `:${i.column}` : ''}` }),
                    i.path ? h('span', { class: 'mono key', text: i.path }) : null,
                    h('span', { text: i.message }),
                  ),
                ),
              ),
            )
          : h('p', { class: 'ok-text', text: 'No errors.' }),
        s.warnings.length ? h('ul', { class: 'warnings' }, ...s.warnings.map((w) => h('li', { class: 'warn-text', text: w }))) : null,
      ),
    );

    // Providers and requests
    this.body.append(
      card(
        'Providers',
        '',
        s.providers.length
          ? h(
              'ol',
              { class: 'prov-status' },
              ...s.providers.map((p) =>
                h(
                  'li',
                  null,
                  h('span', { class: 'pname', text: p.name }),
                  h('span', { class: 'hint', text: `${p.models.length} model${p.models.length === 1 ? '' : 's'}` }),
                  h('span', { class: 'pill ' + (p.auth === 'ok' ? 'st-ok' : 'st-warn'), text: p.auth === 'ok' ? 'ready' : p.auth, title: p.authDetail ?? '' }),
                  ...healthPills(p.health),
                ),
              ),
            )
          : h('p', { class: 'hint', text: 'No providers configured.' }),
      ),
      card(
        'Requests',
        '',
        h('dl', { class: 'kvs' }, kv('Today', fmtInt(s.requests.today), 'num'), kv('Since start', fmtInt(s.requests.total), 'num'), kv('In flight', fmtInt(s.requests.inFlight), 'num')),
        h('p', { class: 'hint', text: `router67 ${s.version} · pid ${s.pid} · ${s.app === 'electron' ? 'app' : 'daemon'} · started ${new Date(s.startedAt).toLocaleString()}` }),
        s.prices ? h('p', { class: 'hint', text: `Prices: ${s.prices.source}${s.prices.overrides ? ` + ${s.prices.overrides} from [prices]` : ''}` }) : null,
      ),
    );
    // Budgets ([budgets] in config.toml): spent against each limit, and this period's notices
    const budgets = s.budgets ?? [];
    const notices = s.budgetNotices ?? [];
    if (budgets.length || notices.length) {
      const money = (n: number) => (n < 0.01 && n > 0 ? `$${n.toFixed(4)}` : `$${n.toFixed(2)}`);
      this.body.append(
        card(
          'Budgets',
          budgets.some((b) => b.over) ? 'is-error' : '',
          notices.length ? h('ul', { class: 'warnings', role: 'alert' }, ...notices.map((n) => h('li', { class: n.level === 'hard' ? 'error-text' : 'warn-text', text: n.message }))) : null,
          h(
            'dl',
            { class: 'kvs budgets' },
            ...budgets.map((b) =>
              kv(
                `${b.scope === 'overall' ? 'Overall' : `${b.scope === 'provider' ? 'Provider' : 'App'} ${b.name}`} · ${b.period === 'daily' ? 'today' : 'this month'}`,
                `${money(b.spent)}${b.limit !== undefined ? ` of ${money(b.limit)}` : ''}${b.soft !== undefined ? ` (notice at ${money(b.soft)})` : ''}${b.over ? ' — limit reached' : ''}`,
                b.over ? 'num error-text' : b.soft !== undefined && b.spent >= b.soft ? 'num warn-text' : 'num',
              ),
            ),
          ),
        ),
      );
    }
    if (focusedId) (document.getElementById(focusedId) as HTMLElement | null)?.focus();
  }
}

/** Breaker, rate-limit and load pills of a provider (main/health). */
function healthPills(x: ProviderHealthInfo | undefined): HTMLElement[] {
  if (!x) return [];
  const out: HTMLElement[] = [];
  const secs = (ms: number | null) => (ms ? ` · ${Math.ceil(ms / 1000)} s` : '');
  if (x.breaker !== 'closed') out.push(h('span', { class: 'pill ' + (x.breaker === 'open' ? 'st-bad' : 'st-warn'), 'data-breaker': x.breaker, text: `breaker ${x.breaker}${secs(x.retryInMs)}`, title: 'Transport errors opened this provider\'s circuit breaker: it is skipped until a probe succeeds.' }));
  if (x.openModels.length) out.push(h('span', { class: 'pill st-warn', 'data-breaker': 'model', text: `breaker open: ${x.openModels.join(', ')}`, title: 'These models answered 5xx repeatedly and are skipped until a probe succeeds.' }));
  if (x.rateLimited.length) out.push(h('span', { class: 'pill st-warn', text: `rate-limited: ${x.rateLimited.map((r) => `${r.model}${secs(r.ms)}`).join(', ')}` }));
  if (x.maxInFlight !== null || x.inFlight || x.queued) out.push(h('span', { class: 'hint', text: `${x.inFlight}${x.maxInFlight !== null ? `/${x.maxInFlight}` : ''} in flight${x.queued ? ` · ${x.queued} queued` : ''}` }));
  return out;
}

export default function create(): View {
  return new StatusView();
}
