// The canonical request / response / stream-event model every dialect decodes into and encodes from.
// Shapes follow Anthropic Messages where it is the most structured (content parts, tool results inside
// user turns, thinking with signatures) and keep what the other dialects need to survive a round trip.
import { randomBytes } from 'node:crypto';

export type Dialect = 'anthropic' | 'openai' | 'responses' | 'ollama';
export const DIALECTS: readonly Dialect[] = ['anthropic', 'openai', 'responses', 'ollama'];

export const DIALECT_NAMES: Record<Dialect, string> = {
  anthropic: 'Anthropic Messages',
  openai: 'OpenAI Chat Completions',
  responses: 'OpenAI Responses',
  ollama: 'Ollama /api/chat',
};

/** The target dialect cannot express something the request needs. The proxy records it as that attempt's error. */
export class UnsupportedFeatureError extends Error {
  readonly code = 'unsupported_feature';
  constructor(
    readonly target: Dialect,
    readonly feature: string,
    detail?: string,
  ) {
    super(`${DIALECT_NAMES[target]} cannot express ${feature}${detail ? ` (${detail})` : ''}`);
    this.name = 'UnsupportedFeatureError';
  }
}

/** The client's request is malformed for its own dialect (answered with 400 in the client's envelope). */
export class InvalidRequestError extends Error {
  readonly code = 'invalid_request';
  constructor(message: string) {
    super(message);
    this.name = 'InvalidRequestError';
  }
}

// ---------- content ----------

export interface TextPart {
  type: 'text';
  text: string;
  /** Anthropic `cache_control`, verbatim; only the Anthropic encoder writes it. */
  cache?: unknown;
}
export type ImageSource = { kind: 'base64'; mediaType: string; data: string } | { kind: 'url'; url: string };
export interface ImagePart {
  type: 'image';
  source: ImageSource;
  detail?: string;
  cache?: unknown;
}
/** A document (PDF or plain text), inline or by URL. */
export interface DocumentPart {
  type: 'document';
  mediaType: string;
  data?: string; // base64
  url?: string;
  text?: string; // plain-text documents
  title?: string;
  filename?: string;
  cache?: unknown;
}

/**
 * Where non-Anthropic reasoning came from, so it can be sent back to the same kind of upstream.
 * rc: DeepSeek-style `reasoning_content` / `reasoning`; think: `<think>` tags in text; or: OpenRouter
 * `reasoning_details` (verbatim); resp: a Responses reasoning item; ollama: Ollama `thinking`.
 */
export type Carrier =
  | { k: 'rc' }
  | { k: 'think' }
  | { k: 'or'; d: unknown[] }
  | { k: 'resp'; id?: string; enc?: string | null }
  | { k: 'ollama' };

export interface ThinkingPart {
  type: 'thinking';
  text: string;
  /** A genuine Anthropic signature (only ever from Anthropic, or Claude via OpenRouter). */
  signature?: string;
  /** Genuine Anthropic `redacted_thinking` data. */
  redacted?: string;
  carrier?: Carrier;
}
export interface ToolCallPart {
  type: 'tool_call';
  id: string;
  name: string;
  /** Arguments as JSON text ('' means none); for a free-form (`custom`) tool, the raw input text. */
  args: string;
  /** Responses namespaced tool: the namespace the call belongs to (`name` is the member's own name). */
  namespace?: string;
  /** A call to a free-form (`custom`) tool: `args` is its raw input, not JSON. */
  custom?: boolean;
  cache?: unknown;
}
export type ToolResultContent = TextPart | ImagePart | DocumentPart | RawPart;
export interface ToolResultPart {
  type: 'tool_result';
  id: string;
  content: ToolResultContent[];
  isError?: boolean;
  /** Tool name when the dialect carries it (Ollama `tool_name`, or looked up from the call). */
  name?: string;
  cache?: unknown;
}
/** Something only its own dialect understands (server tools, citations, …). */
export interface RawPart {
  type: 'raw';
  dialect: Dialect;
  what: string;
  value: unknown;
}
export type Part = TextPart | ImagePart | DocumentPart | ThinkingPart | ToolCallPart | ToolResultPart | RawPart;

export interface Message {
  /**
   * 'system': a system message in the middle of the conversation (Claude Code sends them after user turns);
   * its parts are text. System messages before the first turn go to Request.system instead.
   */
  role: 'user' | 'assistant' | 'system';
  parts: Part[];
}

export interface FunctionTool {
  kind: 'function';
  name: string;
  description?: string;
  parameters: Record<string, unknown>;
  strict?: boolean;
  cache?: unknown;
  /** Member of a Responses `namespace` tool (and that namespace's description). */
  namespace?: string;
  namespaceDescription?: string;
  /** A free-form (`custom`) tool taking raw text; `format` is its input format (text or a grammar), verbatim. */
  custom?: { format?: unknown };
  /** The client marked it `defer_loading` (discovered through tool search). */
  deferred?: boolean;
}
export interface RawTool {
  kind: 'raw';
  dialect: Dialect;
  what: string;
  value: unknown;
}
export type Tool = FunctionTool | RawTool;

export type ToolChoice = { type: 'auto' } | { type: 'none' } | { type: 'required' } | { type: 'tool'; name: string };

export type ResponseFormat =
  | { type: 'json_object' }
  | { type: 'json_schema'; name?: string; description?: string; schema: Record<string, unknown>; strict?: boolean };

export interface Reasoning {
  enabled: boolean;
  budgetTokens?: number;
  effort?: string;
}

export interface Request {
  model: string;
  system: TextPart[];
  messages: Message[];
  tools?: Tool[];
  toolChoice?: ToolChoice;
  parallelToolCalls?: boolean;
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  topK?: number;
  stop?: string[];
  seed?: number;
  responseFormat?: ResponseFormat;
  reasoning?: Reasoning;
  stream: boolean;
  user?: string;
  /** Anthropic top-level `cache_control`. */
  cache?: unknown;
  /** What the encoder mapped or changed on the way (recorded in the log entry's translationNotes). */
  notes?: string[];
}

/** Records a note on the request (shown in the log entry). */
export function note(req: Request, text: string): void {
  (req.notes ??= []).push(text);
}

// ---------- response ----------

export type StopReason =
  | 'end_turn'
  | 'max_tokens'
  | 'tool_use'
  | 'stop_sequence'
  | 'refusal'
  | 'pause_turn'
  | 'content_filter'
  | 'context_window';

/** Token counts; `input` is the whole prompt including cached tokens (OpenAI's convention). */
export interface Usage {
  input?: number;
  output?: number;
  cacheRead?: number;
  cacheWrite?: number;
  reasoning?: number;
}

export interface Response {
  id?: string;
  model?: string;
  parts: Part[];
  stop: StopReason;
  stopSequence?: string | null;
  usage: Usage;
}

// ---------- stream events ----------

export type BlockKind =
  | { kind: 'text' }
  | { kind: 'thinking' }
  | { kind: 'redacted'; data: string }
  | { kind: 'tool_call'; id: string; name: string; namespace?: string; custom?: boolean }
  | { kind: 'raw'; dialect: Dialect; value: unknown };

/**
 * Canonical stream events. Blocks have decoder-assigned indices; several may be open at once
 * (interleaved parallel tool calls); every block_start is followed by a block_stop before `end`.
 */
export type Event =
  | { type: 'start'; id?: string; model?: string; usage?: Usage }
  | { type: 'block_start'; index: number; block: BlockKind }
  | { type: 'text'; index: number; text: string } // text or thinking content
  | { type: 'args'; index: number; json: string }
  | { type: 'thinking_meta'; index: number; signature?: string; carrier?: Carrier }
  | { type: 'block_stop'; index: number }
  | { type: 'usage'; usage: Usage }
  | { type: 'stop'; reason: StopReason; stopSequence?: string | null }
  | { type: 'end' }
  | { type: 'error'; message: string; errorType?: string; status?: number };

export type Sink = (ev: Event) => void;

export interface StreamEncoderCtx {
  requestedModel: string;
  clientWantsUsage: boolean;
  /** Local estimate of the prompt size, used where the client needs input tokens before the upstream says. */
  inputTokensEstimate?: number;
  /** Responses: fields of the response object the client sees (previous_response_id, store). */
  responseFields?: Record<string, unknown>;
  /** Responses: the final response object, once the stream completed (router67's response store keeps it). */
  onResponse?: (response: Record<string, unknown>) => void;
  /**
   * Fields the stream's error event carries besides the message (router67's `attempts`), asked for with the
   * error's message when the encoder writes one.
   */
  errorExtra?: (message: string) => Record<string, unknown> | undefined;
}

export interface StreamDecoder {
  /** Feed decoded text from the upstream body. */
  push(text: string): void;
  /** The upstream body ended: emits `end`, or an `error` when the stream was cut short. */
  end(): void;
  readonly usage: Usage;
}

export interface StreamEncoder {
  on(ev: Event): void;
  /** Output produced since the last call. */
  take(): string;
  readonly finished: boolean;
}

// ---------- helpers ----------

const ID_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
let idPool = randomBytes(4096);
let idPos = 0;
/** A random id with a prefix, e.g. newId('msg_'). */
export function newId(prefix: string, len = 24): string {
  if (idPos + len > idPool.length) {
    idPool = randomBytes(4096);
    idPos = 0;
  }
  let s = prefix;
  for (let i = 0; i < len; i++) s += ID_CHARS[idPool[idPos++]! % 62];
  return s;
}

export function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
export function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** Parse tool arguments text into an object for dialects that carry objects. */
export function parseArgs(args: string): unknown {
  const t = args.trim();
  if (t === '') return {};
  try {
    return JSON.parse(t);
  } catch {
    return { _raw_arguments: args };
  }
}
/** Serialize a tool input object into arguments text. */
export function stringifyArgs(input: unknown): string {
  if (input === undefined || input === null) return '{}';
  if (typeof input === 'string') return input;
  return JSON.stringify(input);
}

/** Parse `data:<mediaType>;base64,<data>`; undefined when it is not a base64 data URL. */
export function parseDataUrl(url: string): { mediaType: string; data: string } | undefined {
  if (!url.startsWith('data:')) return undefined;
  const comma = url.indexOf(',');
  if (comma < 0) return undefined;
  const meta = url.slice(5, comma);
  if (!meta.endsWith(';base64')) return undefined;
  return { mediaType: meta.slice(0, -7) || 'application/octet-stream', data: url.slice(comma + 1) };
}
export function imageUrl(src: ImageSource): string {
  return src.kind === 'url' ? src.url : `data:${src.mediaType};base64,${src.data}`;
}

export function mergeUsage(into: Usage, u: Usage): void {
  if (u.input !== undefined) into.input = u.input;
  if (u.output !== undefined) into.output = u.output;
  if (u.cacheRead !== undefined) into.cacheRead = u.cacheRead;
  if (u.cacheWrite !== undefined) into.cacheWrite = u.cacheWrite;
  if (u.reasoning !== undefined) into.reasoning = u.reasoning;
}

// ---------- thinking signatures that survive a trip through a client ----------

const SIG_PREFIX = 'r67v1.';

/**
 * The `signature` an Anthropic client sees for a thinking block. A genuine Anthropic signature with
 * nothing else to carry goes out untouched; anything else is wrapped (prefix + base64url JSON) so it can
 * be recognised when the client sends it back: unwrapped for the upstream it came from, and never sent
 * to Anthropic as if it were signed.
 */
export function packSignature(signature: string | undefined, carrier: Carrier | undefined, redacted?: string): string {
  if (signature && !carrier && !redacted && !signature.startsWith(SIG_PREFIX)) return signature;
  const o: { c?: Carrier; s?: string; r?: string } = {};
  if (carrier) o.c = carrier;
  if (signature) o.s = signature;
  if (redacted) o.r = redacted;
  return SIG_PREFIX + Buffer.from(JSON.stringify(o)).toString('base64url');
}
export function unpackSignature(sig: string | undefined): { signature?: string; carrier?: Carrier; redacted?: string } {
  if (!sig) return {};
  if (!sig.startsWith(SIG_PREFIX)) return { signature: sig };
  try {
    const o = JSON.parse(Buffer.from(sig.slice(SIG_PREFIX.length), 'base64url').toString('utf8')) as {
      c?: Carrier;
      s?: string;
      r?: string;
    };
    const r: { signature?: string; carrier?: Carrier; redacted?: string } = {};
    if (isObj(o.c) && typeof o.c.k === 'string') r.carrier = o.c;
    if (typeof o.s === 'string' && o.s) r.signature = o.s;
    if (typeof o.r === 'string' && o.r) r.redacted = o.r;
    return r;
  } catch {
    return {};
  }
}
export function isPackedSignature(sig: unknown): boolean {
  return typeof sig === 'string' && sig.startsWith(SIG_PREFIX);
}
export const PACKED_SIGNATURE_PREFIX = SIG_PREFIX;

// ---------- <think> tags inside text ----------

const OPEN = '<think>';
const CLOSE = '</think>';

/**
 * Splits `<think>…</think>` at the very start of a text stream into reasoning and text, with tags split
 * across chunks anywhere. Only a leading tag counts (text that merely mentions the tag stays text).
 */
export class ThinkSplitter {
  private state: 0 | 1 | 2 = 0; // 0 undecided, 1 inside <think>, 2 plain text
  private pending = '';
  private trimLead = false;
  constructor(
    private readonly onThink: (t: string) => void,
    private readonly onText: (t: string) => void,
  ) {}

  push(s: string): void {
    if (this.state === 2) {
      if (this.trimLead) {
        s = s.replace(/^\s+/, '');
        if (!s) return;
        this.trimLead = false;
      }
      this.onText(s);
      return;
    }
    if (this.state === 0) {
      const all = this.pending + s;
      const lead = all.trimStart();
      if (lead.length < OPEN.length && OPEN.startsWith(lead)) {
        this.pending = all;
        return;
      }
      this.pending = '';
      if (lead.startsWith(OPEN)) {
        this.state = 1;
        this.trimLead = true;
        s = lead.slice(OPEN.length);
      } else {
        this.state = 2;
        this.onText(all);
        return;
      }
    }
    // inside <think>
    if (this.trimLead) {
      s = s.replace(/^\s+/, '');
      if (!s) return;
      this.trimLead = false;
    }
    const data = this.pending + s;
    const end = data.indexOf(CLOSE);
    if (end >= 0) {
      this.pending = '';
      const think = data.slice(0, end);
      if (think) this.onThink(think);
      this.state = 2;
      this.trimLead = true;
      const rest = data.slice(end + CLOSE.length);
      if (rest) this.push(rest);
      return;
    }
    const lt = data.lastIndexOf('<');
    if (lt >= 0 && data.length - lt < CLOSE.length && CLOSE.startsWith(data.slice(lt))) {
      this.pending = data.slice(lt);
      if (lt > 0) this.onThink(data.slice(0, lt));
    } else {
      this.pending = '';
      if (data) this.onThink(data);
    }
  }

  /** End of text: whatever is held back goes out as what it was. */
  flush(): void {
    if (!this.pending) return;
    const p = this.pending;
    this.pending = '';
    if (this.state === 1) this.onThink(p);
    else this.onText(p);
  }

  get inThink(): boolean {
    return this.state === 1;
  }
}

/** Non-streaming split of a whole text. */
export function splitThink(text: string): { think?: string; text: string } {
  let think = '';
  let out = '';
  const s = new ThinkSplitter(
    (t) => (think += t),
    (t) => (out += t),
  );
  s.push(text);
  s.flush();
  return think ? { think, text: out } : { text: out };
}
