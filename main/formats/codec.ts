// What every wire format's codec shares, so a format file holds only what is its own: the Codec shape the seam
// (index.ts) dispatches on, the request/response steps the formats repeat, and the skeletons of stream decoders
// (framing, the body ending early) and of everything that consumes canonical events (id, usage, stop reason).
import type { BlockKind, Carrier, Dialect, Event, Part, RawPart, RawTool, Request, Response, Sink, StopReason, StreamDecoder, StreamEncoder, StreamEncoderCtx, ThinkingPart, ToolResultPart, Usage } from './canonical.js';
import { InvalidRequestError, UnsupportedFeatureError, isObj, mergeUsage, num, str } from './canonical.js';
import { NdjsonParser, SseParser } from './sse.js';

/** One wire format: what index.ts needs of anthropic.ts, openai.ts, responses.ts and ollama.ts. */
export interface Codec {
  decodeRequest(body: unknown): Request;
  encodeRequest(req: Request, model: string): Record<string, unknown>;
  decodeResponse(body: unknown): Response;
  encodeResponse(resp: Response, ctx: { requestedModel: string }): Record<string, unknown>;
  modelsBody(names: string[]): Record<string, unknown>;
  Decoder: new (sink: Sink) => StreamDecoder;
  Encoder: new (ctx: StreamEncoderCtx) => StreamEncoder;
}

// ---------- requests ----------

/** A client request's body, checked: a JSON object (with a `messages` array unless `messages` is false). */
export function requestOf(body: unknown, opts: { messages: boolean; streamByDefault?: boolean }): { body: Record<string, unknown>; req: Request } {
  if (!isObj(body)) throw new InvalidRequestError('request body must be a JSON object');
  if (opts.messages && !Array.isArray(body.messages)) throw new InvalidRequestError('messages: expected an array');
  const stream = opts.streamByDefault ? body.stream !== false : body.stream === true;
  return { body, req: { model: str(body.model) ?? '', system: [], messages: [], stream } };
}

export function unknownRole(role: unknown): never {
  throw new InvalidRequestError(`messages: unknown role ${JSON.stringify(role)}`);
}

/** A tool result joins the user turn of results right before it, or starts one. */
export function pushToolResult(req: Request, part: ToolResultPart): void {
  const last = req.messages[req.messages.length - 1];
  if (last && last.role === 'user' && last.parts.every((p) => p.type === 'tool_result')) last.parts.push(part);
  else req.messages.push({ role: 'user', parts: [part] });
}

/** The text parts' texts, blank ones left out, joined by a blank line. */
export function joinText(parts: readonly Part[]): string {
  return parts
    .map((p) => (p.type === 'text' ? p.text : ''))
    .filter(Boolean)
    .join('\n\n');
}

type NumberField = 'maxTokens' | 'temperature' | 'topP' | 'topK' | 'seed';

/** Numeric request fields read from the wire (`{ topP: 'top_p' }`: Request.topP from src.top_p). */
export function readNumbers(req: Request, src: Record<string, unknown>, names: Partial<Record<NumberField, string>>): void {
  for (const [field, key] of Object.entries(names) as [NumberField, string][]) {
    const n = num(src[key]);
    if (n !== undefined) req[field] = n;
  }
}
/** Numeric request fields written to the wire, the same way round. */
export function writeNumbers(out: Record<string, unknown>, req: Request, names: Partial<Record<NumberField, string>>): void {
  for (const [field, key] of Object.entries(names) as [NumberField, string][]) if (req[field] !== undefined) out[key] = req[field];
}

/** OpenAI's `reasoning_effort` / `reasoning.effort`: none and minimal mean no reasoning. */
export function effortReasoning(effort: string): NonNullable<Request['reasoning']> {
  return { enabled: effort !== 'none' && effort !== 'minimal', effort };
}

/** An OpenAI-style `json_schema` format (Chat's `json_schema` object, Responses' `text.format`). */
export function jsonSchemaIn(f: Record<string, unknown>, schema: Record<string, unknown>): NonNullable<Request['responseFormat']> {
  return {
    type: 'json_schema',
    schema,
    ...(str(f.name) ? { name: str(f.name)! } : {}),
    ...(str(f.description) ? { description: str(f.description)! } : {}),
    ...(typeof f.strict === 'boolean' ? { strict: f.strict } : {}),
  };
}
export function jsonSchemaOut(rf: Extract<Request['responseFormat'], { type: 'json_schema' }>): Record<string, unknown> {
  return { name: rf.name ?? 'response', schema: rf.schema, ...(rf.description ? { description: rf.description } : {}), ...(rf.strict !== undefined ? { strict: rf.strict } : {}) };
}

/** A raw part or tool goes to its own dialect as it came; no other dialect can express it. */
export function ownRaw(to: Dialect, r: RawPart | RawTool): Record<string, unknown> {
  if (r.dialect !== to) throw new UnsupportedFeatureError(to, r.what);
  return r.value as Record<string, unknown>;
}

// ---------- responses ----------

/** An upstream's whole answer, checked to be a JSON object. */
export function answerOf(body: unknown): Record<string, unknown> {
  if (!isObj(body)) throw new InvalidRequestError('upstream response is not a JSON object');
  return body;
}

/** A decoded answer, with the upstream's `id` and `model` when it gave them. */
export function responseOf(src: Record<string, unknown>, parts: Part[], stop: StopReason, usage: Usage): Response {
  const r: Response = { parts, stop, usage };
  if (str(src.id)) r.id = str(src.id)!;
  if (str(src.model)) r.model = str(src.model)!;
  return r;
}

/** A turn that called tools ends with tool_use, whatever the upstream said. */
export function stopWithTools(stop: StopReason, hasTool: boolean): StopReason {
  return hasTool && stop === 'end_turn' ? 'tool_use' : stop;
}

// ---------- stream decoding ----------

/**
 * A stream decoder's skeleton: the body framed as SSE or NDJSON, one JSON object at a time to onEvent, nothing
 * after the format's last event, and `cutShort` when the body ended before it.
 */
export abstract class FramedDecoder implements StreamDecoder {
  readonly usage: Usage = {};
  protected done = false;
  private readonly frames: { push(text: string): void; end(): void };

  constructor(
    protected readonly sink: Sink,
    framing: 'sse' | 'ndjson',
  ) {
    this.frames = framing === 'sse' ? new SseParser((event, data) => this.onData(event, data)) : new NdjsonParser((v) => this.onJson(v, null));
  }

  push(text: string): void {
    if (!this.done) this.frames.push(text);
  }

  end(): void {
    if (this.done) return;
    this.frames.end();
    if (this.done) return;
    this.done = true;
    this.cutShort();
  }

  /** The body ended before the format's last event: an `error` event (or `end`, when the answer was complete). */
  protected abstract cutShort(): void;
  /** One JSON object from the stream, with its SSE `event:` name. */
  protected abstract onEvent(j: Record<string, unknown>, event: string | null): void;

  /** One SSE `data:` payload. */
  protected onData(event: string | null, data: string): void {
    if (this.done) return;
    let j: unknown;
    try {
      j = JSON.parse(data);
    } catch {
      return;
    }
    this.onJson(j, event);
  }

  private onJson(v: unknown, event: string | null): void {
    if (!this.done && isObj(v)) this.onEvent(v, event);
  }

  /** The `start` event, with the id and model found in `src` (and the usage known so far, counted). */
  protected start(src: Record<string, unknown>, usage?: Usage): void {
    if (usage) mergeUsage(this.usage, usage);
    const ev: Event = usage ? { type: 'start', usage } : { type: 'start' };
    if (str(src.id)) ev.id = str(src.id)!;
    if (str(src.model)) ev.model = str(src.model)!;
    this.sink(ev);
  }

  protected addUsage(u: Usage): void {
    mergeUsage(this.usage, u);
    this.sink({ type: 'usage', usage: u });
  }

  /** The upstream reported an error in the stream: nothing more is read. */
  protected fail(message: string, errorType?: string): void {
    this.done = true;
    this.sink(errorType ? { type: 'error', message, errorType } : { type: 'error', message });
  }
}

// ---------- consuming canonical events ----------

/** What a stream encoder keeps of a thinking block until it writes it out whole. */
export interface ThinkingState {
  sig?: string;
  carrier?: Carrier;
  /** Redacted thinking's data. */
  data?: string;
}
export function keepThinkingMeta(st: ThinkingState | undefined, ev: { signature?: string; carrier?: Carrier }): void {
  if (!st) return;
  if (ev.signature) st.sig = ev.signature;
  if (ev.carrier) st.carrier = ev.carrier;
}
/** The thinking part a finished block stands for. */
export function thinkingOf(text: string, st: ThinkingState): ThinkingPart {
  const p: ThinkingPart = { type: 'thinking', text };
  if (st.sig) p.signature = st.sig;
  if (st.carrier) p.carrier = st.carrier;
  if (st.data) p.redacted = st.data;
  return p;
}

export type BlockEvent = Extract<Event, { type: 'block_start' | 'text' | 'args' | 'thinking_meta' | 'block_stop' }>;

/** What every consumer of canonical events keeps (id, model, usage, stop reason); the blocks are its own. */
export abstract class EventReader {
  id: string | undefined;
  model: string | undefined;
  readonly usage: Usage = {};
  stop: StopReason | undefined;
  stopSequence: string | null = null;

  on(ev: Event): void {
    switch (ev.type) {
      case 'start':
        if (ev.id) this.id = ev.id;
        if (ev.model) this.model = ev.model;
        if (ev.usage) mergeUsage(this.usage, ev.usage);
        break;
      case 'usage':
        mergeUsage(this.usage, ev.usage);
        break;
      case 'stop':
        this.stop = ev.reason;
        this.stopSequence = ev.stopSequence ?? null;
        break;
      case 'end':
        this.onEnd();
        break;
      case 'error':
        this.onError(ev.message, ev.errorType);
        break;
      default:
        this.onBlock(ev);
    }
  }

  protected abstract onBlock(ev: BlockEvent): void;
  protected abstract onEnd(): void;
  protected abstract onError(message: string, errorType: string | undefined): void;
}

/** A stream encoder's skeleton: the output taken piece by piece, nothing after `end` or `error`. */
export abstract class TextStreamEncoder extends EventReader implements StreamEncoder {
  protected out = '';
  finished = false;

  constructor(protected readonly ctx: StreamEncoderCtx) {
    super();
  }

  take(): string {
    const s = this.out;
    this.out = '';
    return s;
  }

  override on(ev: Event): void {
    if (!this.finished) super.on(ev);
  }

  protected onEnd(): void {
    this.finish();
    this.finished = true;
  }

  protected onError(message: string, errorType: string | undefined): void {
    this.out += this.errorEvent(message, errorType, this.ctx.errorExtra?.(message));
    this.finished = true;
  }

  /** The closing events (open blocks closed, stop reason, usage). */
  protected abstract finish(): void;
  /** The format's in-stream error event (`extra`: StreamEncoderCtx.errorExtra's fields). */
  protected abstract errorEvent(message: string, errorType: string | undefined, extra: Record<string, unknown> | undefined): string;

  /** The stop reason to send: the upstream's (end_turn when it gave none), tool_use after tool calls. */
  protected finalStop(hasTool: boolean): StopReason {
    return stopWithTools(this.stop ?? 'end_turn', hasTool);
  }
}

/** A stream encoder keeping a state (S) for each open block; what it writes for a block is the format's. */
export abstract class BlockStreamEncoder<S extends ThinkingState> extends TextStreamEncoder {
  protected readonly blocks = new Map<number, S>();

  protected onBlock(ev: BlockEvent): void {
    if (ev.type === 'block_start') {
      this.blocks.set(ev.index, this.openBlock(ev.block));
      return;
    }
    const st = this.blocks.get(ev.index);
    if (!st) return;
    switch (ev.type) {
      case 'text':
        this.blockText(st, ev.text);
        break;
      case 'args':
        if (ev.json) this.blockArgs(st, ev.json);
        break;
      case 'thinking_meta':
        keepThinkingMeta(st, ev);
        break;
      case 'block_stop':
        this.blocks.delete(ev.index);
        this.closeBlock(st);
        break;
    }
  }

  /** Closes the blocks still open, in order (events may end without their block_stop). */
  protected closeOpen(): void {
    for (const [index] of [...this.blocks]) this.onBlock({ type: 'block_stop', index });
  }

  protected abstract openBlock(block: BlockKind): S;
  protected abstract blockText(st: S, text: string): void;
  /** Tool-call arguments (never empty). */
  protected abstract blockArgs(st: S, json: string): void;
  protected abstract closeBlock(st: S): void;
}
