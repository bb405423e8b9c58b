// The price table: what one million tokens cost at a provider, for a model. Source: the price data bundled in
// @pydantic/genai-prices (never fetched at runtime: updatePrices is not called), matched by the router67
// provider (its base_url, else its name, else the model's family) and the upstream model; `[prices."provider/model"]`
// in config.toml overrides or adds. A model nobody prices has no price: undefined, never a guess.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Config, Provider } from '../config/schema.js';

/** A rate in USD per million tokens; tiered by the prompt size (total input tokens) for a few models. */
export type Rate = number | { base: number; tiers: { start: number; price: number }[] };

/**
 * What a model costs, USD per million tokens. `input` prices the prompt tokens not read from or written to the
 * cache; `cacheRead`/`cacheWrite` the cached ones (absent: they cost `input`); `output` the generated tokens, and
 * `reasoning` the reasoning part of them when it is priced apart (absent: reasoning costs `output`).
 */
export interface Price {
  input: Rate;
  output: Rate;
  cacheRead?: Rate;
  cacheWrite?: Rate;
  reasoning?: Rate;
  /** Where it came from: 'config' (an override or addition), or the table's provider/model ids. */
  source: string;
}

/** The bundled table this build prices with (version read from the installed package; date of that release). */
export const PRICE_SOURCE = { package: '@pydantic/genai-prices', released: '2026-09-23' };

type GenaiPrices = typeof import('@pydantic/genai-prices');
let lib: GenaiPrices | undefined;
let libVersion: string | undefined;
// ~0.5 MB of data: loaded on the first price asked for, never by an idle daemon
// eslint-disable-next-line @typescript-eslint/no-require-imports
const genai = (): GenaiPrices => (lib ??= require('@pydantic/genai-prices') as GenaiPrices);

/** "@pydantic/genai-prices 0.1.8 (2026-09-23)". */
export function priceSourceLabel(): string {
  if (libVersion === undefined) {
    try {
      const pkg = join(dirname(require.resolve('@pydantic/genai-prices')), '..', 'package.json');
      libVersion = (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
    } catch {
      libVersion = '?';
    }
  }
  return `${PRICE_SOURCE.package} ${libVersion} (${PRICE_SOURCE.released})`;
}

const cache = new WeakMap<Config, Map<string, Map<string, Price | null>>>();

/**
 * The price of `model` (the upstream model name) at the router67 provider named `provider`, or undefined when
 * neither config.toml nor the bundled table knows it. Cached per config object (a reload starts afresh), by
 * provider then model: the names are the config's own strings, so no key is built per request.
 */
export function priceFor(cfg: Config, provider: string, model: string, at?: Date): Price | undefined {
  // dated prices (a change announced for a day) are looked up for `at`; the cache holds today's view
  if (at) return lookup(cfg, provider, model, at);
  let byProvider = cache.get(cfg);
  if (!byProvider) cache.set(cfg, (byProvider = new Map()));
  let m = byProvider.get(provider);
  if (!m) {
    if (byProvider.size >= 256) byProvider.clear();
    byProvider.set(provider, (m = new Map()));
  }
  let p = m.get(model);
  if (p === undefined) {
    p = lookup(cfg, provider, model) ?? null;
    if (m.size > 4096) m.clear();
    m.set(model, p);
  }
  return p ?? undefined;
}

function lookup(cfg: Config, provider: string, model: string, at?: Date): Price | undefined {
  const own = cfg.prices?.[`${provider}/${model}`] ?? cfg.prices?.[`${provider}/*`];
  const p = cfg.providers.find((x) => x.name === provider);
  const table = tablePrice(p, provider, model, at);
  if (!own) return table;
  const merged: Partial<Price> = { ...table, source: table ? `config over ${table.source}` : 'config' };
  if (own.input !== undefined) merged.input = own.input;
  if (own.output !== undefined) merged.output = own.output;
  if (own.cache_read !== undefined) merged.cacheRead = own.cache_read;
  if (own.cache_write !== undefined) merged.cacheWrite = own.cache_write;
  if (own.reasoning !== undefined) merged.reasoning = own.reasoning;
  if (merged.input === undefined || merged.output === undefined) return undefined;
  return merged as Price;
}

/** The bundled table's provider id for a router67 provider: by base_url, then by name; undefined for local hosts. */
export function tableProvider(p: Provider | undefined, name: string): string | undefined {
  const { findProvider } = genai();
  if (p) {
    const byUrl = findProvider({ providerApiUrl: p.base_url.replace(/\/+$/, '') + '/' });
    if (byUrl) return byUrl.id;
    // a local model server (Ollama, llama.cpp, a gateway on this machine) has no list price
    if (/^https?:\/\/(127\.|localhost|\[::1\])/i.test(p.base_url)) return undefined;
  }
  return findProvider({ providerId: name })?.id;
}

function tablePrice(p: Provider | undefined, name: string, model: string, at?: Date): Price | undefined {
  const { calcPrice, findProvider } = genai();
  const providerId = tableProvider(p, name);
  const local = !!p && providerId === undefined && /^https?:\/\/(127\.|localhost|\[::1\])/i.test(p.base_url);
  if (local) return undefined;
  const opts = at ? { timestamp: at } : {};
  let r = providerId ? calcPrice({ input_tokens: 0, output_tokens: 0 }, model, { ...opts, providerId }) : null;
  // an unknown host serving a well-known family (claude-…, gpt-…): the family's maker's list price
  if (!r && !providerId) {
    const maker = findProvider({ modelId: model });
    if (maker) r = calcPrice({ input_tokens: 0, output_tokens: 0 }, model, { ...opts, providerId: maker.id });
  }
  if (!r) return undefined;
  const mp = r.model_price;
  const rate = (k: string): Rate | undefined => {
    const v = mp[k];
    if (typeof v === 'number') return v;
    if (v && typeof v === 'object' && 'base' in v) return { base: v.base, tiers: v.tiers.map((t) => ({ start: t.start, price: t.price })) };
    return undefined;
  };
  const input = rate('input_mtok');
  const output = rate('output_mtok');
  if (input === undefined || output === undefined) return undefined;
  const price: Price = { input, output, source: `${r.provider.id}/${r.model.id}` };
  const cr = rate('cache_read_mtok');
  const cw = rate('cache_write_mtok');
  const rs = rate('output_reasoning_mtok');
  if (cr !== undefined) price.cacheRead = cr;
  if (cw !== undefined) price.cacheWrite = cw;
  if (rs !== undefined) price.reasoning = rs;
  return price;
}

/** A rate for a prompt of `promptTokens` (tiered rates step up past their start). */
export function rateAt(r: Rate, promptTokens: number): number {
  if (typeof r === 'number') return r;
  let v = r.base;
  for (const t of r.tiers) if (promptTokens > t.start) v = t.price;
  return v;
}

/**
 * One figure per model for comparing prices (the routes `cheapest` strategy): USD per million tokens of a
 * typical exchange, 3 prompt tokens to 1 generated (base rates, no cache). Undefined when the price is unknown.
 */
export function blendedPerMillion(cfg: Config, provider: string, model: string): number | undefined {
  const p = priceFor(cfg, provider, model);
  if (!p) return undefined;
  return (3 * rateAt(p.input, 0) + rateAt(p.output, 0)) / 4;
}
