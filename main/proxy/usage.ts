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
import { BACKSLASH, MALFORMED, skipSpace, walkValue, type KeyVisitor } from './json-scan.js';

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

// The top-level keys readUsage reads, by the length of their plain spelling with its quotes.
const USAGE = 'usage';
const PROMPT_EVAL_COUNT = 'prompt_eval_count';
const EVAL_COUNT = 'eval_count';
const MESSAGE = 'message';
const RESPONSE = 'response';
const NAMES_BY_LENGTH: Record<number, string> = { 7: USAGE, 19: PROMPT_EVAL_COUNT, 12: EVAL_COUNT, 9: MESSAGE, 10: RESPONSE };

/**
 * The name of the key string at [start, end) if it is one readUsage reads, '' if it is another, undefined if
 * its escapes are not valid JSON.
 */
function keyName(buf: Buffer, start: number, end: number): string | undefined {
  let escaped = false;
  for (let k = start + 1; k < end - 1; k++) {
    if (buf[k] === BACKSLASH) {
      escaped = true;
      break;
    }
  }
  if (!escaped) {
    const name = NAMES_BY_LENGTH[end - start];
    return name !== undefined && buf.toString('latin1', start + 1, end - 1) === name ? name : '';
  }
  let key: unknown;
  try {
    key = JSON.parse(buf.toString('utf8', start, end));
  } catch {
    return undefined;
  }
  return key === USAGE || key === PROMPT_EVAL_COUNT || key === EVAL_COUNT || key === MESSAGE || key === RESPONSE ? key : '';
}

/** Where a key's value lies in the body. */
interface Range {
  start: number;
  end: number;
}

/**
 * Reads a whole answer's usage (as readUsage on the decoded body would) from the values of the few top-level
 * keys readUsage looks at — "usage", "prompt_eval_count", "eval_count", and "usage" inside a top-level
 * "message" or "response" object — decoding only those; the rest of the body is walked (json-scan.ts), never
 * decoded. The last of a repeated key counts, as in JSON.parse. Returns false, having recorded nothing, when the
 * body is not a JSON object or the walk finds it is not valid JSON: the caller then decodes it whole. The one
 * fault the walk does not see is inside a string it passes over (a raw control character, a bad escape): such a
 * body has its usage read where JSON.parse would have thrown.
 */
export function readWholeUsage(buf: Buffer, u: Usage): boolean {
  const i = skipSpace(buf, 0);
  if (buf[i] !== 0x7b) return false;
  const found: Record<string, Range | undefined> = {};
  /** message / response: whether the last one is an object, and the range of its own last "usage". */
  const inner: Record<string, { usage?: Range } | undefined> = {};
  const top: KeyVisitor = {
    stopAt: buf.length,
    key(keyStart, keyEnd, valueStart) {
      if (valueStart < 0) return MALFORMED;
      const name = keyName(buf, keyStart, keyEnd);
      if (name === undefined) return MALFORMED;
      if (name === '') return valueStart;
      if (name === MESSAGE || name === RESPONSE) {
        if (buf[valueStart] !== 0x7b) {
          inner[name] = undefined;
          return walkValue(buf, valueStart, true);
        }
        const holder: { usage?: Range } = {};
        inner[name] = holder;
        return walkValue(buf, valueStart, true, {
          stopAt: buf.length,
          key(ks, ke, vs) {
            if (vs < 0) return MALFORMED;
            const n = keyName(buf, ks, ke);
            if (n === undefined) return MALFORMED;
            if (n !== USAGE) return vs;
            const end = walkValue(buf, vs, true);
            if (end >= 0) holder.usage = { start: vs, end };
            return end;
          },
        });
      }
      const end = walkValue(buf, valueStart, true);
      if (end >= 0) found[name] = { start: valueStart, end };
      return end;
    },
  };
  const end = walkValue(buf, i, true, top);
  if (end < 0 || skipSpace(buf, end) !== buf.length) return false;
  // the values read, under the keys readUsage reads them from
  const o: Record<string, unknown> = {};
  try {
    for (const name in found) o[name] = JSON.parse(buf.toString('utf8', found[name]!.start, found[name]!.end)) as unknown;
    for (const name in inner) {
      const r = inner[name]?.usage;
      if (inner[name]) o[name] = r ? { usage: JSON.parse(buf.toString('utf8', r.start, r.end)) as unknown } : {};
    }
  } catch {
    return false; // a fault inside a string of those values: the whole parse throws too
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
    if (!held && chunk.indexOf('usage') < 0 && chunk.indexOf('eval_count') < 0) return;
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
