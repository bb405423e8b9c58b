// "Set up interception…": a modal that says in two sentences what will change, then runs the setup (one OS
// password prompt) and turns interception on. Cancel and a refused prompt change nothing.
import type { Api, InterceptResult, UiStatus } from '../main/ui/types.js';
import { h } from './dom.js';

export interface SetupOutcome {
  /** The user closed the dialog without starting. */
  cancelled: boolean;
  result?: InterceptResult;
}

/** Opens the dialog; resolves when it closes. */
export function setupInterception(api: Api, status: UiStatus): Promise<SetupOutcome> {
  return new Promise((resolve) => {
    const state = h('p', { class: 'setup-state hint', role: 'status', 'aria-live': 'polite' });
    const go = h('button', { type: 'button', class: 'btn primary', id: 'setup-go', text: 'Set up…' });
    const cancel = h('button', { type: 'button', class: 'btn', id: 'setup-cancel', text: 'Cancel' });
    const dlg = h(
      'dialog',
      { class: 'setup-dialog', id: 'setup-dialog', 'aria-labelledby': 'setup-title', 'aria-describedby': 'setup-what' },
      h('h2', { id: 'setup-title', text: 'Set up interception' }),
      h('div', { id: 'setup-what' }, ...status.setup.explanation.map((t) => h('p', { text: t }))),
      state,
      h('div', { class: 'actions' }, cancel, go),
    );
    let running = false;
    const finish = (o: SetupOutcome) => {
      dlg.close();
      dlg.remove();
      resolve(o);
    };
    dlg.addEventListener('cancel', (e) => {
      // Escape: closes unless the prompt is already open
      e.preventDefault();
      if (!running) finish({ cancelled: true });
    });
    cancel.addEventListener('click', () => {
      if (!running) finish({ cancelled: true });
    });
    go.addEventListener('click', () => {
      running = true;
      go.disabled = true;
      cancel.disabled = true;
      state.textContent = 'Waiting for your password in the system prompt…';
      api.setupIntercept().then(
        (result) => finish({ cancelled: false, result }),
        (e: Error) => finish({ cancelled: false, result: { ok: false, refused: false, enabled: status.intercept.enabled, message: e.message } }),
      );
    });
    document.body.append(dlg);
    dlg.showModal();
    go.focus();
  });
}
