// The router67 window: isolated, sandboxed, no Node in the page, no navigation away, no popups
// (http(s) links go to the system browser), no permissions granted, and closing it only hides it.
import { BrowserWindow, dialog, nativeTheme, shell, type BrowserWindowConstructorOptions, type WebContents } from 'electron';
import type { UiService } from '../ui/service.js';
import { CH } from './ipc.js';
import { APP_INDEX, isAppUrl } from './protocol.js';

export function windowOptions(preload: string, dark: boolean): BrowserWindowConstructorOptions {
  return {
    width: 1040,
    height: 700,
    minWidth: 720,
    minHeight: 480,
    show: false,
    title: 'router67',
    backgroundColor: dark ? '#1e1f22' : '#f6f6f7',
    autoHideMenuBar: true,
    webPreferences: {
      preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: false,
      navigateOnDragDrop: false,
    },
  };
}

export function isExternalLink(url: string): boolean {
  return URL.canParse(url) && /^https?:$/.test(new URL(url).protocol);
}

/** Locks a window's contents down. `openExternal` receives only http(s) URLs. */
export function guardContents(wc: WebContents, openExternal: (url: string) => void): void {
  wc.setWindowOpenHandler(({ url }) => {
    if (isExternalLink(url)) openExternal(url);
    return { action: 'deny' };
  });
  const stay = (e: { preventDefault(): void }, url: string) => {
    if (isAppUrl(url)) return; // in-app links (same page) are fine
    e.preventDefault();
    if (isExternalLink(url)) openExternal(url);
  };
  wc.on('will-navigate', stay);
  wc.on('will-redirect', stay);
  wc.on('will-attach-webview', (e) => e.preventDefault());
  wc.session.setPermissionRequestHandler((_wc, _perm, cb) => cb(false));
  wc.session.setPermissionCheckHandler(() => false);
}

export class MainWindow {
  private win?: BrowserWindow;
  private unsubscribe?: () => void;
  quitting = false;

  constructor(
    private readonly preload: string,
    private readonly service: UiService,
  ) {}

  show(): void {
    if (this.win && !this.win.isDestroyed()) {
      if (this.win.isMinimized()) this.win.restore();
      this.win.show();
      this.win.focus();
      return;
    }
    const win = new BrowserWindow(windowOptions(this.preload, nativeTheme.shouldUseDarkColors));
    this.win = win;
    guardContents(win.webContents, (url) => void shell.openExternal(url));
    this.unsubscribe = this.service.subscribe((ev) => {
      if (!win.isDestroyed()) win.webContents.send(CH.event, ev);
    });
    win.once('ready-to-show', () => win.show());
    // The page refuses to unload (reload) with unsaved edits: ask, as a browser would.
    win.webContents.on('will-prevent-unload', (e) => {
      const choice = dialog.showMessageBoxSync(win, {
        type: 'question',
        buttons: ['Discard changes', 'Keep editing'],
        defaultId: 1,
        cancelId: 1,
        message: 'Discard unsaved changes?',
        detail: 'Changes in the window have not been saved to config.toml.',
      });
      if (choice === 0) e.preventDefault();
    });
    win.on('close', (e) => {
      // A menu-bar app: closing the window hides it; Quit is in the tray.
      if (!this.quitting) {
        e.preventDefault();
        win.hide();
      }
    });
    win.on('closed', () => {
      this.unsubscribe?.();
      this.unsubscribe = undefined;
      this.win = undefined;
    });
    void win.loadURL(APP_INDEX);
  }

  destroy(): void {
    this.quitting = true;
    this.unsubscribe?.();
    if (this.win && !this.win.isDestroyed()) this.win.destroy();
  }
}
