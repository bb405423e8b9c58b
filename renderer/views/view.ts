// What a view is and what it is given. The views import this, not the registry (which imports the views), so no
// view module depends on the list of views.
import type { Api, UiEvent } from '../../main/ui/types.js';

export interface ViewContext {
  api: Api;
  /** Shows another view (e.g. the Status view from a banner). */
  go(id: string): void;
}

export interface View {
  /** Builds the view into its (empty) container. */
  mount(container: HTMLElement, ctx: ViewContext): void | Promise<void>;
  /** Live events while the window is open (delivered whether the view is visible or not). */
  onEvent?(e: UiEvent): void;
  /** The view became visible. */
  shown?(): void;
  /** Whether leaving would lose work (asked before the window reloads config). */
  dirty?(): boolean;
}
