// Ollama native /api/chat: request, response and NDJSON stream decoders/encoders.
import type { BlockKind, FunctionTool, Part, Request, Response, Sink, StopReason, ToolResultContent, Usage } from './canonical.js';
import { ThinkSplitter, UnsupportedFeatureError, isObj, newId, num, parseArgs, splitThink, str } from './canonical.js';
import { BlockStreamEncoder, FramedDecoder, type ThinkingState, answerOf, joinText, pushToolResult, readNumbers, requestOf, responseOf, unknownRole, writeNumbers } from './codec.js';
import { streamErrorEvent } from './errors.js';

/** Ollama images are bare base64; guess the media type from the magic bytes. */
export function sniffImageType(b64: string): string {
  if (b64.startsWith('/9j/')) return 'image/jpeg';
  if (b64.startsWith('iVBOR')) return 'image/png';
  if (b64.startsWith('R0lGOD')) return 'image/gif';
  if (b64.startsWith('UklGR')) return 'image/webp';
  return 'image/png';
}

function stopIn(doneReason: unknown, hasTools: boolean): StopReason {
  if (doneReason === 'length') return 'max_tokens';
  return hasTools ? 'tool_use' : 'end_turn';
}
function stopOut(s: StopReason): string {
  return s === 'max_tokens' || s === 'context_window' ? 'length' : 'stop';
}

function usageIn(j: Record<string, unknown>): Usage {
  const u: Usage = {};
  if (num(j.prompt_eval_count) !== undefined) u.input = num(j.prompt_eval_count)!;
  if (num(j.eval_count) !== undefined) u.output = num(j.eval_count)!;
  return u;
}

function argsText(a: unknown): string {
  if (typeof a === 'string') return a;
  if (a === undefined || a === null) return '';
  return JSON.stringify(a);
}

// ---------- request decode ----------

export function decodeRequest(raw: unknown): Request {
  const { body, req } = requestOf(raw, { messages: true, streamByDefault: true });
  for (const m of body.messages as unknown[]) {
    if (!isObj(m)) continue;
    const text = str(m.content) ?? '';
    const images: Part[] = Array.isArray(m.images)
      ? m.images.filter((i): i is string => typeof i === 'string').map((d) => ({ type: 'image', source: { kind: 'base64', mediaType: sniffImageType(d), data: d } }))
      : [];
    switch (m.role) {
      case 'system':
        // before the first turn: the system prompt; later: a system message kept in its place
        if (text) {
          if (!req.messages.length) req.system.push({ type: 'text', text });
          else req.messages.push({ role: 'system', parts: [{ type: 'text', text }] });
        }
        break;
      case 'user':
        req.messages.push({ role: 'user', parts: [...(text ? [{ type: 'text' as const, text }] : []), ...images] });
        break;
      case 'assistant': {
        const parts: Part[] = [];
        if (str(m.thinking)) parts.push({ type: 'thinking', text: str(m.thinking)!, carrier: { k: 'ollama' } });
        if (text) parts.push({ type: 'text', text });
        if (Array.isArray(m.tool_calls)) {
          for (const tc of m.tool_calls) {
            if (!isObj(tc)) continue;
            const fn = isObj(tc.function) ? tc.function : {};
            parts.push({ type: 'tool_call', id: str(tc.id) ?? newId('call_'), name: str(fn.name) ?? '', args: argsText(fn.arguments) });
          }
        }
        req.messages.push({ role: 'assistant', parts });
        break;
      }
      case 'tool': {
        const content: ToolResultContent[] = [{ type: 'text', text }];
        for (const i of images) if (i.type === 'image') content.push(i);
        // Ollama links results by tool_name (newer versions also send tool_call_id).
        const name = str(m.tool_name) ?? str(m.name);
        let id = str(m.tool_call_id);
        if (!id) {
          for (let k = req.messages.length - 1; k >= 0 && !id; k--) {
            const prev = req.messages[k]!;
            if (prev.role !== 'assistant') continue;
            const call = prev.parts.find((p) => p.type === 'tool_call' && (!name || p.name === name));
            if (call && call.type === 'tool_call') id = call.id;
            break;
          }
        }
        pushToolResult(req, { type: 'tool_result', id: id ?? newId('call_'), content, ...(name ? { name } : {}) });
        break;
      }
      default:
        unknownRole(m.role);
    }
  }
  if (Array.isArray(body.tools)) {
    req.tools = body.tools.filter(isObj).map((t) => {
      const f = isObj(t.function) ? t.function : {};
      const ft: FunctionTool = { kind: 'function', name: str(f.name) ?? '', parameters: isObj(f.parameters) ? f.parameters : { type: 'object', properties: {} } };
      if (str(f.description)) ft.description = str(f.description)!;
      return ft;
    });
  }
  if (body.format === 'json') req.responseFormat = { type: 'json_object' };
  else if (isObj(body.format)) req.responseFormat = { type: 'json_schema', schema: body.format };
  const o = isObj(body.options) ? body.options : {};
  readNumbers(req, o, { temperature: 'temperature', topP: 'top_p', topK: 'top_k' });
  if (num(o.num_predict) !== undefined && num(o.num_predict)! > 0) req.maxTokens = num(o.num_predict)!;
  readNumbers(req, o, { seed: 'seed' });
  if (Array.isArray(o.stop)) req.stop = o.stop.filter((s): s is string => typeof s === 'string');
  if (body.think === true) req.reasoning = { enabled: true };
  else if (body.think === false) req.reasoning = { enabled: false };
  else if (typeof body.think === 'string') req.reasoning = { enabled: true, effort: body.think };
  return req;
}

// ---------- request encode ----------

function mediaOf(parts: (Part | ToolResultContent)[], where: string): { text: string; images: string[] } {
  let text = '';
  const images: string[] = [];
  for (const p of parts) {
    if (p.type === 'text') text += (text && p.text ? '\n\n' : '') + p.text;
    else if (p.type === 'image') {
      if (p.source.kind !== 'base64') throw new UnsupportedFeatureError('ollama', `an image given by URL ${where}`, 'Ollama takes inline base64 images only');
      images.push(p.source.data);
    } else if (p.type === 'document') {
      if (p.text === undefined) throw new UnsupportedFeatureError('ollama', `a ${p.mediaType} document ${where}`);
      text += (text ? '\n\n' : '') + p.text;
    } else if (p.type === 'raw') throw new UnsupportedFeatureError('ollama', p.what);
  }
  return { text, images };
}

export function encodeRequest(req: Request, model: string): Record<string, unknown> {
  const messages: Record<string, unknown>[] = [];
  const sys = joinText(req.system);
  if (sys) messages.push({ role: 'system', content: sys });
  const names = new Map<string, string>();
  for (const m of req.messages) {
    if (m.role === 'system') {
      const text = joinText(m.parts);
      if (text) messages.push({ role: 'system', content: text });
      continue;
    }
    if (m.role === 'assistant') {
      for (const p of m.parts) if (p.type === 'tool_call') names.set(p.id, p.name);
      messages.push(assistantMessage(m.parts, true));
      continue;
    }
    const rest: Part[] = [];
    for (const p of m.parts) {
      if (p.type === 'tool_result') {
        const { text, images } = mediaOf(p.content, 'in a tool result');
        const msg: Record<string, unknown> = { role: 'tool', content: p.isError && !/^error/i.test(text) ? `Error: ${text}` : text, tool_call_id: p.id };
        const name = p.name ?? names.get(p.id);
        if (name) msg.tool_name = name;
        if (images.length) msg.images = images;
        messages.push(msg);
      } else if (p.type !== 'thinking' && p.type !== 'tool_call') rest.push(p);
    }
    if (rest.length) {
      const { text, images } = mediaOf(rest, 'in a user message');
      const msg: Record<string, unknown> = { role: 'user', content: text };
      if (images.length) msg.images = images;
      messages.push(msg);
    }
  }
  const out: Record<string, unknown> = { model, messages, stream: req.stream };
  const tools: Record<string, unknown>[] = [];
  for (const t of req.tools ?? []) {
    if (t.kind === 'raw') throw new UnsupportedFeatureError('ollama', t.what);
    tools.push({ type: 'function', function: { name: t.name, ...(t.description ? { description: t.description } : {}), parameters: t.parameters } });
  }
  const c = req.toolChoice;
  if (tools.length && c?.type !== 'none') {
    if (c?.type === 'required' || c?.type === 'tool') throw new UnsupportedFeatureError('ollama', `tool_choice ${c.type === 'tool' ? `"${c.name}"` : 'required'}`, 'Ollama cannot force a tool call');
    out.tools = tools;
  }
  const rf = req.responseFormat;
  if (rf?.type === 'json_object') out.format = 'json';
  else if (rf?.type === 'json_schema') out.format = rf.schema;
  const options: Record<string, unknown> = {};
  writeNumbers(options, req, { temperature: 'temperature', topP: 'top_p', topK: 'top_k', maxTokens: 'num_predict', seed: 'seed' });
  if (req.stop?.length) options.stop = req.stop;
  if (Object.keys(options).length) out.options = options;
  return out;
}

// ---------- response decode / encode ----------

export function decodeResponse(raw: unknown): Response {
  const body = answerOf(raw);
  const m = isObj(body.message) ? body.message : {};
  const parts: Part[] = [];
  const thinking = str(m.thinking);
  if (thinking) parts.push({ type: 'thinking', text: thinking, carrier: { k: 'ollama' } });
  const content = str(m.content) ?? '';
  if (content) {
    const s = thinking ? { text: content } : splitThink(content);
    if ('think' in s && s.think !== undefined) parts.push({ type: 'thinking', text: s.think, carrier: { k: 'think' } });
    if (s.text) parts.push({ type: 'text', text: s.text });
  }
  if (Array.isArray(m.tool_calls)) {
    for (const tc of m.tool_calls) {
      if (!isObj(tc)) continue;
      const fn = isObj(tc.function) ? tc.function : {};
      parts.push({ type: 'tool_call', id: str(tc.id) ?? newId('call_'), name: str(fn.name) ?? '', args: argsText(fn.arguments) });
    }
  }
  const hasTools = parts.some((p) => p.type === 'tool_call');
  return responseOf({ model: body.model }, parts, stopIn(body.done_reason, hasTools), usageIn(body));
}

/** An assistant turn as an Ollama message; `refuseRaw`: a part only another dialect understands is an error. */
function assistantMessage(parts: Part[], refuseRaw: boolean): Record<string, unknown> {
  let content = '';
  let thinking = '';
  const toolCalls: Record<string, unknown>[] = [];
  for (const p of parts) {
    if (p.type === 'text') content += p.text;
    else if (p.type === 'thinking') thinking += p.text;
    else if (p.type === 'tool_call') toolCalls.push({ id: p.id, function: { name: p.name, arguments: parseArgs(p.args) } });
    else if (p.type === 'raw' && refuseRaw) throw new UnsupportedFeatureError('ollama', p.what);
  }
  const msg: Record<string, unknown> = { role: 'assistant', content };
  if (thinking) msg.thinking = thinking;
  if (toolCalls.length) msg.tool_calls = toolCalls;
  return msg;
}

export function encodeResponse(resp: Response, ctx: { requestedModel: string }): Record<string, unknown> {
  return {
    model: ctx.requestedModel,
    created_at: new Date().toISOString(),
    message: assistantMessage(resp.parts, false),
    done: true,
    done_reason: stopOut(resp.stop),
    total_duration: 0,
    load_duration: 0,
    prompt_eval_count: resp.usage.input ?? 0,
    prompt_eval_duration: 0,
    eval_count: resp.usage.output ?? 0,
    eval_duration: 0,
  };
}

// ---------- stream decode ----------

export class OllamaStreamDecoder extends FramedDecoder {
  private started = false;
  private next = 0;
  private cur = -1;
  private curKind: 'text' | 'thinking' | '' = '';
  private anyTool = false;
  private readonly think: ThinkSplitter;
  private sawThinking = false;
  constructor(sink: Sink) {
    super(sink, 'ndjson');
    this.think = new ThinkSplitter(
      (t) => this.emitText('thinking', t, true),
      (t) => this.emitText('text', t, false),
    );
  }
  protected cutShort(): void {
    this.sink({ type: 'error', message: 'upstream stream ended before "done": true' });
  }
  private closeCur(): void {
    if (this.cur < 0) return;
    this.sink({ type: 'block_stop', index: this.cur });
    this.cur = -1;
    this.curKind = '';
  }
  private emitText(kind: 'text' | 'thinking', t: string, fromTags: boolean): void {
    if (this.curKind !== kind) {
      this.closeCur();
      this.cur = this.next++;
      this.curKind = kind;
      this.sink({ type: 'block_start', index: this.cur, block: { kind } });
      if (kind === 'thinking') this.sink({ type: 'thinking_meta', index: this.cur, carrier: fromTags ? { k: 'think' } : { k: 'ollama' } });
    }
    this.sink({ type: 'text', index: this.cur, text: t });
  }
  protected onEvent(v: Record<string, unknown>): void {
    const sink = this.sink;
    if (v.error !== undefined) {
      this.fail(typeof v.error === 'string' ? v.error : JSON.stringify(v.error));
      return;
    }
    if (!this.started) {
      this.started = true;
      this.start({ model: v.model });
    }
    const m = isObj(v.message) ? v.message : undefined;
    if (m) {
      const th = str(m.thinking);
      if (th) {
        this.sawThinking = true;
        this.emitText('thinking', th, false);
      }
      const c = str(m.content);
      if (c) {
        if (this.sawThinking) this.emitText('text', c, false);
        else this.think.push(c);
      }
      if (Array.isArray(m.tool_calls) && m.tool_calls.length) {
        this.think.flush();
        this.closeCur();
        for (const tc of m.tool_calls) {
          if (!isObj(tc)) continue;
          const fn = isObj(tc.function) ? tc.function : {};
          const i = this.next++;
          this.anyTool = true;
          sink({ type: 'block_start', index: i, block: { kind: 'tool_call', id: str(tc.id) ?? newId('call_'), name: str(fn.name) ?? '' } });
          const a = argsText(fn.arguments);
          if (a) sink({ type: 'args', index: i, json: a });
          sink({ type: 'block_stop', index: i });
        }
      }
    }
    if (v.done === true) {
      this.think.flush();
      this.closeCur();
      this.addUsage(usageIn(v));
      sink({ type: 'stop', reason: stopIn(v.done_reason, this.anyTool) });
      this.done = true;
      sink({ type: 'end' });
    }
  }
}

// ---------- stream encode ----------

interface TState extends ThinkingState {
  kind: 'text' | 'thinking' | 'tool_call' | 'skip';
  id?: string;
  name?: string;
  args: string;
}

/** Canonical events → Ollama NDJSON. Tool calls go out whole (arguments as an object) when complete. */
export class OllamaStreamEncoder extends BlockStreamEncoder<TState> {
  private line(message: string, tail = '"done":false'): void {
    this.out += `{"model":${JSON.stringify(this.ctx.requestedModel)},"created_at":"${new Date().toISOString()}","message":${message},${tail}}\n`;
  }
  protected openBlock(b: BlockKind): TState {
    if (b.kind === 'tool_call') return { kind: 'tool_call', id: b.id, name: b.name, args: '' };
    return { kind: b.kind === 'text' || b.kind === 'thinking' ? b.kind : 'skip', args: '' };
  }
  protected blockText(st: TState, text: string): void {
    if (st.kind === 'text') this.line(`{"role":"assistant","content":${JSON.stringify(text)}}`);
    else if (st.kind === 'thinking') this.line(`{"role":"assistant","content":"","thinking":${JSON.stringify(text)}}`);
  }
  protected blockArgs(st: TState, json: string): void {
    if (st.kind === 'tool_call') st.args += json;
  }
  protected closeBlock(st: TState): void {
    if (st.kind !== 'tool_call') return;
    const call = { id: st.id, function: { name: st.name, arguments: parseArgs(st.args) } };
    this.line(`{"role":"assistant","content":"","tool_calls":[${JSON.stringify(call)}]}`);
  }
  protected finish(): void {
    this.closeOpen();
    const u = this.usage;
    this.line(
      '{"role":"assistant","content":""}',
      `"done":true,"done_reason":"${stopOut(this.finalStop(false))}","total_duration":0,"load_duration":0,"prompt_eval_count":${u.input ?? 0},"prompt_eval_duration":0,"eval_count":${u.output ?? 0},"eval_duration":0`,
    );
  }
  protected errorEvent(message: string, _errorType: string | undefined, extra: Record<string, unknown> | undefined): string {
    return streamErrorEvent('ollama', message, undefined, undefined, extra);
  }
}

export function modelsBody(names: string[]): Record<string, unknown> {
  return {
    models: names.map((name) => ({
      name,
      model: name,
      modified_at: '2025-01-01T00:00:00Z',
      size: 0,
      digest: '',
      details: { format: '', family: '', parameter_size: '', quantization_level: '' },
    })),
  };
}

export { OllamaStreamDecoder as Decoder, OllamaStreamEncoder as Encoder };
