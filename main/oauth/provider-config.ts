// OpenRouter sign-in ends with a key: it goes to the keychain and an `openrouter` provider (created, or updated
// when one exists) refers to it. The config is edited with the editor's own save path (main/config/save.ts): only
// that provider's auth changes, every other byte of the file is kept, the write is atomic, and the key is written
// to the keychain just before the file. When the file cannot be written, the keychain is put back as it was.
import { ConflictError, loadEditorState, saveDraft } from '../config/save.js';
import type { ConfigDraft, ProviderDraft } from '../ui/types.js';
import type { Vault } from './vault.js';

export interface ConnectResult {
  provider: string;
  created: boolean;
  account: string;
}

/** The keychain account the provider keeps its key under (its auth.keychain, else its name). */
export function keychainAccountOf(configPath: string, provider: string): string {
  const st = loadEditorState(configPath);
  const p = st.providers.find((x) => x.name === provider);
  return (p?.auth.source === 'keychain' && p.auth.keychain.trim()) || provider;
}

function withKey(d: ConfigDraft, provider: string, base: string, key: string): { draft: ConfigDraft; created: boolean; account: string } {
  const providers = d.providers.map((p) => ({ ...p, auth: { ...p.auth } }));
  let p = providers.find((x) => x.name === provider);
  const created = !p;
  if (!p) {
    p = {
      name: provider,
      base_url: `${base.replace(/\/+$/, '')}/api`,
      format: 'openai',
      auth: { source: 'none', header: '', prefix: '', value_env: '', keychain: '', oauth: '' },
      extra_headers: [],
      models: [],
    } satisfies ProviderDraft;
    providers.push(p);
  }
  const account = (p.auth.source === 'keychain' && p.auth.keychain.trim()) || provider;
  const header = p.auth.header.trim() || 'Authorization';
  p.auth = {
    source: 'keychain',
    header,
    prefix: p.auth.header.trim() ? p.auth.prefix : 'Bearer ',
    value_env: '',
    keychain: account,
    oauth: '',
    newSecret: key,
  };
  return { draft: { ...d, providers }, created, account };
}

export async function connectOpenRouter(configPath: string, o: { provider: string; base: string; key: string; vault: Vault }): Promise<ConnectResult> {
  for (let attempt = 0; ; attempt++) {
    const st = loadEditorState(configPath);
    if (st.blocked) throw new Error(`${st.blocked} (fix the file by hand first; the key was not stored)`);
    const { draft, created, account } = withKey(st, o.provider, o.base, o.key);
    const before = { had: o.vault.get(account) !== undefined, value: o.vault.get(account) };
    let wrote = false;
    try {
      await saveDraft(configPath, draft, {
        hasKeychainSecret: (a) => o.vault.get(a) !== undefined,
        beforeWrite: async (secrets) => {
          for (const s of secrets) {
            await o.vault.set(s.account, s.value);
            wrote = true;
          }
        },
      });
      return { provider: o.provider, created, account };
    } catch (e) {
      if (wrote) {
        // the file was not written: the keychain goes back to what it held
        await (before.had ? o.vault.set(account, before.value!) : o.vault.delete(account).then(() => undefined)).catch(() => {});
      }
      if (e instanceof ConflictError && attempt < 2) continue;
      throw e;
    }
  }
}
