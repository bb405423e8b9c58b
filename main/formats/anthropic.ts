// Anthropic Messages: request, response and stream decoders/encoders.
import type { BlockKind, Event, FunctionTool, Message, Part, Request, Response, Sink, StopReason, TextPart, ToolResultContent, Usage } from './canonical.js';
import { InvalidRequestError, UnsupportedFeatureError, isObj, newId, note, num, packSignature, parseArgs, str, stringifyArgs, unpackSignature } from './canonical.js';
import { type BlockEvent, FramedDecoder, TextStreamEncoder, type ThinkingState, answerOf, joinText, keepThinkingMeta, ownRaw, readNumbers, requestOf, responseOf, stopWithTools, unknownRole } from './codec.js';
import { anthropicThinking } from './reasoning.js';
import { streamErrorEvent } from './errors.js';

const STOP_IN: Record<string, StopReason> = {
  end_turn: 'end_turn',
  max_tokens: 'max_tokens',
  stop_sequence: 'stop_sequence',
  tool_use: 'tool_use',
  pause_turn: 'pause_turn',
  refusal: 'refusal',
  model_context_window_exceeded: 'context_window',
};
export function stopIn(s: unknown): StopReason {
  return (typeof s === 'string' && STOP_IN[s]) || 'end_turn';
}
export function stopOut(s: StopReason): string {
  switch (s) {
    case 'content_filter':
      return 'refusal';
    case 'context_window':
      return 'model_context_window_exceeded';
    default:
      return s;
  }
}

/** Anthropic tool_use ids must match ^[a-zA-Z0-9_-]+$ (Kimi-style "functions.x:0" ids do not). */
export function toolId(id: string): string {
  if (!id) return newId('toolu_');
  return /^[a-zA-Z0-9_-]+$/.test(id) ? id : id.replace(/[^a-zA-Z0-9_-]/g, '_');
}

const IMAGE_TYPES = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp']);

function usageIn(u: unknown): Usage {
  if (!isObj(u)) return {};
  const r: Usage = {};
  const inp = num(u.input_tokens);
  const cr = num(u.cache_read_input_tokens);
  const cw = num(u.cache_creation_input_tokens);
  if (inp !== undefined) r.input = inp + (cr ?? 0) + (cw ?? 0);
  if (cr !== undefined) r.cacheRead = cr;
  if (cw !== undefined) r.cacheWrite = cw;
  const out = num(u.output_tokens);
  if (out !== undefined) r.output = out;
  return r;
}
function usageOut(u: Usage, fallbackInput = 0): Record<string, number> {
  const cr = u.cacheRead ?? 0;
  const cw = u.cacheWrite ?? 0;
  const input = u.input !== undefined ? Math.max(0, u.input - cr - cw) : fallbackInput;
  return {
    input_tokens: input,
    output_tokens: u.output ?? 0,
    cache_creation_input_tokens: cw,
    cache_read_input_tokens: cr,
  };
}

// ---------- request decode ----------

function decodeBlock(b: unknown): Part | undefined {
  if (typeof b === 'string') return { type: 'text', text: b };
  if (!isObj(b)) return undefined;
  switch (b.type) {
    case 'text': {
      const p: TextPart = { type: 'text', text: str(b.text) ?? '' };
      if (b.cache_control) p.cache = b.cache_control;
      return p;
    }
    case 'image': {
      const s = b.source;
      if (isObj(s) && s.type === 'base64') {
        return {
          type: 'image',
          source: { kind: 'base64', mediaType: str(s.media_type) ?? 'image/png', data: str(s.data) ?? '' },
          ...(b.cache_control ? { cache: b.cache_control } : {}),
        };
      }
      if (isObj(s) && s.type === 'url') {
        return { type: 'image', source: { kind: 'url', url: str(s.url) ?? '' }, ...(b.cache_control ? { cache: b.cache_control } : {}) };
      }
      return { type: 'raw', dialect: 'anthropic', what: 'image with a file source', value: b };
    }
    case 'document': {
      const s = b.source;
      const base = { type: 'document' as const, ...(str(b.title) ? { title: str(b.title)! } : {}), ...(b.cache_control ? { cache: b.cache_control } : {}) };
      if (isObj(s) && s.type === 'base64') return { ...base, mediaType: str(s.media_type) ?? 'application/pdf', data: str(s.data) ?? '' };
      if (isObj(s) && s.type === 'text') return { ...base, mediaType: 'text/plain', text: str(s.data) ?? '' };
      if (isObj(s) && s.type === 'url') return { ...base, mediaType: 'application/pdf', url: str(s.url) ?? '' };
      return { type: 'raw', dialect: 'anthropic', what: 'document block', value: b };
    }
    case 'thinking': {
      const u = unpackSignature(str(b.signature));
      return { type: 'thinking', text: str(b.thinking) ?? '', ...u };
    }
    case 'redacted_thinking':
      return { type: 'thinking', text: '', redacted: str(b.data) ?? '' };
    case 'tool_use':
      return {
        type: 'tool_call',
        id: str(b.id) ?? '',
        name: str(b.name) ?? '',
        args: stringifyArgs(b.input ?? {}),
        ...(b.cache_control ? { cache: b.cache_control } : {}),
      };
    case 'tool_result': {
      const content: ToolResultContent[] = [];
      if (typeof b.content === 'string') content.push({ type: 'text', text: b.content });
      else if (Array.isArray(b.content)) {
        for (const c of b.content) {
          const p = decodeBlock(c);
          if (p && (p.type === 'text' || p.type === 'image' || p.type === 'document' || p.type === 'raw')) content.push(p);
        }
      }
      return {
        type: 'tool_result',
        id: str(b.tool_use_id) ?? '',
        content,
        ...(b.is_error === true ? { isError: true } : {}),
        ...(b.cache_control ? { cache: b.cache_control } : {}),
      };
    }
    default:
      return { type: 'raw', dialect: 'anthropic', what: `${String(b.type)} block`, value: b };
  }
}

function decodeSystem(s: unknown, into: TextPart[]): void {
  if (typeof s === 'string') {
    if (s) into.push({ type: 'text', text: s });
  } else if (Array.isArray(s)) {
    for (const b of s) {
      const p = decodeBlock(b);
      if (p?.type === 'text') into.push(p);
    }
  }
}

export function decodeRequest(raw: unknown): Request {
  const { body, req } = requestOf(raw, { messages: true });
  decodeSystem(body.system, req.system);
  for (const m of body.messages as unknown[]) {
    if (!isObj(m)) throw new InvalidRequestError('messages: each message must be an object');
    if (m.role === 'system') {
      // before the first turn: the system prompt; later (Claude Code): a system message in its place
      if (!req.messages.length) decodeSystem(m.content, req.system);
      else {
        const parts: TextPart[] = [];
        decodeSystem(m.content, parts);
        if (parts.length) req.messages.push({ role: 'system', parts });
      }
      continue;
    }
    if (m.role !== 'user' && m.role !== 'assistant') unknownRole(m.role);
    const parts: Part[] = [];
    if (typeof m.content === 'string') parts.push({ type: 'text', text: m.content });
    else if (Array.isArray(m.content)) {
      for (const b of m.content) {
        const p = decodeBlock(b);
        if (p) parts.push(p);
      }
    }
    req.messages.push({ role: m.role, parts });
  }
  if (Array.isArray(body.tools)) {
    req.tools = body.tools.map((t) => {
      if (isObj(t) && (t.type === undefined || t.type === 'custom' || t.type === null) && isObj(t.input_schema)) {
        const ft: FunctionTool = { kind: 'function', name: str(t.name) ?? '', parameters: t.input_schema };
        if (str(t.description)) ft.description = str(t.description)!;
        if (t.cache_control) ft.cache = t.cache_control;
        if (typeof t.strict === 'boolean') ft.strict = t.strict;
        if (t.defer_loading === true) ft.deferred = true;
        return ft;
      }
      return { kind: 'raw', dialect: 'anthropic', what: `the ${isObj(t) ? String(t.type) : 'unknown'} server tool`, value: t };
    });
  }
  const tc = body.tool_choice;
  if (isObj(tc)) {
    if (tc.type === 'auto') req.toolChoice = { type: 'auto' };
    else if (tc.type === 'any') req.toolChoice = { type: 'required' };
    else if (tc.type === 'none') req.toolChoice = { type: 'none' };
    else if (tc.type === 'tool') req.toolChoice = { type: 'tool', name: str(tc.name) ?? '' };
    if (tc.disable_parallel_tool_use === true) req.parallelToolCalls = false;
  }
  readNumbers(req, body, { maxTokens: 'max_tokens', temperature: 'temperature', topP: 'top_p', topK: 'top_k' });
  if (Array.isArray(body.stop_sequences)) req.stop = body.stop_sequences.filter((s): s is string => typeof s === 'string');
  if (isObj(body.metadata) && str(body.metadata.user_id)) req.user = str(body.metadata.user_id)!;
  const th = body.thinking;
  if (isObj(th)) {
    if (th.type === 'enabled') req.reasoning = { enabled: true, ...(num(th.budget_tokens) ? { budgetTokens: num(th.budget_tokens)! } : {}) };
    else if (th.type === 'disabled') req.reasoning = { enabled: false };
    else req.reasoning = { enabled: true };
  }
  const oc = isObj(body.output_config) ? body.output_config : undefined;
  const fmt = oc && isObj(oc.format) ? oc.format : isObj(body.output_format) ? body.output_format : undefined;
  if (fmt && fmt.type === 'json_schema' && isObj(fmt.schema)) req.responseFormat = { type: 'json_schema', schema: fmt.schema };
  if (oc && str(oc.effort)) req.reasoning = { ...(req.reasoning ?? { enabled: true }), effort: str(oc.effort)! };
  if (body.cache_control) req.cache = body.cache_control;
  return req;
}

// ---------- request encode ----------

/** A mid-conversation system message as user-turn text, marked so the model reads it as system context. */
function systemContextText(m: Message): string {
  const text = joinText(m.parts);
  return text ? `<system>\n${text}\n</system>` : '';
}

function encodeContent(p: ToolResultContent | Part, target: 'anthropic'): Record<string, unknown> | undefined {
  void target;
  const cc = (x: Record<string, unknown>, cache: unknown) => (cache ? { ...x, cache_control: cache } : x);
  switch (p.type) {
    case 'text':
      return p.text ? cc({ type: 'text', text: p.text }, p.cache) : undefined;
    case 'image':
      if (p.source.kind === 'url') return cc({ type: 'image', source: { type: 'url', url: p.source.url } }, p.cache);
      if (!IMAGE_TYPES.has(p.source.mediaType)) throw new UnsupportedFeatureError('anthropic', `an image of type ${p.source.mediaType}`, 'jpeg, png, gif and webp only');
      return cc({ type: 'image', source: { type: 'base64', media_type: p.source.mediaType, data: p.source.data } }, p.cache);
    case 'document': {
      let source: Record<string, unknown>;
      if (p.text !== undefined) source = { type: 'text', media_type: 'text/plain', data: p.text };
      else if (p.url) source = { type: 'url', url: p.url };
      else if (p.mediaType === 'application/pdf') source = { type: 'base64', media_type: 'application/pdf', data: p.data ?? '' };
      else throw new UnsupportedFeatureError('anthropic', `a document of type ${p.mediaType}`);
      return cc({ type: 'document', source, ...(p.title ? { title: p.title } : {}) }, p.cache);
    }
    default:
      return undefined;
  }
}

export function encodeRequest(req: Request, model: string): Record<string, unknown> {
  const messages: { role: 'user' | 'assistant'; content: Record<string, unknown>[] }[] = [];
  const usedTools = new Set<string>();
  for (const m of req.messages) {
    const content: Record<string, unknown>[] = [];
    // Anthropic takes no system role in messages: a mid-conversation system message joins the adjacent user turn
    const role = m.role === 'system' ? 'user' : m.role;
    if (m.role === 'system') {
      const text = systemContextText(m);
      if (text) {
        content.push({ type: 'text', text });
        note(req, 'a mid-conversation system message was folded into the adjacent user turn as a <system> text block');
      }
    } else
    for (const p of m.parts) {
      switch (p.type) {
        case 'thinking':
          if (m.role !== 'assistant') break;
          // Only genuine Anthropic reasoning goes back to Anthropic; unsigned/foreign reasoning is dropped.
          if (p.redacted) content.push({ type: 'redacted_thinking', data: p.redacted });
          else if (p.signature) content.push({ type: 'thinking', thinking: p.text, signature: p.signature });
          break;
        case 'tool_call':
          usedTools.add(p.name);
          content.push({
            type: 'tool_use',
            id: toolId(p.id),
            name: p.name,
            input: parseArgs(p.args),
            ...(p.cache ? { cache_control: p.cache } : {}),
          });
          break;
        case 'tool_result': {
          const inner: Record<string, unknown>[] = [];
          for (const c of p.content) {
            const e = c.type === 'raw' ? ownRaw('anthropic', c) : encodeContent(c, 'anthropic');
            if (e) inner.push(e);
          }
          content.push({
            type: 'tool_result',
            tool_use_id: toolId(p.id),
            content: inner,
            ...(p.isError ? { is_error: true } : {}),
            ...(p.cache ? { cache_control: p.cache } : {}),
          });
          break;
        }
        case 'raw':
          content.push(ownRaw('anthropic', p));
          break;
        default: {
          const e = encodeContent(p, 'anthropic');
          if (e) content.push(e);
        }
      }
    }
    if (!content.length) continue;
    const last = messages[messages.length - 1];
    if (last && last.role === role) {
      // tool results must lead a user turn
      if (role === 'user' && content.some((c) => c.type === 'tool_result')) {
        last.content.push(...content);
        last.content.sort((a, b) => Number(b.type === 'tool_result') - Number(a.type === 'tool_result'));
      } else last.content.push(...content);
    } else messages.push({ role, content });
  }
  const out: Record<string, unknown> = { model, max_tokens: 0, messages };
  if (req.system.length) {
    out.system = req.system.some((s) => s.cache)
      ? req.system.filter((s) => s.text).map((s) => (s.cache ? { type: 'text', text: s.text, cache_control: s.cache } : { type: 'text', text: s.text }))
      : req.system.map((s) => s.text).join('\n\n');
  }
  const tools: Record<string, unknown>[] = [];
  for (const t of req.tools ?? []) {
    if (t.kind === 'raw') {
      tools.push(ownRaw('anthropic', t));
      continue;
    }
    const params = isObj(t.parameters) && Object.keys(t.parameters).length ? t.parameters : { type: 'object', properties: {} };
    tools.push({
      name: t.name,
      ...(t.description ? { description: t.description } : {}),
      input_schema: params.type ? params : { type: 'object', ...params },
      ...(t.strict ? { strict: true } : {}),
      ...(t.cache ? { cache_control: t.cache } : {}),
    });
  }
  let toolChoice: Record<string, unknown> | undefined;
  if (tools.length) {
    out.tools = tools;
    const c = req.toolChoice;
    if (c?.type === 'required') toolChoice = { type: 'any' };
    else if (c?.type === 'tool') toolChoice = { type: 'tool', name: c.name };
    else if (c?.type === 'none') toolChoice = { type: 'none' };
    else if (c?.type === 'auto') toolChoice = { type: 'auto' };
    if (req.parallelToolCalls === false && toolChoice?.type !== 'none') toolChoice = { ...(toolChoice ?? { type: 'auto' }), disable_parallel_tool_use: true };
  } else if (usedTools.size) {
    // Anthropic rejects tool_use blocks without tool definitions; declare them and forbid new calls.
    out.tools = [...usedTools].map((name) => ({ name, input_schema: { type: 'object' } }));
    toolChoice = { type: 'none' };
  }
  if (toolChoice) out.tool_choice = toolChoice;
  if (req.temperature !== undefined) out.temperature = Math.min(1, Math.max(0, req.temperature));
  if (req.topP !== undefined) out.top_p = req.topP;
  if (req.topK !== undefined) out.top_k = req.topK;
  if (req.stop?.length) out.stop_sequences = req.stop;
  if (req.user) out.metadata = { user_id: req.user };
  if (req.responseFormat) {
    if (req.responseFormat.type === 'json_object') {
      throw new UnsupportedFeatureError('anthropic', 'response_format json_object', 'only a JSON schema can be enforced');
    }
    out.output_config = { format: { type: 'json_schema', schema: req.responseFormat.schema } };
  }
  // Extended thinking, only when Anthropic will accept it; max_tokens always leaves the answer room.
  const sampling = (req.temperature !== undefined && req.temperature !== 1) || req.topK !== undefined || (req.topP !== undefined && req.topP < 0.95);
  const forced = toolChoice?.type === 'any' || toolChoice?.type === 'tool';
  const lastAssistant = [...messages].reverse().find((m) => m.role === 'assistant');
  const unsignedToolTurn =
    lastAssistant !== undefined &&
    lastAssistant.content.some((c) => c.type === 'tool_use') &&
    lastAssistant.content[0]?.type !== 'thinking' &&
    lastAssistant.content[0]?.type !== 'redacted_thinking';
  const blocked = sampling
    ? 'Anthropic thinking needs the default sampling (temperature 1, no top_k)'
    : forced
      ? 'Anthropic thinking cannot be combined with a forced tool choice'
      : unsignedToolTurn
        ? 'the last assistant tool-use turn carries no signed thinking to continue from'
        : undefined;
  const th = anthropicThinking(req, model, blocked);
  out.max_tokens = th.maxTokens;
  if (th.thinking) out.thinking = th.thinking;
  if (req.cache) out.cache_control = req.cache;
  out.stream = req.stream;
  return out;
}

// ---------- response decode / encode ----------

export function decodeResponse(raw: unknown): Response {
  const body = answerOf(raw);
  const parts: Part[] = [];
  if (Array.isArray(body.content)) {
    for (const b of body.content) {
      if (!isObj(b)) continue;
      if (b.type === 'text') parts.push({ type: 'text', text: str(b.text) ?? '' });
      else {
        const p = decodeBlock(b);
        if (p) parts.push(p);
      }
    }
  }
  const r = responseOf(body, parts, stopIn(body.stop_reason), usageIn(body.usage));
  if (typeof body.stop_sequence === 'string') r.stopSequence = body.stop_sequence;
  return r;
}

export function encodeResponse(resp: Response, ctx: { requestedModel: string }): Record<string, unknown> {
  const content: Record<string, unknown>[] = [];
  let hasTool = false;
  for (const p of resp.parts) {
    switch (p.type) {
      case 'text':
        if (p.text) content.push({ type: 'text', text: p.text });
        break;
      case 'thinking':
        if (p.redacted) content.push({ type: 'redacted_thinking', data: p.redacted });
        else content.push({ type: 'thinking', thinking: p.text, signature: packSignature(p.signature, p.carrier) });
        break;
      case 'tool_call':
        hasTool = true;
        content.push({ type: 'tool_use', id: toolId(p.id), name: p.name, input: parseArgs(p.args) });
        break;
      case 'raw':
        if (p.dialect === 'anthropic') content.push(p.value as Record<string, unknown>);
        break;
      default:
        break;
    }
  }
  return {
    id: resp.id && resp.id.startsWith('msg_') ? resp.id : newId('msg_'),
    type: 'message',
    role: 'assistant',
    model: ctx.requestedModel,
    content,
    stop_reason: stopOut(stopWithTools(resp.stop, hasTool)),
    stop_sequence: resp.stopSequence ?? null,
    usage: usageOut(resp.usage),
  };
}

// ---------- stream decode ----------

export class AnthropicStreamDecoder extends FramedDecoder {
  private stopSeen = false;
  private readonly open = new Set<number>();
  constructor(sink: Sink) {
    super(sink, 'sse');
  }
  protected cutShort(): void {
    if (this.stopSeen) {
      for (const i of this.open) this.sink({ type: 'block_stop', index: i });
      this.sink({ type: 'end' });
    } else this.sink({ type: 'error', message: 'upstream stream ended before message_stop' });
  }
  protected onEvent(j: Record<string, unknown>, event: string | null): void {
    const type = str(j.type) ?? event;
    const sink = this.sink;
    switch (type) {
      case 'message_start': {
        const m = isObj(j.message) ? j.message : {};
        this.start(m, usageIn(m.usage));
        break;
      }
      case 'content_block_start': {
        const index = num(j.index) ?? 0;
        const cb = isObj(j.content_block) ? j.content_block : {};
        let block: BlockKind;
        switch (cb.type) {
          case 'text':
            block = { kind: 'text' };
            break;
          case 'thinking':
            block = { kind: 'thinking' };
            break;
          case 'redacted_thinking':
            block = { kind: 'redacted', data: str(cb.data) ?? '' };
            break;
          case 'tool_use':
            block = { kind: 'tool_call', id: str(cb.id) ?? newId('toolu_'), name: str(cb.name) ?? '' };
            break;
          default:
            block = { kind: 'raw', dialect: 'anthropic', value: cb };
        }
        this.open.add(index);
        sink({ type: 'block_start', index, block });
        if (cb.type === 'text' && str(cb.text)) sink({ type: 'text', index, text: str(cb.text)! });
        else if (cb.type === 'thinking') {
          if (str(cb.thinking)) sink({ type: 'text', index, text: str(cb.thinking)! });
          if (str(cb.signature)) sink({ type: 'thinking_meta', index, signature: str(cb.signature)! });
        } else if (cb.type === 'tool_use' && isObj(cb.input) && Object.keys(cb.input).length) {
          sink({ type: 'args', index, json: JSON.stringify(cb.input) });
        }
        break;
      }
      case 'content_block_delta': {
        const index = num(j.index) ?? 0;
        const d = isObj(j.delta) ? j.delta : {};
        // citations and unknown deltas are left out
        const text = d.type === 'text_delta' ? str(d.text) : d.type === 'thinking_delta' ? str(d.thinking) : undefined;
        const json = d.type === 'input_json_delta' ? str(d.partial_json) : undefined;
        const signature = d.type === 'signature_delta' ? str(d.signature) : undefined;
        if (text) sink({ type: 'text', index, text });
        else if (json) sink({ type: 'args', index, json });
        else if (signature) sink({ type: 'thinking_meta', index, signature });
        break;
      }
      case 'content_block_stop': {
        const index = num(j.index) ?? 0;
        if (this.open.delete(index)) sink({ type: 'block_stop', index });
        break;
      }
      case 'message_delta': {
        const u = usageIn(j.usage);
        if (isObj(j.usage) && num(j.usage.input_tokens) === undefined) delete u.input;
        this.addUsage(u);
        const d = isObj(j.delta) ? j.delta : {};
        if (d.stop_reason != null) {
          this.stopSeen = true;
          sink({ type: 'stop', reason: stopIn(d.stop_reason), stopSequence: str(d.stop_sequence) ?? null });
        }
        break;
      }
      case 'message_stop':
        this.done = true;
        for (const i of this.open) sink({ type: 'block_stop', index: i });
        this.open.clear();
        sink({ type: 'end' });
        break;
      case 'error': {
        const e = isObj(j.error) ? j.error : {};
        this.fail(str(e.message) ?? 'upstream stream error', str(e.type));
        break;
      }
      default:
        break; // ping and unknown events
    }
  }
}

// ---------- stream encode ----------

interface BState extends ThinkingState {
  block: BlockKind;
  aidx: number;
  buf: Event[] | null; // queued while another block is open
  skip: boolean;
}

/**
 * Canonical events → Anthropic SSE. Exactly one message_start (sent with the first content, carrying the
 * input tokens), blocks strictly one at a time (interleaved upstream tool calls are queued), every block
 * closed, message_delta with stop_reason and usage, message_stop.
 */
export class AnthropicStreamEncoder extends TextStreamEncoder {
  private started = false;
  private readonly blocks = new Map<number, BState>();
  private active: BState | null = null;
  private readonly queue: BState[] = [];
  private next = 0;
  private hasTool = false;

  private ensureStart(): void {
    if (this.started) return;
    this.started = true;
    const id = this.id && this.id.startsWith('msg_') ? this.id : newId('msg_');
    const usage = usageOut(this.usage, this.ctx.inputTokensEstimate ?? 0);
    usage.output_tokens = Math.min(usage.output_tokens, 1);
    const msg = {
      type: 'message_start',
      message: {
        id,
        type: 'message',
        role: 'assistant',
        model: this.ctx.requestedModel,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage,
      },
    };
    this.out += `event: message_start\ndata: ${JSON.stringify(msg)}\n\n`;
  }

  protected onBlock(ev: BlockEvent): void {
    switch (ev.type) {
      case 'block_start': {
        this.ensureStart();
        const st: BState = { block: ev.block, aidx: -1, buf: null, skip: false };
        this.blocks.set(ev.index, st);
        if (ev.block.kind === 'raw' && ev.block.dialect !== 'anthropic') {
          st.skip = true;
          break;
        }
        if (ev.block.kind === 'tool_call') this.hasTool = true;
        if (this.active) {
          st.buf = [];
          this.queue.push(st);
        } else this.openBlock(st);
        break;
      }
      case 'block_stop': {
        const st = this.blocks.get(ev.index);
        if (!st || st.skip) break;
        if (st.buf) st.buf.push(ev);
        else if (st === this.active) {
          this.closeBlock(st);
          this.drain(false);
        }
        break;
      }
      default: {
        const st = this.blocks.get(ev.index);
        if (!st || st.skip) break;
        if (st.buf) st.buf.push(ev);
        else this.apply(st, ev);
      }
    }
  }

  protected errorEvent(message: string, errorType: string | undefined, extra: Record<string, unknown> | undefined): string {
    return streamErrorEvent('anthropic', message, anthropicErrorType(errorType), undefined, extra);
  }

  private openBlock(st: BState): void {
    st.aidx = this.next++;
    this.active = st;
    const b = st.block;
    let cb: string;
    switch (b.kind) {
      case 'text':
        cb = '{"type":"text","text":""}';
        break;
      case 'thinking':
        cb = '{"type":"thinking","thinking":"","signature":""}';
        break;
      case 'redacted':
        cb = JSON.stringify({ type: 'redacted_thinking', data: b.data });
        break;
      case 'tool_call':
        cb = JSON.stringify({ type: 'tool_use', id: toolId(b.id), name: b.name, input: {} });
        break;
      case 'raw':
        cb = JSON.stringify(b.value);
        break;
    }
    this.out += `event: content_block_start\ndata: {"type":"content_block_start","index":${st.aidx},"content_block":${cb}}\n\n`;
  }

  private apply(st: BState, ev: Event): void {
    if (ev.type === 'thinking_meta') {
      keepThinkingMeta(st, ev);
      return;
    }
    let delta: string;
    if (ev.type === 'text') {
      if (st.block.kind === 'text') delta = `{"type":"text_delta","text":${JSON.stringify(ev.text)}}`;
      else if (st.block.kind === 'thinking') delta = `{"type":"thinking_delta","thinking":${JSON.stringify(ev.text)}}`;
      else return;
    } else if (ev.type === 'args') {
      if (st.block.kind !== 'tool_call' && st.block.kind !== 'raw') return;
      delta = `{"type":"input_json_delta","partial_json":${JSON.stringify(ev.json)}}`;
    } else return;
    this.out += `event: content_block_delta\ndata: {"type":"content_block_delta","index":${st.aidx},"delta":${delta}}\n\n`;
  }

  private closeBlock(st: BState): void {
    if (st.block.kind === 'thinking') {
      const sig = packSignature(st.sig, st.carrier);
      this.out += `event: content_block_delta\ndata: {"type":"content_block_delta","index":${st.aidx},"delta":{"type":"signature_delta","signature":${JSON.stringify(sig)}}}\n\n`;
    }
    this.out += `event: content_block_stop\ndata: {"type":"content_block_stop","index":${st.aidx}}\n\n`;
    if (this.active === st) this.active = null;
  }

  /** Open queued blocks in order; `force` closes them even without their block_stop (end of stream). */
  private drain(force: boolean): void {
    while (!this.active && this.queue.length) {
      const st = this.queue.shift()!;
      const evs = st.buf!;
      st.buf = null;
      this.openBlock(st);
      let closed = false;
      for (const e of evs) {
        if (e.type === 'block_stop') {
          this.closeBlock(st);
          closed = true;
          break;
        }
        this.apply(st, e);
      }
      if (!closed && force) this.closeBlock(st);
    }
  }

  protected finish(): void {
    this.ensureStart();
    if (this.active) this.closeBlock(this.active);
    this.drain(true);
    const stop = this.finalStop(this.hasTool);
    const u = usageOut(this.usage, this.ctx.inputTokensEstimate ?? 0);
    const usage: Record<string, number> = { output_tokens: u.output_tokens! };
    if (this.usage.input !== undefined) {
      usage.input_tokens = u.input_tokens!;
      usage.cache_creation_input_tokens = u.cache_creation_input_tokens!;
      usage.cache_read_input_tokens = u.cache_read_input_tokens!;
    }
    this.out +=
      `event: message_delta\ndata: ${JSON.stringify({ type: 'message_delta', delta: { stop_reason: stopOut(stop), stop_sequence: this.stopSequence }, usage })}\n\n` +
      'event: message_stop\ndata: {"type":"message_stop"}\n\n';
  }
}

function anthropicErrorType(t: string | undefined): string {
  if (!t) return 'api_error';
  if (/rate|quota/.test(t)) return 'rate_limit_error';
  if (/overload/.test(t)) return 'overloaded_error';
  if (/invalid|bad_request/.test(t)) return 'invalid_request_error';
  if (/auth/.test(t)) return 'authentication_error';
  return t.endsWith('_error') ? t : 'api_error';
}

export function modelsBody(names: string[]): Record<string, unknown> {
  const created = '2025-01-01T00:00:00Z';
  const data = names.map((id) => ({ type: 'model', id, display_name: id, created_at: created }));
  return { data, has_more: false, first_id: data[0]?.id ?? null, last_id: data[data.length - 1]?.id ?? null };
}

export type { Message };
export { AnthropicStreamDecoder as Decoder, AnthropicStreamEncoder as Encoder };
