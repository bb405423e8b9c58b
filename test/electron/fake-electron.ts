// A stand-in for the `electron` module, installed by hooking module resolution (the real binary is not needed).
// Import this file FIRST in a test, before anything that requires 'electron'.
import { EventEmitter } from 'node:events';
import Module from 'node:module';

type Fn = (...a: any[]) => any;

export class FakeTray extends EventEmitter {
  static instances: FakeTray[] = [];
  image: any;
  tooltip = '';
  menu: any;
  destroyed = false;
  constructor(image: any) {
    super();
    this.image = image;
    FakeTray.instances.push(this);
  }
  setImage(i: any) {
    this.image = i;
  }
  setToolTip(t: string) {
    this.tooltip = t;
  }
  setContextMenu(m: any) {
    this.menu = m;
  }
  destroy() {
    this.destroyed = true;
  }
  /** The current menu's items (template objects). */
  items(): any[] {
    return this.menu?.template ?? [];
  }
  item(id: string): any {
    return this.items().find((i) => i.id === id);
  }
}

export class FakeIpcMain {
  handlers = new Map<string, Fn>();
  handle(ch: string, fn: Fn) {
    if (this.handlers.has(ch)) throw new Error(`second handler for ${ch}`);
    this.handlers.set(ch, fn);
  }
  removeHandler(ch: string) {
    this.handlers.delete(ch);
  }
  async invoke(ch: string, event: unknown, ...args: unknown[]) {
    const h = this.handlers.get(ch);
    if (!h) throw new Error(`no handler for ${ch}`);
    return h(event, ...args);
  }
}

export class FakeWebContents extends EventEmitter {
  openHandler?: Fn;
  sent: [string, unknown][] = [];
  permissionHandler?: Fn;
  checkHandler?: Fn;
  session = {
    setPermissionRequestHandler: (fn: Fn) => (this.permissionHandler = fn),
    setPermissionCheckHandler: (fn: Fn) => (this.checkHandler = fn),
  };
  setWindowOpenHandler(fn: Fn) {
    this.openHandler = fn;
  }
  send(ch: string, msg: unknown) {
    this.sent.push([ch, msg]);
  }
}

export class FakeBrowserWindow extends EventEmitter {
  static instances: FakeBrowserWindow[] = [];
  webContents = new FakeWebContents();
  loaded?: string;
  visible = false;
  destroyed = false;
  constructor(readonly options: any) {
    super();
    FakeBrowserWindow.instances.push(this);
  }
  loadURL(u: string) {
    this.loaded = u;
    return Promise.resolve();
  }
  isDestroyed() {
    return this.destroyed;
  }
  isMinimized() {
    return false;
  }
  restore() {}
  show() {
    this.visible = true;
  }
  hide() {
    this.visible = false;
  }
  focus() {}
  destroy() {
    this.destroyed = true;
    this.emit('closed');
  }
}

class FakeApp extends EventEmitter {
  isPackaged = false;
  lock = true;
  quitCalls = 0;
  exitCode?: number;
  loginSettings = { openAtLogin: false };
  setLoginCalls: any[] = [];
  dock = { hidden: false, hide: () => void (this.dock.hidden = true) };
  requestSingleInstanceLock() {
    return this.lock;
  }
  whenReady() {
    return Promise.resolve();
  }
  quit() {
    this.quitCalls++;
    const e = { defaultPrevented: false, preventDefault() { this.defaultPrevented = true; } };
    this.emit('before-quit', e);
  }
  exit(code: number) {
    this.exitCode = code;
  }
  getAppPath() {
    return '/app/path';
  }
  getLoginItemSettings(_opts?: unknown) {
    return { ...this.loginSettings };
  }
  setLoginItemSettings(s: any) {
    this.setLoginCalls.push(s);
    this.loginSettings = { openAtLogin: !!s.openAtLogin };
  }
}

export const notifications: any[] = [];
export const opened: string[] = [];
export const errorBoxes: [string, string][] = [];
export const messageBoxes: any[] = [];
export const messageBoxAnswer = { response: 1 };
/** dialog.showMessageBoxSync calls: the parent window (when one was given) and the options. */
export const syncMessageBoxes: { parent: unknown; options: any }[] = [];
export const schemes: any[] = [];
export const protocolHandlers = new Map<string, Fn>();
export const exposed = new Map<string, any>();

export const ipcRenderer = Object.assign(new EventEmitter(), {
  invocations: [] as [string, unknown[]][],
  invoke(ch: string, ...args: unknown[]) {
    ipcRenderer.invocations.push([ch, args]);
    return Promise.resolve({ channel: ch });
  },
});

export const electron = {
  app: new FakeApp(),
  Tray: FakeTray,
  BrowserWindow: FakeBrowserWindow,
  Menu: {
    buildFromTemplate: (template: any[]) => ({ template }),
    setApplicationMenu: (_m: unknown) => {},
  },
  nativeImage: {
    createFromPath: (path: string) => ({ path, template: false, setTemplateImage(b: boolean) { this.template = b; } }),
  },
  Notification: class {
    constructor(readonly opts: any) {}
    static isSupported() {
      return true;
    }
    show() {
      notifications.push(this.opts);
    }
  },
  ipcMain: new FakeIpcMain(),
  ipcRenderer,
  contextBridge: {
    exposeInMainWorld: (key: string, api: unknown) => {
      if (exposed.has(key)) throw new Error(`exposed twice: ${key}`);
      exposed.set(key, api);
    },
  },
  protocol: {
    registerSchemesAsPrivileged: (s: any[]) => schemes.push(...s),
    handle: (scheme: string, fn: Fn) => protocolHandlers.set(scheme, fn),
  },
  shell: { openExternal: async (u: string) => void opened.push(u) },
  dialog: {
    showErrorBox: (t: string, m: string) => void errorBoxes.push([t, m]),
    /** Answers with `messageBoxAnswer.response` (the button's index). */
    showMessageBox: async (o: any) => {
      messageBoxes.push(o);
      return { response: messageBoxAnswer.response, checkboxChecked: false };
    },
    /** showMessageBoxSync([window,] options): blocks in Electron; answers `messageBoxAnswer.response` at once here. */
    showMessageBoxSync: (a: any, b?: any) => {
      syncMessageBoxes.push(b === undefined ? { parent: undefined, options: a } : { parent: a, options: b });
      return messageBoxAnswer.response;
    },
  },
  powerMonitor: new EventEmitter(),
  nativeTheme: { shouldUseDarkColors: false },
};

const M = Module as unknown as { _load: (request: string, parent: unknown, isMain: boolean) => unknown };
const original = M._load;
M._load = function (request: string, parent: unknown, isMain: boolean) {
  if (request === 'electron') return electron;
  return original.call(this, request, parent, isMain);
};

/** A trusted IPC event (top frame of our page) and some untrusted ones. */
export const trusted = { senderFrame: { url: 'router67://app/index.html', parent: null } } as any;
export const untrusted = {
  web: { senderFrame: { url: 'https://evil.example/', parent: null } } as any,
  file: { senderFrame: { url: 'file:///work/main/dist/renderer/index.html', parent: null } } as any,
  subframe: { senderFrame: { url: 'router67://app/index.html', parent: {} } } as any,
  otherHost: { senderFrame: { url: 'router67://evil/index.html', parent: null } } as any,
  gone: { senderFrame: null } as any,
};

const APP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * What starting the app in this process changes and a test must put back: the environment (taken when this is
 * made) and the signal listeners the app adds (those present at `save()` stay).
 */
export class ProcessState {
  private readonly env = { ...process.env };
  private readonly signals = new Map<NodeJS.Signals, Function[]>();

  save(): void {
    for (const s of APP_SIGNALS) this.signals.set(s, process.listeners(s));
  }

  restore(): void {
    for (const s of APP_SIGNALS) {
      for (const l of process.listeners(s)) if (!this.signals.get(s)?.includes(l)) process.off(s, l as () => void);
    }
    process.env = this.env;
  }
}
