// `[[routes]]` matching: each route's `match` compiled once per config into a list of predicates, cheapest
// first (model, dialect, path, host, app, headers), then the facts that need the body (tokens, images, tools,
// thinking, stream), which are computed lazily from one JSON.parse shared by every route of the request.
import type { RouteMatch } from '../config/schema.js';
import type { RouteRequest } from './plan.js';
import { codecs } from '../formats/lazy.js';

export type StringTest = (s: string) => boolean;

const REGEX_SPECIAL = /[.+^${}()|[\]\\]/g;

/**
 * A glob (`*` any run, `?` one character) as a test; an exact string is compared directly, and globs with `*`
 * only by plain string operations (a regular expression costs far more per call).
 */
export function compileGlob(pattern: string, caseInsensitive = false): StringTest {
  if (pattern === '*') return () => true;
  const norm = caseInsensitive ? (s: string) => s.toLowerCase() : (s: string) => s;
  const p = norm(pattern);
  if (!/[*?]/.test(p)) return caseInsensitive ? (s) => s.length === p.length && norm(s) === p : (s) => s === p;
  if (!p.includes('?')) {
    const parts = p.split('*');
    const first = parts[0]!;
    const last = parts[parts.length - 1]!;
    const middle = parts.slice(1, -1).filter((x) => x !== '');
    const min = parts.reduce((n, x) => n + x.length, 0);
    return (raw) => {
      if (raw.length < min) return false;
      const s = norm(raw);
      if (!s.startsWith(first) || !s.endsWith(last)) return false;
      let at = first.length;
      const end = s.length - last.length;
      for (const m of middle) {
        const i = s.indexOf(m, at);
        if (i < 0 || i + m.length > end) return false;
        at = i + m.length;
      }
      return true;
    };
  }
  const body = pattern.replace(REGEX_SPECIAL, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  const re = new RegExp(`^${body}$`, caseInsensitive ? 'is' : 's');
  return (s) => re.test(s);
}

function compileGlobs(p: string | string[], ci = false): StringTest {
  const list = Array.isArray(p) ? p : [p];
  const tests = list.map((x) => compileGlob(x, ci));
  return tests.length === 1 ? tests[0]! : (s) => tests.some((t) => t(s));
}

/** What the body says, computed on first use from a single parse. */
export class BodyFacts {
  private parsed: unknown = undefined;
  private parsedOnce = false;
  private tokens?: number;
  private scan?: { images: boolean; toolResults: boolean };

  constructor(private readonly req: Pick<RouteRequest, 'body' | 'dialect' | 'parse'>) {}

  /** The parsed body (undefined when it is not JSON). Parsed at most once. */
  json(): Record<string, unknown> | undefined {
    if (!this.parsedOnce) {
      this.parsedOnce = true;
      try {
        this.parsed = this.req.parse ? this.req.parse() : JSON.parse(this.req.body.toString('utf8'));
      } catch {
        this.parsed = undefined;
      }
    }
    const p = this.parsed;
    return p && typeof p === 'object' && !Array.isArray(p) ? (p as Record<string, unknown>) : undefined;
  }

  /** router67's local, conservative estimate of the input tokens (formats/tokens.ts). */
  inputTokens(): number {
    if (this.tokens === undefined) {
      const body = this.json();
      const d = this.req.dialect;
      let n: number | undefined;
      if (body && d !== 'unknown') {
        try {
          n = codecs().estimateInputTokens(d, body);
        } catch {
          n = undefined;
        }
      }
      // an unknown shape: about 3 bytes a token (the estimator's own rate for ASCII)
      this.tokens = n ?? Math.ceil(this.req.body.length / 3);
    }
    return this.tokens;
  }

  private walk(): { images: boolean; toolResults: boolean } {
    if (this.scan) return this.scan;
    const out = { images: false, toolResults: false };
    const visit = (v: unknown, depth: number): void => {
      if (depth > 64 || (out.images && out.toolResults)) return;
      if (Array.isArray(v)) {
        for (const x of v) visit(x, depth + 1);
        return;
      }
      if (!v || typeof v !== 'object') return;
      const o = v as Record<string, unknown>;
      const t = o.type;
      if (t === 'image' || t === 'image_url' || t === 'input_image') out.images = true;
      else if (t === 'tool_result' || t === 'function_call_output' || t === 'custom_tool_call_output') out.toolResults = true;
      if (o.role === 'tool') out.toolResults = true;
      // Ollama: images beside the message text
      if (Array.isArray(o.images) && o.images.length > 0) out.images = true;
      for (const k in o) {
        const x = o[k];
        if (x && typeof x === 'object') visit(x, depth + 1);
      }
    };
    const b = this.json();
    if (b) {
      for (const k of ['messages', 'input', 'system', 'prompt'] as const) if (b[k] !== undefined) visit(b[k], 0);
    }
    return (this.scan = out);
  }

  images(): boolean {
    return this.walk().images;
  }

  toolResults(): boolean {
    return this.walk().toolResults;
  }

  tools(): boolean {
    const b = this.json();
    return !!b && ((Array.isArray(b.tools) && b.tools.length > 0) || (Array.isArray(b.functions) && b.functions.length > 0));
  }

  /** The names and types of the tools offered (`tools[].name`, `tools[].type`, `tools[].function.name`). */
  toolNames(): string[] {
    const b = this.json();
    const out: string[] = [];
    for (const list of [b?.tools, b?.functions]) {
      if (!Array.isArray(list)) continue;
      for (const t of list as Record<string, unknown>[]) {
        if (!t || typeof t !== 'object') continue;
        if (typeof t.name === 'string') out.push(t.name);
        if (typeof t.type === 'string' && t.type !== 'function' && t.type !== 'custom') out.push(t.type);
        const fn = t.function as { name?: unknown } | undefined;
        if (fn && typeof fn.name === 'string') out.push(fn.name);
      }
    }
    return out;
  }

  /** The request asks for thinking / reasoning (Anthropic `thinking`, OpenAI `reasoning_effort`, Responses/OpenRouter `reasoning`, Ollama `think`). */
  thinking(): boolean {
    const b = this.json();
    if (!b) return false;
    const th = b.thinking as { type?: unknown } | undefined;
    if (th && typeof th === 'object' && th.type !== 'disabled') return true;
    const effort = b.reasoning_effort;
    if (typeof effort === 'string' && effort !== 'none') return true;
    const r = b.reasoning as { effort?: unknown; enabled?: unknown; max_tokens?: unknown; exclude?: unknown } | undefined;
    if (r && typeof r === 'object') {
      if (r.enabled === false || r.effort === 'none') return false;
      if (r.enabled === true || typeof r.effort === 'string' || (typeof r.max_tokens === 'number' && r.max_tokens > 0)) return true;
    }
    if (b.think === true || (typeof b.think === 'string' && b.think !== '')) return true;
    return false;
  }

  stream(): boolean {
    return this.json()?.stream === true;
  }
}

export type Predicate = (req: RouteRequest, facts: BodyFacts) => boolean;

export interface CompiledMatch {
  /** The requested-model condition, apart (its outcome per model name is remembered); undefined: any model. */
  model?: StringTest;
  /** Every other condition. */
  test: Predicate;
  /** Some condition needs the body. */
  needsBody: boolean;
}

function pathOf(req: RouteRequest): string {
  const q = req.path.indexOf('?');
  return q < 0 ? req.path : req.path.slice(0, q);
}

function headerValue(req: RouteRequest, name: string): string | undefined {
  const v = req.headers[name];
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v.join(', ') : String(v);
}

/** Compiles a route's `match`: all present keys must hold. */
export function compileMatch(m: RouteMatch): CompiledMatch {
  const cheap: Predicate[] = [];
  const body: Predicate[] = [];
  const model = m.model !== undefined ? compileGlobs(m.model) : undefined;
  if (m.dialect !== undefined) {
    const set = new Set<string>(Array.isArray(m.dialect) ? m.dialect : [m.dialect]);
    cheap.push((r) => set.has(r.dialect));
  }
  if (m.path !== undefined) {
    const t = compileGlobs(m.path);
    cheap.push((r) => t(pathOf(r)));
  }
  if (m.host !== undefined) {
    const t = compileGlobs(m.host, true);
    cheap.push((r) => r.host !== undefined && t(r.host));
  }
  if (m.app !== undefined) {
    const t = compileGlobs(m.app, true);
    cheap.push((r) => r.app !== undefined && t(r.app));
  }
  if (m.headers !== undefined) {
    for (const [name, g] of Object.entries(m.headers)) {
      const lower = name.toLowerCase();
      const t = compileGlob(g);
      cheap.push((r) => {
        const v = headerValue(r, lower);
        return v !== undefined && t(v);
      });
    }
  }
  const flag = (want: boolean | undefined, get: (f: BodyFacts) => boolean) => {
    if (want !== undefined) body.push((_r, f) => get(f) === want);
  };
  flag(m.stream, (f) => f.stream());
  flag(m.has_tools, (f) => f.tools());
  flag(m.thinking, (f) => f.thinking());
  flag(m.has_images, (f) => f.images());
  flag(m.has_tool_results, (f) => f.toolResults());
  if (m.tool !== undefined) {
    const t = compileGlobs(m.tool);
    body.push((_r, f) => f.toolNames().some(t));
  }
  if (m.min_input_tokens !== undefined) {
    const n = m.min_input_tokens;
    body.push((_r, f) => f.inputTokens() >= n);
  }
  if (m.max_input_tokens !== undefined) {
    const n = m.max_input_tokens;
    body.push((_r, f) => f.inputTokens() <= n);
  }
  const all = [...cheap, ...body];
  let test: Predicate;
  if (all.length === 0) test = () => true;
  else if (all.length === 1) test = all[0]!;
  else
    test = (r, f) => {
      for (const p of all) if (!p(r, f)) return false;
      return true;
    };
  return { model, test, needsBody: body.length > 0 };
}
