// Tools across dialects, applied to the canonical request between decode and encode:
// - a Responses `namespace` tool's members become plain function tools for targets without namespaces
//   (`<namespace>__<name>`, the flat form Codex itself uses), and their calls go back with `namespace` + the
//   member's own name;
// - a free-form `custom` tool (Codex's apply_patch) becomes a function taking one string argument `input`, and
//   its call goes back as a custom tool call carrying that string;
// - tool names are kept valid for the target (charset, length) and never collide;
// - hosted / server tools map to the target's equivalent (Responses web_search ⇄ Anthropic web_search_20250305)
//   or are left out with a note, as are history records of hosted-tool runs, Anthropic-only request fields and
//   Claude Code's tool-search pieces (`defer_loading`, `tool_reference`). With strict tools, anything left out
//   refuses the attempt instead.
import { createHash } from 'node:crypto';
import {
  type Dialect,
  type FunctionTool,
  type Part,
  type RawTool,
  type Request,
  type Response,
  type Sink,
  type Tool,
  type ToolCallPart,
  type ToolResultContent,
  DIALECT_NAMES,
  UnsupportedFeatureError,
  isObj,
  str,
} from './canonical.js';

/** What the client calls a tool the upstream knows under another name. */
export interface ToolIdentity {
  name: string;
  namespace?: string;
  custom?: boolean;
}
/** Upstream tool name → the client's tool (only names that changed, or free-form tools). */
export type ToolNames = Map<string, ToolIdentity>;

export interface ToolAdaptation {
  /** What was mapped, flattened or dropped, for the log. */
  notes: string[];
  /** Short labels of what was left out (the `x-router67-dropped` header). */
  dropped: string[];
  names?: ToolNames;
}

/** Longest tool name each target accepts (Anthropic ^[a-zA-Z0-9_-]{1,128}$, OpenAI ^[a-zA-Z0-9_-]{1,64}$). */
const NAME_LIMIT: Record<Dialect, number> = { anthropic: 128, openai: 64, responses: 64, ollama: 64 };
const NAME_CHARS = /^[a-zA-Z0-9_-]+$/;

/** The flat name of a namespaced tool, as Codex spells it: `ns__name` (stray underscores at the seam trimmed). */
export function flatName(namespace: string | undefined, name: string): string {
  if (!namespace) return name;
  return `${namespace.replace(/_+$/, '')}__${name.replace(/^_+/, '')}`;
}

/** Hands out valid, unique upstream names; the same client tool always gets the same name within a request. */
class Namer {
  private readonly used = new Set<string>();
  private readonly byKey = new Map<string, string>();
  readonly names: ToolNames = new Map();
  constructor(private readonly limit: number) {}

  /** A name the target already uses (a server tool's): function tools never get it. */
  reserve(name: string): void {
    this.used.add(name);
  }

  alias(id: ToolIdentity): string {
    const key = `${id.namespace ?? ''}\u0000${id.name}`;
    const known = this.byKey.get(key);
    if (known !== undefined) return known;
    let cand = flatName(id.namespace, id.name).replace(/[^a-zA-Z0-9_-]/g, '_');
    if (!cand || cand.length > this.limit || this.used.has(cand)) {
      const h = createHash('sha256').update(key).digest('hex').slice(0, 8);
      const base = cand.slice(0, this.limit - 9) || 'tool';
      cand = `${base}_${h}`;
      for (let i = 2; this.used.has(cand); i++) cand = `${base.slice(0, this.limit - 10 - String(i).length)}_${h}_${i}`;
    }
    this.used.add(cand);
    this.byKey.set(key, cand);
    if (cand !== id.name || id.namespace || id.custom) this.names.set(cand, id);
    return cand;
  }
}

/** The function schema standing in for a free-form tool. */
function customSchema(format: unknown): Record<string, unknown> {
  let desc = 'The raw input for this tool, as free-form text.';
  if (isObj(format) && format.type === 'grammar' && str(format.definition)) {
    desc = `The raw input for this tool. It must match this ${str(format.syntax) ?? ''} grammar:\n${str(format.definition)}`;
  }
  return { type: 'object', properties: { input: { type: 'string', description: desc } }, required: ['input'], additionalProperties: false };
}

/** The raw input of a free-form tool call made as a function call with `{"input": …}`. */
export function customInput(args: string): string {
  try {
    const j: unknown = JSON.parse(args);
    if (isObj(j) && typeof j.input === 'string') return j.input;
    if (typeof j === 'string') return j;
  } catch {
    /* not JSON: the text itself */
  }
  return args;
}

// ---------- hosted / server tools ----------

function pick(o: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  const r: Record<string, unknown> = {};
  for (const k of keys) if (o[k] !== undefined && o[k] !== null) r[k] = o[k];
  return r;
}
const LOCATION = ['city', 'region', 'country', 'timezone'];

type Mapped = { tool: RawTool | FunctionTool; note: string } | { why: string };

/** Anthropic-defined client tools (the client runs them) whose input is documented: the same tool as a function. */
const ANTHROPIC_CLIENT_TOOLS: { type: RegExp; description: string; parameters: Record<string, unknown> }[] = [
  {
    type: /^bash_\d+$/,
    description: 'Run a command in a persistent bash shell. Set restart to true to restart the shell.',
    parameters: {
      type: 'object',
      properties: { command: { type: 'string', description: 'The bash command to run.' }, restart: { type: 'boolean', description: 'Restart the shell.' } },
    },
  },
  {
    type: /^text_editor_\d+$/,
    description:
      'View, create and edit text files. view shows a file (optionally view_range [start, end] lines) or lists a directory; create writes file_text to a new file; ' +
      'str_replace replaces old_str (which must occur exactly once) with new_str; insert puts new_str after line insert_line.',
    parameters: {
      type: 'object',
      properties: {
        command: { type: 'string', enum: ['view', 'create', 'str_replace', 'insert', 'undo_edit'] },
        path: { type: 'string', description: 'Absolute path of the file or directory.' },
        file_text: { type: 'string' },
        old_str: { type: 'string' },
        new_str: { type: 'string' },
        insert_line: { type: 'integer' },
        view_range: { type: 'array', items: { type: 'integer' }, minItems: 2, maxItems: 2 },
      },
      required: ['command', 'path'],
    },
  },
];

/** A hosted tool of the client's dialect as the target's equivalent, or why there is none. */
function mapHosted(t: RawTool, to: Dialect): Mapped {
  const v = isObj(t.value) ? t.value : {};
  const type = str(v.type) ?? 'unknown';
  const none = { why: `${DIALECT_NAMES[to]} has no equivalent` };
  if (t.dialect === 'responses' && /^web_search/.test(type)) {
    if (to !== 'anthropic') return { why: `${DIALECT_NAMES[to]} has no hosted web search` };
    if (v.external_web_access === false) return { why: 'cached-only web search (external_web_access: false) has no Anthropic equivalent' };
    const out: Record<string, unknown> = { type: 'web_search_20250305', name: 'web_search' };
    const domains = isObj(v.filters) && Array.isArray(v.filters.allowed_domains) ? v.filters.allowed_domains : undefined;
    if (domains?.length) out.allowed_domains = domains;
    if (isObj(v.user_location)) out.user_location = { type: 'approximate', ...pick(v.user_location, LOCATION) };
    return { tool: { kind: 'raw', dialect: 'anthropic', what: 'the web_search server tool', value: out }, note: `mapped tool ${type} → Anthropic web_search_20250305` };
  }
  if (t.dialect === 'anthropic' && /^web_search_\d+$/.test(type)) {
    if (to !== 'responses') return { why: `${DIALECT_NAMES[to]} has no hosted web search` };
    const out: Record<string, unknown> = { type: 'web_search' };
    if (Array.isArray(v.allowed_domains) && v.allowed_domains.length) out.filters = { allowed_domains: v.allowed_domains };
    if (isObj(v.user_location)) out.user_location = { type: 'approximate', ...pick(v.user_location, LOCATION) };
    const lost = ['max_uses', 'blocked_domains'].filter((k) => v[k] !== undefined);
    return {
      tool: { kind: 'raw', dialect: 'responses', what: 'the web_search tool', value: out },
      note: `mapped tool ${type} → Responses web_search${lost.length ? ` (without ${lost.join(', ')})` : ''}`,
    };
  }
  if (t.dialect === 'anthropic') {
    const known = ANTHROPIC_CLIENT_TOOLS.find((k) => k.type.test(type));
    const name = str(v.name);
    if (known && name) {
      const tool: FunctionTool = { kind: 'function', name, description: known.description, parameters: structuredClone(known.parameters) };
      return { tool, note: `mapped tool ${type} → function tool ${name} (the client runs it)` };
    }
  }
  return none;
}

/** A client history record of a hosted/server tool run (not a function call): it cannot go to another dialect. */
function hostedRecord(p: Part, to: Dialect): string | undefined {
  if (p.type !== 'raw' || p.dialect === to || !isObj(p.value)) return undefined;
  const type = str(p.value.type) ?? '';
  if (p.dialect === 'anthropic' && (type === 'server_tool_use' || type === 'mcp_tool_use' || type === 'container_upload' || type.endsWith('_tool_result'))) return type;
  if (p.dialect === 'responses' && (/_call(_output)?$/.test(type) || /^(mcp_|tool_search_)/.test(type))) return type;
  if (p.dialect === 'openai' && p.what.endsWith('tool call')) return p.what.replace(/^an? /, '');
  return undefined;
}

/** Claude Code's tool search: a `tool_reference` inside a tool result names a deferred tool now loaded. */
function toolReference(c: ToolResultContent, to: Dialect): string | undefined {
  if (c.type !== 'raw' || c.dialect !== 'anthropic' || to === 'anthropic' || !isObj(c.value) || c.value.type !== 'tool_reference') return undefined;
  return str(c.value.tool_name) ?? '';
}

// ---------- the request ----------

/**
 * Adapts the request's tools (definitions, calls and results in the history, tool_choice) for `to`.
 * Mutates `req`. Throws UnsupportedFeatureError for anything it would leave out when `strict`.
 */
export function adaptTools(req: Request, from: Dialect, to: Dialect, body: unknown, strict: boolean): ToolAdaptation {
  const notes: string[] = [];
  const dropped: string[] = [];
  const drop = (label: string, what: string, why: string) => {
    if (strict) throw new UnsupportedFeatureError(to, what, `${why}; strict_tools is on`);
    if (!dropped.includes(label)) dropped.push(label);
    notes.push(`dropped ${what} (${why})`);
  };

  if (from === 'anthropic' && to !== 'anthropic' && isObj(body)) {
    if (body.mcp_servers !== undefined) drop('mcp_servers', 'mcp_servers', 'remote MCP servers are run by Anthropic');
    if (body.container !== undefined) drop('container', 'container', 'an Anthropic code-execution container');
  }

  const nativeNs = to === 'responses';
  const nativeCustom = to === 'responses';
  const namer = new Namer(NAME_LIMIT[to]);
  const valid = (n: string) => NAME_CHARS.test(n) && n.length <= NAME_LIMIT[to];
  const ident = (name: string, namespace: string | undefined, custom: boolean | undefined): ToolIdentity => ({
    name,
    ...(namespace && !nativeNs ? { namespace } : {}),
    ...(custom && !nativeCustom ? { custom: true } : {}),
  });

  // definitions
  const kept: Tool[] = [];
  const fns: FunctionTool[] = [];
  for (const t of req.tools ?? []) {
    if (t.kind === 'function') {
      kept.push(t);
      fns.push(t);
      continue;
    }
    if (t.dialect === to) {
      kept.push(t);
      continue;
    }
    const m = mapHosted(t, to);
    const label = isObj(t.value) ? (str(t.value.type) ?? 'unknown') : 'unknown';
    if ('tool' in m) {
      const name = m.tool.kind === 'function' ? m.tool.name : isObj(m.tool.value) ? str(m.tool.value.name) : undefined;
      const same = (k: Tool) => k.kind === m.tool.kind && (k.kind === 'function' ? k.name : isObj(k.value) ? k.value.name : undefined) === name;
      if (name !== undefined && kept.some(same)) {
        notes.push(`left out a second ${label} tool (one ${name} tool is enough)`);
        continue;
      }
      kept.push(m.tool);
      if (m.tool.kind === 'function') fns.push(m.tool);
      notes.push(m.note);
    } else drop(label, `tool ${label}`, m.why);
  }
  for (const k of kept) if (k.kind === 'raw' && isObj(k.value) && str(k.value.name)) namer.reserve(str(k.value.name)!);
  // names that need no change are taken first, so they never move
  const unchanged = (t: FunctionTool) => !(t.namespace && !nativeNs) && valid(t.name);
  const byOriginal = new Map<string, string>();
  const flattened = new Map<string, number>();
  const customs: string[] = [];
  let deferred = 0;
  let renamed = 0;
  for (const t of [...fns.filter(unchanged), ...fns.filter((t) => !unchanged(t))]) {
    const id = ident(t.name, t.namespace, t.custom !== undefined);
    const alias = namer.alias(id);
    if (!byOriginal.has(t.name) || !id.namespace) byOriginal.set(t.name, alias);
    if (id.namespace) {
      flattened.set(id.namespace, (flattened.get(id.namespace) ?? 0) + 1);
      if (t.namespaceDescription) t.description = t.description ? `${t.namespaceDescription}\n\n${t.description}` : t.namespaceDescription;
      delete t.namespace;
      delete t.namespaceDescription;
    } else if (alias !== t.name) renamed++;
    if (id.custom) {
      customs.push(t.name);
      t.parameters = customSchema(t.custom?.format);
      delete t.custom;
      delete t.strict;
    }
    if (t.deferred) {
      deferred++;
      delete t.deferred;
    }
    t.name = alias;
  }
  for (const [ns, n] of flattened) notes.push(`flattened namespace ${ns} (${n} tool${n === 1 ? '' : 's'}) into ${ns.replace(/_+$/, '')}__<name> function tools`);
  if (customs.length) notes.push(`mapped free-form tool${customs.length === 1 ? '' : 's'} ${customs.join(', ')} → function tool with one string argument "input"`);
  if (renamed) notes.push(`renamed ${renamed} tool${renamed === 1 ? '' : 's'} to names ${DIALECT_NAMES[to]} accepts`);
  if (deferred) notes.push(`sent ${deferred} deferred (defer_loading) tool${deferred === 1 ? '' : 's'} up front: no tool search on this route`);
  if (req.tools) req.tools = kept;

  // history: calls renamed like their tools, free-form input wrapped, hosted-tool records left out
  let historyDropped = 0;
  let references = 0;
  const removed = new Set<string>();
  let merged = false;
  for (const m of req.messages) {
    const before = m.parts.length;
    const parts: Part[] = [];
    for (const p of m.parts) {
      const rec = hostedRecord(p, to);
      if (rec !== undefined) {
        // a record of what already ran: leaving it out takes no tool away, so strict_tools does not refuse it
        historyDropped++;
        removed.add(rec);
        continue;
      }
      if (p.type === 'tool_call') adaptCall(p);
      else if (p.type === 'tool_result') {
        p.content = p.content.map((c) => {
          const ref = toolReference(c, to);
          if (ref === undefined) return c;
          references++;
          return { type: 'text', text: `Tool ${ref} loaded.` };
        });
      }
      parts.push(p);
    }
    if (parts.length !== before) {
      m.parts = parts;
      merged = true;
    }
  }
  if (historyDropped) notes.push(`left ${historyDropped} earlier hosted-tool record${historyDropped === 1 ? '' : 's'} (${[...removed].join(', ')}) out of the conversation`);
  if (references) notes.push(`mapped ${references} tool_reference block${references === 1 ? '' : 's'} to text`);
  if (merged) {
    // items that were left out may have split a turn: drop what became empty, rejoin the halves
    const out: typeof req.messages = [];
    for (const m of req.messages) {
      if (!m.parts.length) continue;
      const last = out[out.length - 1];
      if (last && last.role === m.role) last.parts.push(...m.parts);
      else out.push(m);
    }
    req.messages = out;
  }

  const tc = req.toolChoice;
  if (tc?.type === 'tool') {
    const alias = byOriginal.get(tc.name);
    if (alias !== undefined) tc.name = alias;
    else if (!kept.some((t) => t.kind === 'function' && t.name === tc.name) && dropped.length) {
      req.toolChoice = { type: 'auto' };
      notes.push(`tool_choice ${tc.name} was left out; tool_choice is auto`);
    }
  }

  const r: ToolAdaptation = { notes, dropped };
  if (namer.names.size) r.names = namer.names;
  return r;

  function adaptCall(p: ToolCallPart): void {
    const id = ident(p.name, p.namespace, p.custom);
    p.name = namer.alias(id);
    if (id.namespace) delete p.namespace;
    if (id.custom) {
      p.args = JSON.stringify({ input: p.args });
      delete p.custom;
    }
  }
}

// ---------- the way back ----------

function restoreCall(p: ToolCallPart, names: ToolNames): void {
  const id = names.get(p.name);
  if (!id) return;
  p.name = id.name;
  if (id.namespace) p.namespace = id.namespace;
  if (id.custom) {
    p.custom = true;
    p.args = customInput(p.args);
  }
}

/** Anthropic's web search run (a `server_tool_use` block) as the Responses `web_search_call` item. */
function webSearchCall(id: string, input: unknown): Record<string, unknown> {
  const q = isObj(input) ? str(input.query) : undefined;
  return {
    id: `ws_${id.replace(/^srvtoolu_/, '') || Date.now().toString(36)}`,
    type: 'web_search_call',
    status: 'completed',
    action: { type: 'search', ...(q ? { query: q, queries: [q] } : {}) },
  };
}
const isWebSearchUse = (v: unknown): v is Record<string, unknown> => isObj(v) && v.type === 'server_tool_use' && v.name === 'web_search';

/** A whole upstream answer with the client's tool names, namespaces and free-form calls (and web searches shown). */
export function restoreResponse(resp: Response, names: ToolNames | undefined, upstream?: Dialect, client?: Dialect): Response {
  if (upstream === 'anthropic' && client === 'responses') {
    resp.parts = resp.parts.map((p) =>
      p.type === 'raw' && p.dialect === 'anthropic' && isWebSearchUse(p.value)
        ? { type: 'raw', dialect: 'responses', what: 'a web_search_call item', value: webSearchCall(str(p.value.id) ?? '', p.value.input) }
        : p,
    );
  }
  if (!names?.size) return resp;
  for (const p of resp.parts) if (p.type === 'tool_call') restoreCall(p, names);
  return resp;
}

/**
 * A stream sink that gives calls back their client names and namespaces. A free-form call's `{"input": …}`
 * is held until the call ends and then sent as its raw input in one piece. From Anthropic to a Responses client,
 * a web search the upstream ran shows as a `web_search_call` item once its query is complete.
 */
export function restoringSink(sink: Sink, names: ToolNames | undefined, upstream?: Dialect, client?: Dialect): Sink {
  if (upstream === 'anthropic' && client === 'responses') sink = webSearchSink(sink);
  if (!names?.size) return sink;
  return namesSink(sink, names);
}

function webSearchSink(sink: Sink): Sink {
  const held = new Map<number, { id: string; json: string }>();
  return (ev) => {
    if (ev.type === 'block_start' && ev.block.kind === 'raw' && ev.block.dialect === 'anthropic' && isWebSearchUse(ev.block.value)) {
      const v = ev.block.value;
      held.set(ev.index, { id: str(v.id) ?? '', json: isObj(v.input) && Object.keys(v.input).length ? JSON.stringify(v.input) : '' });
      return;
    }
    const h = 'index' in ev ? held.get(ev.index) : undefined;
    if (h && ev.type === 'args') {
      h.json += ev.json;
      return;
    }
    if (h && ev.type === 'block_stop') {
      held.delete(ev.index);
      let input: unknown;
      try {
        input = JSON.parse(h.json || '{}');
      } catch {
        input = {};
      }
      sink({ type: 'block_start', index: ev.index, block: { kind: 'raw', dialect: 'responses', value: webSearchCall(h.id, input) } });
    }
    sink(ev);
  };
}

function namesSink(sink: Sink, names: ToolNames): Sink {
  const held = new Map<number, string>();
  return (ev) => {
    if (ev.type === 'block_start' && ev.block.kind === 'tool_call') {
      const id = names.get(ev.block.name);
      if (id) {
        if (id.custom) held.set(ev.index, '');
        sink({ ...ev, block: { ...ev.block, name: id.name, ...(id.namespace ? { namespace: id.namespace } : {}), ...(id.custom ? { custom: true } : {}) } });
        return;
      }
    } else if (ev.type === 'args' && held.has(ev.index)) {
      held.set(ev.index, held.get(ev.index)! + ev.json);
      return;
    } else if (ev.type === 'block_stop' && held.has(ev.index)) {
      const input = customInput(held.get(ev.index)!);
      held.delete(ev.index);
      if (input) sink({ type: 'args', index: ev.index, json: input });
    }
    sink(ev);
  };
}
