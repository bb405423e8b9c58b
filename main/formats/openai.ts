// OpenAI Chat Completions (and the OpenAI-compatible hosts: DeepSeek, OpenRouter, llama.cpp, vLLM, …):
// request, response and stream decoders/encoders.
import type { BlockKind, Carrier, DocumentPart, ImagePart, FunctionTool, Message, Part, Request, Response, Sink, StopReason, TextPart, ThinkingPart, ToolResultContent, Usage } from './canonical.js';
import { InvalidRequestError, ThinkSplitter, UnsupportedFeatureError, imageUrl, isObj, newId, num, parseDataUrl, splitThink, str } from './canonical.js';
import { BlockStreamEncoder, FramedDecoder, type ThinkingState, answerOf, effortReasoning, joinText, jsonSchemaIn, jsonSchemaOut, ownRaw, pushToolResult, readNumbers, requestOf, responseOf, stopWithTools, thinkingOf, unknownRole, writeNumbers } from './codec.js';
import { openaiEffort } from './reasoning.js';
import { streamErrorEvent } from './errors.js';

const ANTHROPIC_FORMAT = 'anthropic-claude-v1';
/** OpenRouter's `format` for reasoning from OpenAI's Responses models. */
export const RESPONSES_FORMAT = 'openai-responses-v1';

export function stopIn(s: unknown, hasTools: boolean): StopReason {
  switch (s) {
    case 'length':
      return 'max_tokens';
    case 'tool_calls':
    case 'function_call':
      return 'tool_use';
    case 'content_filter':
      return 'content_filter';
    default:
      return hasTools ? 'tool_use' : 'end_turn';
  }
}
export function stopOut(s: StopReason): string {
  switch (s) {
    case 'max_tokens':
    case 'context_window':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'refusal':
    case 'content_filter':
      return 'content_filter';
    default:
      return 'stop';
  }
}

/** OpenAI usage, under Chat's names (prompt/completion) or Responses' (input/output). */
export function usageIn(u: unknown): Usage {
  if (!isObj(u)) return {};
  const r: Usage = {};
  const p = num(u.prompt_tokens) ?? num(u.input_tokens);
  const c = num(u.completion_tokens) ?? num(u.output_tokens);
  if (p !== undefined) r.input = p;
  if (c !== undefined) r.output = c;
  const details = (v: unknown) => (isObj(v) ? v : undefined);
  const ptd = details(u.prompt_tokens_details) ?? details(u.input_tokens_details);
  const cached = (ptd && num(ptd.cached_tokens)) ?? num(u.prompt_cache_hit_tokens);
  if (cached !== undefined) r.cacheRead = cached;
  const cw = ptd && num(ptd.cache_write_tokens);
  if (cw !== undefined) r.cacheWrite = cw;
  const ctd = details(u.completion_tokens_details) ?? details(u.output_tokens_details);
  const rt = ctd && num(ctd.reasoning_tokens);
  if (rt !== undefined) r.reasoning = rt;
  return r;
}
/** The counts OpenAI reports (Chat and Responses name them differently), none missing. */
export function usageCounts(u: Usage): { input: number; output: number; total: number; cached: number; reasoning: number } {
  const input = u.input ?? 0;
  const output = u.output ?? 0;
  return { input, output, total: input + output, cached: u.cacheRead ?? 0, reasoning: u.reasoning ?? 0 };
}
function usageOut(u: Usage): Record<string, unknown> {
  const n = usageCounts(u);
  return { prompt_tokens: n.input, completion_tokens: n.output, total_tokens: n.total, prompt_tokens_details: { cached_tokens: n.cached }, completion_tokens_details: { reasoning_tokens: n.reasoning } };
}

// ---------- reasoning (DeepSeek reasoning_content, OpenRouter reasoning_details) ----------

/** OpenRouter `reasoning_details` → thinking parts. Claude's entries keep their genuine signature. */
export function detailsToThinking(details: unknown[]): ThinkingPart[] {
  const entries = details.filter(isObj);
  const out: ThinkingPart[] = [];
  const anthropic = entries.length > 0 && entries.every((e) => e.format === ANTHROPIC_FORMAT);
  if (anthropic) {
    for (const e of entries) {
      if (e.type === 'reasoning.encrypted') out.push({ type: 'thinking', text: '', redacted: str(e.data) ?? '' });
      else if (e.type === 'reasoning.text') {
        const p: ThinkingPart = { type: 'thinking', text: str(e.text) ?? '' };
        if (str(e.signature)) p.signature = str(e.signature)!;
        out.push(p);
      }
    }
    return out;
  }
  let text = '';
  for (const e of entries) text += str(e.text) ?? str(e.summary) ?? '';
  return [{ type: 'thinking', text, carrier: { k: 'or', d: entries } }];
}

/** Thinking parts → the fields an OpenAI-compatible assistant message carries them in. */
export function thinkingToMessageFields(parts: ThinkingPart[], forClient: boolean, allText = false): Record<string, unknown> {
  const details: unknown[] = [];
  let rc = '';
  let all = '';
  for (const p of parts) {
    all += p.text;
    if (p.carrier?.k === 'or') details.push(...p.carrier.d);
    // an OpenAI reasoning item rides the way OpenRouter carries them, so a Chat client brings it back
    else if (p.carrier?.k === 'resp' && p.carrier.enc)
      details.push({ type: 'reasoning.encrypted', ...(p.carrier.id ? { id: p.carrier.id } : {}), data: p.carrier.enc, format: RESPONSES_FORMAT, index: details.length });
    else if (p.redacted) details.push({ type: 'reasoning.encrypted', data: p.redacted, format: ANTHROPIC_FORMAT, index: details.length });
    else if (p.signature) details.push({ type: 'reasoning.text', text: p.text, signature: p.signature, format: ANTHROPIC_FORMAT, index: details.length });
    else if (p.carrier?.k === 'rc') rc += p.text;
  }
  const f: Record<string, unknown> = {};
  // To a client: all reasoning text as reasoning_content. To an upstream: what came from that kind of host, or
  // (allText) all earlier reasoning, for hosts that insist on it (DeepSeek / Kimi thinking mode).
  const rcOut = forClient || allText ? all : rc;
  if (rcOut) f.reasoning_content = rcOut;
  if (details.length) f.reasoning_details = details;
  return f;
}

// ---------- request decode ----------

function contentParts(c: unknown, allowRefusal: boolean): Part[] {
  if (typeof c === 'string') return c ? [{ type: 'text', text: c }] : [];
  if (!Array.isArray(c)) return [];
  const parts: Part[] = [];
  for (const p of c) {
    if (typeof p === 'string') {
      parts.push({ type: 'text', text: p });
      continue;
    }
    if (!isObj(p)) continue;
    const cache = p.cache_control ? { cache: p.cache_control } : {};
    switch (p.type) {
      case 'text':
        parts.push({ type: 'text', text: str(p.text) ?? '', ...cache });
        break;
      case 'refusal':
        if (allowRefusal) parts.push({ type: 'text', text: str(p.refusal) ?? '' });
        break;
      case 'image_url': {
        const iu = isObj(p.image_url) ? p.image_url : { url: p.image_url };
        const url = str(iu.url) ?? '';
        const d = parseDataUrl(url);
        parts.push({
          type: 'image',
          source: d ? { kind: 'base64', mediaType: d.mediaType, data: d.data } : { kind: 'url', url },
          ...(str(iu.detail) ? { detail: str(iu.detail)! } : {}),
          ...cache,
        });
        break;
      }
      case 'file': {
        const f = isObj(p.file) ? p.file : {};
        const d = str(f.file_data) ? parseDataUrl(str(f.file_data)!) : undefined;
        if (d) parts.push({ type: 'document', mediaType: d.mediaType, data: d.data, ...(str(f.filename) ? { filename: str(f.filename)! } : {}) });
        else parts.push({ type: 'raw', dialect: 'openai', what: 'a file referenced by file_id', value: p });
        break;
      }
      default:
        parts.push({ type: 'raw', dialect: 'openai', what: `a ${String(p.type)} content part`, value: p });
    }
  }
  return parts;
}

function decodeAssistantReasoning(m: Record<string, unknown>): ThinkingPart[] {
  if (Array.isArray(m.reasoning_details) && m.reasoning_details.length) return detailsToThinking(m.reasoning_details);
  const rc = str(m.reasoning_content) ?? str(m.reasoning);
  return rc ? [{ type: 'thinking', text: rc, carrier: { k: 'rc' } }] : [];
}

function decodeToolCalls(tcs: unknown, parts: Part[]): void {
  if (!Array.isArray(tcs)) return;
  for (const tc of tcs) {
    if (!isObj(tc)) continue;
    const fn = isObj(tc.function) ? tc.function : {};
    if (tc.type === 'custom' && isObj(tc.custom)) {
      parts.push({ type: 'tool_call', id: str(tc.id) || newId('call_'), name: str(tc.custom.name) ?? '', args: str(tc.custom.input) ?? '', custom: true });
      continue;
    }
    if (tc.type !== undefined && tc.type !== 'function') {
      parts.push({ type: 'raw', dialect: 'openai', what: `a ${String(tc.type)} tool call`, value: tc });
      continue;
    }
    parts.push({
      type: 'tool_call',
      id: str(tc.id) || newId('call_'),
      name: str(fn.name) ?? '',
      args: typeof fn.arguments === 'string' ? fn.arguments : fn.arguments == null ? '' : JSON.stringify(fn.arguments),
    });
  }
}

export function decodeRequest(raw: unknown): Request {
  const { body, req } = requestOf(raw, { messages: true });
  const clientOnly: string[] = [];
  for (const m of body.messages as unknown[]) {
    if (!isObj(m)) throw new InvalidRequestError('messages: each message must be an object');
    switch (m.role) {
      case 'system':
      case 'developer': {
        // before the first turn: the system prompt; later: a system message kept in its place
        const into: TextPart[] = [];
        for (const p of contentParts(m.content, false)) if (p.type === 'text') into.push(p);
        if (!req.messages.length) req.system.push(...into);
        else if (into.length) req.messages.push({ role: 'system', parts: into });
        break;
      }
      case 'user':
        req.messages.push({ role: 'user', parts: contentParts(m.content, false) });
        break;
      case 'assistant': {
        const parts: Part[] = [...decodeAssistantReasoning(m), ...contentParts(m.content, true)];
        if (str(m.refusal)) parts.push({ type: 'text', text: str(m.refusal)! });
        decodeToolCalls(m.tool_calls, parts);
        if (isObj(m.function_call)) decodeToolCalls([{ type: 'function', id: newId('call_'), function: m.function_call }], parts);
        req.messages.push({ role: 'assistant', parts });
        break;
      }
      case 'tool':
      case 'function': {
        const content: ToolResultContent[] = [];
        for (const p of contentParts(m.content, false)) {
          if (p.type === 'text' || p.type === 'image' || p.type === 'document' || p.type === 'raw') content.push(p);
        }
        pushToolResult(req, { type: 'tool_result', id: str(m.tool_call_id) ?? str(m.name) ?? '', content });
        break;
      }
      default:
        unknownRole(m.role);
    }
  }
  if (Array.isArray(body.tools)) {
    req.tools = body.tools.map((t) => {
      if (isObj(t) && t.type === 'function' && isObj(t.function)) {
        const f = t.function;
        const ft: FunctionTool = { kind: 'function', name: str(f.name) ?? '', parameters: isObj(f.parameters) ? f.parameters : { type: 'object', properties: {} } };
        if (str(f.description)) ft.description = str(f.description)!;
        if (typeof f.strict === 'boolean') ft.strict = f.strict;
        if (t.cache_control) ft.cache = t.cache_control;
        return ft;
      }
      if (isObj(t) && t.type === 'custom' && isObj(t.custom)) {
        // a free-form tool: raw text in, no JSON arguments
        const c = t.custom;
        const ft: FunctionTool = { kind: 'function', name: str(c.name) ?? '', parameters: { type: 'object', properties: {} }, custom: c.format !== undefined ? { format: c.format } : {} };
        if (str(c.description)) ft.description = str(c.description)!;
        return ft;
      }
      return { kind: 'raw', dialect: 'openai', what: `a ${isObj(t) ? String(t.type) : 'unknown'} tool`, value: t };
    });
  } else if (Array.isArray(body.functions)) {
    req.tools = body.functions.filter(isObj).map((f) => ({
      kind: 'function',
      name: str(f.name) ?? '',
      parameters: isObj(f.parameters) ? f.parameters : { type: 'object', properties: {} },
      ...(str(f.description) ? { description: str(f.description)! } : {}),
    }));
  }
  const tc = body.tool_choice ?? body.function_call;
  if (tc === 'auto' || tc === 'none' || tc === 'required') req.toolChoice = { type: tc };
  else if (isObj(tc)) {
    const name = isObj(tc.function) ? str(tc.function.name) : isObj(tc.custom) ? str(tc.custom.name) : str(tc.name);
    if (name) req.toolChoice = { type: 'tool', name };
  }
  if (typeof body.parallel_tool_calls === 'boolean') req.parallelToolCalls = body.parallel_tool_calls;
  readNumbers(req, body, { maxTokens: 'max_tokens', temperature: 'temperature', topP: 'top_p', topK: 'top_k', seed: 'seed' });
  readNumbers(req, body, { maxTokens: 'max_completion_tokens' });
  if (typeof body.stop === 'string') req.stop = [body.stop];
  else if (Array.isArray(body.stop)) req.stop = body.stop.filter((s): s is string => typeof s === 'string');
  if (str(body.user)) req.user = str(body.user)!;
  const rf = body.response_format;
  if (isObj(rf)) {
    if (rf.type === 'json_object') req.responseFormat = { type: 'json_object' };
    else if (rf.type === 'json_schema' && isObj(rf.json_schema)) req.responseFormat = jsonSchemaIn(rf.json_schema, isObj(rf.json_schema.schema) ? rf.json_schema.schema : {});
  }
  const effort = str(body.reasoning_effort) ?? (isObj(body.reasoning) ? str(body.reasoning.effort) : undefined);
  if (effort) req.reasoning = effortReasoning(effort);
  if ((num(body.n) ?? 1) > 1) clientOnly.push('n > 1 (several choices)');
  if (body.logprobs === true) clientOnly.push('logprobs');
  if (Array.isArray(body.modalities) && body.modalities.includes('audio')) clientOnly.push('audio output');
  if (clientOnly.length) (req as Request & { clientOnly?: string[] }).clientOnly = clientOnly;
  return req;
}

// ---------- request encode ----------

/** How Chat and Responses each write an item of user content (they differ only in the items' shapes). */
export interface ContentItems {
  text(text: string): Record<string, unknown>;
  image(p: ImagePart): Record<string, unknown>;
  /** An inline document: its filename and data URL. */
  file(filename: string, dataUrl: string): Record<string, unknown>;
  fileUrl(p: DocumentPart): Record<string, unknown>;
}

/** User content the OpenAI way: empty text left out, text documents as text, raw parts only to their own dialect. */
export function userContent(parts: (Part | ToolResultContent)[], to: 'openai' | 'responses', items: ContentItems): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const p of parts) {
    if (p.type === 'text') {
      if (p.text) out.push(items.text(p.text));
    } else if (p.type === 'image') out.push(items.image(p));
    else if (p.type === 'document') {
      if (p.text !== undefined) out.push(items.text(p.text));
      else if (p.data !== undefined) out.push(items.file(p.filename ?? p.title ?? 'document.pdf', `data:${p.mediaType};base64,${p.data}`));
      else out.push(items.fileUrl(p));
    } else if (p.type === 'raw') out.push(ownRaw(to, p));
  }
  return out;
}

const CHAT_ITEMS: ContentItems = {
  text: (text) => ({ type: 'text', text }),
  image: (p) => ({ type: 'image_url', image_url: { url: imageUrl(p.source), ...(p.detail ? { detail: p.detail } : {}) } }),
  file: (filename, file_data) => ({ type: 'file', file: { filename, file_data } }),
  fileUrl: () => {
    throw new UnsupportedFeatureError('openai', 'a document given by URL');
  },
};

/** Chat user content: a plain string when it is all text. */
function encodeUserContent(parts: (Part | ToolResultContent)[]): unknown {
  const out = userContent(parts, 'openai', CHAT_ITEMS);
  const media = parts.some((p) => p.type === 'image' || p.type === 'raw' || (p.type === 'document' && p.text === undefined));
  return media ? out : out.map((o) => o.text as string).join('\n\n');
}

function toolResultText(content: ToolResultContent[]): { text: string; rest: ToolResultContent[] } {
  let text = '';
  const rest: ToolResultContent[] = [];
  for (const c of content) {
    if (c.type === 'text') text += (text ? '\n\n' : '') + c.text;
    else if (c.type === 'document' && c.text !== undefined) text += (text ? '\n\n' : '') + c.text;
    else rest.push(c);
  }
  return { text, rest };
}

export function encodeRequest(req: Request, model: string, opts = { includeUsage: true }): Record<string, unknown> {
  const messages: Record<string, unknown>[] = [];
  const sys = joinText(req.system);
  if (sys) messages.push({ role: 'system', content: sys });
  // OpenAI's own API rejects unknown message fields; other OpenAI-format hosts take reasoning_content back
  // (DeepSeek and Kimi in thinking mode insist on it, whichever provider the reasoning came from)
  const openaiOwn = /^(gpt-|o\d|chatgpt|codex|computer-use)/i.test(model);
  // a system message between an assistant's tool calls and their results waits until the results are in
  // (Chat requires the tool messages right after the call)
  let heldSystem: Record<string, unknown>[] = [];
  const flushSystem = () => {
    messages.push(...heldSystem);
    heldSystem = [];
  };
  for (const m of req.messages) {
    if (m.role === 'system') {
      const text = joinText(m.parts);
      if (!text) continue;
      const last = messages[messages.length - 1];
      if (heldSystem.length || (last?.role === 'assistant' && Array.isArray(last.tool_calls))) heldSystem.push({ role: 'system', content: text });
      else messages.push({ role: 'system', content: text });
      continue;
    }
    if (m.role === 'user') {
      const rest: Part[] = [];
      const followUp: ToolResultContent[] = [];
      for (const p of m.parts) {
        if (p.type === 'tool_result') {
          const { text, rest: media } = toolResultText(p.content);
          messages.push({ role: 'tool', tool_call_id: p.id, content: (p.isError && text && !/^error/i.test(text) ? 'Error: ' : '') + (text || (p.isError ? 'Error' : '')) });
          if (media.length) followUp.push({ type: 'text', text: `(content of tool result ${p.id})` }, ...media);
        } else if (p.type !== 'thinking' && p.type !== 'tool_call') rest.push(p);
      }
      flushSystem();
      const all = [...followUp, ...rest];
      if (all.length) {
        const content = encodeUserContent(all);
        if (content !== '' && !(Array.isArray(content) && !content.length)) messages.push({ role: 'user', content });
      }
      continue;
    }
    // assistant
    const thinking: ThinkingPart[] = [];
    let text = '';
    const toolCalls: Record<string, unknown>[] = [];
    for (const p of m.parts) {
      if (p.type === 'thinking') thinking.push(p);
      else if (p.type === 'text') text += p.text;
      else if (p.type === 'tool_call') toolCalls.push(callOut(p));
      else if (p.type === 'raw') ownRaw('openai', p);
      else if (p.type === 'image' || p.type === 'document') throw new UnsupportedFeatureError('openai', `an ${p.type} in an assistant turn`);
    }
    const msg: Record<string, unknown> = { role: 'assistant', content: text || (toolCalls.length ? null : '') };
    if (toolCalls.length) msg.tool_calls = toolCalls;
    Object.assign(msg, thinkingToMessageFields(thinking, false, !openaiOwn));
    if (openaiOwn) delete msg.reasoning_details;
    if (msg.content === '' && !toolCalls.length && !msg.reasoning_content && !msg.reasoning_details) continue;
    flushSystem();
    messages.push(msg);
  }
  flushSystem();
  const out: Record<string, unknown> = { model, messages };
  const tools: Record<string, unknown>[] = [];
  for (const t of req.tools ?? []) {
    if (t.kind === 'raw') {
      tools.push(ownRaw('openai', t));
      continue;
    }
    tools.push({
      type: 'function',
      function: {
        name: t.name,
        ...(t.description ? { description: t.description } : {}),
        parameters: t.parameters,
        ...(t.strict !== undefined ? { strict: t.strict } : {}),
      },
    });
  }
  if (tools.length) {
    out.tools = tools;
    const c = req.toolChoice;
    if (c?.type === 'tool') out.tool_choice = { type: 'function', function: { name: c.name } };
    else if (c) out.tool_choice = c.type;
    if (req.parallelToolCalls !== undefined) out.parallel_tool_calls = req.parallelToolCalls;
  }
  // OpenAI's reasoning models reject max_tokens; most compatible hosts only know max_tokens.
  if (req.maxTokens !== undefined) out[/(^|\/)(o\d|gpt-5)/i.test(model) ? 'max_completion_tokens' : 'max_tokens'] = req.maxTokens;
  writeNumbers(out, req, { temperature: 'temperature', topP: 'top_p' });
  if (req.stop?.length) out.stop = req.stop;
  writeNumbers(out, req, { seed: 'seed' });
  if (req.user) out.user = req.user;
  const rf = req.responseFormat;
  if (rf?.type === 'json_object') out.response_format = { type: 'json_object' };
  else if (rf?.type === 'json_schema') out.response_format = { type: 'json_schema', json_schema: jsonSchemaOut(rf) };
  const effort = openaiEffort(req, ['minimal', 'low', 'medium', 'high'], 'reasoning_effort');
  if (effort) out.reasoning_effort = effort;
  out.stream = req.stream;
  if (req.stream && opts.includeUsage) out.stream_options = { include_usage: true };
  return out;
}

// ---------- response decode / encode ----------

export function decodeResponse(raw: unknown): Response {
  const body = answerOf(raw);
  const choice = Array.isArray(body.choices) && isObj(body.choices[0]) ? body.choices[0] : {};
  const m = isObj(choice.message) ? choice.message : {};
  const parts: Part[] = [...decodeAssistantReasoning(m)];
  const hadReasoning = parts.length > 0;
  for (const p of contentParts(m.content, true)) {
    if (p.type === 'text' && !hadReasoning && parts.length === 0) {
      const s = splitThink(p.text);
      if (s.think !== undefined) parts.push({ type: 'thinking', text: s.think, carrier: { k: 'think' } });
      if (s.text) parts.push({ type: 'text', text: s.text });
    } else parts.push(p);
  }
  const refusal = str(m.refusal);
  if (refusal) parts.push({ type: 'text', text: refusal });
  decodeToolCalls(m.tool_calls, parts);
  if (isObj(m.function_call)) decodeToolCalls([{ type: 'function', function: m.function_call }], parts);
  const hasTools = parts.some((p) => p.type === 'tool_call');
  return responseOf(body, parts, refusal ? 'refusal' : stopIn(choice.finish_reason, hasTools), usageIn(body.usage));
}

export function encodeResponse(resp: Response, ctx: { requestedModel: string }): Record<string, unknown> {
  let text = '';
  const thinking: ThinkingPart[] = [];
  const toolCalls: Record<string, unknown>[] = [];
  for (const p of resp.parts) {
    if (p.type === 'text') text += p.text;
    else if (p.type === 'thinking') thinking.push(p);
    else if (p.type === 'tool_call') toolCalls.push(callOut(p));
  }
  const message: Record<string, unknown> = { role: 'assistant', content: text || (toolCalls.length ? null : ''), refusal: null };
  if (toolCalls.length) message.tool_calls = toolCalls;
  Object.assign(message, thinkingToMessageFields(thinking, true));
  return {
    id: resp.id && resp.id.startsWith('chatcmpl') ? resp.id : newId('chatcmpl-'),
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: ctx.requestedModel,
    choices: [{ index: 0, message, logprobs: null, finish_reason: stopOut(stopWithTools(resp.stop, toolCalls.length > 0)) }],
    usage: usageOut(resp.usage),
  };
}

// ---------- stream decode ----------

interface ToolState {
  cidx: number;
  id: string;
  name: string;
  pending: string;
}

export class OpenAIStreamDecoder extends FramedDecoder {
  private started = false;
  private finishSeen = false;
  private next = 0;
  private cur = -1;
  private curKind: 'text' | 'thinking' | '' = '';
  private curCarrier: Carrier | undefined;
  private detailIndex: unknown = undefined;
  private details: Map<unknown, Record<string, unknown>> | null = null;
  private readonly tools = new Map<number, ToolState>();
  private readonly toolByKeyId = new Map<string, number>();
  private autoKey = 1_000_000;
  private lastKey = -1;
  private readonly think: ThinkSplitter;
  private anyTool = false;

  constructor(sink: Sink) {
    super(sink, 'sse');
    this.think = new ThinkSplitter(
      (t) => this.thinkingText(t, { k: 'think' }),
      (t) => this.text(t),
    );
  }

  protected cutShort(): void {
    if (this.finishSeen) this.sink({ type: 'end' });
    else this.sink({ type: 'error', message: 'upstream stream ended before a finish_reason or [DONE]' });
  }

  private closeCur(): void {
    if (this.cur < 0) return;
    if (this.curKind === 'thinking') this.closeThinkingMeta();
    this.sink({ type: 'block_stop', index: this.cur });
    this.cur = -1;
    this.curKind = '';
  }

  private closeThinkingMeta(): void {
    if (this.details) {
      const entries = [...this.details.values()];
      const anthropic = entries.every((e) => e.format === ANTHROPIC_FORMAT);
      if (anthropic) {
        const sig = entries.map((e) => str(e.signature)).find(Boolean);
        if (sig) this.sink({ type: 'thinking_meta', index: this.cur, signature: sig });
      } else this.sink({ type: 'thinking_meta', index: this.cur, carrier: { k: 'or', d: entries } });
      this.details = null;
      this.detailIndex = undefined;
    } else if (this.curCarrier) this.sink({ type: 'thinking_meta', index: this.cur, carrier: this.curCarrier });
  }

  private openThinking(carrier: Carrier | undefined): void {
    if (this.curKind === 'thinking') return;
    this.closeCur();
    this.cur = this.next++;
    this.curKind = 'thinking';
    this.curCarrier = carrier;
    this.sink({ type: 'block_start', index: this.cur, block: { kind: 'thinking' } });
  }

  private thinkingText(t: string, carrier: Carrier): void {
    this.openThinking(carrier);
    this.sink({ type: 'text', index: this.cur, text: t });
  }

  private text(t: string): void {
    if (this.curKind !== 'text') {
      this.closeCur();
      this.cur = this.next++;
      this.curKind = 'text';
      this.sink({ type: 'block_start', index: this.cur, block: { kind: 'text' } });
    }
    this.sink({ type: 'text', index: this.cur, text: t });
  }

  private reasoningDetails(list: unknown[]): void {
    for (const e of list) {
      if (!isObj(e)) continue;
      const idx = e.index ?? 0;
      if (this.curKind === 'thinking' && this.details && idx !== this.detailIndex && e.format === ANTHROPIC_FORMAT) {
        this.closeCur(); // Claude's next thinking block
      }
      this.openThinking(undefined);
      if (!this.details) this.details = new Map();
      this.detailIndex = idx;
      const prev = this.details.get(idx);
      if (!prev) this.details.set(idx, { ...e });
      else {
        for (const [k, v] of Object.entries(e)) {
          if (v == null) continue;
          if ((k === 'text' || k === 'summary' || k === 'data') && typeof v === 'string' && typeof prev[k] === 'string') prev[k] = (prev[k] as string) + v;
          else prev[k] = v;
        }
      }
      const t = str(e.text) ?? str(e.summary);
      if (t) this.sink({ type: 'text', index: this.cur, text: t });
    }
  }

  private toolDelta(tcs: unknown[]): void {
    this.think.flush();
    if (this.curKind) this.closeCur();
    for (let i = 0; i < tcs.length; i++) {
      const tc = tcs[i];
      if (!isObj(tc)) continue;
      const id = str(tc.id);
      let key: number;
      if (typeof tc.index === 'number') key = tc.index;
      else if (id && this.toolByKeyId.has(id)) key = this.toolByKeyId.get(id)!;
      else if (id) key = this.autoKey++;
      else key = this.lastKey >= 0 ? this.lastKey : i;
      this.lastKey = key;
      const fn = isObj(tc.function) ? tc.function : {};
      let st = this.tools.get(key);
      if (!st) {
        st = { cidx: -1, id: id || newId('call_'), name: '', pending: '' };
        this.tools.set(key, st);
        if (id) this.toolByKeyId.set(id, key);
        this.anyTool = true;
      } else if (id && st.cidx < 0) st.id = id;
      if (str(fn.name) && st.cidx < 0) st.name += str(fn.name)!;
      const args = typeof fn.arguments === 'string' ? fn.arguments : isObj(fn.arguments) ? JSON.stringify(fn.arguments) : '';
      if (st.cidx < 0) {
        st.pending += args;
        if (st.name) this.openTool(st);
      } else if (args) this.sink({ type: 'args', index: st.cidx, json: args });
    }
  }

  private openTool(st: ToolState): void {
    st.cidx = this.next++;
    this.sink({ type: 'block_start', index: st.cidx, block: { kind: 'tool_call', id: st.id, name: st.name } });
    if (st.pending) this.sink({ type: 'args', index: st.cidx, json: st.pending });
    st.pending = '';
  }

  private closeAll(): void {
    this.think.flush();
    this.closeCur();
    for (const st of this.tools.values()) {
      if (st.cidx < 0) this.openTool(st);
      this.sink({ type: 'block_stop', index: st.cidx });
    }
    this.tools.clear();
  }

  protected override onData(event: string | null, data: string): void {
    if (this.done) return;
    if (data.charCodeAt(0) === 91 /* [ */ && data.trim() === '[DONE]') {
      if (!this.finishSeen) {
        this.closeAll();
        this.sink({ type: 'stop', reason: this.anyTool ? 'tool_use' : 'end_turn' });
        this.finishSeen = true;
      }
      this.done = true;
      this.sink({ type: 'end' });
      return;
    }
    super.onData(event, data);
  }

  protected onEvent(j: Record<string, unknown>): void {
    const sink = this.sink;
    if (j.error !== undefined && j.choices === undefined) {
      const e = j.error;
      this.fail(isObj(e) ? (str(e.message) ?? JSON.stringify(e)) : String(e), isObj(e) ? str(e.type) : undefined);
      return;
    }
    if (!this.started) {
      this.started = true;
      this.start(j);
    }
    const choices = j.choices;
    if (Array.isArray(choices) && choices.length && !this.finishSeen) {
      const c = isObj(choices[0]) ? choices[0] : {};
      const d = isObj(c.delta) ? c.delta : isObj(c.message) ? c.message : undefined;
      if (d) {
        if (Array.isArray(d.reasoning_details) && d.reasoning_details.length) this.reasoningDetails(d.reasoning_details);
        else {
          const rc = typeof d.reasoning_content === 'string' ? d.reasoning_content : typeof d.reasoning === 'string' ? d.reasoning : '';
          if (rc) this.thinkingText(rc, { k: 'rc' });
        }
        const content = d.content;
        if (typeof content === 'string' && content) this.think.push(content);
        else if (Array.isArray(content)) {
          for (const p of content) if (isObj(p) && typeof p.text === 'string' && p.text) this.think.push(p.text);
        }
        if (typeof d.refusal === 'string' && d.refusal) this.text(d.refusal);
        if (Array.isArray(d.tool_calls) && d.tool_calls.length) this.toolDelta(d.tool_calls);
        else if (isObj(d.function_call)) this.toolDelta([{ index: 0, function: d.function_call }]);
      }
      const fr = c.finish_reason;
      if (typeof fr === 'string' && fr) {
        this.closeAll();
        this.finishSeen = true;
        sink({ type: 'stop', reason: stopIn(fr, this.anyTool) });
      }
    }
    if (isObj(j.usage)) this.addUsage(usageIn(j.usage));
  }
}

// ---------- stream encode ----------

interface EState extends ThinkingState {
  kind: 'text' | 'thinking' | 'redacted' | 'tool_call' | 'skip';
  tIndex: number;
  /** A free-form (custom) call: sent whole when it ends (Chat streams have no custom-input delta). */
  custom?: { id: string; name: string; input: string };
  argsSent: boolean;
  thought: string;
}

/** Canonical events → OpenAI chat.completion.chunk SSE. */
export class OpenAIStreamEncoder extends BlockStreamEncoder<EState> {
  private pre = '';
  private nextTool = 0;
  private detailIdx = 0;

  private ensureStart(): void {
    if (this.pre) return;
    const id = this.id && this.id.startsWith('chatcmpl') ? this.id : newId('chatcmpl-');
    this.pre = `data: {"id":${JSON.stringify(id)},"object":"chat.completion.chunk","created":${Math.floor(Date.now() / 1000)},"model":${JSON.stringify(this.ctx.requestedModel)},"choices":[{"index":0,"delta":`;
    this.out += this.pre + '{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}\n\n';
  }

  private delta(d: string): void {
    this.out += this.pre + d + ',"logprobs":null,"finish_reason":null}]}\n\n';
  }

  protected openBlock(b: BlockKind): EState {
    this.ensureStart();
    const st: EState = { kind: 'skip', tIndex: -1, argsSent: false, thought: '' };
    if (b.kind === 'text' || b.kind === 'thinking') st.kind = b.kind;
    else if (b.kind === 'redacted') {
      st.kind = 'redacted';
      st.data = b.data;
    } else if (b.kind === 'tool_call') {
      st.kind = 'tool_call';
      st.tIndex = this.nextTool++;
      if (b.custom) st.custom = { id: b.id, name: b.name, input: '' };
      else this.delta(`{"tool_calls":[{"index":${st.tIndex},"id":${JSON.stringify(b.id)},"type":"function","function":{"name":${JSON.stringify(b.name)},"arguments":""}}]}`);
    }
    return st;
  }

  protected blockText(st: EState, text: string): void {
    if (st.kind === 'text') this.delta(`{"content":${JSON.stringify(text)}}`);
    else if (st.kind === 'thinking') {
      st.thought += text;
      this.delta(`{"reasoning_content":${JSON.stringify(text)}}`);
    }
  }

  protected blockArgs(st: EState, json: string): void {
    if (st.kind !== 'tool_call') return;
    st.argsSent = true;
    if (st.custom) st.custom.input += json;
    else this.delta(`{"tool_calls":[{"index":${st.tIndex},"function":{"arguments":${JSON.stringify(json)}}}]}`);
  }

  protected closeBlock(st: EState): void {
    if (st.custom) this.delta(`{"tool_calls":[${JSON.stringify({ index: st.tIndex, id: st.custom.id, type: 'custom', custom: { name: st.custom.name, input: st.custom.input } })}]}`);
    else if (st.kind === 'tool_call' && !st.argsSent) this.delta(`{"tool_calls":[{"index":${st.tIndex},"function":{"arguments":"{}"}}]}`);
    else if (st.kind === 'thinking' || st.kind === 'redacted') {
      const f = thinkingToMessageFields([thinkingOf(st.thought, st)], false);
      const details = f.reasoning_details as Record<string, unknown>[] | undefined;
      if (details) {
        for (const d of details) if (isObj(d) && (d.format === ANTHROPIC_FORMAT || d.format === RESPONSES_FORMAT)) d.index = this.detailIdx++;
        this.delta(`{"reasoning_details":${JSON.stringify(details)}}`);
      }
    }
  }

  protected finish(): void {
    this.ensureStart();
    this.closeOpen();
    const stop = this.finalStop(this.nextTool > 0);
    this.out += this.pre + `{},"logprobs":null,"finish_reason":${JSON.stringify(stopOut(stop))}}]}\n\n`;
    if (this.ctx.clientWantsUsage) {
      const head = this.pre.slice(0, this.pre.indexOf('"choices":['));
      this.out += `${head}"choices":[],"usage":${JSON.stringify(usageOut(this.usage))}}\n\n`;
    }
    this.out += 'data: [DONE]\n\n';
  }

  protected errorEvent(message: string, errorType: string | undefined, extra: Record<string, unknown> | undefined): string {
    return streamErrorEvent('openai', message, errorType, undefined, extra);
  }
}

export function modelsBody(names: string[]): Record<string, unknown> {
  return { object: 'list', data: names.map((id) => ({ id, object: 'model', created: 1735689600, owned_by: 'router67' })) };
}

export type { Message, TextPart };
export { OpenAIStreamDecoder as Decoder, OpenAIStreamEncoder as Encoder };

/** A tool call in an assistant message: a function call, or a free-form (custom) call with its raw input. */
function callOut(p: { id: string; name: string; args: string; custom?: boolean }): Record<string, unknown> {
  if (p.custom) return { id: p.id, type: 'custom', custom: { name: p.name, input: p.args } };
  return { id: p.id, type: 'function', function: { name: p.name, arguments: p.args.trim() ? p.args : '{}' } };
}
