// A starting config from what this machine already has: API keys in the environment (known variable names, a
// table) and a running Ollama (its model list). The config refers to the keys by variable name (`value_env`) and
// never holds a copy. Used by the window's first-run page (main/ui/service.ts) and `router67 init`.
import { linkSync, mkdirSync, renameSync, unlinkSync } from 'node:fs';
import { request } from 'node:http';
import { dirname } from 'node:path';
import { DEFAULT_INTERCEPT_HOSTS, tomlKey, tomlString, writeTempBeside } from './save.js';
import type { FirstRunEntry, OllamaFound } from '../ui/types.js';

/** A provider a well-known environment variable stands for. */
export interface KeyProvider {
  env: string;
  /** The provider's name in the config. */
  name: string;
  title: string;
  base_url: string;
  format: 'anthropic' | 'openai';
  header: string;
  prefix?: string;
  extra_headers?: Record<string, string>;
  /** requested model -> upstream model */
  models: Record<string, string>;
  /** Why it is not offered (router67 cannot reach this API with a base URL). */
  notOffered?: string;
}

const BEARER = { header: 'Authorization', prefix: 'Bearer ' };

/** The variables looked for, in the order providers are written (the first serving a model is tried first). */
export const KEY_PROVIDERS: readonly KeyProvider[] = [
  {
    env: 'ANTHROPIC_API_KEY',
    name: 'anthropic',
    title: 'Anthropic',
    base_url: 'https://api.anthropic.com',
    format: 'anthropic',
    header: 'x-api-key',
    extra_headers: { 'anthropic-version': '2023-06-01' },
    models: { 'claude-sonnet-4-5': 'claude-sonnet-4-5', 'claude-opus-4-1': 'claude-opus-4-1', 'claude-haiku-4-5': 'claude-haiku-4-5' },
  },
  {
    env: 'OPENAI_API_KEY',
    name: 'openai',
    title: 'OpenAI',
    base_url: 'https://api.openai.com',
    format: 'openai',
    ...BEARER,
    models: { 'gpt-5': 'gpt-5', 'gpt-5-mini': 'gpt-5-mini', 'gpt-4.1': 'gpt-4.1' },
  },
  {
    env: 'OPENROUTER_API_KEY',
    name: 'openrouter',
    title: 'OpenRouter',
    base_url: 'https://openrouter.ai/api',
    format: 'openai',
    ...BEARER,
    // also a fallback for the Anthropic and OpenAI names above
    models: { 'claude-sonnet-4-5': 'anthropic/claude-sonnet-4.5', 'gpt-5': 'openai/gpt-5', 'deepseek-chat': 'deepseek/deepseek-chat' },
  },
  {
    env: 'DEEPSEEK_API_KEY',
    name: 'deepseek',
    title: 'DeepSeek',
    base_url: 'https://api.deepseek.com',
    format: 'openai',
    ...BEARER,
    models: { 'deepseek-chat': 'deepseek-chat', 'deepseek-reasoner': 'deepseek-reasoner' },
  },
  {
    env: 'GROQ_API_KEY',
    name: 'groq',
    title: 'Groq',
    base_url: 'https://api.groq.com/openai',
    format: 'openai',
    ...BEARER,
    models: { 'llama-3.3-70b-versatile': 'llama-3.3-70b-versatile', 'gpt-oss-120b': 'openai/gpt-oss-120b' },
  },
  {
    env: 'MISTRAL_API_KEY',
    name: 'mistral',
    title: 'Mistral',
    base_url: 'https://api.mistral.ai',
    format: 'openai',
    ...BEARER,
    models: { 'mistral-large-latest': 'mistral-large-latest', 'codestral-latest': 'codestral-latest' },
  },
  {
    env: 'XAI_API_KEY',
    name: 'xai',
    title: 'xAI',
    base_url: 'https://api.x.ai',
    format: 'openai',
    ...BEARER,
    models: { 'grok-4': 'grok-4' },
  },
  {
    env: 'GEMINI_API_KEY',
    name: 'gemini',
    title: 'Google Gemini',
    base_url: 'https://generativelanguage.googleapis.com/v1beta/openai',
    format: 'openai',
    ...BEARER,
    models: {},
    notOffered: "Gemini's OpenAI-compatible API lives under /v1beta/openai without /v1, which a base URL cannot express; reach Gemini through OpenRouter",
  },
];

export const DEFAULT_OLLAMA_URL = 'http://127.0.0.1:11434';

/** Ollama's model list from GET <url>/api/tags (loopback only; a short timeout). */
export function probeOllama(url = DEFAULT_OLLAMA_URL, timeoutMs = 1500): Promise<OllamaFound> {
  return new Promise((resolve) => {
    let u: URL;
    try {
      u = new URL('/api/tags', url);
    } catch {
      return resolve({ url, running: false, models: [], detail: 'not a URL' });
    }
    const host = u.hostname.replace(/^\[|\]$/g, '');
    if (u.protocol !== 'http:' || !/^(127\.\d+\.\d+\.\d+|::1|localhost)$/.test(host)) {
      return resolve({ url, running: false, models: [], detail: 'only a loopback address is probed' });
    }
    const done = (r: OllamaFound) => {
      clearTimeout(timer);
      resolve(r);
    };
    const req = request(u, { method: 'GET', headers: { accept: 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > 4 * 1024 * 1024) req.destroy(new Error('answer too large'));
        else chunks.push(c);
      });
      res.on('end', () => {
        if (res.statusCode !== 200) return done({ url, running: false, models: [], detail: `GET /api/tags answered ${res.statusCode}` });
        try {
          const j = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { models?: { name?: unknown; model?: unknown }[] };
          if (!Array.isArray(j.models)) throw new Error('no models list');
          const models = [...new Set(j.models.map((m) => String(m.name ?? m.model ?? '')).filter((n) => n && n.length <= 200))].sort();
          done({ url, running: true, models });
        } catch (e) {
          done({ url, running: false, models: [], detail: `not Ollama: ${(e as Error).message}` });
        }
      });
      res.on('error', (e) => done({ url, running: false, models: [], detail: e.message }));
    });
    const timer = setTimeout(() => req.destroy(new Error('timed out')), timeoutMs);
    req.on('error', (e: NodeJS.ErrnoException) => done({ url, running: false, models: [], detail: e.code === 'ECONNREFUSED' ? 'not running' : e.message }));
    req.end();
  });
}

export interface StarterDetection {
  entries: FirstRunEntry[];
  ollama: OllamaFound;
}

export interface DetectStarterOptions {
  env?: NodeJS.ProcessEnv;
  /** Where Ollama is looked for (tests: a mock). */
  ollamaUrl?: string;
  timeoutMs?: number;
}

/** What is there: every known variable (set or not) and Ollama. Never reads a key's value beyond "is it set". */
export async function detectStarter(o: DetectStarterOptions = {}): Promise<StarterDetection> {
  const env = o.env ?? process.env;
  const ollama = await probeOllama(o.ollamaUrl ?? DEFAULT_OLLAMA_URL, o.timeoutMs);
  const entries: FirstRunEntry[] = KEY_PROVIDERS.map((k) => ({
    id: `env:${k.env}`,
    kind: 'key',
    provider: k.name,
    title: k.title,
    env: k.env,
    found: typeof env[k.env] === 'string' && env[k.env]!.trim() !== '',
    ...(k.notOffered ? { notOffered: k.notOffered } : {}),
    base_url: k.base_url,
    models: Object.keys(k.models),
  }));
  entries.push({ id: 'ollama', kind: 'ollama', provider: 'ollama', title: 'Ollama', found: ollama.running, base_url: ollama.url, models: ollama.models });
  return { entries, ollama };
}

/** The entries a starting config takes by default: found and offered. */
export function offered(d: StarterDetection): FirstRunEntry[] {
  return d.entries.filter((e) => e.found && !e.notOffered && (e.kind === 'key' || e.models.length > 0));
}

/** The starting config for the chosen entry ids (unknown, unfound or not offered ids are ignored). */
export function starterToml(d: StarterDetection, ids: readonly string[]): { text: string; providers: string[] } {
  const want = new Set(ids);
  const chosen = offered(d).filter((e) => want.has(e.id));
  const out: string[] = [
    '# router67 config, written from what was found on this machine (router67 init / the first-run page).',
    '# Keys stay in your environment: each provider names its variable (value_env), the file holds no key.',
    '',
    `intercept_hosts = [${DEFAULT_INTERCEPT_HOSTS.map(tomlString).join(', ')}]`,
    '',
    '[daemon]',
    'http_listen = "127.0.0.1:6767"   # plain endpoint for clients that can set a base URL',
    'log_level   = "info"',
  ];
  for (const e of chosen) {
    out.push('');
    if (e.kind === 'ollama') {
      out.push('[[providers]]', `name     = "ollama"`, `base_url = ${tomlString(d.ollama.url)}`, 'format   = "ollama"', '', '[providers.available_models]');
      for (const m of e.models) out.push(`${tomlKey(m)} = ${tomlString(m)}`);
      continue;
    }
    const k = KEY_PROVIDERS.find((x) => `env:${x.env}` === e.id)!;
    const auth = [`header = ${tomlString(k.header)}`, ...(k.prefix ? [`prefix = ${tomlString(k.prefix)}`] : []), `value_env = ${tomlString(k.env)}`];
    out.push('[[providers]]', `name     = ${tomlString(k.name)}`, `base_url = ${tomlString(k.base_url)}`, `format   = ${tomlString(k.format)}`, `auth     = { ${auth.join(', ')} }`);
    if (k.extra_headers) out.push(`extra_headers = { ${Object.entries(k.extra_headers).map(([h, v]) => `${tomlString(h)} = ${tomlString(v)}`).join(', ')} }`);
    out.push('', '[providers.available_models]');
    for (const [m, up] of Object.entries(k.models)) out.push(`${tomlKey(m)} = ${tomlString(up)}`);
  }
  return { text: out.join('\n') + '\n', providers: chosen.map((e) => e.provider) };
}

export class ConfigExistsError extends Error {
  constructor(readonly file: string) {
    super(`${file} already exists; nothing was written (use --force to replace it)`);
    this.name = 'ConfigExistsError';
  }
}

/**
 * Writes a new config atomically (temp file, fsync, then a link that fails if the file exists, or a rename with
 * `force`), mode 0600. Without `force` an existing file is never touched.
 */
export function writeNewConfig(file: string, text: string, opts: { force?: boolean } = {}): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = writeTempBeside(file, text, 0o600);
  try {
    if (opts.force) renameSync(tmp, file);
    else {
      try {
        linkSync(tmp, file);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new ConfigExistsError(file);
        throw e;
      }
    }
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      /* renamed */
    }
  }
}
