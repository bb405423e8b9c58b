// Routes: the `[[routes]]` list of config.toml, in order (the first whose match holds decides). Each route is
// edited as in the file: name, strategy, and `match` / `to` in TOML's inline syntax; validated as you type by the
// same schema the core uses; saved atomically with comments and unknown keys kept. "Test a request" explains a
// body against what is on screen (saved or not): the route that matches, the ordered targets and their state.
import type { Api, Issue, RouteDraft, RoutesDraft, RoutesState, UiEvent } from '../../main/ui/types.js';
import { clear, debounce, h, onSaveKey, toast, viewHead } from '../dom.js';
import type { View, ViewContext } from './view.js';

const STRATEGIES: RouteDraft['strategy'][] = ['', 'fallback', 'round-robin', 'weighted', 'least-latency', 'least-busy', 'cheapest'];

const SAMPLE = JSON.stringify({ model: 'claude-3-5-haiku-latest', max_tokens: 256, messages: [{ role: 'user', content: 'Write a title for this chat' }] }, null, 2);

class RoutesView implements View {
  private api!: Api;
  private root!: HTMLElement;
  private state?: RoutesState;
  private draft: RoutesDraft = { revision: '', routes: [] };
  private isDirty = false;
  private saving = false;
  private validateSeq = 0;
  private readonly ui = {
    list: h('ol', { class: 'rlist', 'aria-label': 'Routes, first match decides' }),
    banners: h('div', { class: 'banners' }),
    save: h('button', { type: 'button', class: 'btn primary', text: 'Save', disabled: true }),
    revert: h('button', { type: 'button', class: 'btn', text: 'Revert', disabled: true }),
    dirtyNote: h('span', { class: 'dirty-note', 'aria-live': 'polite' }),
    body: h('textarea', { class: 'mono', id: 'explain-body', rows: 8, spellcheck: false, 'aria-label': 'Request body (JSON)' }),
    path: h('input', { type: 'text', class: 'mono', id: 'explain-path', placeholder: '/v1/messages (guessed when empty)', spellcheck: false }),
    headers: h('input', { type: 'text', class: 'mono', id: 'explain-headers', placeholder: 'x-router67-route: cheap', spellcheck: false }),
    explain: h('button', { type: 'button', class: 'btn', id: 'explain-run', text: 'Explain' }),
    out: h('pre', { class: 'explain-out mono', id: 'explain-out', 'aria-live': 'polite' }),
  };
  private readonly validateSoon = debounce(() => void this.validate(), 250);

  async mount(root: HTMLElement, ctx: ViewContext): Promise<void> {
    this.api = ctx.api;
    this.root = root;
    this.ui.body.value = SAMPLE;
    this.ui.save.addEventListener('click', () => void this.save());
    this.ui.revert.addEventListener('click', () => void this.reload());
    this.ui.explain.addEventListener('click', () => void this.explain());
    const add = h('button', { type: 'button', class: 'btn add', id: 'route-add', text: '+ Add route', onclick: () => this.add() });
    root.append(
      viewHead(
        'Routes',
        'The first route whose match holds decides; a request no route matches goes by the providers’ models, in order.',
        h('div', { class: 'actions' }, this.ui.dirtyNote, this.ui.revert, this.ui.save),
      ),
      this.ui.banners,
      h('div', { class: 'routes-layout' }, h('div', { class: 'rlist-col' }, this.ui.list, add), this.testBox()),
    );
    onSaveKey(root, () => void this.save());
    await this.reload();
  }

  dirty(): boolean {
    return this.isDirty;
  }

  onEvent(e: UiEvent): void {
    if (e.type !== 'config' || !this.state) return;
    if (this.saving || (e.revision && e.revision === this.state.revision)) return;
    if (!this.isDirty) void this.reload();
    else this.banner('warn', 'config.toml was changed outside this window since you started editing. Revert to load it.');
  }

  private testBox(): HTMLElement {
    return h(
      'section',
      { class: 'explain', 'aria-label': 'Test a request' },
      h('h2', { text: 'Test a request' }),
      h('p', { class: 'hint', text: 'Paste a request body: see which route it takes and where it would go, with each provider’s state. Nothing is sent.' }),
      h('div', { class: 'field' }, h('label', { htmlFor: 'explain-body', text: 'Request body (JSON)' }), this.ui.body),
      h('div', { class: 'field' }, h('label', { htmlFor: 'explain-path', text: 'Path' }), this.ui.path),
      h('div', { class: 'field' }, h('label', { htmlFor: 'explain-headers', text: 'Headers (Name: value; …)' }), this.ui.headers),
      this.ui.explain,
      this.ui.out,
    );
  }

  private banner(kind: 'warn' | 'error', text: string): void {
    this.ui.banners.querySelector(`.banner-${kind}:not(.issues-general)`)?.remove();
    this.ui.banners.append(h('div', { class: `banner banner-${kind}`, role: 'alert', text }));
  }

  private async reload(): Promise<void> {
    let s: RoutesState;
    try {
      s = await this.api.loadRoutes();
    } catch (e) {
      this.banner('error', `Cannot read the configuration: ${(e as Error).message}`);
      return;
    }
    this.state = s;
    this.draft = { revision: s.revision, routes: s.routes.map((r) => ({ ...r })) };
    clear(this.ui.banners);
    if (s.blocked) this.banner('error', `config.toml cannot be edited here until it parses: ${s.blocked}`);
    this.setDirty(false);
    this.render();
  }

  private setDirty(d: boolean): void {
    this.isDirty = d;
    this.ui.save.disabled = !d || !!this.state?.blocked;
    this.ui.revert.disabled = !d;
    this.ui.dirtyNote.textContent = d ? 'Unsaved changes' : '';
  }

  private changed(): void {
    this.setDirty(true);
    this.validateSoon();
  }

  private async validate(): Promise<void> {
    const seq = ++this.validateSeq;
    try {
      const issues = await this.api.validateRoutes(this.draft);
      if (seq === this.validateSeq) this.showIssues(issues);
    } catch {
      /* shown on save */
    }
  }

  private async save(): Promise<void> {
    if (!this.isDirty || this.saving) return;
    this.validateSoon.cancel();
    this.saving = true;
    try {
      const r = await this.api.saveRoutes(this.draft);
      if (r.ok) {
        toast(r.reloaded ? 'Saved. router67 is using the new routes.' : 'Saved, but the running router kept its last good config: see Status.', r.reloaded ? 'ok' : 'error');
        await this.reload();
      } else if (r.kind === 'invalid') {
        this.showIssues(r.issues);
        toast('Not saved: fix the marked fields.', 'error');
      } else if (r.kind === 'conflict') {
        this.banner('error', r.message);
        toast('Not saved: the file changed meanwhile.', 'error');
      } else toast(`Not saved: ${r.message}`, 'error');
    } catch (e) {
      toast(`Not saved: ${(e as Error).message}`, 'error');
    } finally {
      this.saving = false;
    }
  }

  private add(): void {
    const n = this.draft.routes.length + 1;
    this.draft.routes.push({ name: `route-${n}`, match: '{ model = "claude-*-haiku-*" }', to: `[${this.state?.providers[0] ? JSON.stringify(this.state.providers[0]) : ''}]`, strategy: '' });
    this.render();
    this.changed();
    (this.ui.list.querySelector(`li[data-index="${n - 1}"] input`) as HTMLInputElement | null)?.focus();
  }

  private move(i: number, by: number): void {
    const j = i + by;
    if (j < 0 || j >= this.draft.routes.length) return;
    const [r] = this.draft.routes.splice(i, 1);
    this.draft.routes.splice(j, 0, r!);
    this.render();
    this.changed();
    (this.ui.list.querySelector(`li[data-index="${j}"] .${by < 0 ? 'up' : 'down'}`) as HTMLButtonElement | null)?.focus();
  }

  private remove(i: number): void {
    this.draft.routes.splice(i, 1);
    this.render();
    this.changed();
  }

  private render(): void {
    clear(this.ui.list);
    if (this.draft.routes.length === 0) {
      this.ui.list.append(h('li', { class: 'hint empty', text: 'No routes: every request goes by the providers’ models, in order. Add a route to send some requests elsewhere.' }));
    }
    this.draft.routes.forEach((r, i) => this.ui.list.append(this.card(r, i)));
    this.showIssues([]);
  }

  private card(r: RouteDraft, i: number): HTMLElement {
    const id = (f: string) => `route-${i}-${f}`;
    const input = (f: 'name' | 'match' | 'to', label: string, placeholder: string, multiline = false) => {
      const el = multiline
        ? h('textarea', { id: id(f), class: 'mono', rows: 2, spellcheck: false, placeholder, 'data-path': `routes.${i}.${f}` })
        : h('input', { id: id(f), type: 'text', class: 'mono', spellcheck: false, placeholder, 'data-path': `routes.${i}.${f}` });
      el.value = r[f];
      el.addEventListener('input', () => {
        r[f] = el.value;
        if (f === 'name') (el.closest('li')?.querySelector('.rtitle') as HTMLElement | null)?.replaceChildren(el.value || `#${i + 1}`);
        this.changed();
      });
      return h('div', { class: 'field' }, h('label', { htmlFor: id(f), text: label }), el);
    };
    const strat = h('select', { id: id('strategy'), 'data-path': `routes.${i}.strategy` }, ...STRATEGIES.map((s) => h('option', { value: s, text: s || 'fallback (default)', selected: s === r.strategy })));
    strat.addEventListener('change', () => {
      r.strategy = strat.value as RouteDraft['strategy'];
      this.changed();
    });
    const last = i === this.draft.routes.length - 1;
    return h(
      'li',
      { class: 'rcard', 'data-index': i },
      h(
        'div',
        { class: 'rcard-head' },
        h('span', { class: 'rnum', text: `${i + 1}` }),
        h('strong', { class: 'rtitle', text: r.name || `#${i + 1}` }),
        h(
          'span',
          { class: 'ractions' },
          h('button', { type: 'button', class: 'btn icon up', 'aria-label': `Move route ${i + 1} up`, text: '↑', disabled: i === 0, onclick: () => this.move(i, -1) }),
          h('button', { type: 'button', class: 'btn icon down', 'aria-label': `Move route ${i + 1} down`, text: '↓', disabled: last, onclick: () => this.move(i, 1) }),
          h('button', { type: 'button', class: 'btn icon remove', 'aria-label': `Remove route ${i + 1}`, text: '×', onclick: () => this.remove(i) }),
        ),
      ),
      h('div', { class: 'rgrid' }, input('name', 'Name', 'background'), h('div', { class: 'field' }, h('label', { htmlFor: id('strategy'), text: 'Strategy' }), strat)),
      input('match', 'Match (every key must hold; empty: every request)', '{ model = "claude-*-haiku-*" }', true),
      input('to', 'To (in order)', '["cheap", { provider = "deepseek", model = "deepseek-chat" }]', true),
    );
  }

  private showIssues(issues: Issue[]): void {
    const root = this.root;
    root.querySelectorAll('.field-issue').forEach((x) => x.remove());
    root.querySelectorAll('[aria-invalid="true"]').forEach((x) => x.removeAttribute('aria-invalid'));
    this.ui.banners.querySelector('.issues-general')?.remove();
    const general: string[] = [];
    for (const iss of issues) {
      const path = iss.path.map(String);
      let target: Element | null = null;
      for (let n = path.length; n > 1 && !target; n--) target = root.querySelector(`[data-path="${CSS.escape(path.slice(0, n).join('.'))}"]`);
      if (!target && path[0] === 'routes' && path[1] !== undefined) target = root.querySelector(`[data-path="routes.${path[1]}.match"]`);
      if (!target) {
        general.push(iss.message);
        continue;
      }
      const msgId = `issue-${Math.random().toString(36).slice(2)}`;
      target.setAttribute('aria-invalid', 'true');
      target.setAttribute('aria-describedby', msgId);
      (target.closest('.field') ?? target).append(h('div', { class: 'field-issue', id: msgId, role: 'alert', text: iss.message }));
    }
    if (general.length) this.ui.banners.append(h('div', { class: 'banner banner-error issues-general', role: 'alert' }, h('ul', null, ...general.map((g) => h('li', { text: g })))));
  }

  private async explain(): Promise<void> {
    const headers: Record<string, string> = {};
    for (const part of this.ui.headers.value.split(';')) {
      const k = part.indexOf(':');
      if (k > 0) headers[part.slice(0, k).trim().toLowerCase()] = part.slice(k + 1).trim();
    }
    this.ui.out.classList.remove('error-text');
    this.ui.out.textContent = '…';
    try {
      const r = await this.api.explainRoute({
        body: this.ui.body.value,
        ...(this.ui.path.value.trim() ? { path: this.ui.path.value.trim() } : {}),
        ...(Object.keys(headers).length ? { headers } : {}),
        ...(this.isDirty ? { draft: this.draft } : {}),
      });
      if (r.ok) this.ui.out.textContent = (this.isDirty ? '(with the unsaved routes)\n' : '') + r.text;
      else {
        this.ui.out.classList.add('error-text');
        this.ui.out.textContent = r.message;
      }
    } catch (e) {
      this.ui.out.classList.add('error-text');
      this.ui.out.textContent = (e as Error).message;
    }
  }
}

export default function create(): View {
  return new RoutesView();
}
