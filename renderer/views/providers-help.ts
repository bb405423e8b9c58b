// Small helpers of the Providers view: placeholders that fit the provider's format, which providers lack their key,
// and the differences between the file as it is now and the editor's draft (the conflict banner).
import type { ConfigDraft, ProviderDraft } from '../../main/ui/types.js';

export interface AuthPlaceholders {
  header: string;
  prefix: string;
  prefixHint: string;
  /** What a new key source starts with. */
  defaultPrefix: string;
  env: string;
}

/** The usual environment variable for a provider, from its URL or name: OPENROUTER_API_KEY on OpenRouter, … */
export function usualEnv(p: Pick<ProviderDraft, 'name' | 'base_url' | 'format'>): string {
  const where = `${p.base_url} ${p.name}`.toLowerCase();
  const known: [RegExp, string][] = [
    [/openrouter/, 'OPENROUTER_API_KEY'],
    [/anthropic|claude/, 'ANTHROPIC_API_KEY'],
    [/deepseek/, 'DEEPSEEK_API_KEY'],
    [/mistral/, 'MISTRAL_API_KEY'],
    [/groq/, 'GROQ_API_KEY'],
    [/together/, 'TOGETHER_API_KEY'],
    [/fireworks/, 'FIREWORKS_API_KEY'],
    [/x\.ai|\bxai\b|grok/, 'XAI_API_KEY'],
    [/gemini|generativelanguage|google/, 'GEMINI_API_KEY'],
    [/openai\.com|\bopenai\b/, 'OPENAI_API_KEY'],
  ];
  for (const [re, env] of known) if (re.test(where)) return env;
  if (p.format === 'anthropic') return 'ANTHROPIC_API_KEY';
  const base = p.name.trim().toUpperCase().replace(/[^A-Z0-9]+/g, '_').replace(/^_+|_+$/g, '');
  return base ? `${base}_API_KEY` : 'PROVIDER_API_KEY';
}

/** Placeholders for the auth fields that match how this provider takes its key. */
export function authPlaceholders(p: ProviderDraft): AuthPlaceholders {
  const xKey = p.format === 'anthropic' || /^x-api-key$/i.test(p.auth.header.trim()) || /anthropic\.com/.test(p.base_url);
  if (xKey) return { header: 'x-api-key', prefix: '(none)', prefixHint: 'Written before the key; x-api-key takes the key alone.', defaultPrefix: '', env: usualEnv(p) };
  if (/^api-key$/i.test(p.auth.header.trim())) return { header: 'api-key', prefix: '(none)', prefixHint: 'Written before the key; api-key takes the key alone.', defaultPrefix: '', env: usualEnv(p) };
  return { header: 'Authorization', prefix: 'Bearer ', prefixHint: 'Written before the key, e.g. "Bearer ".', defaultPrefix: 'Bearer ', env: usualEnv(p) };
}

/** "ALPHA_KEY is not set" for each provider whose key source is an environment variable that is not set. */
export function envWarnings(ps: ProviderDraft[]): string[] {
  const out: string[] = [];
  for (const p of ps) {
    if (p.auth.source === 'env' && p.auth.value_env && p.auth.secretSet === false) out.push(`${p.auth.value_env} is not set (provider “${p.name}”)`);
    else if (p.auth.source === 'keychain' && p.auth.secretSet === false && !p.auth.newSecret) out.push(`no key is stored in the keychain for provider “${p.name}”`);
  }
  return out;
}

function flatten(d: Pick<ConfigDraft, 'intercept_hosts' | 'providers'>): string[] {
  const out = [`intercept_hosts = ${d.intercept_hosts.join(', ')}`];
  d.providers.forEach((p, i) => {
    const at = `providers[${p.name || i + 1}]`;
    out.push(`${at} position = ${i + 1}`, `${at}.base_url = ${p.base_url}`, `${at}.format = ${p.format || '(same as request)'}`);
    const a = p.auth;
    const src = a.source === 'env' ? `env ${a.value_env}` : a.source === 'keychain' ? `keychain${a.keychain ? ` ${a.keychain}` : ''}${a.newSecret ? ' (new key typed)' : ''}` : a.source;
    out.push(`${at}.auth = ${src}${a.header ? `, ${a.header}` : ''}${a.prefix ? ` "${a.prefix}"` : ''}`);
    for (const [k, v] of p.models) if (k || v) out.push(`${at}.models ${k} → ${v}`);
    for (const [k, v] of p.extra_headers) if (k) out.push(`${at}.headers ${k}${v ? ` = ${v}` : ' (kept)'}`);
  });
  return out;
}

/** Lines only in the file ('-') and only in the draft ('+'), in a readable order. */
export function configDiff(theirs: Pick<ConfigDraft, 'intercept_hosts' | 'providers'>, mine: Pick<ConfigDraft, 'intercept_hosts' | 'providers'>): ['+' | '-', string][] {
  const a = flatten(theirs);
  const b = flatten(mine);
  const inA = new Set(a);
  const inB = new Set(b);
  const out: ['+' | '-', string][] = [];
  for (const x of a) if (!inB.has(x)) out.push(['-', x]);
  for (const x of b) if (!inA.has(x)) out.push(['+', x]);
  return out.sort((x, y) => x[1].localeCompare(y[1]) || (x[0] === '-' ? -1 : 1));
}

/** The Base URL field's hint for credential query parameters kept back (`?key=`: the value reads as dots). */
export function hiddenParamsHint(names: string[]): string {
  const many = names.length > 1;
  const list = names.map((n) => `“${n}”`).join(', ');
  return many
    ? `✓ ${list} are set (their values are never shown here). Leave the dots to keep them; type new values to replace them.`
    : `✓ ${list} is set (its value is never shown here). Leave the dots to keep it; type a new value to replace it.`;
}
