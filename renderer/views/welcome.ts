// Get started (first run, no config file yet): the API keys already in the environment and a running Ollama, offered
// as a starting config (each can be unticked; the file names the variables, it never holds a key), and the
// installed coding tools with the exact line each needs to trust router67 (as `router67 doctor` prints it).
import type { Api, FirstRunState, UiEvent } from '../../main/ui/types.js';
import { clear, h, toast, viewHead } from '../dom.js';
import type { View, ViewContext } from './view.js';

class WelcomeView implements View {
  private api!: Api;
  private go!: (id: string) => void;
  private state?: FirstRunState;
  private readonly chosen = new Set<string>();
  private busy = false;
  private message?: { kind: 'error' | 'warn'; text: string };
  private readonly body = h('div', { class: 'welcome' });

  async mount(root: HTMLElement, ctx: ViewContext): Promise<void> {
    this.api = ctx.api;
    this.go = ctx.go;
    root.append(
      viewHead('Get started', 'router67 has no config yet. This is what it found on this machine.'),
      this.body,
    );
    await this.refresh();
  }

  onEvent(e: UiEvent): void {
    // a config written elsewhere (router67 init, an editor) ends the first run
    if (e.type === 'config' && this.state?.needed) void this.refresh();
  }

  private async refresh(): Promise<void> {
    try {
      this.state = await this.api.firstRun();
    } catch (e) {
      clear(this.body);
      this.body.append(h('div', { class: 'banner banner-error', role: 'alert', text: (e as Error).message }));
      return;
    }
    this.chosen.clear();
    for (const x of this.state.entries) if (offerable(x)) this.chosen.add(x.id);
    this.render();
  }

  private async write(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    this.message = undefined;
    this.render();
    try {
      const r = await this.api.writeStarter([...this.chosen]);
      if (r.ok) {
        toast(`Wrote ${r.path.split(/[\\/]/).pop()} with ${r.providers.length ? r.providers.join(', ') : 'no providers'}.`, 'ok');
        this.state = await this.api.firstRun();
        this.render();
        this.go('providers');
        return;
      }
      this.message = { kind: r.exists ? 'warn' : 'error', text: r.message };
      if (r.exists) this.state = await this.api.firstRun();
    } catch (e) {
      this.message = { kind: 'error', text: (e as Error).message };
    } finally {
      this.busy = false;
    }
    this.render();
  }

  private render(): void {
    const s = this.state;
    if (!s) return;
    clear(this.body);
    if (!s.needed) {
      this.body.append(
        h(
          'section',
          { class: 'card' },
          h('h2', { text: 'Config in place' }),
          h('p', null, 'router67 reads ', h('span', { class: 'mono', text: s.configPath }), '. Edit providers in the Providers view.'),
          h('div', { class: 'actions' }, h('button', { type: 'button', class: 'btn primary', text: 'Open Providers', onclick: () => this.go('providers') })),
        ),
      );
      this.body.append(this.clientsCard(s));
      return;
    }
    const keys = s.entries.filter((x) => x.kind === 'key');
    const ollama = s.entries.find((x) => x.kind === 'ollama');
    const row = (x: FirstRunState['entries'][number], name: Node, what: string, hint: string) => {
      const can = offerable(x);
      const id = `fr-${x.id.replace(/[^A-Za-z0-9]/g, '-')}`;
      return h(
        'tr',
        { class: x.found ? 'found' : 'absent', 'data-entry': x.id },
        h(
          'td',
          { class: 'tick' },
          h('input', {
            type: 'checkbox',
            id,
            checked: can && this.chosen.has(x.id),
            disabled: !can || this.busy,
            'aria-label': `Add ${x.title}`,
            onchange: (e: Event) => {
              if ((e.target as HTMLInputElement).checked) this.chosen.add(x.id);
              else this.chosen.delete(x.id);
              this.renderCount();
            },
          }),
        ),
        h('td', null, h('label', { htmlFor: id }, name)),
        h('td', null, x.title),
        h('td', { class: x.found ? (x.notOffered ? 'warn-text' : 'ok-text') : 'dim', text: what }),
        h('td', { class: 'hint', text: hint }),
      );
    };
    const table = h(
      'table',
      { class: 'fr-table', id: 'fr-keys' },
      h('thead', null, h('tr', null, h('th', null, h('span', { class: 'sr-only', text: 'Add' })), h('th', { text: 'Variable' }), h('th', { text: 'Provider' }), h('th', { text: 'Found' }), h('th', { text: 'Models' }))),
      h(
        'tbody',
        null,
        ...keys.map((x) => row(x, h('span', { class: 'mono', text: x.env ?? '' }), x.found ? (x.notOffered ? 'set — not offered' : 'set') : 'not set', x.notOffered && x.found ? x.notOffered : x.models.join(', '))),
      ),
    );
    const o = s.ollama;
    this.body.append(
      h(
        'section',
        { class: 'card' },
        h('h2', { text: 'API keys in your environment' }),
        h('p', { class: 'hint', text: 'Each ticked key becomes a provider that names its variable (value_env). The file holds no key: router67 reads the variable when a request goes out.' }),
        table,
      ),
      h(
        'section',
        { class: 'card', id: 'fr-ollama' },
        h('h2', { text: 'Ollama' }),
        ollama && o.running
          ? h(
              'table',
              { class: 'fr-table' },
              h('tbody', null, row(ollama, h('span', { class: 'mono', text: o.url }), o.models.length ? 'running' : 'running, no models', o.models.length ? o.models.join(', ') : 'Pull a model (ollama pull …) and it can be added later.')),
            )
          : h('p', { class: 'hint', text: `No Ollama answered at ${o.url}${o.detail ? ` (${o.detail})` : ''}.` }),
      ),
    );
    const count = h('span', { class: 'hint', id: 'fr-count' });
    this.body.append(
      h(
        'section',
        { class: 'card fr-write' },
        h('h2', { text: 'Starting config' }),
        h('p', null, 'Writes ', h('span', { class: 'mono', text: s.configPath }), ' (nothing there yet). You can change everything afterwards in Providers.'),
        this.message ? h('p', { class: this.message.kind === 'error' ? 'error-text' : 'warn-text', role: 'alert', text: this.message.text }) : null,
        h('div', { class: 'actions' }, h('button', { type: 'button', class: 'btn primary', id: 'fr-write', text: this.busy ? 'Writing…' : 'Write config', disabled: this.busy, onclick: () => void this.write() }), count),
      ),
      this.clientsCard(s),
    );
    this.renderCount();
  }

  private renderCount(): void {
    const el = this.body.querySelector('#fr-count');
    if (!el || !this.state) return;
    const names = this.state.entries.filter((x) => this.chosen.has(x.id)).map((x) => x.provider);
    el.textContent = names.length ? `Providers: ${names.join(', ')}` : 'No providers ticked: the config starts empty.';
  }

  private clientsCard(s: FirstRunState): HTMLElement {
    return h(
      'section',
      { class: 'card', id: 'fr-clients' },
      h('h2', { text: 'Your coding tools' }),
      s.clients.length
        ? h(
            'div',
            null,
            s.caExists ? null : h('p', { class: 'hint', text: 'Once interception is set up (Status → Set up interception…):' }),
            ...s.clients.map((c) =>
              h(
                'div',
                { class: 'fr-client' },
                h('div', { class: 'pname', text: c.client }),
                c.lines.length ? h('pre', { class: 'mono fr-lines', text: c.lines.join('\n') }) : h('p', { class: 'ok-text', text: 'Nothing to set.' }),
                c.note ? h('p', { class: 'hint', text: c.note }) : null,
              ),
            ),
          )
        : h('p', { class: 'hint', text: 'No Claude Code or Codex CLI found on PATH or in npm’s global folder.' }),
    );
  }
}

function offerable(x: FirstRunState['entries'][number]): boolean {
  return x.found && !x.notOffered && (x.kind === 'key' || x.models.length > 0);
}

export default function create(): View {
  return new WelcomeView();
}
