// The window's bridge to the main process: named functions only (never ipcRenderer itself), exposed as
// `window.router67` through contextBridge. This runs as a sandboxed preload: Electron wraps it with `require`
// (for 'electron' only), `process`, `exports` and `module`, so it must not require anything else (types only below).
import { contextBridge, ipcRenderer } from 'electron';
import type { Router67Bridge, UiEvent } from '../main/ui/types.js';

const invoke = (channel: string, ...args: unknown[]) => ipcRenderer.invoke(channel, ...args);

const bridge: Router67Bridge = {
  features: () => invoke('r67:features'),
  status: () => invoke('r67:status'),
  loadConfig: () => invoke('r67:config:load'),
  validate: (draft) => invoke('r67:config:validate', draft),
  save: (draft) => invoke('r67:config:save', draft),
  setIntercept: (enabled) => invoke('r67:intercept', enabled),
  setupIntercept: () => invoke('r67:intercept:setup'),
  firstRun: () => invoke('r67:firstrun'),
  writeStarter: (ids) => invoke('r67:firstrun:write', ids),
  recentLog: (limit) => invoke('r67:log:recent', limit),
  logEntry: (id) => invoke('r67:log:entry', id),
  resend: (r) => invoke('r67:log:resend', r),
  openExternal: (url) => invoke('r67:open-external', url),
  signInState: () => invoke('r67:signin:state'),
  signInStart: (name, device) => invoke('r67:signin:start', name, device),
  signInCancel: (id) => invoke('r67:signin:cancel', id),
  signOut: (name) => invoke('r67:signin:logout', name),
  loadRoutes: () => invoke('r67:routes:load'),
  validateRoutes: (draft) => invoke('r67:routes:validate', draft),
  saveRoutes: (draft) => invoke('r67:routes:save', draft),
  explainRoute: (req) => invoke('r67:routes:explain', req),
  usage: (q) => invoke('r67:usage', { from: q.from, to: q.to, ...(q.step ? { step: q.step } : {}) }),
  onEvent: (cb: (e: UiEvent) => void) => {
    const listener = (_e: unknown, msg: UiEvent) => cb(msg);
    ipcRenderer.on('r67:event', listener);
    return () => {
      ipcRenderer.removeListener('r67:event', listener);
    };
  },
};

contextBridge.exposeInMainWorld('router67', bridge);
