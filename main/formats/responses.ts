// OpenAI Responses: request, response and stream decoders/encoders.
import type { BlockKind, Carrier, Event, FunctionTool, Message, Part, Request, Response, Sink, StopReason, TextPart, ThinkingPart, Tool, ToolCallPart, ToolResultContent, Usage } from './canonical.js';
import { UnsupportedFeatureError, imageUrl, isObj, newId, num, parseDataUrl, str } from './canonical.js';
import { BlockStreamEncoder, FramedDecoder, type ThinkingState, answerOf, effortReasoning, joinText, jsonSchemaIn, jsonSchemaOut, ownRaw, pushToolResult, readNumbers, requestOf, responseOf, stopWithTools, thinkingOf, writeNumbers } from './codec.js';
import { openaiEffort, packReasoning, unpackReasoning } from './reasoning.js';
import { type ContentItems, RESPONSES_FORMAT, usageCounts, usageIn, userContent } from './openai.js';
import { streamErrorEvent } from './errors.js';

function usageOut(u: Usage): Record<string, unknown> {
  const n = usageCounts(u);
  return { input_tokens: n.input, input_tokens_details: { cached_tokens: n.cached }, output_tokens: n.output, output_tokens_details: { reasoning_tokens: n.reasoning }, total_tokens: n.total };
}

function statusOut(stop: StopReason): { status: string; incomplete_details: unknown } {
  if (stop === 'max_tokens' || stop === 'context_window') return { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } };
  if (stop === 'content_filter' || stop === 'refusal') return { status: 'incomplete', incomplete_details: { reason: 'content_filter' } };
  return { status: 'completed', incomplete_details: null };
}
function stopIn(status: unknown, incomplete: unknown, hasTools: boolean, refused: boolean): StopReason {
  if (status === 'incomplete') {
    const reason = isObj(incomplete) ? incomplete.reason : undefined;
    return reason === 'content_filter' ? 'content_filter' : 'max_tokens';
  }
  if (refused) return 'refusal';
  return hasTools ? 'tool_use' : 'end_turn';
}

/** A reasoning item → a thinking part (our own packed encrypted_content is unwrapped). */
function reasoningToThinking(item: Record<string, unknown>): ThinkingPart {
  let text = '';
  if (Array.isArray(item.summary)) for (const s of item.summary) if (isObj(s) && str(s.text)) text += (text ? '\n\n' : '') + str(s.text);
  if (!text && Array.isArray(item.content)) for (const c of item.content) if (isObj(c) && str(c.text)) text += str(c.text);
  const enc = str(item.encrypted_content);
  const u = unpackReasoning(enc);
  if (u && (u.signature || u.carrier || u.redacted || u.text !== undefined)) {
    // the thinking text exactly as the upstream gave it (a signature covers it byte for byte)
    const p: ThinkingPart = { type: 'thinking', text: u.text ?? text };
    if (u.signature) p.signature = u.signature;
    if (u.carrier) p.carrier = u.carrier;
    if (u.redacted) p.redacted = u.redacted;
    return p;
  }
  const carrier: Carrier = { k: 'resp', enc: enc ?? null };
  if (str(item.id)) carrier.id = str(item.id)!;
  return { type: 'thinking', text, carrier };
}
function thinkingToReasoningItem(p: ThinkingPart): Record<string, unknown> {
  const summary = p.text ? [{ type: 'summary_text', text: p.text }] : [];
  if (p.carrier?.k === 'resp') return { id: p.carrier.id ?? newId('rs_'), type: 'reasoning', summary, encrypted_content: p.carrier.enc ?? null };
  return { id: newId('rs_'), type: 'reasoning', summary, encrypted_content: packReasoning(p) };
}

// ---------- request decode ----------

function inputParts(c: unknown): Part[] {
  if (typeof c === 'string') return c ? [{ type: 'text', text: c }] : [];
  if (!Array.isArray(c)) return [];
  const parts: Part[] = [];
  for (const p of c) {
    if (!isObj(p)) continue;
    switch (p.type) {
      case 'input_text':
      case 'output_text':
      case 'text':
        parts.push({ type: 'text', text: str(p.text) ?? '' });
        break;
      case 'refusal':
        parts.push({ type: 'text', text: str(p.refusal) ?? '' });
        break;
      case 'input_image': {
        const url = str(p.image_url);
        if (!url) {
          parts.push({ type: 'raw', dialect: 'responses', what: 'an image referenced by file_id', value: p });
          break;
        }
        const d = parseDataUrl(url);
        parts.push({
          type: 'image',
          source: d ? { kind: 'base64', mediaType: d.mediaType, data: d.data } : { kind: 'url', url },
          ...(str(p.detail) ? { detail: str(p.detail)! } : {}),
        });
        break;
      }
      case 'input_file': {
        const d = str(p.file_data) ? parseDataUrl(str(p.file_data)!) : undefined;
        if (d) parts.push({ type: 'document', mediaType: d.mediaType, data: d.data, ...(str(p.filename) ? { filename: str(p.filename)! } : {}) });
        else if (str(p.file_url)) parts.push({ type: 'document', mediaType: 'application/pdf', url: str(p.file_url)! });
        else parts.push({ type: 'raw', dialect: 'responses', what: 'a file referenced by file_id', value: p });
        break;
      }
      default:
        parts.push({ type: 'raw', dialect: 'responses', what: `a ${String(p.type)} content part`, value: p });
    }
  }
  return parts;
}

export function decodeRequest(raw: unknown): Request {
  const { body, req } = requestOf(raw, { messages: false });
  const clientOnly: string[] = [];
  if (str(body.instructions)) req.system.push({ type: 'text', text: str(body.instructions)! });
  const assistant = (): Message => {
    const last = req.messages[req.messages.length - 1];
    if (last && last.role === 'assistant') return last;
    const m: Message = { role: 'assistant', parts: [] };
    req.messages.push(m);
    return m;
  };
  if (typeof body.input === 'string') req.messages.push({ role: 'user', parts: [{ type: 'text', text: body.input }] });
  else if (Array.isArray(body.input)) {
    for (const item of body.input) {
      if (!isObj(item)) continue;
      const type = item.type ?? (item.role ? 'message' : undefined);
      switch (type) {
        case 'message': {
          if (item.role === 'system' || item.role === 'developer') {
            // before the first turn: the system prompt; later: a system message kept in its place
            const into: Part[] = inputParts(item.content).filter((p) => p.type === 'text');
            if (!req.messages.length) req.system.push(...(into as TextPart[]));
            else if (into.length) req.messages.push({ role: 'system', parts: into });
          } else if (item.role === 'assistant') assistant().parts.push(...inputParts(item.content));
          else req.messages.push({ role: 'user', parts: inputParts(item.content) });
          break;
        }
        case 'function_call':
        case 'custom_tool_call':
          assistant().parts.push(callPart(item));
          break;
        case 'function_call_output':
        case 'custom_tool_call_output': {
          const content: ToolResultContent[] = [];
          if (typeof item.output === 'string') content.push({ type: 'text', text: item.output });
          else for (const p of inputParts(item.output)) if (p.type === 'text' || p.type === 'image' || p.type === 'document' || p.type === 'raw') content.push(p);
          pushToolResult(req, { type: 'tool_result', id: str(item.call_id) ?? '', content });
          break;
        }
        case 'reasoning':
          assistant().parts.push(reasoningToThinking(item));
          break;
        case 'item_reference':
          clientOnly.push('item_reference (server-stored items)');
          break;
        default:
          req.messages.push({ role: 'user', parts: [{ type: 'raw', dialect: 'responses', what: `a ${String(type)} input item`, value: item }] });
      }
    }
  }
  if (Array.isArray(body.tools)) req.tools = decodeTools(body.tools);
  const tc = body.tool_choice;
  if (tc === 'auto' || tc === 'none' || tc === 'required') req.toolChoice = { type: tc };
  else if (isObj(tc) && (tc.type === 'function' || tc.type === 'custom') && str(tc.name)) req.toolChoice = { type: 'tool', name: str(tc.name)! };
  if (typeof body.parallel_tool_calls === 'boolean') req.parallelToolCalls = body.parallel_tool_calls;
  readNumbers(req, body, { maxTokens: 'max_output_tokens', temperature: 'temperature', topP: 'top_p' });
  const user = str(body.user) ?? str(body.safety_identifier);
  if (user) req.user = user;
  const fmt = isObj(body.text) && isObj(body.text.format) ? body.text.format : undefined;
  if (fmt?.type === 'json_object') req.responseFormat = { type: 'json_object' };
  else if (fmt?.type === 'json_schema' && isObj(fmt.schema)) req.responseFormat = jsonSchemaIn(fmt, fmt.schema);
  if (isObj(body.reasoning) && str(body.reasoning.effort)) req.reasoning = effortReasoning(str(body.reasoning.effort)!);
  if (str(body.previous_response_id)) clientOnly.push('previous_response_id (server-stored conversation state)');
  if (body.conversation) clientOnly.push('conversation (server-stored conversation state)');
  if (body.background === true) clientOnly.push('background responses');
  if (clientOnly.length) (req as Request & { clientOnly?: string[] }).clientOnly = clientOnly;
  return req;
}

// ---------- request encode ----------

/**
 * An assistant turn as Responses items: consecutive text becomes one message item (`message`), every other part
 * the items `other` makes of it (none: it is left out, and the text around it stays one message).
 */
function assistantItems(
  parts: Part[],
  message: (text: string) => Record<string, unknown>,
  other: (p: Part) => Record<string, unknown>[],
): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  let text = '';
  for (const p of parts) {
    if (p.type === 'text') {
      text += p.text;
      continue;
    }
    const items = other(p);
    if (!items.length) continue;
    if (text) out.push(message(text));
    text = '';
    out.push(...items);
  }
  if (text) out.push(message(text));
  return out;
}

/** Thinking that can go back to OpenAI: only its own reasoning items, with their encrypted content. */
function reasoningItems(p: ThinkingPart): Record<string, unknown>[] {
  if (p.carrier?.k === 'resp' && p.carrier.id && p.carrier.enc) return [thinkingToReasoningItem(p)];
  if (p.carrier?.k !== 'or') return [];
  // a Chat client's reasoning_details (OpenRouter's shape) holding OpenAI reasoning items
  return p.carrier.d
    .filter((e): e is Record<string, unknown> => isObj(e) && e.type === 'reasoning.encrypted' && e.format === RESPONSES_FORMAT && !!str(e.data))
    .map((e) => ({ id: str(e.id) ?? newId('rs_'), type: 'reasoning', summary: [], encrypted_content: str(e.data)! }));
}

const INPUT_ITEMS: ContentItems = {
  text: (text) => ({ type: 'input_text', text }),
  image: (p) => ({ type: 'input_image', image_url: imageUrl(p.source), detail: p.detail ?? 'auto' }),
  file: (filename, file_data) => ({ type: 'input_file', filename, file_data }),
  fileUrl: (p) => ({ type: 'input_file', file_url: p.url }),
};

function encodeInputContent(parts: (Part | ToolResultContent)[]): Record<string, unknown>[] {
  return userContent(parts, 'responses', INPUT_ITEMS);
}

export function encodeRequest(req: Request, model: string): Record<string, unknown> {
  const input: Record<string, unknown>[] = [];
  const customCalls = new Set<string>();
  for (const m of req.messages) for (const p of m.parts) if (p.type === 'tool_call' && p.custom) customCalls.add(p.id);
  let wantsEncrypted = req.reasoning?.enabled === true;
  for (const m of req.messages) {
    if (m.role === 'system') {
      const content = encodeInputContent(m.parts.filter((p) => p.type === 'text'));
      if (content.length) input.push({ type: 'message', role: 'developer', content });
      continue;
    }
    if (m.role === 'user') {
      const rest: Part[] = [];
      for (const p of m.parts) {
        if (p.type === 'tool_result') {
          const onlyText = p.content.every((c) => c.type === 'text');
          let output: unknown = onlyText ? p.content.map((c) => (c as { text: string }).text).join('\n\n') : encodeInputContent(p.content);
          if (p.isError && typeof output === 'string' && !/^error/i.test(output)) output = `Error: ${output}`;
          input.push({ type: customCalls.has(p.id) ? 'custom_tool_call_output' : 'function_call_output', call_id: p.id, output });
        } else if (p.type !== 'thinking' && p.type !== 'tool_call') rest.push(p);
      }
      const content = encodeInputContent(rest);
      if (content.length) input.push({ type: 'message', role: 'user', content });
      continue;
    }
    const items = assistantItems(
      m.parts,
      (text) => ({ type: 'message', role: 'assistant', content: text }),
      (p) => {
        if (p.type === 'tool_call') return [callItem(p)];
        if (p.type === 'raw') return [ownRaw('responses', p)];
        if (p.type !== 'thinking') return [];
        const reasoning = reasoningItems(p);
        if (reasoning.length) wantsEncrypted = true;
        return reasoning;
      },
    );
    input.push(...items);
  }
  const out: Record<string, unknown> = { model, input };
  const sys = joinText(req.system);
  if (sys) out.instructions = sys;
  const tools = encodeTools(req.tools ?? []);
  if (tools.length) {
    out.tools = tools;
    const c = req.toolChoice;
    if (c?.type === 'tool') out.tool_choice = { type: 'function', name: c.name };
    else if (c) out.tool_choice = c.type;
    if (req.parallelToolCalls !== undefined) out.parallel_tool_calls = req.parallelToolCalls;
  }
  writeNumbers(out, req, { maxTokens: 'max_output_tokens', temperature: 'temperature', topP: 'top_p' });
  if (req.stop?.length) throw new UnsupportedFeatureError('responses', 'stop sequences');
  if (req.user) out.safety_identifier = req.user;
  const rf = req.responseFormat;
  if (rf?.type === 'json_object') out.text = { format: { type: 'json_object' } };
  else if (rf?.type === 'json_schema') out.text = { format: { type: 'json_schema', ...jsonSchemaOut(rf) } };
  const effort = openaiEffort(req, ['minimal', 'low', 'medium', 'high'], 'reasoning.effort');
  if (effort) out.reasoning = { effort };
  out.store = false;
  if (wantsEncrypted) out.include = ['reasoning.encrypted_content'];
  out.stream = req.stream;
  return out;
}

// ---------- response decode / encode ----------

export function decodeResponse(raw: unknown): Response {
  const body = answerOf(raw);
  const parts: Part[] = [];
  let refused = false;
  if (Array.isArray(body.output)) {
    for (const item of body.output) {
      if (!isObj(item)) continue;
      if (item.type === 'message' && Array.isArray(item.content)) {
        for (const c of item.content) {
          if (!isObj(c)) continue;
          if (c.type === 'output_text') parts.push({ type: 'text', text: str(c.text) ?? '' });
          else if (c.type === 'refusal') {
            refused = true;
            parts.push({ type: 'text', text: str(c.refusal) ?? '' });
          }
        }
      } else if (item.type === 'reasoning') parts.push(reasoningToThinking(item));
      else if (item.type === 'function_call' || item.type === 'custom_tool_call') parts.push(callPart(item));
      else parts.push({ type: 'raw', dialect: 'responses', what: `a ${String(item.type)} output item`, value: item });
    }
  }
  const hasTools = parts.some((p) => p.type === 'tool_call');
  return responseOf(body, parts, stopIn(body.status, body.incomplete_details, hasTools, refused), usageIn(body.usage));
}

function baseResponse(id: string, model: string, createdAt: number): Record<string, unknown> {
  return {
    id,
    object: 'response',
    created_at: createdAt,
    status: 'in_progress',
    error: null,
    incomplete_details: null,
    instructions: null,
    max_output_tokens: null,
    model,
    output: [],
    parallel_tool_calls: true,
    previous_response_id: null,
    reasoning: { effort: null, summary: null },
    store: false,
    temperature: null,
    text: { format: { type: 'text' } },
    tool_choice: 'auto',
    tools: [],
    top_p: null,
    truncation: 'disabled',
    usage: null,
    metadata: {},
  };
}

/** A finished message item holding output text. */
function messageItem(id: string, text: string): Record<string, unknown> {
  return { id, type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text, annotations: [], logprobs: [] }] };
}

/** The response object once finished: its status (from the stop reason), output items, usage and output_text. */
function completed(r: Record<string, unknown>, stop: StopReason, output: Record<string, unknown>[], usage: Usage, text: string): Record<string, unknown> {
  const st = statusOut(stop);
  r.status = st.status;
  r.incomplete_details = st.incomplete_details;
  r.output = output;
  r.usage = usageOut(usage);
  r.output_text = text;
  return r;
}

export function encodeResponse(resp: Response, ctx: { requestedModel: string }): Record<string, unknown> {
  const output = assistantItems(
    resp.parts,
    (text) => messageItem(newId('msg_'), text),
    (p) => {
      if (p.type === 'thinking') return [thinkingToReasoningItem(p)];
      if (p.type === 'tool_call') return [{ id: newId(p.custom ? 'ctc_' : 'fc_'), ...callItem(p), status: 'completed' }];
      if (p.type === 'raw' && p.dialect === 'responses') return [p.value as Record<string, unknown>];
      return [];
    },
  );
  const text = resp.parts.map((p) => (p.type === 'text' ? p.text : '')).join('');
  const hasTool = resp.parts.some((p) => p.type === 'tool_call');
  const r = baseResponse(resp.id && resp.id.startsWith('resp_') ? resp.id : newId('resp_'), ctx.requestedModel, Math.floor(Date.now() / 1000));
  return completed(r, stopWithTools(resp.stop, hasTool), output, resp.usage, text);
}

// ---------- stream decode ----------

interface ItemState {
  kind: 'message' | 'reasoning' | 'function_call' | 'other';
  cidx: number; // reasoning / function_call block
  argsSeen: boolean;
  summaryIndex: number;
  texts: Map<number, number>; // content_index → block (message)
}

export class ResponsesStreamDecoder extends FramedDecoder {
  private next = 0;
  private readonly items = new Map<number, ItemState>();
  private anyTool = false;
  private refused = false;
  constructor(sink: Sink) {
    super(sink, 'sse');
  }
  protected cutShort(): void {
    this.sink({ type: 'error', message: 'upstream stream ended before response.completed' });
  }

  private item(i: number): ItemState {
    let it = this.items.get(i);
    if (!it) {
      it = { kind: 'message', cidx: -1, argsSeen: false, summaryIndex: 0, texts: new Map() };
      this.items.set(i, it);
    }
    return it;
  }
  private textBlock(it: ItemState, ci: number): number {
    let b = it.texts.get(ci);
    if (b === undefined) {
      b = this.next++;
      it.texts.set(ci, b);
      this.sink({ type: 'block_start', index: b, block: { kind: 'text' } });
    }
    return b;
  }
  private closeItem(it: ItemState): void {
    for (const b of it.texts.values()) this.sink({ type: 'block_stop', index: b });
    it.texts.clear();
    if (it.cidx >= 0) {
      this.sink({ type: 'block_stop', index: it.cidx });
      it.cidx = -1;
    }
  }

  protected onEvent(j: Record<string, unknown>, event: string | null): void {
    const type = str(j.type) ?? event;
    const sink = this.sink;
    const oi = num(j.output_index) ?? 0;
    switch (type) {
      case 'response.created': {
        this.start(isObj(j.response) ? j.response : {});
        break;
      }
      case 'response.output_item.added': {
        const item = isObj(j.item) ? j.item : {};
        const it = this.item(oi);
        if (item.type === 'reasoning') {
          it.kind = 'reasoning';
          it.cidx = this.next++;
          sink({ type: 'block_start', index: it.cidx, block: { kind: 'thinking' } });
        } else if (item.type === 'function_call' || item.type === 'custom_tool_call') {
          it.kind = 'function_call';
          this.anyTool = true;
          it.cidx = this.next++;
          const call = callPart(item);
          const block: BlockKind = { kind: 'tool_call', id: call.id, name: call.name };
          if (call.namespace) block.namespace = call.namespace;
          if (call.custom) block.custom = true;
          sink({ type: 'block_start', index: it.cidx, block });
          if (call.args) {
            it.argsSeen = true;
            sink({ type: 'args', index: it.cidx, json: call.args });
          }
        } else if (item.type !== 'message') it.kind = 'other';
        break;
      }
      case 'response.content_part.added': {
        const it = this.item(oi);
        const part = isObj(j.part) ? j.part : {};
        if (it.kind === 'message' && (part.type === 'output_text' || part.type === 'refusal')) this.textBlock(it, num(j.content_index) ?? 0);
        break;
      }
      case 'response.output_text.delta':
      case 'response.refusal.delta': {
        if (type === 'response.refusal.delta') this.refused = true;
        const it = this.item(oi);
        if (it.kind !== 'message') break;
        const d = str(j.delta);
        if (d) sink({ type: 'text', index: this.textBlock(it, num(j.content_index) ?? 0), text: d });
        break;
      }
      case 'response.reasoning_summary_text.delta':
      case 'response.reasoning_text.delta': {
        const it = this.item(oi);
        if (it.kind !== 'reasoning' || it.cidx < 0) break;
        let d = str(j.delta) ?? '';
        const si = num(j.summary_index) ?? 0;
        if (si !== it.summaryIndex) {
          it.summaryIndex = si;
          d = '\n\n' + d;
        }
        if (d) sink({ type: 'text', index: it.cidx, text: d });
        break;
      }
      case 'response.function_call_arguments.delta':
      case 'response.custom_tool_call_input.delta': {
        const it = this.item(oi);
        const d = str(j.delta);
        if (it.kind === 'function_call' && it.cidx >= 0 && d) {
          it.argsSeen = true;
          sink({ type: 'args', index: it.cidx, json: d });
        }
        break;
      }
      case 'response.function_call_arguments.done':
      case 'response.custom_tool_call_input.done': {
        const it = this.item(oi);
        const whole = str(j.arguments) ?? str(j.input);
        if (it.kind === 'function_call' && it.cidx >= 0 && !it.argsSeen && whole) {
          it.argsSeen = true;
          sink({ type: 'args', index: it.cidx, json: whole });
        }
        break;
      }
      case 'response.content_part.done': {
        const it = this.item(oi);
        const ci = num(j.content_index) ?? 0;
        const b = it.texts.get(ci);
        if (b !== undefined) {
          sink({ type: 'block_stop', index: b });
          it.texts.delete(ci);
        }
        break;
      }
      case 'response.output_item.done': {
        const it = this.item(oi);
        const item = isObj(j.item) ? j.item : {};
        if (it.kind === 'reasoning' && it.cidx >= 0) {
          const t = reasoningToThinking(item);
          const ev: Event = { type: 'thinking_meta', index: it.cidx };
          if (t.signature) ev.signature = t.signature;
          if (t.carrier) ev.carrier = t.carrier;
          sink(ev);
        } else if (it.kind === 'function_call' && it.cidx >= 0 && !it.argsSeen && (str(item.arguments) ?? str(item.input))) {
          it.argsSeen = true;
          sink({ type: 'args', index: it.cidx, json: (str(item.arguments) ?? str(item.input))! });
        }
        this.closeItem(it);
        break;
      }
      case 'response.completed':
      case 'response.incomplete': {
        for (const it of this.items.values()) this.closeItem(it);
        const r = isObj(j.response) ? j.response : {};
        this.addUsage(usageIn(r.usage));
        sink({ type: 'stop', reason: stopIn(r.status ?? (type === 'response.incomplete' ? 'incomplete' : 'completed'), r.incomplete_details, this.anyTool, this.refused) });
        this.done = true;
        sink({ type: 'end' });
        break;
      }
      case 'response.failed': {
        const r = isObj(j.response) ? j.response : {};
        const e = isObj(r.error) ? r.error : {};
        this.fail(str(e.message) ?? 'upstream response failed', str(e.code));
        break;
      }
      case 'error': {
        const e = isObj(j.error) ? j.error : j;
        const code = str(e.code) ?? str(e.type);
        this.fail(str(e.message) ?? 'upstream stream error', code !== 'error' ? code : undefined);
        break;
      }
      default:
        break;
    }
  }
}

// ---------- stream encode ----------

interface OState extends ThinkingState {
  kind: 'text' | 'thinking' | 'redacted' | 'tool_call' | 'skip';
  oi: number;
  itemId: string;
  acc: string;
  callId?: string;
  name?: string;
  namespace?: string;
  custom?: boolean;
  argsSent: boolean;
}

/** Canonical events → Responses SSE (response.created … response.completed, with sequence numbers). */
export class ResponsesStreamEncoder extends BlockStreamEncoder<OState> {
  private seq = 0;
  private started = false;
  private readonly responseId = newId('resp_');
  private readonly createdAt = Math.floor(Date.now() / 1000);
  private readonly output: Record<string, unknown>[] = [];
  private nextOi = 0;
  private hasTool = false;
  private text = '';

  /** `body` is the event's JSON without the closing brace's type/sequence fields. */
  private emit(type: string, body: string): void {
    this.out += `event: ${type}\ndata: {"type":"${type}",${body}"sequence_number":${this.seq++}}\n\n`;
  }

  private ensureStart(): void {
    if (this.started) return;
    this.started = true;
    const r = JSON.stringify({ ...baseResponse(this.responseId, this.ctx.requestedModel, this.createdAt), ...this.ctx.responseFields });
    this.emit('response.created', `"response":${r},`);
    this.emit('response.in_progress', `"response":${r},`);
  }

  private finalItem(st: OState): Record<string, unknown> {
    switch (st.kind) {
      case 'text':
        return messageItem(st.itemId, st.acc);
      case 'tool_call': {
        const p: ToolCallPart = { type: 'tool_call', id: st.callId ?? '', name: st.name ?? '', args: st.acc };
        if (st.namespace) p.namespace = st.namespace;
        if (st.custom) p.custom = true;
        return { id: st.itemId, ...callItem(p), status: 'completed' };
      }
      default: {
        const item = thinkingToReasoningItem(thinkingOf(st.acc, st));
        item.id = st.itemId;
        return item;
      }
    }
  }

  protected openBlock(b: BlockKind): OState {
    this.ensureStart();
    if (b.kind === 'raw') {
      if (b.dialect === 'responses' && isObj(b.value)) {
        // a finished output item of our own dialect (a web search the upstream ran): shown as it is
        const oi = this.nextOi++;
        const item = JSON.stringify(b.value);
        this.output[oi] = b.value;
        this.emit('response.output_item.added', `"output_index":${oi},"item":${item},`);
        this.emit('response.output_item.done', `"output_index":${oi},"item":${item},`);
      }
      return { kind: 'skip', oi: -1, itemId: '', acc: '', argsSent: false };
    }
    const oi = this.nextOi++;
    let st: OState;
    if (b.kind === 'text') {
      st = { kind: 'text', oi, itemId: newId('msg_'), acc: '', argsSent: false };
      this.emit('response.output_item.added', `"output_index":${oi},"item":{"id":"${st.itemId}","type":"message","role":"assistant","status":"in_progress","content":[]},`);
      this.emit('response.content_part.added', `"item_id":"${st.itemId}","output_index":${oi},"content_index":0,"part":{"type":"output_text","text":"","annotations":[],"logprobs":[]},`);
    } else if (b.kind === 'tool_call') {
      this.hasTool = true;
      st = { kind: 'tool_call', oi, itemId: newId(b.custom ? 'ctc_' : 'fc_'), acc: '', callId: b.id, name: b.name, argsSent: false };
      if (b.namespace) st.namespace = b.namespace;
      if (b.custom) st.custom = true;
      const ns = b.namespace ? { namespace: b.namespace } : {};
      const item = b.custom
        ? { id: st.itemId, type: 'custom_tool_call', status: 'in_progress', call_id: b.id, name: b.name, input: '', ...ns }
        : { id: st.itemId, type: 'function_call', status: 'in_progress', call_id: b.id, name: b.name, arguments: '', ...ns };
      this.emit('response.output_item.added', `"output_index":${oi},"item":${JSON.stringify(item)},`);
    } else {
      st = { kind: b.kind === 'redacted' ? 'redacted' : 'thinking', oi, itemId: newId('rs_'), acc: '', argsSent: false };
      if (b.kind === 'redacted') st.data = b.data;
      this.emit('response.output_item.added', `"output_index":${oi},"item":{"id":"${st.itemId}","type":"reasoning","summary":[]},`);
      if (st.kind === 'thinking')
        this.emit('response.reasoning_summary_part.added', `"item_id":"${st.itemId}","output_index":${oi},"summary_index":0,"part":{"type":"summary_text","text":""},`);
    }
    return st;
  }

  protected blockText(st: OState, text: string): void {
    if (st.kind === 'text') {
      st.acc += text;
      this.emit('response.output_text.delta', `"item_id":"${st.itemId}","output_index":${st.oi},"content_index":0,"delta":${JSON.stringify(text)},"logprobs":[],`);
    } else if (st.kind === 'thinking') {
      st.acc += text;
      this.emit('response.reasoning_summary_text.delta', `"item_id":"${st.itemId}","output_index":${st.oi},"summary_index":0,"delta":${JSON.stringify(text)},`);
    }
  }

  protected blockArgs(st: OState, json: string): void {
    if (st.kind !== 'tool_call') return;
    st.acc += json;
    const type = st.custom ? 'response.custom_tool_call_input.delta' : 'response.function_call_arguments.delta';
    this.emit(type, `"item_id":"${st.itemId}","output_index":${st.oi},"delta":${JSON.stringify(json)},`);
  }

  protected closeBlock(st: OState): void {
    if (st.kind === 'skip') return;
    const pre = `"item_id":"${st.itemId}","output_index":${st.oi},`;
    if (st.kind === 'text') {
      this.text += st.acc;
      const t = JSON.stringify(st.acc);
      this.emit('response.output_text.done', `${pre}"content_index":0,"text":${t},"logprobs":[],`);
      this.emit('response.content_part.done', `${pre}"content_index":0,"part":{"type":"output_text","text":${t},"annotations":[],"logprobs":[]},`);
    } else if (st.kind === 'tool_call') {
      if (st.custom) this.emit('response.custom_tool_call_input.done', `${pre}"input":${JSON.stringify(st.acc)},`);
      else this.emit('response.function_call_arguments.done', `${pre}"name":${JSON.stringify(st.name)},"arguments":${JSON.stringify(st.acc || '{}')},`);
    } else if (st.kind === 'thinking') {
      const t = JSON.stringify(st.acc);
      this.emit('response.reasoning_summary_text.done', `${pre}"summary_index":0,"text":${t},`);
      this.emit('response.reasoning_summary_part.done', `${pre}"summary_index":0,"part":{"type":"summary_text","text":${t}},`);
    }
    const item = this.finalItem(st);
    this.output[st.oi] = item;
    this.emit('response.output_item.done', `"output_index":${st.oi},"item":${JSON.stringify(item)},`);
  }

  protected finish(): void {
    this.ensureStart();
    this.closeOpen();
    const base = { ...baseResponse(this.responseId, this.ctx.requestedModel, this.createdAt), ...this.ctx.responseFields };
    const r = completed(base, this.finalStop(this.hasTool), this.output.filter(Boolean), this.usage, this.text);
    this.emit(r.status === 'completed' ? 'response.completed' : 'response.incomplete', `"response":${JSON.stringify(r)},`);
    this.ctx.onResponse?.(r);
  }

  protected errorEvent(message: string, errorType: string | undefined, extra: Record<string, unknown> | undefined): string {
    return streamErrorEvent('responses', message, errorType, this.seq++, extra);
  }
}

export { modelsBody } from './openai.js';
export { ResponsesStreamDecoder as Decoder, ResponsesStreamEncoder as Encoder };

// ---------- tools: function, namespace and free-form (custom) ----------

/** A `function_call` or `custom_tool_call` item → a tool call (a free-form call keeps its raw input as args). */
function callPart(item: Record<string, unknown>): ToolCallPart {
  const custom = item.type === 'custom_tool_call';
  const p: ToolCallPart = {
    type: 'tool_call',
    id: str(item.call_id) ?? str(item.id) ?? newId('call_'),
    name: str(item.name) ?? '',
    args: (custom ? str(item.input) : str(item.arguments)) ?? '',
  };
  if (str(item.namespace)) p.namespace = str(item.namespace)!;
  if (custom) p.custom = true;
  return p;
}
/** A tool call → its `function_call` / `custom_tool_call` item (without id and status). */
function callItem(p: ToolCallPart): Record<string, unknown> {
  const ns = p.namespace ? { namespace: p.namespace } : {};
  if (p.custom) return { type: 'custom_tool_call', call_id: p.id, name: p.name, input: p.args, ...ns };
  return { type: 'function_call', call_id: p.id, name: p.name, arguments: p.args.trim() ? p.args : '{}', ...ns };
}

function decodeFunction(t: Record<string, unknown>, ns?: Record<string, unknown>): FunctionTool {
  const ft: FunctionTool = { kind: 'function', name: str(t.name) ?? '', parameters: isObj(t.parameters) ? t.parameters : { type: 'object', properties: {} } };
  if (str(t.description)) ft.description = str(t.description)!;
  if (typeof t.strict === 'boolean') ft.strict = t.strict;
  if (t.type === 'custom') ft.custom = t.format !== undefined ? { format: t.format } : {};
  if (t.defer_loading === true) ft.deferred = true;
  if (ns) {
    ft.namespace = str(ns.name) ?? '';
    if (str(ns.description)) ft.namespaceDescription = str(ns.description)!;
  }
  return ft;
}

/** `tools`: function and free-form tools, namespaces' members (each knowing its namespace), hosted tools raw. */
function decodeTools(list: unknown[]): Tool[] {
  const out: Tool[] = [];
  for (const t of list) {
    if (isObj(t) && (t.type === 'function' || t.type === 'custom')) out.push(decodeFunction(t));
    else if (isObj(t) && t.type === 'namespace' && Array.isArray(t.tools)) {
      for (const m of t.tools) if (isObj(m) && (m.type === 'function' || m.type === 'custom')) out.push(decodeFunction(m, t));
    } else out.push({ kind: 'raw', dialect: 'responses', what: `the ${isObj(t) ? String(t.type) : 'unknown'} tool`, value: t });
  }
  return out;
}

function encodeFunction(t: FunctionTool): Record<string, unknown> {
  const desc = t.description ? { description: t.description } : {};
  const defer = t.deferred ? { defer_loading: true } : {};
  if (t.custom) return { type: 'custom', name: t.name, ...desc, ...(t.custom.format !== undefined ? { format: t.custom.format } : {}), ...defer };
  return { type: 'function', name: t.name, ...desc, parameters: t.parameters, strict: t.strict ?? false, ...defer };
}

/** Canonical tools → Responses `tools`, members of one namespace gathered again into their namespace tool. */
function encodeTools(tools: Tool[]): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const spaces = new Map<string, Record<string, unknown>[]>();
  for (const t of tools) {
    if (t.kind === 'raw') out.push(ownRaw('responses', t));
    else if (t.namespace !== undefined) {
      let members = spaces.get(t.namespace);
      if (!members) {
        members = [];
        spaces.set(t.namespace, members);
        out.push({ type: 'namespace', name: t.namespace, description: t.namespaceDescription ?? '', tools: members });
      }
      members.push(encodeFunction(t));
    } else out.push(encodeFunction(t));
  }
  return out;
}
