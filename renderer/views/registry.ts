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
  /** The icon's SVG path data (24×24 view box), shown alone when the window is narrow; absent: the title's initial. */
  icon?: string;
  load(): Promise<{ default: () => View }>;
}

export const VIEWS: ViewDef[] = [
  { id: 'welcome', title: 'Get started', key: '0', icon: 'M12 3l2.5 5.5L20 9l-4 4 1 6-5-3-5 3 1-6-4-4 5.5-.5z', available: (f) => f.firstRun, load: () => import('./welcome.js') },
  { id: 'providers', title: 'Providers', key: '1', icon: 'M4 5h16M4 12h16M4 19h16M7 3v4M17 10v4M10 17v4', available: () => true, load: () => import('./providers.js') },
  { id: 'log', title: 'Live log', key: '2', icon: 'M8 6h12M8 12h12M8 18h12M4 6h.01M4 12h.01M4 18h.01', available: () => true, load: () => import('./log.js') },
  { id: 'status', title: 'Status', key: '3', icon: 'M3 12h4l3-7 4 14 3-7h4', available: () => true, load: () => import('./status.js') },
  { id: 'signin', title: 'Sign-in', key: '4', icon: 'M15 7a4 4 0 1 1-3.9 5H3v3h3v3h3v-3h2.1A4 4 0 0 1 15 7zM16 10h.01', available: (f) => f.signIn, load: () => import('./signin.js') },
  { id: 'routes', title: 'Routes', key: '5', icon: 'M6 3v12M18 9v12M6 15a3 3 0 1 0 0 6 3 3 0 0 0 0-6zM18 3a3 3 0 1 0 0 6 3 3 0 0 0 0-6zM6 15c0-4 12-2 12-6', available: () => true, load: () => import('./routes.js') },
  { id: 'usage', title: 'Usage', key: '6', icon: 'M4 20V10M10 20V4M16 20v-7M22 20H2', available: (f) => f.usage === true, load: () => import('./usage.js') },
];
