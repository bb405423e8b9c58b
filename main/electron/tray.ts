// The tray icon and its menu, re-rendered from state whenever the core's status changes.
import { Menu, Tray, nativeImage, type NativeImage } from 'electron';
import { join } from 'node:path';
import type { UiService } from '../ui/service.js';
import { healthLine, unhealthy } from '../health/summary.js';
import { toMenuTemplate, trayIconFile, trayLook, trayMenuModel, trayTooltip, type TrayAction, type TrayState } from './tray-menu.js';

export interface LoginItemControl {
  supported: boolean;
  get(): boolean;
  set(enabled: boolean): void;
}

export interface TrayOptions {
  service: UiService;
  /** Folder holding the tray images. */
  resources: string;
  platform: NodeJS.Platform;
  loginItem: LoginItemControl;
  open(): void;
  quit(): void;
  /** Tells the user something outside the menu (a system notification); false: it could not be shown. */
  notify?(title: string, body: string): boolean | void;
  /** Shows what Set up interception will change (two sentences) and asks to go on (a native dialog). */
  confirmSetup?(explanation: string[]): Promise<boolean>;
}

export class TrayController {
  readonly tray: Tray;
  private busy = false;
  private notice?: string;
  private lastBudget?: string;
  private readonly images = new Map<string, NativeImage>();

  constructor(private readonly o: TrayOptions) {
    this.tray = new Tray(this.image(this.state()));
    // Windows: a click opens the window; elsewhere the menu shows (Linux trays differ; the menu has every action).
    if (o.platform === 'win32') this.tray.on('click', () => o.open());
    this.render();
  }

  state(): TrayState {
    const s = this.o.service.status();
    let login = false;
    try {
      login = this.o.loginItem.supported && this.o.loginItem.get();
    } catch {
      login = false;
    }
    const signInNeeded = s.providers.filter((p) => p.auth === 'sign-in needed').map((p) => p.name);
    const budget = s.budgetNotices?.at(-1);
    const degraded = s.providers.filter((p) => unhealthy(p.health)).map((p) => `${p.name}: ${healthLine(p.health)}`);
    const u = s.usageToday;
    return {
      intercept: s.intercept,
      http: s.http.address,
      // from the usage history when it runs (survives restarts), else this process's count
      requestsToday: u ? u.requests : s.requests.today,
      ...(u ? { costToday: u.costUsd } : {}),
      ...(u?.busiestApp ? { busiestApp: { name: u.busiestApp, requests: u.busiestAppRequests ?? 0 } } : {}),
      ...(s.history?.state === 'error' && s.history.message ? { historyProblem: s.history.message } : {}),
      configErrors: s.configErrors.length,
      loginItem: { supported: this.o.loginItem.supported, enabled: login },
      busy: this.busy,
      ...(this.notice ? { notice: this.notice } : {}),
      ...(signInNeeded.length ? { signInNeeded } : {}),
      ...(budget ? { budget: budget.message } : {}),
      ...(degraded.length ? { degraded } : {}),
      ...(s.setup.needed ? { setupNeeded: true } : {}),
    };
  }

  private image(s: TrayState): NativeImage {
    const file = join(this.o.resources, trayIconFile(trayLook(s), this.o.platform));
    let img = this.images.get(file);
    if (!img) {
      img = nativeImage.createFromPath(file);
      if (this.o.platform === 'darwin') img.setTemplateImage(true);
      this.images.set(file, img);
    }
    return img;
  }

  render(): void {
    const s = this.state();
    // a budget notice new since the last render also goes out as a system notification (once: notices are once per period)
    if (s.budget && s.budget !== this.lastBudget) this.o.notify?.('router67 budget', s.budget);
    this.lastBudget = s.budget;
    this.tray.setImage(this.image(s));
    this.tray.setToolTip(trayTooltip(s));
    this.tray.setContextMenu(Menu.buildFromTemplate(toMenuTemplate(trayMenuModel(s), (a) => void this.run(a))));
  }

  async run(action: TrayAction): Promise<void> {
    switch (action) {
      case 'toggle-intercept':
        return this.toggleIntercept();
      case 'setup-intercept':
        return this.setupIntercept();
      case 'toggle-login':
        return this.toggleLogin();
      case 'open':
        return this.o.open();
      case 'quit':
        return this.o.quit();
    }
  }

  /** Runs the switch (the OS admin prompt may appear). A refused prompt leaves the state as it was and says so. */
  async toggleIntercept(): Promise<void> {
    if (this.busy) return;
    const want = !this.o.service.status().intercept.enabled;
    this.busy = true;
    this.notice = undefined;
    this.render();
    try {
      const r = await this.o.service.setIntercept(want);
      this.notice = r.ok ? undefined : r.message;
      if (!r.ok) this.o.notify?.('router67', r.message);
    } finally {
      this.busy = false;
      this.render();
    }
  }

  /**
   * Set up interception: the two sentences first (a dialog; Cancel changes nothing), then `install` through one
   * OS prompt and interception on. A refused prompt: nothing changed, said once and calmly (a notification, or
   * the menu's notice line where there are no notifications).
   */
  async setupIntercept(): Promise<void> {
    if (this.busy) return;
    const st = this.o.service.status();
    if (this.o.confirmSetup && !(await this.o.confirmSetup(st.setup.explanation))) return;
    this.busy = true;
    this.notice = undefined;
    this.render();
    try {
      const r = await this.o.service.setupIntercept();
      if (r.ok) this.o.notify?.('router67', 'Interception is set up and on.');
      else if (this.o.notify?.('router67', r.message) === false || !this.o.notify) this.notice = r.message;
    } finally {
      this.busy = false;
      this.render();
    }
  }

  toggleLogin(): void {
    try {
      this.o.loginItem.set(!this.o.loginItem.get());
      this.notice = undefined;
    } catch (e) {
      this.notice = `Launch at login could not be changed: ${(e as Error).message}`;
    }
    this.render();
  }

  destroy(): void {
    this.tray.destroy();
  }
}
