// Providers: the fallback chain (reorder by drag or Alt+↑/↓), each provider's settings, the intercepted hosts.
// Validation comes from the main side (the core's own zod schema) and is shown on the field it concerns.
import type { Api, AuthDraft, ConfigDraft, EditorState, Format, Issue, ProviderDraft, ProviderHealthInfo, ProviderView, SecretSource, UiEvent, UiStatus } from '../../main/ui/types.js';
import { append, clear, debounce, h, onSaveKey, toast, viewHead, type Props } from '../dom.js';
import { authPlaceholders, configDiff, envWarnings, hiddenParamsHint } from './providers-help.js';
import type { View, ViewContext } from './view.js';

const FORMAT_LABELS: [Format | '', string][] = [
  ['', 'Same as the request'],
  ['anthropic', 'Anthropic Messages'],
  ['openai', 'OpenAI Chat Completions'],
  ['responses', 'OpenAI Responses'],
  ['ollama', 'Ollama'],
];

const SOURCE_LABELS: Record<SecretSource, string> = {
  keychain: 'Keychain',
  env: 'Environment variable',
  none: 'No key',
  inline: 'In config file',
  oauth: 'OAuth sign-in',
};

interface Template {
  label: string;
  fill: Partial<Omit<ProviderDraft, 'auth'>> & { auth?: Partial<AuthDraft> };
}

const TEMPLATES: Template[] = [
  {
    label: 'Anthropic',
    fill: {
      name: 'anthropic',
      base_url: 'https://api.anthropic.com',
      format: 'anthropic',
      auth: { header: 'x-api-key', prefix: '', source: 'keychain', value_env: 'ANTHROPIC_API_KEY' },
      extra_headers: [['anthropic-version', '2023-06-01']],
    },
  },
  {
    label: 'OpenAI',
    fill: { name: 'openai', base_url: 'https://api.openai.com', format: 'openai', auth: { header: 'Authorization', prefix: 'Bearer ', source: 'keychain', value_env: 'OPENAI_API_KEY' } },
  },
  {
    label: 'OpenRouter',
    fill: { name: 'openrouter', base_url: 'https://openrouter.ai/api', format: 'openai', auth: { header: 'Authorization', prefix: 'Bearer ', source: 'keychain', value_env: 'OPENROUTER_API_KEY' } },
  },
  { label: 'Ollama (local)', fill: { name: 'ollama', base_url: 'http://127.0.0.1:11434', format: 'ollama', auth: { source: 'none' } } },
];

function emptyAuth(): AuthDraft {
  return { source: 'none', header: '', prefix: '', value_env: '', keychain: '', oauth: '' };
}

function blankProvider(name: string): ProviderDraft {
  return { name, base_url: '', format: '', auth: emptyAuth(), extra_headers: [], models: [['', '']] };
}

function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

class ProvidersView implements View {
  private api!: Api;
  private root!: HTMLElement;
  private state?: EditorState;
  private draft?: ConfigDraft;
  private selected = 0;
  private isDirty = false;
  private issues: Issue[] = [];
  private saving = false;
  private validateSeq = 0;
  /** Fields the user has left (data-path); a new provider's problems show only on those, or after Save. */
  private touched = new Set<string>();
  private showAll = false;
  private status?: UiStatus;
  private readonly addBtn = h('button', { type: 'button', class: 'btn add', text: '+ Add provider' });
  private readonly ui = {
    list: h('ol', { class: 'plist', role: 'listbox', 'aria-label': 'Providers, in fallback order' }),
    editor: h('div', { class: 'pedit' }),
    banners: h('div', { class: 'banners' }),
    hosts: h('div', { class: 'hosts' }),
    save: h('button', { type: 'button', class: 'btn primary', text: 'Save', disabled: true }),
    revert: h('button', { type: 'button', class: 'btn', text: 'Revert', disabled: true }),
    dirtyNote: h('span', { class: 'dirty-note', 'aria-live': 'polite' }),
  };
  private readonly validateSoon = debounce(() => void this.validate(), 250);

  async mount(root: HTMLElement, ctx: ViewContext): Promise<void> {
    this.api = ctx.api;
    this.root = root;
    this.ui.save.addEventListener('click', () => void this.save());
    this.ui.revert.addEventListener('click', () => void this.reload());
    const add = this.addBtn;
    add.addEventListener('click', () => this.addProvider());
    this.ui.editor.addEventListener('focusout', (e) => {
      const path = (e.target as HTMLElement).dataset?.path;
      if (!path || this.touched.has(path)) return;
      this.touched.add(path);
      this.showIssues(this.issues);
    });
    root.append(
      viewHead(
        'Providers',
        'Tried top to bottom for each model; drag to reorder, or Alt+↑/↓.',
        h('div', { class: 'actions' }, this.ui.dirtyNote, this.ui.revert, this.ui.save),
      ),
      this.ui.banners,
      h('div', { class: 'providers-layout' }, h('div', { class: 'plist-col' }, this.ui.list, add, this.ui.hosts), this.ui.editor),
    );
    onSaveKey(root, () => void this.save());
    this.wireList();
    await this.reload();
    this.shown();
  }

  shown(): void {
    void this.api.status().then((s) => {
      this.health = new Map(s.providers.map((p) => [p.name, p.health]));
      this.showHealth();
    }, () => undefined);
  }

  /** The running providers' breaker / rate-limit state beside their names in the list (main/health). */
  private health = new Map<string, ProviderHealthInfo | undefined>();
  private showHealth(): void {
    for (const li of this.ui.list.querySelectorAll<HTMLElement>('li.pitem')) {
      const name = this.draft?.providers[Number(li.dataset.index)]?.name ?? '';
      const x = this.health.get(name);
      const pill = li.querySelector<HTMLElement>('.phealth')!;
      const word = !x ? '' : x.breaker !== 'closed' ? `breaker ${x.breaker}` : x.openModels.length ? `${x.openModels.length} model breaker${x.openModels.length === 1 ? '' : 's'} open` : x.rateLimited.length ? 'rate-limited' : '';
      pill.hidden = !word;
      pill.textContent = word;
      pill.className = 'pill phealth ' + (x?.breaker === 'open' ? 'st-bad' : 'st-warn');
      pill.title = x ? [x.openModels.length ? `breaker open: ${x.openModels.join(', ')}` : '', x.rateLimited.map((r) => `${r.model} rate-limited ${Math.ceil(r.ms / 1000)} s`).join(', ')].filter(Boolean).join('; ') : '';
      if (x) pill.dataset.breaker = x.breaker;
    }
  }

  dirty(): boolean {
    return this.isDirty;
  }

  onEvent(e: UiEvent): void {
    if (e.type === 'status') {
      const before = JSON.stringify([this.status?.configErrors, this.status?.providers]);
      this.status = e.status;
      if (JSON.stringify([e.status.configErrors, e.status.providers]) !== before) {
        this.renderConfigBanner();
        if (this.state?.blocked) this.renderAll();
      }
      this.health = new Map(e.status.providers.map((p) => [p.name, p.health]));
      this.showHealth();
      return;
    }
    if (e.type !== 'config' || !this.state) return;
    // Our own save announces itself before it answers; the editor reloads after it anyway.
    if (this.saving || (e.revision && e.revision === this.state.revision)) return;
    if (!this.isDirty) void this.reload();
    else void this.conflict('config.toml was changed outside this window since you started editing.');
  }

  private readOnly(): boolean {
    return !!this.state?.blocked;
  }

  /** The same words as the Status view: the file has errors, the last good configuration keeps running. */
  private renderConfigBanner(): void {
    this.ui.banners.querySelector('.config-banner')?.remove();
    const errs = this.status?.configErrors ?? [];
    if (!errs.length || this.state?.blocked) return;
    const b = h(
      'div',
      { class: 'banner banner-error config-banner', role: 'alert' },
      h(
        'div',
        { class: 'banner-body' },
        h('div', { text: `The file has ${errs.length} error${errs.length === 1 ? '' : 's'}; the last good configuration keeps running.` }),
        h(
          'ul',
          { class: 'config-errors-inline' },
          ...errs.map((i) => h('li', { text: `${i.file.split(/[\\/]/).pop()}${i.line ? `:${i.line}` : ''}${i.path ? ` ${i.path}` : ''}: ${i.message}` })),
        ),
      ),
    );
    this.ui.banners.prepend(b);
  }

  /** One banner for a file changed under the editor: keep mine (overwrite), take theirs, or see the differences. */
  private async conflict(message: string): Promise<void> {
    let theirs: EditorState | undefined;
    try {
      theirs = await this.api.loadConfig();
    } catch {
      theirs = undefined;
    }
    this.ui.banners.querySelector('.conflict-banner')?.remove();
    const diffBox = h('div', { class: 'conflict-diff', hidden: true, 'aria-label': 'Differences: − in the file, + yours' });
    const mine = this.draft;
    const b = h(
      'div',
      { class: 'banner banner-warn conflict-banner', role: 'alert' },
      h('div', { class: 'banner-body' }, h('div', { text: `${message} Your changes are not saved yet.` }), diffBox),
    );
    const actions = h('div', { class: 'banner-actions' });
    if (theirs && !theirs.blocked && mine) {
      actions.append(
        h('button', {
          type: 'button',
          class: 'btn small primary',
          text: 'Keep mine (overwrite)',
          onclick: () => {
            if (!this.draft || !theirs) return;
            this.draft.revision = theirs.revision; // save over the file as it is now
            this.state = { ...this.state!, revision: theirs.revision };
            b.remove();
            void this.save();
          },
        }),
      );
      const lines = configDiff(theirs, mine);
      append(diffBox, ...(lines.length ? lines.map(([k, t]) => h('div', { class: k === '+' ? 'add' : 'del', text: `${k} ${t}` })) : [h('div', { text: 'No differences in the settings shown here (comments or layout changed).' })]));
      actions.append(
        h('button', {
          type: 'button',
          class: 'btn small',
          text: 'Show differences',
          'aria-expanded': 'false',
          onclick: (e: Event) => {
            diffBox.hidden = !diffBox.hidden;
            const btn = e.target as HTMLButtonElement;
            btn.textContent = diffBox.hidden ? 'Show differences' : 'Hide differences';
            btn.setAttribute('aria-expanded', String(!diffBox.hidden));
          },
        }),
      );
    }
    actions.append(h('button', { type: 'button', class: 'btn small', text: 'Take theirs', onclick: () => void this.reload() }));
    b.append(actions);
    this.ui.banners.append(b);
  }

  // ---------------------------------------------------------------------------------------------------------
  // loading, saving, validating

  private async reload(): Promise<void> {
    const keepName = this.draft?.providers[this.selected]?.name;
    let s: EditorState;
    try {
      s = await this.api.loadConfig();
    } catch (e) {
      this.banner('error', `Cannot read the configuration: ${(e as Error).message}`);
      return;
    }
    try {
      this.status = await this.api.status();
    } catch {
      /* the banners say less */
    }
    this.state = s;
    this.touched.clear();
    this.showAll = false;
    this.draft = clone({ revision: s.revision, intercept_hosts: s.intercept_hosts, providers: s.providers });
    const again = keepName === undefined ? -1 : this.draft.providers.findIndex((p) => p.name === keepName);
    this.selected = again >= 0 ? again : Math.min(this.selected, Math.max(0, this.draft.providers.length - 1));
    this.issues = [];
    this.setDirty(false);
    clear(this.ui.banners);
    if (s.blocked) {
      this.banner(
        'error',
        `config.toml does not parse, so it cannot be edited here; router67 keeps running the last good configuration, shown below read-only. Fix the file by hand: ${s.blocked}`,
      );
    }
    this.renderConfigBanner();
    if (!s.keychain.available) {
      this.ui.banners.append(
        h(
          'div',
          { class: 'banner banner-info keychain-banner', role: 'note' },
          h(
            'div',
            { class: 'banner-body' },
            h('span', { text: 'Keys go in environment variables here, because this system has no keychain router67 can use.' }),
            h('details', null, h('summary', { text: 'Why?' }), h('p', { class: 'hint', text: s.keychain.reason ?? 'The OS keychain could not be reached.' })),
          ),
        ),
      );
    }
    this.addBtn.disabled = !!s.blocked;
    this.addBtn.title = s.blocked ? 'Fix config.toml first: it does not parse' : '';
    this.renderAll();
    if (!s.blocked) void this.validate();
  }

  private async validate(): Promise<void> {
    if (!this.draft || this.state?.blocked) return;
    const seq = ++this.validateSeq;
    try {
      const issues = await this.api.validate(this.draft);
      if (seq === this.validateSeq) this.showIssues(issues);
    } catch (e) {
      if (seq === this.validateSeq) this.showIssues([{ path: [], message: (e as Error).message }]);
    }
  }

  private async save(): Promise<void> {
    if (!this.draft || this.saving || !this.isDirty || this.readOnly()) return;
    this.showAll = true;
    this.validateSoon.cancel();
    this.saving = true;
    this.ui.save.disabled = true;
    this.ui.save.textContent = 'Saving…';
    try {
      const r = await this.api.save(this.draft);
      if (r.ok) {
        await this.reload();
        const missing = envWarnings(this.state?.providers ?? []);
        if (!r.reloaded) toast('Saved, but the running router kept its last good config: see Status.', 'error');
        else if (missing.length) toast(`Saved, but ${missing.join('; ')}: ${missing.length === 1 ? 'that provider is' : 'those providers are'} skipped until it is set where router67 runs.`, 'warn');
        else toast('Saved. router67 is using the new settings.', 'ok');
      } else if (r.kind === 'invalid') {
        this.showIssues(r.issues);
        toast('Not saved: fix the marked fields.', 'error');
      } else if (r.kind === 'conflict') {
        await this.conflict(`Not saved: ${r.message}`);
      } else {
        toast(`Not saved: ${r.message}`, 'error');
      }
    } catch (e) {
      toast(`Not saved: ${(e as Error).message}`, 'error');
    } finally {
      this.saving = false;
      this.ui.save.textContent = 'Save';
      this.ui.save.disabled = !this.isDirty;
    }
  }

  private changed(): void {
    this.setDirty(true);
    this.validateSoon();
  }

  private setDirty(d: boolean): void {
    this.isDirty = d;
    this.ui.save.disabled = !d || this.saving || !!this.state?.blocked;
    this.ui.save.title = this.state?.blocked ? 'config.toml does not parse: fix it by hand first' : '';
    this.ui.revert.disabled = !d;
    this.ui.dirtyNote.textContent = d ? 'Unsaved changes' : '';
  }

  private banner(kind: 'info' | 'warn' | 'error', text: string, action?: string, onAction?: () => void): void {
    const b = h('div', { class: `banner banner-${kind}`, role: kind === 'info' ? 'note' : 'alert' }, h('span', { text }));
    if (action && onAction) b.append(h('button', { type: 'button', class: 'btn small', text: action, onclick: onAction }));
    for (const old of [...this.ui.banners.children]) if (old.textContent?.startsWith(text)) old.remove();
    this.ui.banners.append(b);
  }

  // ---------------------------------------------------------------------------------------------------------
  // rendering

  private renderAll(): void {
    this.renderList();
    this.renderHosts();
    this.renderEditor();
    this.showIssues(this.issues);
  }

  private renderList(): void {
    const d = this.draft!;
    clear(this.ui.list);
    this.ui.list.classList.toggle('readonly', this.readOnly());
    if (this.readOnly()) {
      const running = this.status?.providers ?? [];
      if (!running.length) {
        this.ui.list.append(h('li', { class: 'plist-empty', text: 'The last good configuration has no providers.' }));
        return;
      }
      running.forEach((p, i) => this.ui.list.append(this.runningItem(p, i)));
      return;
    }
    if (!d.providers.length) {
      this.ui.list.append(h('li', { class: 'plist-empty', text: 'No providers yet.' }));
      return;
    }
    d.providers.forEach((p, i) => {
      const models = p.models.filter(([k]) => k).length;
      const li = h(
        'li',
        {
          class: 'pitem' + (i === this.selected ? ' selected' : ''),
          role: 'option',
          'aria-selected': i === this.selected,
          tabindex: i === this.selected ? 0 : -1,
          draggable: true,
          'data-index': i,
          title: 'Drag, or Alt+↑/↓, to change the order',
        },
        h('span', { class: 'grip', 'aria-hidden': 'true', text: '⠿' }),
        h('span', { class: 'pos', text: String(i + 1) }),
        h(
          'span',
          { class: 'pmain' },
          h('span', { class: 'pname', text: p.name || 'unnamed' }),
          h('span', { class: 'pmeta', text: `${models} model${models === 1 ? '' : 's'}${p.format ? ` · ${p.format}` : ''}` }),
        ),
        h('span', { class: 'pill phealth', hidden: true }),
        h('span', { class: 'err-dot', hidden: true, 'aria-label': 'has problems', title: 'This provider has problems' }),
      );
      const warn = envWarnings([p])[0];
      if (warn) {
        li.classList.add('warned');
        li.append(h('span', { class: 'warn-mark', role: 'img', 'aria-label': warn, title: `${warn}: this provider is skipped until it is set`, text: '!' }));
        (li.querySelector('.pmeta') as HTMLElement).textContent += ' · key missing';
      }
      this.ui.list.append(li);
    });
    this.showHealth();
  }

  /** A provider of the running (last good) configuration, shown while the file does not parse. */
  private runningItem(p: ProviderView, i: number): HTMLElement {
    const li = h(
      'li',
      { class: 'pitem' + (i === this.selected ? ' selected' : ''), role: 'option', 'aria-selected': i === this.selected, 'aria-disabled': 'true', tabindex: i === this.selected ? 0 : -1, 'data-index': i },
      h('span', { class: 'pos', text: String(i + 1) }),
      h(
        'span',
        { class: 'pmain' },
        h('span', { class: 'pname', text: p.name }),
        h('span', { class: 'pmeta', text: `${p.models.length} model${p.models.length === 1 ? '' : 's'}${p.format ? ` · ${p.format}` : ''}${p.auth === 'ok' ? '' : p.auth === 'missing' ? ' · key missing' : ` · ${p.auth}`}` }),
      ),
    );
    return li;
  }

  private wireList(): void {
    const list = this.ui.list;
    const indexOf = (el: EventTarget | null) => {
      const li = (el as Element | null)?.closest?.('li.pitem') as HTMLElement | null;
      return li ? Number(li.dataset.index) : -1;
    };
    list.addEventListener('click', (e) => {
      const i = indexOf(e.target);
      if (i >= 0) this.select(i, true);
    });
    list.addEventListener('keydown', (e) => {
      const i = indexOf(e.target);
      if (i < 0 || !this.draft) return;
      const n = this.readOnly() ? (this.status?.providers.length ?? 0) : this.draft.providers.length;
      let to = -1;
      if (e.key === 'ArrowUp') to = i - 1;
      else if (e.key === 'ArrowDown') to = i + 1;
      else if (e.key === 'Home') to = 0;
      else if (e.key === 'End') to = n - 1;
      else if (e.key === 'Enter') {
        e.preventDefault();
        (this.ui.editor.querySelector('input') as HTMLInputElement | null)?.focus();
        return;
      } else return;
      e.preventDefault();
      if (to < 0 || to >= n || to === i) return;
      if (e.altKey && !this.readOnly()) this.move(i, to);
      else this.select(to, true);
    });
    let from = -1;
    list.addEventListener('dragstart', (e) => {
      if (this.readOnly()) return e.preventDefault();
      from = indexOf(e.target);
      if (from < 0) return;
      e.dataTransfer?.setData('text/plain', String(from));
      if (e.dataTransfer) e.dataTransfer.effectAllowed = 'move';
      (e.target as HTMLElement).classList.add('dragging');
    });
    const clearMarks = () => list.querySelectorAll('.drop-before, .drop-after, .dragging').forEach((x) => x.classList.remove('drop-before', 'drop-after', 'dragging'));
    const dropIndex = (e: DragEvent): number => {
      const li = (e.target as Element).closest?.('li.pitem') as HTMLElement | null;
      if (!li) return -1;
      const r = li.getBoundingClientRect();
      const i = Number(li.dataset.index);
      return e.clientY < r.top + r.height / 2 ? i : i + 1;
    };
    list.addEventListener('dragover', (e) => {
      if (from < 0) return;
      e.preventDefault();
      if (e.dataTransfer) e.dataTransfer.dropEffect = 'move';
      list.querySelectorAll('.drop-before, .drop-after').forEach((x) => x.classList.remove('drop-before', 'drop-after'));
      const li = (e.target as Element).closest?.('li.pitem') as HTMLElement | null;
      if (!li) return;
      const r = li.getBoundingClientRect();
      li.classList.add(e.clientY < r.top + r.height / 2 ? 'drop-before' : 'drop-after');
    });
    list.addEventListener('drop', (e) => {
      e.preventDefault();
      const at = dropIndex(e);
      const f = from;
      from = -1;
      clearMarks();
      if (f < 0 || at < 0) return;
      const to = at > f ? at - 1 : at;
      if (to !== f) this.move(f, to);
    });
    list.addEventListener('dragend', () => {
      from = -1;
      clearMarks();
    });
  }

  private select(i: number, focus = false): void {
    this.selected = i;
    this.renderList();
    this.renderEditor();
    this.showIssues(this.issues);
    if (focus) (this.ui.list.querySelector(`li[data-index="${i}"]`) as HTMLElement | null)?.focus();
  }

  private move(from: number, to: number): void {
    const ps = this.draft!.providers;
    const [p] = ps.splice(from, 1);
    ps.splice(to, 0, p!);
    // issues refer to positions; they are recomputed right away
    this.issues = [];
    this.touched.clear();
    this.selected = to;
    this.changed();
    this.renderList();
    this.renderEditor();
    (this.ui.list.querySelector(`li[data-index="${to}"]`) as HTMLElement | null)?.focus();
    const live = this.root.querySelector('.sr-live');
    if (live) live.textContent = `${p!.name || 'Provider'} moved to position ${to + 1}`;
  }

  private addProvider(): void {
    const d = this.draft!;
    let n = 1;
    while (d.providers.some((p) => p.name === `provider-${n}`)) n++;
    d.providers.push(blankProvider(`provider-${n}`));
    this.changed();
    this.select(d.providers.length - 1);
    const name = this.ui.editor.querySelector('input[data-path$=".name"]') as HTMLInputElement | null;
    name?.focus();
    name?.select();
  }

  private renderHosts(): void {
    const d = this.draft!;
    const box = this.ui.hosts;
    clear(box);
    if (this.readOnly()) {
      box.hidden = true;
      return;
    }
    box.hidden = false;
    const input = h('input', { type: 'text', placeholder: 'Add a host, e.g. api.mistral.ai', 'aria-label': 'Add an intercepted host', spellcheck: false, autocomplete: 'off' });
    const add = () => {
      const v = input.value.trim().toLowerCase();
      if (!v) return;
      if (!d.intercept_hosts.includes(v)) d.intercept_hosts.push(v);
      input.value = '';
      this.changed();
      this.renderHosts();
      this.showIssues(this.issues);
      (this.ui.hosts.querySelector('input') as HTMLInputElement).focus();
    };
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') {
        e.preventDefault();
        add();
      }
    });
    const chips = h('ul', { class: 'chips', 'aria-label': 'Intercepted hosts' });
    d.intercept_hosts.forEach((host, j) => {
      chips.append(
        h(
          'li',
          { class: 'chip', 'data-path': `intercept_hosts.${j}` },
          h('span', { text: host }),
          h('button', {
            type: 'button',
            class: 'chip-x',
            'aria-label': `Stop intercepting ${host}`,
            title: 'Remove',
            text: '×',
            onclick: () => {
              d.intercept_hosts.splice(j, 1);
              this.changed();
              this.renderHosts();
            },
          }),
        ),
      );
    });
    box.append(
      h('h2', { text: 'Intercepted hosts' }),
      h('p', { class: 'hint', text: 'While interception is on, calls to these hosts come to router67.' }),
      chips,
      h('div', { class: 'row-add' }, input, h('button', { type: 'button', class: 'btn small', text: 'Add', onclick: add })),
      h('div', { class: 'sr-only sr-live', 'aria-live': 'polite' }),
    );
  }

  private renderEditor(): void {
    const ed = this.ui.editor;
    clear(ed);
    const d = this.draft!;
    if (this.readOnly()) {
      const rp = this.status?.providers[this.selected];
      if (!rp) {
        ed.append(h('div', { class: 'empty' }, h('p', { text: 'Nothing to show until config.toml parses again.' })));
        return;
      }
      ed.append(
        h('div', { class: 'pedit-head' }, h('h2', { text: rp.name }), h('span', { class: 'hint', text: 'Running (read-only)' })),
        h('p', { class: 'hint readonly-note', text: 'This is the provider as router67 runs it now. Edit config.toml by hand to fix the error; this view follows as soon as it parses.' }),
        h(
          'dl',
          { class: 'kvs' },
          h('div', { class: 'kv' }, h('dt', { text: 'Format' }), h('dd', { text: rp.format ?? 'same as the request' })),
          h('div', { class: 'kv' }, h('dt', { text: 'Key' }), h('dd', { class: rp.auth === 'ok' ? 'ok-text' : 'warn-text', text: rp.auth === 'ok' ? 'available' : `${rp.auth}${rp.authDetail ? ` (${rp.authDetail})` : ''}` })),
          h('div', { class: 'kv' }, h('dt', { text: 'Models' }), h('dd', { class: 'mono', text: rp.models.join(', ') || '—' })),
        ),
      );
      return;
    }
    const p = d.providers[this.selected];
    if (!p) {
      ed.append(h('div', { class: 'empty' }, h('p', { text: 'Add a provider to start routing.' })));
      return;
    }
    const i = this.selected;
    const base = `providers.${i}`;
    const upd = () => {
      this.changed();
      const li = this.ui.list.querySelector(`li[data-index="${i}"]`);
      if (li) {
        li.querySelector('.pname')!.textContent = p.name || 'unnamed';
        const models = p.models.filter(([k]) => k).length;
        li.querySelector('.pmeta')!.textContent = `${models} model${models === 1 ? '' : 's'}${p.format ? ` · ${p.format}` : ''}`;
      }
    };

    const text = (label: string, path: string, get: () => string, set: (v: string) => void, opts: { placeholder?: string; type?: string; hint?: string; list?: string } = {}) => {
      const id = `f-${path.replace(/\./g, '-')}`;
      const input = h('input', {
        id,
        type: opts.type ?? 'text',
        value: get(),
        placeholder: opts.placeholder,
        spellcheck: false,
        autocomplete: 'off',
        'data-path': path,
        oninput: (e: Event) => {
          set((e.target as HTMLInputElement).value);
          upd();
        },
      });
      if (opts.list) input.setAttribute('list', opts.list);
      return h('div', { class: 'field', 'data-field': path }, h('label', { htmlFor: id, text: label }), input, opts.hint ? h('div', { class: 'hint', text: opts.hint }) : null);
    };

    const head = h(
      'div',
      { class: 'pedit-head', 'data-path': base },
      h('h2', { text: p.name || 'New provider' }),
      h('span', { class: 'hint', text: `Position ${i + 1} of ${d.providers.length}` }),
    );
    ed.append(head);

    if (p.origin === undefined && !p.base_url) {
      ed.append(
        h(
          'div',
          { class: 'templates' },
          h('span', { class: 'hint', text: 'Start from:' }),
          ...TEMPLATES.map((t) =>
            h('button', {
              type: 'button',
              class: 'btn small',
              text: t.label,
              onclick: () => {
                const taken = new Set(d.providers.filter((x) => x !== p).map((x) => x.name));
                Object.assign(p, { ...t.fill, auth: { ...p.auth, ...t.fill.auth } });
                if (taken.has(p.name)) p.name = `${p.name}-2`;
                if (!this.state?.keychain.available && p.auth.source === 'keychain') p.auth.source = 'env';
                this.changed();
                this.renderList();
                this.renderEditor();
              },
            }),
          ),
        ),
      );
    }

    const formatSel = h(
      'select',
      {
        id: `f-${base.replace('.', '-')}-format`,
        'data-path': `${base}.format`,
        onchange: (e: Event) => {
          p.format = (e.target as HTMLSelectElement).value as Format | '';
          upd();
        },
      },
      ...FORMAT_LABELS.map(([v, l]) => h('option', { value: v, text: l, selected: p.format === v })),
    );

    ed.append(
      h(
        'div',
        { class: 'grid2' },
        text('Name', `${base}.name`, () => p.name, (v) => (p.name = v)),
        h('div', { class: 'field', 'data-field': `${base}.format` }, h('label', { htmlFor: `f-${base.replace('.', '-')}-format`, text: 'Upstream format' }), formatSel),
      ),
      text('Base URL', `${base}.base_url`, () => p.base_url, (v) => (p.base_url = v), {
        placeholder: 'https://api.example.com',
        type: 'url',
        // credential query parameters (`?key=`) are shown as set, never their value (as credential extra headers)
        hint: p.hiddenParams?.length ? hiddenParamsHint(p.hiddenParams) : undefined,
      }),
      this.authSection(p, base, upd),
      this.pairsSection('Model map', 'Requested model', 'Upstream model', `${base}.models`, p.models, upd, 'Model names clients ask for, and the name this provider knows them by.', 'claude-sonnet-4.6', 'anthropic/claude-sonnet-4.6'),
      this.pairsSection('Extra headers', 'Header', 'Value', `${base}.extra_headers`, p.extra_headers, upd, 'Sent with every request to this provider.', 'anthropic-version', '2023-06-01', p.hiddenHeaders),
      h(
        'div',
        { class: 'pedit-foot' },
        h('button', { type: 'button', class: 'btn', text: 'Move up', disabled: i === 0, onclick: () => this.move(i, i - 1) }),
        h('button', { type: 'button', class: 'btn', text: 'Move down', disabled: i === d.providers.length - 1, onclick: () => this.move(i, i + 1) }),
        h('span', { class: 'spacer' }),
        this.removeButton(i),
      ),
    );
  }

  private removeButton(i: number): HTMLButtonElement {
    let armed = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const b = h('button', { type: 'button', class: 'btn danger', text: 'Remove provider' });
    b.addEventListener('click', () => {
      if (!armed) {
        armed = true;
        b.textContent = 'Click again to remove';
        timer = setTimeout(() => {
          armed = false;
          b.textContent = 'Remove provider';
        }, 4000);
        return;
      }
      clearTimeout(timer);
      this.draft!.providers.splice(i, 1);
      this.issues = [];
      this.changed();
      this.select(Math.max(0, Math.min(i, this.draft!.providers.length - 1)));
    });
    return b;
  }

  private authSection(p: ProviderDraft, base: string, upd: () => void): HTMLElement {
    const a = p.auth;
    const path = `${base}.auth`;
    const keychainOk = this.state?.keychain.available ?? false;
    const box = h('fieldset', { class: 'auth', 'data-path': path }, h('legend', { text: 'Authentication' }));
    const sources: SecretSource[] = ['keychain', 'env', 'none'];
    if (a.source === 'inline') sources.splice(2, 0, 'inline');
    if (a.source === 'oauth') sources.splice(2, 0, 'oauth');
    const seg = h('div', { class: 'seg', role: 'radiogroup', 'aria-label': 'Where the key is kept', 'data-path': `${path}.source` });
    for (const s of sources) {
      const id = `f-${path}-src-${s}`.replace(/\./g, '-');
      const disabled = s === 'keychain' && !keychainOk && a.source !== 'keychain';
      seg.append(
        h('input', {
          type: 'radio',
          name: `${path}-src`,
          id,
          value: s,
          checked: a.source === s,
          disabled,
          onchange: () => {
            a.source = s;
            if (s !== 'keychain') delete a.newSecret;
            if ((s === 'keychain' || s === 'env') && !a.header) {
              const d0 = authPlaceholders(p);
              a.header = d0.header;
              a.prefix = a.prefix || d0.defaultPrefix;
            }
            if (s === 'env' && !a.value_env) a.value_env = authPlaceholders(p).env;
            upd();
            this.renderEditor();
            this.showIssues(this.issues);
            (this.ui.editor.querySelector(`#${CSS.escape(id)}`) as HTMLInputElement | null)?.focus();
          },
        }),
        h('label', { htmlFor: id, text: SOURCE_LABELS[s], title: disabled ? 'No keychain is available on this system' : '' }),
      );
    }
    box.append(h('div', { class: 'field' }, h('span', { class: 'label', id: `${path}-src-label`, text: 'Key kept in' }), seg));

    /** One auth text field: `key` names the draft field, `idKey` the input's id (f-<path>-<idKey>). */
    const authField = (label: string, key: 'header' | 'prefix' | 'newSecret' | 'value_env', idKey: string, input: Props, set: (v: string) => void, hint: HTMLElement | null) => {
      const id = `f-${path}-${idKey}`.replace(/\./g, '-');
      const oninput = (e: Event) => {
        set((e.target as HTMLInputElement).value);
        upd();
      };
      return h(
        'div',
        { class: 'field', 'data-field': `${path}.${key}` },
        h('label', { htmlFor: id, text: label }),
        h('input', { id, type: 'text', spellcheck: false, autocomplete: 'off', 'data-path': `${path}.${key}`, ...input, oninput }),
        hint,
      );
    };
    const ph = authPlaceholders(p);
    const hdr = (label: string, key: 'header' | 'prefix', placeholder: string, hint?: string) =>
      authField(label, key, key, { value: a[key], placeholder, list: key === 'header' ? 'auth-headers' : undefined }, (v) => (a[key] = v), hint ? h('div', { class: 'hint', text: hint }) : null);

    if (a.source !== 'none') {
      box.append(
        h('div', { class: 'grid2' }, hdr('Header', 'header', ph.header), hdr('Prefix', 'prefix', ph.prefix, ph.prefixHint)),
        h('datalist', { id: 'auth-headers' }, h('option', { value: 'Authorization' }), h('option', { value: 'x-api-key' }), h('option', { value: 'api-key' })),
      );
    }
    if (a.source === 'keychain') {
      const stored = a.secretSet === true;
      const placeholder = stored ? 'Stored in the keychain — type to replace' : 'Paste the key; it is stored in the keychain';
      const setSecret = (v: string) => {
        if (v) a.newSecret = v;
        else delete a.newSecret;
      };
      const hint = h('div', { class: 'hint' + (stored ? ' ok' : '') }, stored ? '✓ A key is stored in the keychain. It is never shown here.' : 'No key stored yet.');
      box.append(authField('API key', 'newSecret', 'secret', { type: 'password', value: a.newSecret ?? '', placeholder }, setSecret, hint));
      if (!keychainOk) box.append(h('div', { class: 'hint warn', text: `The keychain is not available (${this.state?.keychain.reason ?? 'unknown'}): use an environment variable.` }));
    } else if (a.source === 'env') {
      const hint =
        a.secretSet === false && a.value_env
          ? h('div', { class: 'hint warn', role: 'status', text: `${a.value_env} is not set where router67 runs: this provider is skipped until it is.` })
          : h('div', { class: 'hint', text: 'Read from router67’s environment on every request.' });
      box.append(authField('Variable name', 'value_env', 'env', { value: a.value_env, placeholder: ph.env }, (v) => (a.value_env = v), hint));
    } else if (a.source === 'inline') {
      box.append(h('p', { class: 'hint warn', text: 'The key is written in config.toml (api_key). Choose Keychain and save to move it into the keychain.' }));
    } else if (a.source === 'oauth') {
      box.append(h('p', { class: 'hint', text: `Signed in with OAuth (credential “${a.oauth}”).` }));
    }
    return box;
  }

  private pairsSection(
    title: string,
    left: string,
    right: string,
    path: string,
    rows: [string, string][],
    upd: () => void,
    hint: string,
    phLeft: string,
    phRight: string,
    /** Rows whose value looks like a credential: never shown, only "set"; left empty, the stored value stays. */
    hidden: string[] = [],
  ): HTMLElement {
    const box = h('fieldset', { class: 'pairs', 'data-path': path }, h('legend', { text: title }), h('p', { class: 'hint', text: hint }));
    const table = h('div', { class: 'pairs-table' });
    const render = () => {
      clear(table);
      table.append(
        h('div', { class: 'pairs-row pairs-headrow', 'aria-hidden': 'true' }, h('span', { text: left }), h('span'), h('span', { text: right }), h('span')),
      );
      rows.forEach((row, r) => {
        const kept = hidden.includes(row[0]) && row[1] === '';
        const secret = hidden.includes(row[0]);
        const cell = (c: 0 | 1) =>
          h('input', {
            type: c === 1 && secret ? 'password' : 'text',
            value: row[c],
            placeholder: c === 1 && kept ? 'Set (hidden) — type to replace' : r === 0 ? (c === 0 ? phLeft : phRight) : '',
            title: c === 1 && secret ? 'This value looks like a credential: it is never shown here. Leave it empty to keep it.' : '',
            'aria-label': `${c === 0 ? left : right}, row ${r + 1}`,
            spellcheck: false,
            autocomplete: 'off',
            'data-path': `${path}.${r}.${c}`,
            oninput: (e: Event) => {
              row[c] = (e.target as HTMLInputElement).value;
              upd();
            },
          });
        table.append(
          h(
            'div',
            { class: 'pairs-row', 'data-path': `${path}.${r}` },
            cell(0),
            h('span', { class: 'arrow', 'aria-hidden': 'true', text: '→' }),
            cell(1),
            h('button', {
              type: 'button',
              class: 'btn icon',
              'aria-label': `Remove row ${r + 1}`,
              title: 'Remove',
              text: '−',
              onclick: () => {
                rows.splice(r, 1);
                upd();
                render();
                this.showIssues(this.issues);
              },
            }),
          ),
        );
      });
    };
    render();
    box.append(
      table,
      h('button', {
        type: 'button',
        class: 'btn small',
        text: `+ Add ${title === 'Model map' ? 'model' : 'header'}`,
        onclick: () => {
          rows.push(['', '']);
          upd();
          render();
          this.showIssues(this.issues);
          (table.querySelector(`input[data-path="${path}.${rows.length - 1}.0"]`) as HTMLInputElement | null)?.focus();
        },
      }),
    );
    return box;
  }

  // ---------------------------------------------------------------------------------------------------------
  // issues on their fields

  /** A new provider's problems wait until its field was touched or Save was pressed; the rest show at once. */
  private visibleIssue(path: string[]): boolean {
    if (this.showAll || path[0] !== 'providers' || path[1] === undefined) return true;
    const p = this.draft?.providers[Number(path[1])];
    if (!p || p.origin !== undefined) return true;
    const key = path.join('.');
    for (const t of this.touched) if (t === key || t.startsWith(`${key}.`) || key.startsWith(`${t}.`)) return true;
    return false;
  }

  private showIssues(issues: Issue[]): void {
    this.issues = issues;
    const root = this.root;
    root.querySelectorAll('.field-issue').forEach((x) => x.remove());
    root.querySelectorAll('[aria-invalid="true"]').forEach((x) => x.removeAttribute('aria-invalid'));
    root.querySelectorAll('.invalid').forEach((x) => x.classList.remove('invalid'));
    this.ui.list.querySelectorAll('.err-dot').forEach((x) => ((x as HTMLElement).hidden = true));
    const general: string[] = [];
    for (const iss of issues) {
      const path = iss.path.map(String);
      if (!this.visibleIssue(path)) continue;
      if (path[0] === 'providers' && path[1] !== undefined) {
        const dot = this.ui.list.querySelector(`li[data-index="${path[1]}"] .err-dot`) as HTMLElement | null;
        if (dot) dot.hidden = false;
        if (Number(path[1]) !== this.selected) continue;
      }
      let target: Element | null = null;
      for (let n = path.length; n > 0 && !target; n--) target = root.querySelector(`[data-path="${CSS.escape(path.slice(0, n).join('.'))}"]`);
      if (!target) {
        general.push(iss.message);
        continue;
      }
      const id = `issue-${Math.random().toString(36).slice(2)}`;
      const msg = h('div', { class: 'field-issue', id, role: 'alert', text: iss.message });
      if (target.matches('input, select')) {
        target.setAttribute('aria-invalid', 'true');
        target.setAttribute('aria-describedby', id);
        const row = target.closest('.pairs-row, .field, .chip');
        if (row?.classList.contains('pairs-row')) row.after(msg);
        else (row ?? target).append(msg);
      } else {
        target.classList.add('invalid');
        if (target.matches('fieldset, .pedit-head')) target.append(msg);
        else target.after(msg);
      }
    }
    let box = this.ui.banners.querySelector('.issues-general');
    box?.remove();
    if (general.length) {
      box = h('div', { class: 'banner banner-error issues-general', role: 'alert' }, h('ul', null, ...general.map((g) => h('li', { text: g }))));
      this.ui.banners.append(box);
    }
  }
}

export default function create(): View {
  return new ProvidersView();
}

// Convenience for a blank provider elsewhere (tests, templates).
export { blankProvider };
