// The sign-in window's backend: the credentials with their connection state, the sign-ins in progress (one per
// credential; a new one cancels the old), sign-out. The window polls state() while a sign-in runs. Nothing here
// holds a token: the views carry the authorization URL (public), the device user code (shown to the user anyway)
// and messages.
import { randomUUID } from 'node:crypto';
import type { KeychainInfo, SignInCredential, SignInFlow, SignInState, SignOutResult } from '../ui/types.js';
import { SignInError } from './flows.js';
import type { LoginResult, OAuthManager } from './manager.js';

export interface SignInServiceOptions {
  manager: OAuthManager;
  keychain(): KeychainInfo;
  /** Opens the system browser (the Electron app: shell.openExternal). Without it the window opens the link. */
  openExternal?(url: string): Promise<void>;
  /** After a sign-in changed the config (OpenRouter's provider): apply it now. */
  afterLogin?(r: LoginResult): Promise<void>;
  /** How long a sign-in may wait for the user (default 5 minutes). */
  timeoutMs?: number;
}

interface Running {
  view: SignInFlow;
  abort: AbortController;
  done: Promise<void>;
}

const KEEP_ENDED = 10;

export class SignInService {
  private readonly flows = new Map<string, Running>();

  constructor(private readonly o: SignInServiceOptions) {}

  state(): SignInState {
    return {
      credentials: this.o.manager.list().map((c): SignInCredential => ({ ...c, usedBy: [...c.usedBy] })),
      flows: [...this.flows.values()].map((f) => ({ ...f.view })).reverse(),
      keychain: this.o.keychain(),
    };
  }

  /** Starts a sign-in; answers once the browser step (or the device code) is known, or the flow ended. */
  async start(name: string, device: boolean): Promise<SignInFlow> {
    for (const f of this.flows.values()) if (f.view.name === name && !f.view.endedAt) f.abort.abort();
    const view: SignInFlow = { id: randomUUID(), name, device, phase: 'starting', opened: false, startedAt: new Date().toISOString() };
    const abort = new AbortController();
    let firstStep!: () => void;
    const stepped = new Promise<void>((r) => (firstStep = r));
    const done = this.o.manager
      .login(name, {
        device,
        signal: abort.signal,
        ...(this.o.timeoutMs ? { timeoutMs: this.o.timeoutMs } : {}),
        ...(this.o.openExternal
          ? {
              open: async (url: string) => {
                await this.o.openExternal!(url);
                return true;
              },
            }
          : {}),
        onProgress: (p) => {
          if (p.phase === 'browser') Object.assign(view, { phase: 'browser', url: p.url, opened: p.opened });
          else if (p.phase === 'device') {
            Object.assign(view, { phase: 'device', userCode: p.userCode, verificationUri: p.verificationUriComplete ?? p.verificationUri, url: p.verificationUriComplete ?? p.verificationUri, opened: p.opened });
          } else view.phase = 'exchanging';
          firstStep();
        },
      })
      .then(
        async (r) => {
          await this.o.afterLogin?.(r).catch(() => {});
          Object.assign(view, { phase: 'done', message: r.message });
        },
        (e: unknown) => {
          const kind = e instanceof SignInError ? e.kind : 'failed';
          Object.assign(view, { phase: kind === 'cancelled' ? 'cancelled' : 'failed', message: (e as Error).message });
        },
      )
      .finally(() => {
        view.endedAt = new Date().toISOString();
        delete view.url;
        firstStep();
        this.prune();
      });
    this.flows.set(view.id, { view, abort, done });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([stepped, new Promise<void>((r) => (timer = setTimeout(r, 15_000)))]);
    clearTimeout(timer);
    return { ...view };
  }

  cancel(id: string): SignInFlow | null {
    const f = this.flows.get(id);
    if (!f) return null;
    if (!f.view.endedAt) f.abort.abort();
    return { ...f.view };
  }

  /** Waits for a flow to end (tests, shutdown). */
  async settled(id: string): Promise<SignInFlow | null> {
    const f = this.flows.get(id);
    if (!f) return null;
    await f.done;
    return { ...f.view };
  }

  async signOut(name: string): Promise<SignOutResult> {
    for (const f of this.flows.values()) if (f.view.name === name && !f.view.endedAt) f.abort.abort();
    try {
      const r = await this.o.manager.logout(name);
      return { ok: true, message: r.message };
    } catch (e) {
      return { ok: false, message: (e as Error).message };
    }
  }

  /** Cancels every running sign-in (the app is quitting). */
  close(): void {
    for (const f of this.flows.values()) if (!f.view.endedAt) f.abort.abort();
  }

  private prune(): void {
    const ended = [...this.flows.values()].filter((f) => f.view.endedAt);
    for (const f of ended.slice(0, Math.max(0, ended.length - KEEP_ENDED))) this.flows.delete(f.view.id);
  }
}
