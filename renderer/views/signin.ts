// Sign-in: OAuth providers (OpenRouter built in, and every [oauth.<name>] of config.toml) with their connection
// state; a sign-in runs in the system browser and this view follows it (polling while one runs), then shows how
// it ended; sign-out removes the tokens from the keychain. No token ever reaches this page.
import type { Api, ProviderView, SignInCredential, SignInFlow, SignInState, UiEvent } from '../../main/ui/types.js';
import { append, clear, h, toast, viewHead } from '../dom.js';
import type { View, ViewContext } from './view.js';

const ACTIVE: SignInFlow['phase'][] = ['starting', 'browser', 'device', 'exchanging'];

const STATE_WORD: Record<SignInCredential['state'], string> = {
  'signed-in': 'signed in',
  'signed-out': 'not signed in',
  'sign-in needed': 'sign-in needed',
};

class SignInView implements View {
  private api!: Api;
  private state?: SignInState;
  private error?: string;
  private busy = new Set<string>();
  private poll?: ReturnType<typeof setTimeout>;
  private refreshTimer?: ReturnType<typeof setTimeout>;
  private readonly body = h('div', { class: 'signin' });
  private readonly live = h('div', { class: 'sr-only', 'aria-live': 'polite', role: 'status' });
  private announced = new Map<string, string>();
  /** The running providers (status): a credential not signed in may still have its provider working with a key. */
  private providers: ProviderView[] = [];

  async mount(root: HTMLElement, ctx: ViewContext): Promise<void> {
    this.api = ctx.api;
    root.append(
      viewHead(
        'Sign-in',
        'Connect providers with your account instead of pasting keys. Sign-in happens in your browser; tokens and keys go to the OS keychain.',
      ),
      this.live,
      this.body,
    );
    await this.refresh();
  }

  shown(): void {
    void this.refresh();
  }

  onEvent(e: UiEvent): void {
    // A credential's state shows in status (sign-in needed after a failed refresh, a sign-in from the CLI).
    if (e.type === 'status' || e.type === 'config') {
      clearTimeout(this.refreshTimer);
      this.refreshTimer = setTimeout(() => void this.refresh(), 150);
    }
  }

  private async refresh(): Promise<void> {
    try {
      this.state = await this.api.signInState();
      this.error = undefined;
      this.providers = (await this.api.status().catch(() => undefined))?.providers ?? this.providers;
    } catch (e) {
      this.error = (e as Error).message;
    }
    this.render();
    this.schedulePoll();
  }

  private running(): SignInFlow[] {
    return (this.state?.flows ?? []).filter((f) => ACTIVE.includes(f.phase));
  }

  private schedulePoll(): void {
    clearTimeout(this.poll);
    if (this.running().length) this.poll = setTimeout(() => void this.refresh(), 600);
  }

  private flowOf(name: string): SignInFlow | undefined {
    return this.state?.flows.find((f) => f.name === name);
  }

  private async start(c: SignInCredential, device: boolean): Promise<void> {
    this.busy.add(c.name);
    this.render();
    try {
      const f = await this.api.signInStart(c.name, device);
      // The app opens the browser itself; the daemon's page opens it from here (the link stays, should a
      // pop-up blocker refuse).
      if (f.url && !f.opened) void this.api.openExternal(f.url);
    } catch (e) {
      toast((e as Error).message, 'error');
    } finally {
      this.busy.delete(c.name);
      await this.refresh();
    }
  }

  private async cancel(f: SignInFlow): Promise<void> {
    try {
      await this.api.signInCancel(f.id);
    } catch (e) {
      toast((e as Error).message, 'error');
    }
    await this.refresh();
  }

  private async signOut(c: SignInCredential): Promise<void> {
    this.busy.add(c.name);
    this.render();
    try {
      const r = await this.api.signOut(c.name);
      toast(r.message, r.ok ? 'ok' : 'error');
    } catch (e) {
      toast((e as Error).message, 'error');
    } finally {
      this.busy.delete(c.name);
      await this.refresh();
    }
  }

  private announce(f: SignInFlow): void {
    const key = `${f.phase}:${f.message ?? ''}`;
    if (this.announced.get(f.id) === key) return;
    this.announced.set(f.id, key);
    if (f.phase === 'done') this.live.textContent = `Signed in to ${f.name}.`;
    else if (f.phase === 'failed' || f.phase === 'cancelled') this.live.textContent = `Sign-in to ${f.name} did not complete: ${f.message ?? f.phase}`;
    else if (f.phase === 'device' && f.userCode) this.live.textContent = `Enter the code ${f.userCode} at ${f.verificationUri ?? 'the provider'}.`;
  }

  private progress(f: SignInFlow): HTMLElement {
    this.announce(f);
    const box = h('div', { class: 'signin-flow', 'data-phase': f.phase, id: `flow-${f.name}` });
    const cancel = h('button', { type: 'button', class: 'btn small', text: 'Cancel', onclick: () => void this.cancel(f) });
    switch (f.phase) {
      case 'starting':
        box.append(h('p', { class: 'hint', text: 'Starting…' }), cancel);
        break;
      case 'browser':
        append(
          box,
          h('p', { class: 'hint', text: f.opened ? 'Finish signing in in your browser; this page follows along.' : 'Open the sign-in page and finish there; this page follows along.' }),
          f.url ? h('p', null, h('a', { href: f.url, class: 'signin-link', text: f.opened ? 'Open the sign-in page again' : 'Open the sign-in page' })) : null,
          cancel,
        );
        break;
      case 'device':
        append(
          box,
          h('p', { class: 'hint', text: 'On any device, open the page below and enter this code:' }),
          h('p', { class: 'big mono signin-code', text: f.userCode ?? '' }),
          f.url ? h('p', null, h('a', { href: f.url, class: 'signin-link', text: f.verificationUri ?? f.url })) : null,
          cancel,
        );
        break;
      case 'exchanging':
        box.append(h('p', { class: 'hint', text: 'Finishing the sign-in…' }));
        break;
      case 'done':
        box.append(h('p', { class: 'ok-text', role: 'status', text: f.message ?? 'Signed in.' }));
        break;
      default:
        box.append(h('p', { class: f.phase === 'cancelled' ? 'warn-text' : 'error-text', role: 'alert', text: f.message ?? 'The sign-in did not complete.' }));
    }
    return box;
  }

  /** A provider that works without this sign-in (an API key from an env var or the keychain), as Providers shows it. */
  private keyed(c: SignInCredential): ProviderView | undefined {
    if (c.state === 'signed-in') return undefined;
    const names = new Set([c.name, ...c.usedBy]);
    return this.providers.find((p) => names.has(p.name) && p.auth === 'ok' && !!p.authSource && !/^oauth\b|^none$/.test(p.authSource));
  }

  private card(c: SignInCredential): HTMLElement {
    const f = this.flowOf(c.name);
    const active = !!f && ACTIVE.includes(f.phase);
    const busy = this.busy.has(c.name);
    const keyed = this.keyed(c);
    const pill = c.state === 'signed-in' || keyed ? 'st-ok' : c.state === 'sign-in needed' ? 'st-warn' : 'st-idle';
    const stateWord = keyed ? 'using an API key' : STATE_WORD[c.state];
    const keyWhere = keyed?.authSource?.replace(/^env /, 'environment variable ').replace(/^keychain /, 'keychain entry ');
    const kv = (k: string, v: string, cls = '') => h('div', { class: 'kv' }, h('dt', { text: k }), h('dd', { class: cls, text: v }));
    const actions = h('div', { class: 'actions' });
    if (!active) {
      actions.append(
        h('button', {
          type: 'button',
          class: 'btn primary',
          id: `signin-${c.name}`,
          text: c.state === 'signed-in' ? 'Sign in again' : keyed ? 'Sign in instead' : 'Sign in',
          disabled: busy || !this.state?.keychain.available,
          onclick: () => void this.start(c, false),
        }),
      );
      if (c.device) {
        actions.append(
          h('button', {
            type: 'button',
            class: 'btn',
            id: `signin-device-${c.name}`,
            text: 'Sign in with a code',
            title: 'Device-code sign-in: enter a code on any device (for machines without a browser)',
            disabled: busy || !this.state?.keychain.available,
            onclick: () => void this.start(c, true),
          }),
        );
      }
      if (c.state !== 'signed-out') {
        actions.append(
          h('button', { type: 'button', class: 'btn danger', id: `signout-${c.name}`, text: 'Sign out', disabled: busy, onclick: () => void this.signOut(c) }),
        );
      }
    }
    return h(
      'section',
      { class: 'card signin-card' + (c.state === 'sign-in needed' ? ' is-error' : ''), 'data-name': c.name, 'data-state': c.state, 'aria-labelledby': `signin-title-${c.name}` },
      h('h2', { id: `signin-title-${c.name}` }, c.title, c.title !== c.name ? h('span', { class: 'dim', text: ` · ${c.name}` }) : null),
      h(
        'dl',
        { class: 'kvs' },
        h('div', { class: 'kv' }, h('dt', { text: 'State' }), h('dd', { class: `pill ${pill}`, text: stateWord })),
        keyed ? kv('', `Provider “${keyed.name}” works with its key from the ${keyWhere}. Sign in only to use your account instead.`, 'hint') : c.detail ? kv('', c.detail, 'hint') : null,
        kv('Used by', keyed && !c.usedBy.length ? `provider “${keyed.name}”, with its API key for now` : c.usedBy.length ? c.usedBy.join(', ') : c.type === 'openrouter' ? 'provider “' + c.name + '” is created at sign-in' : 'no provider yet (auth = { oauth = "' + c.name + '" })', c.usedBy.length || keyed ? '' : 'dim'),
        c.expiresAt ? kv('Token renews', new Date(c.expiresAt).toLocaleString(), 'dim') : null,
      ),
      f ? this.progress(f) : null,
      actions,
    );
  }

  private render(): void {
    const focused = (document.activeElement as HTMLElement | null)?.id;
    clear(this.body);
    if (this.error) this.body.append(h('div', { class: 'banner banner-error', role: 'alert', text: this.error }));
    const s = this.state;
    if (!s) return;
    if (!s.keychain.available) {
      this.body.append(
        h('div', { class: 'banner banner-warn', role: 'alert', text: `The OS keychain is not available${s.keychain.reason ? ` (${s.keychain.reason})` : ''}; router67 keeps sign-ins only there.` }),
      );
    }
    this.body.append(h('div', { class: 'status-grid' }, ...s.credentials.map((c) => this.card(c))));
    this.body.append(
      h(
        'p',
        { class: 'hint' },
        'Other OAuth 2 / OpenID Connect providers (a company LLM gateway, Entra ID for Azure OpenAI) appear here once config.toml describes them in an ',
        h('code', { text: '[oauth.<name>]' }),
        ' table (issuer, client_id, scopes).',
      ),
      h('p', { class: 'hint', text: 'Not offered: Claude.ai (Free, Pro, Max) and Gemini CLI subscription sign-in. Their terms forbid third-party apps from using those credentials.' }),
    );
    if (focused) (document.getElementById(focused) as HTMLElement | null)?.focus();
  }
}

export default function create(): View {
  return new SignInView();
}
