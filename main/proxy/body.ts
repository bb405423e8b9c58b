// Finding and rewriting the top-level "model" of a JSON request body without re-serialising it:
// everything but the model value stays byte-for-byte the client's.

export interface ModelField {
  model: string;
  /** Byte range of the model's JSON string value, quotes included. */
  start: number;
  end: number;
  /** The top level has a second "model" key: the router would route by the first, upstreams read the last. */
  duplicate?: true;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
/** Searched without its opening quote: a needle that starts with `"` is slow in JSON, full of quotes. */
const MODEL_KEY_TAIL = Buffer.from('model"');
/** `\u006` starts the escape of every letter of "model" (m o d e l are U+006D, 6F, 64, 65, 6C). */
const ESCAPED_LETTER = Buffer.from('\\u006');

/** Index just past the closing quote of the string that opens at `i`, or -1. */
function skipString(buf: Buffer, i: number): number {
  let j = i + 1;
  for (;;) {
    const q = buf.indexOf(QUOTE, j);
    if (q < 0) return -1;
    let bs = 0;
    for (let k = q - 1; k > i && buf[k] === BACKSLASH; k--) bs++;
    if (bs % 2 === 0) return q + 1;
    j = q + 1;
  }
}

function isSpace(c: number | undefined): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** Whether the key string at [i, end) (quotes included) is "model", escaped spellings ("mod\u0065l") too. */
function isModelKey(buf: Buffer, i: number, end: number): boolean {
  const len = end - i;
  if (len === 7) return buf.toString('latin1', i + 1, end - 1) === 'model';
  if (len < 7 || len > 32) return false; // five \uXXXX escapes at most
  if (buf.subarray(i, end).indexOf(BACKSLASH) < 0) return false;
  try {
    return JSON.parse(buf.toString('utf8', i, end)) === 'model';
  } catch {
    return false;
  }
}

/** The last index of `needle` at or after `from`, or -1 (forward searches: lastIndexOf is slow on JSON). */
function lastAfter(buf: Buffer, needle: Buffer, from: number): number {
  let last = -1;
  for (let p = buf.indexOf(needle, from); p >= 0; p = buf.indexOf(needle, p + needle.length)) last = p;
  return last;
}

/**
 * Scans a JSON object's top level for "model". Returns undefined when the body is not a JSON object
 * or has no string model. Strings are skipped with indexOf, so long message text costs little. After the
 * model, the rest is scanned for a second top-level "model" key only as far as the bytes `model"` or an
 * escaped letter of it occur: two native searches tell (about 1 ns a byte on prose-heavy JSON, far less on
 * long runs of one character), and usually the bytes do not occur again at all.
 */
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

export function findModel(buf: Buffer): ModelField | undefined {
  let i = 0;
  const n = buf.length;
  while (i < n && isSpace(buf[i])) i++;
  if (buf[i] !== 0x7b) return undefined; // {
  i++;
  let depth = 1;
  let expectKey = true;
  let field: ModelField | undefined;
  let stopAt = n; // once the model is found: no key starting past here can be "model"
  while (i < n) {
    const c = buf[i]!;
    if (c === QUOTE) {
      if (i > stopAt) return field;
      const end = skipString(buf, i);
      if (end < 0) return field;
      if (depth === 1 && expectKey) {
        const isModel = isModelKey(buf, i, end);
        if (isModel && field) {
          field.duplicate = true;
          return field;
        }
        let j = end;
        while (j < n && isSpace(buf[j])) j++;
        if (buf[j] !== 0x3a) return field; // :
        j++;
        while (j < n && isSpace(buf[j])) j++;
        if (isModel) {
          if (buf[j] !== QUOTE) return undefined;
          const vEnd = skipString(buf, j);
          if (vEnd < 0) return undefined;
          try {
            const model = JSON.parse(buf.toString('utf8', j, vEnd)) as string;
            field = { model, start: j, end: vEnd };
          } catch {
            return undefined;
          }
          stopAt = Math.max(lastAfter(buf, MODEL_KEY_TAIL, vEnd) - 1, lastAfter(buf, ESCAPED_LETTER, vEnd));
          if (stopAt < 0) return field;
          i = vEnd;
          expectKey = false;
          continue;
        }
        expectKey = false;
        i = j;
        continue;
      }
      i = end;
      continue;
    }
    if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) {
      depth--;
      if (depth === 0) return field;
    } else if (c === 0x2c && depth === 1) expectKey = true;
    i++;
  }
  return field;
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
