// Finding and rewriting the top-level "model" of a JSON request body without re-serialising it:
// everything but the model value stays byte-for-byte the client's.
import { isKey, parseOrUndefined, QUOTE, skipSpace, skipString, STOPPED, walkValue, type KeyVisitor } from './json-scan.js';

export interface ModelField {
  model: string;
  /** Byte range of the model's JSON string value, quotes included. */
  start: number;
  end: number;
  /** The top level has a second "model" key: the router would route by the first, upstreams read the last. */
  duplicate?: true;
}

/** Searched without its opening quote: a needle that starts with `"` is slow in JSON, full of quotes. */
const MODEL_KEY_TAIL = Buffer.from('model"');
/** `\u006` starts the escape of every letter of "model" (m o d e l are U+006D, 6F, 64, 65, 6C). */
const ESCAPED_LETTER = Buffer.from('\\u006');

/** The last index of `needle` at or after `from`, or -1 (forward searches: lastIndexOf is slow on JSON). */
function lastAfter(buf: Buffer, needle: Buffer, from: number): number {
  let last = -1;
  for (let p = buf.indexOf(needle, from); p >= 0; p = buf.indexOf(needle, p + needle.length)) last = p;
  return last;
}

/**
 * The request body's JSON.parse, done at most once however many parts of the request ask (routing's body facts,
 * the relays, cache affinity); a body that is not JSON throws the same error on every call.
 */
export function jsonOnce(body: Buffer): () => unknown {
  let done = false;
  let value: unknown;
  let error: unknown;
  return () => {
    if (!done) {
      done = true;
      try {
        value = JSON.parse(body.toString('utf8'));
      } catch (e) {
        error = e;
      }
    }
    if (error !== undefined) throw error;
    return value;
  };
}

/**
 * Scans a JSON object's top level for "model". Returns undefined when the body is not a JSON object
 * or has no string model. Strings are skipped with indexOf, so long message text costs little. After the
 * model, the rest is scanned for a second top-level "model" key only as far as the bytes `model"` or an
 * escaped letter of it occur: two native searches tell (about 1 ns a byte on prose-heavy JSON, far less on
 * long runs of one character), and usually the bytes do not occur again at all.
 */
export function findModel(buf: Buffer): ModelField | undefined {
  const i = skipSpace(buf, 0);
  if (buf[i] !== 0x7b) return undefined; // {
  const keys = new ModelKey(buf);
  walkValue(buf, i, false, keys);
  return keys.bad ? undefined : keys.field;
}

/** Shown the request's top-level keys: finds "model", then a second one. */
class ModelKey implements KeyVisitor {
  /** Once the model is found: no key starting past here can be "model". */
  stopAt: number;
  field: ModelField | undefined = undefined;
  /** The model is not a string. */
  bad = false;
  constructor(private readonly buf: Buffer) {
    this.stopAt = buf.length;
  }

  key(keyStart: number, keyEnd: number, valueStart: number): number {
    const buf = this.buf;
    const isModel = isKey(buf, keyStart, keyEnd, 'model');
    if (isModel && this.field) {
      this.field.duplicate = true;
      return STOPPED;
    }
    if (!isModel) return valueStart;
    const vEnd = buf[valueStart] === QUOTE ? skipString(buf, valueStart) : -1;
    const model = vEnd < 0 ? undefined : parseOrUndefined(buf, valueStart, vEnd);
    if (typeof model !== 'string') {
      this.bad = true;
      return STOPPED;
    }
    this.field = { model, start: valueStart, end: vEnd };
    this.stopAt = Math.max(lastAfter(buf, MODEL_KEY_TAIL, vEnd) - 1, lastAfter(buf, ESCAPED_LETTER, vEnd));
    return this.stopAt < 0 ? STOPPED : vEnd;
  }
}

/** The body with the model value replaced (the rest untouched). */
export function rewriteModel(buf: Buffer, field: ModelField, upstreamModel: string): Buffer {
  if (upstreamModel === field.model) return buf;
  return Buffer.concat(rewrittenParts(buf, field, upstreamModel));
}

/** Above this size a rewritten body is sent as views of the client's bytes (head, model, tail), never copied whole. */
const COPY_LIMIT = 64 * 1024;

/**
 * The body to send upstream with the model replaced: one Buffer, or for a large body the three views around the
 * model value (sent one after the other with their total as content-length, see upstream.ts), so a 60 MB
 * request is not held twice.
 */
export function rewrittenBody(buf: Buffer, field: ModelField, upstreamModel: string): Buffer | Buffer[] {
  if (upstreamModel === field.model) return buf;
  const parts = rewrittenParts(buf, field, upstreamModel);
  return buf.length > COPY_LIMIT ? parts : Buffer.concat(parts);
}

function rewrittenParts(buf: Buffer, field: ModelField, upstreamModel: string): Buffer[] {
  return [buf.subarray(0, field.start), Buffer.from(JSON.stringify(upstreamModel), 'utf8'), buf.subarray(field.end)];
}
