// Provider keys in the OS keychain (macOS Keychain, Windows Credential Manager, Secret Service on Linux) via keytar.
// Service "router67", account = the provider's `auth.keychain` name. The core resolves secrets synchronously on
// every request, so the store keeps an in-memory copy (loaded once, updated on every write) behind SecretResolver.
// When there is no keychain (Linux without a Secret Service, keytar not built) the store says so; the UI then
// offers environment variables instead. Secret values never appear in an error message or a log line.

export const SECRET_SERVICE = 'router67';

/** The part of keytar used here (so tests and other platforms can supply their own). */
export interface KeytarLike {
  getPassword(service: string, account: string): Promise<string | null>;
  setPassword(service: string, account: string, password: string): Promise<void>;
  deletePassword(service: string, account: string): Promise<boolean>;
  findCredentials(service: string): Promise<{ account: string; password: string }[]>;
}

export interface SecretResolver {
  get(account: string): string | undefined;
}

export interface KeychainStatus {
  available: boolean;
  reason?: string;
}

export class KeychainUnavailableError extends Error {
  constructor(reason: string) {
    super(`the OS keychain is not available: ${reason}`);
    this.name = 'KeychainUnavailableError';
  }
}

/** Loads keytar if it is installed and built for this runtime; null otherwise. */
export function loadKeytar(): { keytar: KeytarLike | null; reason?: string } {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const k = require('keytar') as KeytarLike;
    return { keytar: k };
  } catch (e) {
    return { keytar: null, reason: `keytar could not be loaded (${firstLine((e as Error).message)})` };
  }
}

function firstLine(s: string): string {
  return (s.split('\n')[0] ?? s).slice(0, 200);
}

/** Turns a keychain failure into words for the user. Messages from libsecret/keytar carry no secret values. */
export function describeKeychainError(e: unknown): string {
  const msg = firstLine(e instanceof Error ? e.message : String(e));
  if (/autolaunch D-Bus|DBUS_SESSION_BUS_ADDRESS|org\.freedesktop\.secrets|Secret Service|ServiceUnknown|No such interface/i.test(msg)) {
    return `no Secret Service is running (install and unlock gnome-keyring or KWallet); ${msg}`;
  }
  return msg;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

export interface SecretStoreOptions {
  service?: string;
  /** null: no keychain at all; undefined: load keytar. */
  keytar?: KeytarLike | null;
  /** How long the keychain may take to answer (a locked keyring can prompt). */
  timeoutMs?: number;
}

export function validAccount(account: string): boolean {
  return typeof account === 'string' && account.length > 0 && account.length <= 200 && !/[\u0000-\u001f]/.test(account);
}

export class SecretStore {
  private readonly cache = new Map<string, string>();
  private status: KeychainStatus;
  private readonly listeners = new Set<() => void>();

  private constructor(
    private readonly keytar: KeytarLike | null,
    readonly service: string,
    private readonly timeoutMs: number,
    reason?: string,
  ) {
    this.status = keytar ? { available: true } : { available: false, reason: reason ?? 'no keychain on this system' };
  }

  /** Opens the store and reads every router67 secret once. Never throws: an unusable keychain is reported by info(). */
  static async open(opts: SecretStoreOptions = {}): Promise<SecretStore> {
    let k = opts.keytar;
    let reason: string | undefined;
    if (k === undefined) ({ keytar: k, reason } = loadKeytar());
    const store = new SecretStore(k ?? null, opts.service ?? SECRET_SERVICE, opts.timeoutMs ?? 5000, reason);
    await store.refresh();
    return store;
  }

  /** A store with no keychain (headless setups that only use env vars). */
  static none(reason = 'no keychain on this system'): SecretStore {
    return new SecretStore(null, SECRET_SERVICE, 0, reason);
  }

  info(): KeychainStatus {
    return { ...this.status };
  }

  /** Re-reads every secret of the service from the keychain. */
  async refresh(): Promise<void> {
    if (!this.keytar) return;
    try {
      const creds = await withTimeout(this.keytar.findCredentials(this.service), this.timeoutMs, 'the keychain');
      this.cache.clear();
      for (const c of creds) this.cache.set(c.account, c.password);
      this.status = { available: true };
    } catch (e) {
      this.cache.clear();
      this.status = { available: false, reason: describeKeychainError(e) };
    }
    this.changed();
  }

  has(account: string): boolean {
    return this.cache.has(account);
  }

  get(account: string): string | undefined {
    return this.cache.get(account);
  }

  accounts(): string[] {
    return [...this.cache.keys()];
  }

  /** Reads one account again from the keychain (another process may have changed it) and updates the cache. */
  async reread(account: string): Promise<string | undefined> {
    if (!this.keytar || !this.status.available) throw new KeychainUnavailableError(this.status.reason ?? 'unknown reason');
    let v: string | null;
    try {
      v = await withTimeout(this.keytar.getPassword(this.service, account), this.timeoutMs, 'the keychain');
    } catch (e) {
      throw new KeychainUnavailableError(describeKeychainError(e));
    }
    if ((v ?? undefined) !== this.cache.get(account)) {
      if (v === null) this.cache.delete(account);
      else this.cache.set(account, v);
      this.changed();
    }
    return v ?? undefined;
  }

  async set(account: string, value: string): Promise<void> {
    if (!validAccount(account)) throw new Error('invalid keychain account name');
    if (typeof value !== 'string' || value === '') throw new Error('an empty secret cannot be stored');
    if (!this.keytar || !this.status.available) throw new KeychainUnavailableError(this.status.reason ?? 'unknown reason');
    try {
      await withTimeout(this.keytar.setPassword(this.service, account, value), this.timeoutMs, 'the keychain');
    } catch (e) {
      throw new KeychainUnavailableError(describeKeychainError(e));
    }
    this.cache.set(account, value);
    this.changed();
  }

  async delete(account: string): Promise<boolean> {
    if (!this.keytar || !this.status.available) throw new KeychainUnavailableError(this.status.reason ?? 'unknown reason');
    let removed: boolean;
    try {
      removed = await withTimeout(this.keytar.deletePassword(this.service, account), this.timeoutMs, 'the keychain');
    } catch (e) {
      throw new KeychainUnavailableError(describeKeychainError(e));
    }
    this.cache.delete(account);
    this.changed();
    return removed;
  }

  /** The core's synchronous view (cached values). */
  resolver(): SecretResolver {
    return { get: (account) => this.cache.get(account) };
  }

  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private changed(): void {
    for (const fn of this.listeners) fn();
  }
}
