// Token counts read from a response body or, incrementally, from a stream (SSE or NDJSON).
//
// The fields, whatever the dialect (the log entry uses the same names):
// - inputTokens: the whole prompt, cached tokens included (Anthropic's input_tokens + cache_read_input_tokens +
//   cache_creation_input_tokens; OpenAI's prompt_tokens / input_tokens; Ollama's prompt_eval_count).
// - cacheReadTokens / cacheWriteTokens: the parts of inputTokens read from / written to the provider's prompt
//   cache (Anthropic cache_read_input_tokens / cache_creation_input_tokens; OpenAI Chat
//   prompt_tokens_details.cached_tokens (and cache_write_tokens where a host reports it); Responses
//   input_tokens_details.cached_tokens; DeepSeek prompt_cache_hit_tokens).
// - outputTokens: everything generated, reasoning included.
// - reasoningTokens: the part of outputTokens spent on reasoning (Chat completion_tokens_details.reasoning_tokens,
//   Responses output_tokens_details.reasoning_tokens). Anthropic reports none separately.
import { BACKSLASH, holds, MALFORMED, parseOrUndefined, skipSpace, walkValue, type KeyVisitor } from './json-scan.js';

export interface Usage {
  inputTokens?: number;
  outputTokens?: number;
  cacheReadTokens?: number;
  cacheWriteTokens?: number;
  reasoningTokens?: number;
}

type Obj = Record<string, unknown>;
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const obj = (v: unknown): Obj | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined);

/** Reads usage from one decoded JSON object of any dialect (body, stream event or NDJSON line) into `u`. */
export function readUsage(o: unknown, u: Usage): void {
  const top = obj(o);
  if (!top) return;
  const usage = obj(top.usage) ?? obj(obj(top.message)?.usage) ?? obj(obj(top.response)?.usage);
  if (usage) {
    // Anthropic and Responses: input_tokens/output_tokens (Anthropic cache counts add to the prompt size).
    const cr = num(usage.cache_read_input_tokens);
    const cw = num(usage.cache_creation_input_tokens);
    const it = num(usage.input_tokens);
    if (it !== undefined) u.inputTokens = it + (cr ?? 0) + (cw ?? 0);
    if (cr !== undefined) u.cacheReadTokens = cr;
    if (cw !== undefined) u.cacheWriteTokens = cw;
    const ot = num(usage.output_tokens);
    if (ot !== undefined) u.outputTokens = ot;
    // OpenAI Chat: prompt_tokens/completion_tokens.
    const pt = num(usage.prompt_tokens);
    if (pt !== undefined) u.inputTokens = pt;
    const ct = num(usage.completion_tokens);
    if (ct !== undefined) u.outputTokens = ct;
    // OpenAI details (Chat's names, then Responses'), DeepSeek's cache hit count
    const inDetails = obj(usage.prompt_tokens_details) ?? obj(usage.input_tokens_details);
    const cached = num(inDetails?.cached_tokens) ?? num(usage.prompt_cache_hit_tokens);
    if (cached !== undefined) u.cacheReadTokens = cached;
    const written = num(inDetails?.cache_write_tokens);
    if (written !== undefined) u.cacheWriteTokens = written;
    const outDetails = obj(usage.completion_tokens_details) ?? obj(usage.output_tokens_details);
    const reasoning = num(outDetails?.reasoning_tokens);
    if (reasoning !== undefined) u.reasoningTokens = reasoning;
  }
  // Ollama: prompt_eval_count/eval_count on the final object.
  const pe = num(top.prompt_eval_count);
  if (pe !== undefined) u.inputTokens = pe;
  const ec = num(top.eval_count);
  if (ec !== undefined) u.outputTokens = ec;
}

// The top-level keys readUsage reads (their index in NAMES is their slot in UsageKeys.found).
const NAMES = ['usage', 'prompt_eval_count', 'eval_count', 'message', 'response'] as const;
const USAGE = 0;
const MESSAGE = 3;
/** The index in NAMES of each name, by the length of its plain spelling with its quotes. */
const NAME_BY_LENGTH: (number | undefined)[] = [];
NAMES.forEach((name, i) => (NAME_BY_LENGTH[name.length + 2] = i));

/** A key whose escapes are not valid JSON (JSON.parse of the body would throw). */
const BAD_KEY = -2;

/** The index in NAMES of the key string at [start, end), -1 if it is another key, or BAD_KEY. */
function nameIndex(buf: Buffer, start: number, end: number): number {
  for (let k = start + 1; k < end - 1; k++) {
    if (buf[k] === BACKSLASH) {
      const key = parseOrUndefined(buf, start, end);
      return key === undefined ? BAD_KEY : NAMES.indexOf(key as (typeof NAMES)[number]);
    }
  }
  const i = NAME_BY_LENGTH[end - start];
  return i !== undefined && holds(buf, start + 1, NAMES[i]!) ? i : -1;
}

/** No value seen (or, for message / response, the last one is not an object). */
const ABSENT = -2;
/** A message / response object without a "usage" of its own. */
const NO_USAGE = -1;

/**
 * Notes where the values readUsage reads lie: `found` holds a [start, end) pair for each name of NAMES — for
 * "message" and "response", the range of the "usage" inside the object. The last of a repeated key counts, as in
 * JSON.parse.
 */
class UsageKeys implements KeyVisitor {
  stopAt: number;
  constructor(
    private readonly buf: Buffer,
    readonly found: number[] = [ABSENT, 0, ABSENT, 0, ABSENT, 0, ABSENT, 0, ABSENT, 0],
    /** Walking a message / response object: the slot its own "usage" goes to (-1: walking the top level). */
    private readonly innerSlot = -1,
  ) {
    this.stopAt = buf.length;
  }

  key(keyStart: number, keyEnd: number, valueStart: number): number {
    if (valueStart < 0) return MALFORMED;
    const buf = this.buf;
    const name = nameIndex(buf, keyStart, keyEnd);
    if (name === BAD_KEY) return MALFORMED;
    if (this.innerSlot >= 0) return name === USAGE ? this.note(this.innerSlot, valueStart, walkValue(buf, valueStart, true)) : valueStart;
    if (name < 0) return valueStart;
    if (name < MESSAGE) return this.note(name * 2, valueStart, walkValue(buf, valueStart, true));
    // message / response: only an object counts, and only its own "usage"
    const slot = name * 2;
    this.found[slot] = buf[valueStart] === 0x7b ? NO_USAGE : ABSENT;
    return walkValue(buf, valueStart, true, this.found[slot] === NO_USAGE ? new UsageKeys(buf, this.found, slot) : undefined);
  }

  /** Notes the value at [start, end) in `slot` (an end < 0 is the walk's error, passed on). */
  private note(slot: number, start: number, end: number): number {
    if (end >= 0) {
      this.found[slot] = start;
      this.found[slot + 1] = end;
    }
    return end;
  }
}

/**
 * Below this size a whole answer is decoded whole all the same: JSON.parse of a short body full of short strings
 * costs about what the walk does (a 234-byte Anthropic answer: 1.5 µs parsed, 1.5–2 µs walked; a 560-byte Chat
 * answer: 1.3× the parse walked); past 1 KB of prose the walk is cheaper and grows far slower (4 KB: a
 * third of the parse, 64 KB: a tenth).
 */
export const WHOLE_USAGE_SCAN_FROM = 1024;

/**
 * Reads a whole answer's usage (as readUsage on the decoded body would) from the values of the few top-level
 * keys readUsage looks at — "usage", "prompt_eval_count", "eval_count", and "usage" inside a top-level
 * "message" or "response" object — decoding only those; the rest of the body is walked (json-scan.ts), never
 * decoded. Returns false, having recorded nothing, when the body is not a JSON object or the walk finds it is
 * not valid JSON: the caller then decodes it whole. The one fault the walk does not see is inside a string it
 * passes over (a raw control character, a bad escape): such a body has its usage read where JSON.parse would
 * have thrown.
 */
export function readWholeUsage(buf: Buffer, u: Usage): boolean {
  const i = skipSpace(buf, 0);
  if (buf[i] !== 0x7b) return false;
  const keys = new UsageKeys(buf);
  const end = walkValue(buf, i, true, keys);
  if (end < 0 || skipSpace(buf, end) !== buf.length) return false;
  // the values read, under the keys readUsage reads them from
  const o: Record<string, unknown> = {};
  const found = keys.found;
  for (let name = 0; name < NAMES.length; name++) {
    const start = found[name * 2]!;
    if (start === ABSENT) continue;
    let value: unknown;
    if (start !== NO_USAGE) {
      value = parseOrUndefined(buf, start, found[name * 2 + 1]!);
      if (value === undefined) return false; // a fault inside a string of the value: JSON.parse of the body throws too
    }
    o[NAMES[name]!] = name < MESSAGE ? value : start === NO_USAGE ? {} : { usage: value };
  }
  readUsage(o, u);
  return true;
}

/** Copies the counts that are set from `from` onto `to` (a log entry). */
export function copyUsage(from: Usage, to: Usage): void {
  if (from.inputTokens !== undefined) to.inputTokens = from.inputTokens;
  if (from.outputTokens !== undefined) to.outputTokens = from.outputTokens;
  if (from.cacheReadTokens !== undefined) to.cacheReadTokens = from.cacheReadTokens;
  if (from.cacheWriteTokens !== undefined) to.cacheWriteTokens = from.cacheWriteTokens;
  if (from.reasoningTokens !== undefined) to.reasoningTokens = from.reasoningTokens;
}

const USAGE_BYTES = Buffer.from('usage');
const EVAL_COUNT_BYTES = Buffer.from('eval_count');

/**
 * Watches stream bytes for usage without copying them: only lines that mention usage are decoded.
 * Feed it whole events (or any chunks: a partial line is kept until its end arrives).
 */
export class StreamUsage implements Usage {
  inputTokens?: number;
  outputTokens?: number;
  cacheReadTokens?: number;
  cacheWriteTokens?: number;
  reasoningTokens?: number;
  /** The bytes of a line not ended yet (a chunk may end anywhere: mid-line, mid-word, mid-character). */
  private partial?: Buffer;

  /** The stream ended: a last line without its newline is read too. */
  end(): void {
    if (this.partial) this.push(Buffer.from('\n'));
  }

  push(chunk: Buffer): void {
    const nl = chunk.lastIndexOf(0x0a);
    if (nl < 0) {
      // no line ends here: keep the bytes (a runaway line over 1 MiB is given up on)
      const p = this.partial ? Buffer.concat([this.partial, chunk]) : chunk;
      this.partial = p.length > 1 << 20 ? undefined : p;
      return;
    }
    const held = this.partial;
    this.partial = nl + 1 < chunk.length ? Buffer.from(chunk.subarray(nl + 1)) : undefined;
    // Cheap pre-check on the raw bytes: most chunks (text deltas) carry no usage at all.
    if (!held && chunk.indexOf(USAGE_BYTES) < 0 && chunk.indexOf(EVAL_COUNT_BYTES) < 0) return;
    const text = (held ? Buffer.concat([held, chunk.subarray(0, nl)]) : chunk.subarray(0, nl)).toString('utf8');
    for (const line of text.split('\n')) {
      if (!line.includes('usage') && !line.includes('eval_count')) continue;
      const json = line.startsWith('data:') ? line.slice(5).trim() : line.trim();
      if (!json.startsWith('{')) continue;
      try {
        readUsage(JSON.parse(json), this);
      } catch {
        /* not JSON: not ours to judge */
      }
    }
  }
}
