// The editor's model of config.toml and the way back to TOML.
//
// Load: the file's raw TOML becomes a ConfigDraft (what the window edits). Save: the draft is applied to the raw
// TOML of the file as it is now (every key the editor does not know is kept), validated with the same ConfigSchema
// the core uses (nothing is written when it fails), and written atomically (temp file + rename, mode kept).
// A save names the revision (sha256 of the text) it was based on; if the file changed meanwhile, it is refused.
//
// Comments and layout are kept where possible: untouched provider blocks, [daemon] and every other table are copied
// byte for byte; only changed providers and a changed intercept_hosts line are re-emitted. The result is parsed
// back and compared with the intended document; if the splice did not produce exactly that, the whole document
// is written by smol-toml instead (comments lost, no setting lost).
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  realpathSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parse, stringify, TomlError } from 'smol-toml';
import type { AuthDraft, ConfigDraft, EditorState, Issue, ProviderDraft, SecretSource } from '../ui/types.js';
import { isCredentialHeader, isCredentialParam, queryParam } from '../proxy/errors.js';
import { ConfigSchema, FORMATS } from './schema.js';

export const DEFAULT_INTERCEPT_HOSTS = ['api.anthropic.com', 'api.openai.com', 'openrouter.ai'];

type Raw = Record<string, unknown>;

export function revisionOf(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** Reads the config file's text; a missing file reads as ''. */
export function readConfigText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw e;
  }
}

export class ConflictError extends Error {
  constructor(readonly file: string) {
    super(`${file} was changed by someone else since it was loaded; reload to see the changes (nothing was written)`);
    this.name = 'ConflictError';
  }
}

export class InvalidEditError extends Error {
  constructor(readonly issues: Issue[]) {
    super(issues.map((i) => `${i.path.join('.') || 'config'}: ${i.message}`).join('\n'));
    this.name = 'InvalidEditError';
  }
}

// ---------------------------------------------------------------------------------------------------------------
// TOML -> draft

export interface DraftContext {
  /** Whether the keychain holds a secret for this account. */
  hasKeychainSecret?(account: string): boolean;
  /** Whether this environment variable is set where the core runs. */
  hasEnv?(name: string): boolean;
}

const str = (v: unknown): string => (v === undefined || v === null ? '' : typeof v === 'string' ? v : String(v));
const isObj = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);

export function sourceOf(auth: Raw | undefined): SecretSource {
  if (!auth) return 'none';
  if (auth.oauth !== undefined) return 'oauth';
  if (auth.keychain !== undefined) return 'keychain';
  if (auth.value_env !== undefined) return 'env';
  if (auth.api_key !== undefined) return 'inline';
  return 'none';
}

/** What the window is shown in place of the value of a base_url's credential query parameter (`?key=`). */
export const HIDDEN_PARAM = '••••••••';

/** A URL's query as `name=value` parts (`&`-separated), between what comes before and the fragment. */
function queryParts(url: string): { head: string; parts: string[]; tail: string } | undefined {
  const q = url.indexOf('?');
  const hash = url.indexOf('#');
  if (q < 0 || (hash >= 0 && hash < q)) return undefined;
  const end = hash < 0 ? url.length : hash;
  return { head: url.slice(0, q + 1), parts: url.slice(q + 1, end).split('&'), tail: url.slice(end) };
}

/**
 * The base_url the window is shown: each credential query parameter's value (`?key=…`, `access_token=…`) replaced
 * by HIDDEN_PARAM, and the names of those parameters. Everything else is kept as written.
 */
export function maskBaseUrl(url: string): { url: string; hidden: string[] } {
  const q = queryParts(url);
  const hidden: string[] = [];
  if (!q) return { url, hidden };
  const parts = q.parts.map((part) => {
    const p = queryParam(part);
    if (!p || !p.value || !isCredentialParam(p.name)) return part;
    hidden.push(p.name);
    return `${part.slice(0, part.indexOf('='))}=${HIDDEN_PARAM}`;
  });
  return hidden.length ? { url: q.head + parts.join('&') + q.tail, hidden } : { url, hidden };
}

/**
 * The base_url to write for the one the window sent: a HIDDEN_PARAM value takes the stored value of that parameter
 * (its n-th occurrence in `stored`); a typed value replaces it. `missing`: placeholders with no stored value.
 */
export function unmaskBaseUrl(typed: string, stored: string): { url: string; missing: string[] } {
  const q = queryParts(typed);
  const missing: string[] = [];
  if (!q || !typed.includes(HIDDEN_PARAM)) return { url: typed, missing };
  const kept = new Map<string, string[]>();
  for (const part of queryParts(stored)?.parts ?? []) {
    const p = queryParam(part);
    if (p) kept.set(p.name, [...(kept.get(p.name) ?? []), p.value]);
  }
  const seen = new Map<string, number>();
  const parts = q.parts.map((part) => {
    const p = queryParam(part);
    if (!p) return part;
    const n = seen.get(p.name) ?? 0;
    seen.set(p.name, n + 1);
    if (p.value !== HIDDEN_PARAM) return part;
    const value = kept.get(p.name)?.[n];
    if (value === undefined || value === HIDDEN_PARAM) {
      missing.push(p.name);
      return part;
    }
    return `${part.slice(0, part.indexOf('='))}=${value}`;
  });
  return { url: q.head + parts.join('&') + q.tail, missing };
}

export function providerToDraft(p: Raw, origin: number | undefined, ctx: DraftContext = {}): ProviderDraft {
  const auth = isObj(p.auth) ? p.auth : undefined;
  const source = sourceOf(auth);
  let secretSet: boolean | undefined;
  if (source === 'keychain') secretSet = ctx.hasKeychainSecret?.(str(auth?.keychain)) ?? false;
  else if (source === 'env') secretSet = ctx.hasEnv?.(str(auth?.value_env)) ?? undefined;
  else if (source === 'inline') secretSet = true;
  // credential-like extra headers: the window learns that they are set, never their value
  const hidden: string[] = [];
  const headers: [string, string][] = isObj(p.extra_headers)
    ? Object.entries(p.extra_headers).map(([k, v]) => {
        if (isObj(v)) {
          hidden.push(k); // kept in the keychain
          return [k, ''];
        }
        const s = str(v);
        if (s && isCredentialHeader(k, s)) {
          hidden.push(k);
          return [k, ''];
        }
        return [k, s];
      })
    : [];
  // credential query parameters of the base_url (`?key=`): the same, shown as HIDDEN_PARAM
  const base = maskBaseUrl(str(p.base_url));
  const d: ProviderDraft = {
    name: str(p.name),
    base_url: base.url,
    format: (FORMATS as readonly string[]).includes(str(p.format)) ? (str(p.format) as ProviderDraft['format']) : '',
    auth: {
      source,
      header: str(auth?.header),
      prefix: str(auth?.prefix),
      value_env: str(auth?.value_env),
      keychain: str(auth?.keychain),
      oauth: str(auth?.oauth),
      ...(secretSet === undefined ? {} : { secretSet }),
    },
    extra_headers: headers,
    ...(hidden.length ? { hiddenHeaders: hidden } : {}),
    ...(base.hidden.length ? { hiddenParams: base.hidden } : {}),
    models: isObj(p.available_models) ? Object.entries(p.available_models).map(([k, v]) => [k, str(v)]) : [],
  };
  if (origin !== undefined) d.origin = origin;
  return d;
}

export function rawToDraft(raw: Raw, revision: string, ctx: DraftContext = {}): ConfigDraft {
  const hosts = Array.isArray(raw.intercept_hosts) ? raw.intercept_hosts.map(str) : [...DEFAULT_INTERCEPT_HOSTS];
  const providers = Array.isArray(raw.providers)
    ? raw.providers.map((p, i) => providerToDraft(isObj(p) ? p : {}, i, ctx))
    : [];
  return { revision, intercept_hosts: hosts, providers };
}

export function parseToml(text: string, file: string): { raw: Raw } | { error: string } {
  try {
    return { raw: parse(text) as Raw };
  } catch (e) {
    if (e instanceof TomlError) {
      const first = e.message.split('\n')[0]?.replace(/^Invalid TOML document: /, '') ?? e.message;
      return { error: `${file}:${e.line}:${e.column}: TOML syntax error: ${first}` };
    }
    throw e;
  }
}

/** The editor's view of the file as it is now. The keychain info is filled by the caller. */
export function loadEditorState(file: string, ctx: DraftContext = {}): Omit<EditorState, 'keychain'> {
  const text = readConfigText(file);
  const revision = revisionOf(text);
  const r = parseToml(text, file);
  if ('error' in r) return { path: file, revision, intercept_hosts: [], providers: [], blocked: r.error };
  return { path: file, ...rawToDraft(r.raw, revision, ctx) };
}

// ---------------------------------------------------------------------------------------------------------------
// draft -> TOML document

export interface SecretWrite {
  account: string;
  value: string;
  /** The draft field it came from (where a failure to store it is reported). */
  path: (string | number)[];
}

export interface AppliedEdit {
  target: Raw;
  issues: Issue[];
  /** Secrets to put in the keychain before the file is written. */
  secrets: SecretWrite[];
  /** For each target provider, the index of the provider it was edited from (undefined: new). */
  origins: (number | undefined)[];
}

export function deepClone<T>(v: T): T {
  if (Array.isArray(v)) return v.map(deepClone) as T;
  if (isObj(v)) {
    const o: Raw = {};
    for (const [k, x] of Object.entries(v)) o[k] = deepClone(x);
    return o as T;
  }
  return v;
}

function rowsToRecord(
  rows: [string, string][],
  base: (string | number)[],
  issues: Issue[],
  what: { key: string; dup: string },
): Record<string, string> {
  const out: Record<string, string> = {};
  const seen = new Map<string, number>();
  rows.forEach(([k, v], i) => {
    if (k === '' && v === '') return; // an empty row being typed: ignored
    if (k.trim() === '') {
      issues.push({ path: [...base, i, 0], message: what.key });
      return;
    }
    const prev = seen.get(k);
    if (prev !== undefined) {
      issues.push({ path: [...base, i, 0], message: `${what.dup} "${k}" is listed twice (also row ${prev + 1})` });
      return;
    }
    seen.set(k, i);
    out[k] = v;
  });
  return out;
}

/** Applies the draft to the raw TOML document it was loaded from. Unknown keys of existing providers are kept. */
export function applyDraft(raw: Raw, draft: ConfigDraft, opts: { hasKeychainSecret?(account: string): boolean } = {}): AppliedEdit {
  const issues: Issue[] = [];
  const secrets: SecretWrite[] = [];
  const target = deepClone(raw);
  const rawProviders = Array.isArray(raw.providers) ? raw.providers : [];

  const hosts = draft.intercept_hosts.map((h) => h.trim());
  hosts.forEach((h, i) => {
    if (h === '') issues.push({ path: ['intercept_hosts', i], message: 'host name must not be empty' });
  });
  const sameAsDefault = hosts.length === DEFAULT_INTERCEPT_HOSTS.length && hosts.every((h, i) => h === DEFAULT_INTERCEPT_HOSTS[i]);
  if (raw.intercept_hosts !== undefined || !sameAsDefault) target.intercept_hosts = hosts;

  const usedOrigins = new Set<number>();
  const origins: (number | undefined)[] = [];
  const names = new Map<string, number>();
  const providers: Raw[] = draft.providers.map((d, i) => {
    const base = ['providers', i];
    let orig: Raw = {};
    origins.push(undefined);
    if (d.origin !== undefined) {
      const o = rawProviders[d.origin];
      if (!isObj(o) || usedOrigins.has(d.origin)) {
        issues.push({ path: base, message: 'this provider no longer matches the file; reload and edit again' });
      } else {
        usedOrigins.add(d.origin);
        orig = o;
        origins[i] = d.origin;
      }
    }
    const name = d.name.trim();
    const prev = names.get(name);
    if (name && prev !== undefined) {
      issues.push({ path: [...base, 'name'], message: `another provider is already called "${name}" (provider ${prev + 1})` });
    }
    names.set(name, i);
    const p = deepClone(orig);
    p.name = d.name.trim();
    // a credential parameter the window was shown as HIDDEN_PARAM keeps its stored value
    const url = unmaskBaseUrl(d.base_url.trim(), str(orig.base_url));
    for (const name of url.missing) {
      issues.push({ path: [...base, 'base_url'], message: `the value of "${name}" is hidden in the window and none is stored for this provider: type it` });
    }
    p.base_url = url.url;
    if (d.format) p.format = d.format;
    else delete p.format;

    const auth = applyAuth(isObj(orig.auth) ? orig.auth : undefined, d, i, issues, secrets, opts);
    if (auth) p.auth = auth;
    else delete p.auth;

    const headers = rowsToRecord(d.extra_headers, [...base, 'extra_headers'], issues, {
      key: 'header name must not be empty',
      dup: 'header',
    });
    const written = applyHeaders(headers, isObj(orig.extra_headers) ? orig.extra_headers : {}, d, i, issues, secrets, opts);
    if (Object.keys(written).length || orig.extra_headers !== undefined) p.extra_headers = written;
    else delete p.extra_headers;

    const models = rowsToRecord(d.models, [...base, 'models'], issues, {
      key: 'requested model name must not be empty',
      dup: 'model',
    });
    if (Object.keys(models).length || orig.available_models !== undefined) p.available_models = models;
    else delete p.available_models;
    return p;
  });
  if (providers.length || raw.providers !== undefined) target.providers = providers;
  return { target, issues, secrets, origins };
}

/**
 * The extra headers to write. A credential header the window was shown as set (value '') keeps its stored value or
 * keychain reference; a credential typed in the window goes to the keychain (`{ keychain = "<provider>/<header>" }`),
 * never into the file.
 */
function applyHeaders(
  headers: Record<string, string>,
  stored: Raw,
  d: ProviderDraft,
  i: number,
  issues: Issue[],
  secrets: SecretWrite[],
  opts: { hasKeychainSecret?(account: string): boolean },
): Raw {
  const out: Raw = {};
  for (const [k, v] of Object.entries(headers)) {
    const was = stored[k];
    const ref = isObj(was) && typeof was.keychain === 'string' && was.keychain ? was.keychain : undefined;
    const path = ['providers', i, 'extra_headers', d.extra_headers.findIndex(([x]) => x === k), 1];
    if (v === '' && ref !== undefined) {
      out[k] = deepClone(was);
      if (opts.hasKeychainSecret && !opts.hasKeychainSecret(ref)) issues.push({ path, message: `no value is stored in the keychain for header "${k}" yet: type it` });
    } else if (v === '' && typeof was === 'string' && was && isCredentialHeader(k, was)) {
      out[k] = was;
    } else if (v !== '' && isCredentialHeader(k, v)) {
      const account = ref ?? `${d.name.trim()}/${k}`;
      secrets.push({ account, value: v, path });
      out[k] = { keychain: account };
    } else out[k] = v;
  }
  return out;
}

/** Every keychain account a config's providers refer to: their keys (auth.keychain) and extra headers kept there. */
export function keychainRefs(raw: Raw): Set<string> {
  const out = new Set<string>();
  for (const p of Array.isArray(raw.providers) ? raw.providers : []) {
    if (!isObj(p)) continue;
    if (isObj(p.auth) && typeof p.auth.keychain === 'string') out.add(p.auth.keychain);
    for (const v of Object.values(isObj(p.extra_headers) ? p.extra_headers : {})) {
      if (isObj(v) && typeof v.keychain === 'string') out.add(v.keychain);
    }
  }
  return out;
}

function applyAuth(
  orig: Raw | undefined,
  d: ProviderDraft,
  i: number,
  issues: Issue[],
  secrets: SecretWrite[],
  opts: { hasKeychainSecret?(account: string): boolean },
): Raw | undefined {
  const a: AuthDraft = d.auth;
  const path = ['providers', i, 'auth'];
  const typed = a.newSecret ?? '';
  if (a.source === 'none') {
    if (typed) issues.push({ path: [...path, 'newSecret'], message: 'choose where the key is kept (keychain) before typing one' });
    return undefined;
  }
  const out: Raw = orig ? deepClone(orig) : {};
  for (const k of ['value_env', 'api_key', 'keychain', 'oauth']) delete out[k];
  // An OAuth credential may leave the header out (Authorization: Bearer).
  if (a.source === 'oauth' && !a.header.trim()) delete out.header;
  else out.header = a.header.trim();
  if (a.prefix) out.prefix = a.prefix;
  else delete out.prefix;
  switch (a.source) {
    case 'env':
      out.value_env = a.value_env.trim();
      if (typed) issues.push({ path: [...path, 'newSecret'], message: 'a typed key is kept in the keychain; pick "Keychain" to store it' });
      break;
    case 'inline':
      if (orig?.api_key === undefined) {
        issues.push({ path: [...path, 'source'], message: 'the app does not write keys into the file; use the keychain or an environment variable' });
      } else out.api_key = orig.api_key;
      if (typed) issues.push({ path: [...path, 'newSecret'], message: 'the app does not write keys into the file; pick "Keychain" to store it' });
      break;
    case 'oauth':
      out.oauth = a.oauth.trim();
      break;
    case 'keychain': {
      const account = a.keychain.trim() || d.name.trim();
      out.keychain = account;
      if (typed) {
        secrets.push({ account, value: typed, path: [...path, 'newSecret'] });
      } else if (account && opts.hasKeychainSecret && !opts.hasKeychainSecret(account)) {
        // Switching an inline key to the keychain moves it there.
        if (typeof orig?.api_key === 'string' && orig.api_key) secrets.push({ account, value: orig.api_key, path: [...path, 'newSecret'] });
        else issues.push({ path: [...path, 'newSecret'], message: 'no key is stored in the keychain for this provider yet: type it' });
      }
      break;
    }
  }
  return out;
}

/** Schema issues in draft terms (record keys become row/column paths). */
export function schemaIssues(target: Raw, draft: ConfigDraft): Issue[] {
  const r = ConfigSchema.safeParse(target);
  if (r.success) return [];
  return r.error.issues.map((iss) => ({ path: toDraftPath(iss.path as PropertyKey[], iss.code, draft), message: iss.message }));
}

function toDraftPath(path: PropertyKey[], code: string, draft: ConfigDraft): (string | number)[] {
  const p = path.map((x) => (typeof x === 'number' ? x : String(x)));
  if (p[0] === 'providers' && typeof p[1] === 'number' && (p[2] === 'available_models' || p[2] === 'extra_headers') && p.length >= 4) {
    const prov = draft.providers[p[1]];
    const rows = p[2] === 'available_models' ? prov?.models : prov?.extra_headers;
    const key = String(p[3]);
    const row = rows?.findIndex(([k]) => k === key) ?? -1;
    const field = p[2] === 'available_models' ? 'models' : 'extra_headers';
    if (row >= 0) return ['providers', p[1], field, row, code === 'invalid_key' ? 0 : 1];
    return ['providers', p[1], field];
  }
  if (p[0] === 'providers' && typeof p[1] === 'number' && p[2] === 'auth' && p.length === 3) {
    return ['providers', p[1], 'auth', 'source'];
  }
  return p;
}

/** Applies and validates; the TOML text is produced only when there is no issue. */
export function planEdit(
  currentText: string,
  file: string,
  draft: ConfigDraft,
  opts: { hasKeychainSecret?(account: string): boolean } = {},
): { ok: true; text: string; target: Raw; secrets: SecretWrite[] } | { ok: false; issues: Issue[] } {
  const parsed = parseToml(currentText, file);
  if ('error' in parsed) return { ok: false, issues: [{ path: [], message: `${parsed.error} (fix the file by hand first)` }] };
  const applied = applyDraft(parsed.raw, draft, opts);
  const seen = new Set(applied.issues.map((i) => i.path.join('.')));
  const issues = [...applied.issues, ...schemaIssues(applied.target, draft).filter((i) => !seen.has(i.path.join('.')))];
  if (issues.length) return { ok: false, issues };
  let text: string;
  try {
    text = renderToml(currentText, parsed.raw, applied.target, applied.origins);
  } catch (e) {
    return { ok: false, issues: [{ path: [], message: `cannot write this as TOML: ${(e as Error).message}` }] };
  }
  return { ok: true, text, target: applied.target, secrets: applied.secrets };
}

// ---------------------------------------------------------------------------------------------------------------
// Rendering TOML, keeping the file's comments and layout where nothing changed

/** Canonical form for comparing documents: key order ignored, dates by value. */
export function canon(v: unknown): string {
  if (v instanceof Date) return `D(${v.toISOString()})`;
  if (typeof v === 'bigint') return `${v}n`;
  if (Array.isArray(v)) return `[${v.map(canon).join(',')}]`;
  if (isObj(v)) {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canon(v[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'undefined';
}

export function tomlKey(k: string): string {
  return /^[A-Za-z0-9_-]+$/.test(k) ? k : tomlString(k);
}

export function tomlString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (c < 0x20 || c === 0x7f) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else if (c >= 0xd800 && c <= 0xdfff) throw new Error('text holds an unpaired surrogate');
    else out += ch;
  }
  return out + '"';
}

export function inlineValue(v: unknown): string {
  if (typeof v === 'string') return tomlString(v);
  if (typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return 'nan';
    if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
    return String(v);
  }
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.length ? `[ ${v.map(inlineValue).join(', ')} ]` : '[]';
  if (isObj(v)) {
    const keys = Object.keys(v);
    return keys.length ? `{ ${keys.map((k) => `${tomlKey(k)} = ${inlineValue(v[k])}`).join(', ')} }` : '{}';
  }
  throw new Error(`cannot write a ${typeof v} value`);
}

const PROVIDER_ORDER = ['name', 'base_url', 'format', 'auth', 'extra_headers'];

/** What an edited provider's old block offers for reuse: comments above it, and its unchanged lines. */
export interface BlockReuse {
  lead: string[];
  main: Map<string, { line: string; value: string }>;
  models: Map<string, { line: string; value: string }>;
}

/** One `[[providers]]` block, written the way the README writes them; lines whose value did not change are kept as written. */
export function renderProvider(p: Raw, reuse?: BlockReuse): string[] {
  const lines = [...(reuse?.lead ?? []), '[[providers]]'];
  const keys = [
    ...PROVIDER_ORDER.filter((k) => p[k] !== undefined),
    ...Object.keys(p).filter((k) => !PROVIDER_ORDER.includes(k) && k !== 'available_models'),
  ];
  const line = (m: Map<string, { line: string; value: string }> | undefined, k: string, v: unknown, key: string) => {
    const old = m?.get(k);
    return old && old.value === canon(v) ? old.line : `${key} = ${inlineValue(v)}`;
  };
  for (const k of keys) lines.push(line(reuse?.main, k, p[k], tomlKey(k)));
  if (isObj(p.available_models)) {
    lines.push('', '[providers.available_models]');
    for (const [k, v] of Object.entries(p.available_models)) lines.push(line(reuse?.models, k, v, tomlString(k)));
  }
  return lines;
}

function blockReuse(group: string[]): BlockReuse {
  const r: BlockReuse = { lead: [], main: new Map(), models: new Map() };
  let section: 'lead' | 'main' | 'models' | 'other' = 'lead';
  for (const l of group) {
    const h = headerOf(l);
    if (h) {
      section =
        section === 'lead' ? 'main' : h.keys.length === 2 && h.keys[1] === 'available_models' && !h.array ? 'models' : 'other';
      continue;
    }
    if (section === 'lead') {
      r.lead.push(l);
      continue;
    }
    if (section === 'other' || !l.trim() || /^\s*#/.test(l)) continue;
    try {
      const doc = parse(l) as Raw;
      const ks = Object.keys(doc);
      if (ks.length === 1) (section === 'main' ? r.main : r.models).set(ks[0]!, { line: l, value: canon(doc[ks[0]!]) });
    } catch {
      /* a value spanning lines: re-emitted */
    }
  }
  return r;
}

export interface Section {
  /** Header keys, e.g. ['providers'] for [[providers]]; undefined for the preamble. */
  keys?: string[];
  array: boolean;
  lines: string[];
}

function headerOf(line: string): { keys: string[]; array: boolean } | undefined {
  const m = /^\s*(\[\[?)\s*((?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*'))*)\s*(\]\]?)\s*(#.*)?$/.exec(
    line,
  );
  if (!m || m[1]!.length !== m[3]!.length) return undefined;
  const keys: string[] = [];
  const re = /\s*([A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*')\s*\.?/g;
  let k: RegExpExecArray | null;
  while ((k = re.exec(m[2]!)) && k[0] !== '') {
    const t = k[1]!;
    keys.push(t.startsWith('"') ? (JSON.parse(t) as string) : t.startsWith("'") ? t.slice(1, -1) : t);
  }
  return { keys, array: m[1] === '[[' };
}

export function splitSections(lines: string[]): Section[] {
  const out: Section[] = [{ array: false, lines: [] }];
  for (const line of lines) {
    const h = headerOf(line);
    if (!h) {
      out[out.length - 1]!.lines.push(line);
      continue;
    }
    // Comment lines right above a header belong to it.
    const prev = out[out.length - 1]!;
    let n = prev.lines.length;
    while (n > 0 && /^\s*#/.test(prev.lines[n - 1]!)) n--;
    const carried = prev.lines.splice(n);
    out.push({ keys: h.keys, array: h.array, lines: [...carried, line] });
  }
  return out;
}

/** Finds `key = value` at top level of the preamble, with a value that may span lines (arrays). */
function findTopLevelKey(lines: string[], key: string): { start: number; end: number } | undefined {
  const re = new RegExp(`^\\s*(${key}|"${key}"|'${key}')\\s*=`);
  for (let i = 0; i < lines.length; i++) {
    if (!re.test(lines[i]!)) continue;
    let depth = 0;
    let q: string | null = null;
    for (let j = i; j < lines.length; j++) {
      const l = lines[j]!;
      const startAt = j === i ? l.indexOf('=') + 1 : 0;
      for (let c = startAt; c < l.length; c++) {
        const ch = l[c];
        if (q) {
          if (ch === '\\' && q === '"') c++;
          else if (ch === q) q = null;
        } else if (ch === '"' || ch === "'") q = ch;
        else if (ch === '#') break;
        else if (ch === '[' || ch === '{') depth++;
        else if (ch === ']' || ch === '}') depth--;
      }
      if (depth <= 0) return { start: i, end: j };
    }
    return undefined;
  }
  return undefined;
}

/**
 * TOML text for `target`, keeping as much of `text` (whose parse is `raw`) as possible.
 * Falls back to a plain smol-toml rendering when the splice does not reproduce `target` exactly.
 */
export function renderToml(text: string, raw: Raw, target: Raw, origins: (number | undefined)[] = []): string {
  return renderSpliced(text, target, (eol) => splice(text, raw, target, origins, eol));
}

/**
 * `splice(eol)`'s text when it parses back to exactly `target`; otherwise (or when it gives up, returning undefined,
 * or throws) the whole document written by smol-toml. The line ending is the one `text` uses.
 */
export function renderSpliced(text: string, target: Raw, splice: (eol: string) => string | undefined): string {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const want = canon(target);
  try {
    const spliced = splice(eol);
    if (spliced !== undefined && canon(parse(spliced)) === want) return spliced;
  } catch {
    // fall through to the plain rendering
  }
  const plain = stringify(target).replace(/\n/g, eol);
  if (canon(parse(plain)) !== want) throw new Error('TOML rendering does not round-trip');
  return plain.endsWith(eol) ? plain : plain + eol;
}

/** The file's sections, or undefined when a top-level key other than `edited` differs between `raw` and `target`. */
export function sectionsToSplice(text: string, raw: Raw, target: Raw, edited: string[]): Section[] | undefined {
  for (const k of new Set([...Object.keys(raw), ...Object.keys(target)])) {
    if (edited.includes(k)) continue;
    if (canon(raw[k]) !== canon(target[k])) return undefined;
  }
  const lines = text === '' ? [] : text.split(/\r?\n/);
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  return splitSections(lines);
}

/** The document around its `[[key]]` blocks ('blocks' marks where they stand), and each block with its [key.x] sub-tables. */
export interface ArrayBlocks {
  chunks: ({ kind: 'text'; lines: string[] } | { kind: 'blocks' })[];
  groups: string[][];
}

/**
 * Groups the `[[key]]` blocks of `sections` (the preamble is `sections[0].lines`, as it is now). Undefined for a layout
 * the splice does not handle: a [key.x] table outside a block, or not `count` blocks (e.g. `key = [ … ]` written inline).
 */
export function arrayBlocks(sections: Section[], key: string, count: number): ArrayBlocks | undefined {
  const chunks: ArrayBlocks['chunks'] = [{ kind: 'text', lines: sections[0]!.lines }];
  const groups: string[][] = [];
  let inBlock = false;
  for (const s of sections.slice(1)) {
    const isKey = s.keys?.[0] === key;
    if (isKey && s.array && s.keys!.length === 1) {
      groups.push([...s.lines]);
      if (!chunks.some((c) => c.kind === 'blocks')) chunks.push({ kind: 'blocks' });
      inBlock = true;
    } else if (isKey && inBlock) {
      groups[groups.length - 1]!.push(...s.lines);
    } else {
      if (isKey) return undefined;
      inBlock = false;
      chunks.push({ kind: 'text', lines: s.lines });
    }
  }
  if (groups.length !== count) return undefined;
  if (!chunks.some((c) => c.kind === 'blocks')) chunks.push({ kind: 'blocks' });
  return { chunks, groups };
}

/** Joins the chunks back into text, the `rendered` blocks where the old ones stood, one blank line between blocks. */
export function joinBlocks(chunks: ArrayBlocks['chunks'], rendered: string[][], eol: string): string {
  const out: string[] = [];
  for (const c of chunks) {
    if (c.kind === 'text') {
      if (out.length && c.lines.length && c.lines[0]!.trim() !== '' && out[out.length - 1]!.trim() !== '') out.push('');
      out.push(...c.lines);
      continue;
    }
    for (const lines of rendered) {
      if (out.length && out[out.length - 1]!.trim() !== '') out.push('');
      const body = [...lines];
      while (body.length && body[body.length - 1]!.trim() === '') body.pop();
      out.push(...body);
    }
    if (rendered.length) out.push('');
  }
  while (out.length && out[out.length - 1]!.trim() === '') out.pop();
  return out.length ? out.join(eol) + eol : '';
}

function splice(text: string, raw: Raw, target: Raw, origins: (number | undefined)[], eol: string): string | undefined {
  // Only intercept_hosts and providers are edited here; anything else changed means: render plainly.
  const sections = sectionsToSplice(text, raw, target, ['intercept_hosts', 'providers']);
  if (!sections) return undefined;
  const preamble = sections[0]!.lines;

  if (canon(raw.intercept_hosts) !== canon(target.intercept_hosts)) {
    const at = findTopLevelKey(preamble, 'intercept_hosts');
    const line = target.intercept_hosts === undefined ? [] : [`intercept_hosts = ${inlineValue(target.intercept_hosts)}`];
    if (at) preamble.splice(at.start, at.end - at.start + 1, ...line);
    else {
      let n = preamble.length;
      while (n > 0 && preamble[n - 1]!.trim() === '') n--;
      preamble.splice(n, 0, ...line);
    }
  }

  // Group provider blocks: [[providers]] and its [providers.x] sub-tables.
  const rawProviders = Array.isArray(raw.providers) ? raw.providers : [];
  const blocks = arrayBlocks(sections, 'providers', rawProviders.length);
  if (!blocks) return undefined;
  const groups = blocks.groups;

  const newProviders = Array.isArray(target.providers) ? (target.providers as Raw[]) : [];
  const original = [...groups];
  const rendered: string[][] = newProviders.map((p, i) => {
    // Keep an untouched block verbatim (so reordering keeps its comments too).
    const from = origins[i];
    const idx =
      from !== undefined && canon(rawProviders[from]) === canon(p)
        ? from
        : rawProviders.findIndex((o, j) => groups[j] !== undefined && origins[i] === undefined && canon(o) === canon(p));
    if (idx >= 0 && groups[idx] !== undefined) {
      const g = groups[idx]!;
      groups[idx] = undefined as unknown as string[];
      return g;
    }
    const old = from !== undefined ? original[from] : undefined;
    return renderProvider(p, old ? blockReuse(old) : undefined);
  });
  return joinBlocks(blocks.chunks, rendered, eol);
}

// ---------------------------------------------------------------------------------------------------------------
// Writing

/** Writes `text` to a new temp file beside `file` (same folder, so a rename or link is atomic), fsynced; its path. */
export function writeTempBeside(file: string, text: string, mode: number): string {
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'wx', mode);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    unlinkSync(tmp);
    throw e;
  }
  closeSync(fd);
  return tmp;
}

/**
 * Whether a config document holds a secret written into it: an `api_key`, a credential-like extra header's value, or
 * a credential query parameter of a base_url (`?key=`). Such a file is kept 0600.
 */
export function holdsInlineSecret(raw: Raw): boolean {
  for (const p of Array.isArray(raw.providers) ? raw.providers : []) {
    if (!isObj(p)) continue;
    if (isObj(p.auth) && p.auth.api_key !== undefined) return true;
    if (maskBaseUrl(str(p.base_url)).hidden.length) return true;
    for (const [k, v] of Object.entries(isObj(p.extra_headers) ? p.extra_headers : {})) {
      if (typeof v === 'string' && v && isCredentialHeader(k, v)) return true;
    }
  }
  return false;
}

/**
 * Writes a file atomically (temp + rename in the same folder), keeping its mode and owner; new files get 0600.
 * `secret`: the text holds a secret, so group and others lose every permission on it (a 0644 file becomes 0600).
 */
export function writeFileAtomic(file: string, text: string, o: { secret?: boolean } = {}): void {
  let target = file;
  try {
    target = realpathSync(file); // a symlinked config stays a symlink
  } catch {
    /* new file */
  }
  const dir = dirname(target);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  let mode = 0o600;
  let owner: { uid: number; gid: number } | undefined;
  try {
    const st = statSync(target);
    mode = st.mode & 0o7777;
    owner = { uid: st.uid, gid: st.gid };
  } catch {
    /* new file */
  }
  if (o.secret) mode = (mode & ~0o077) | 0o600;
  const tmp = writeTempBeside(target, text, mode);
  try {
    chmodSync(tmp, mode);
    if (owner && process.getuid?.() === 0 && owner.uid !== 0) chownSync(tmp, owner.uid, owner.gid);
    renameSync(tmp, target);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      /* gone */
    }
    const code = (e as NodeJS.ErrnoException).code;
    // A bind-mounted file cannot be replaced by rename: write it in place instead.
    if (code === 'EBUSY' || code === 'EXDEV') writeFileSync(target, text);
    else throw e;
  }
}

export interface SaveOutcome {
  revision: string;
  text: string;
  secrets: SecretWrite[];
}

/**
 * Validates the draft against the file as it is now and writes it. Throws ConflictError when the file's revision
 * is not the draft's, InvalidEditError when the result would not be a valid config (nothing written either way).
 * `beforeWrite` runs after validation, before the file is replaced (the keychain writes go there).
 */
export async function saveDraft(
  file: string,
  draft: ConfigDraft,
  opts: { hasKeychainSecret?(account: string): boolean; beforeWrite?(secrets: SecretWrite[]): Promise<void> } = {},
): Promise<SaveOutcome> {
  const current = readConfigText(file);
  if (revisionOf(current) !== draft.revision) throw new ConflictError(file);
  const plan = planEdit(current, file, draft, opts);
  if (!plan.ok) throw new InvalidEditError(plan.issues);
  await opts.beforeWrite?.(plan.secrets);
  // The file may have changed while the keychain was written: check again just before replacing it.
  if (revisionOf(readConfigText(file)) !== draft.revision) throw new ConflictError(file);
  writeFileAtomic(file, plan.text, { secret: holdsInlineSecret(plan.target) });
  return { revision: revisionOf(plan.text), text: plan.text, secrets: plan.secrets };
}
