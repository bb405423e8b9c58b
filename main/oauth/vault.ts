// Where tokens and keys are kept: the OS keychain (main/secrets/store.ts's SecretStore satisfies this).
export interface Vault {
  get(account: string): string | undefined;
  set(account: string, value: string): Promise<void>;
  delete(account: string): Promise<boolean>;
  /** Reads one account again from the keychain (another process may have written it). */
  reread?(account: string): Promise<string | undefined>;
  info(): { available: boolean; reason?: string };
  onChange?(fn: () => void): () => void;
}
