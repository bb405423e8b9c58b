// The window's views. A view is listed only when it exists and is available: OAuth sign-in (issue 6) adds
// its entry here, e.g. { id: 'signin', title: 'Sign-in', available: (f) => f.signIn, load: () => import('./signin.js') },
// and the main side turns `features().signIn` on. Until then there is no Sign-in view at all (no placeholder).
import type { Features } from '../../main/ui/types.js';
import type { View } from './view.js';

export interface ViewDef {
  id: string;
  title: string;
  /** Single-character keyboard shortcut with Alt (Alt+1…). */
  key: string;
  available(f: Features): boolean;
  load(): Promise<{ default: () => View }>;
}

export const VIEWS: ViewDef[] = [
  { id: 'welcome', title: 'Get started', key: '0', available: (f) => f.firstRun, load: () => import('./welcome.js') },
  { id: 'providers', title: 'Providers', key: '1', available: () => true, load: () => import('./providers.js') },
  { id: 'log', title: 'Live log', key: '2', available: () => true, load: () => import('./log.js') },
  { id: 'status', title: 'Status', key: '3', available: () => true, load: () => import('./status.js') },
  { id: 'signin', title: 'Sign-in', key: '4', available: (f) => f.signIn, load: () => import('./signin.js') },
];
