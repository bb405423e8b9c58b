// The window's views. A view is listed only when it exists and is available: OAuth sign-in (issue 6) adds
// its entry here, e.g. { id: 'signin', title: 'Sign-in', available: (f) => f.signIn, load: () => import('./signin.js') },
// and the main side turns `features().signIn` on. Until then there is no Sign-in view at all (no placeholder).
import type { Api, Features, UiEvent } from '../api-types.js';

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

export interface ViewDef {
  id: string;
  title: string;
  /** Single-character keyboard shortcut with Alt (Alt+1…). */
  key: string;
  available(f: Features): boolean;
  load(): Promise<{ default: () => View }>;
}

export const VIEWS: ViewDef[] = [
  { id: 'providers', title: 'Providers', key: '1', available: () => true, load: () => import('./providers.js') },
  { id: 'log', title: 'Live log', key: '2', available: () => true, load: () => import('./log.js') },
  { id: 'status', title: 'Status', key: '3', available: () => true, load: () => import('./status.js') },
  { id: 'signin', title: 'Sign-in', key: '4', available: (f) => f.signIn, load: () => import('./signin.js') },
];
