// Finding and rewriting the top-level "model" of a JSON request body without re-serialising it:
// everything but the model value stays byte-for-byte the client's.

export interface ModelField {
  model: string;
  /** Byte range of the model's JSON string value, quotes included. */
  start: number;
  end: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

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

/**
 * Scans a JSON object's top level for "model". Returns undefined when the body is not a JSON object
 * or has no string model. Strings are skipped with indexOf, so long message text costs little.
 */
export function findModel(buf: Buffer): ModelField | undefined {
  let i = 0;
  const n = buf.length;
  while (i < n && isSpace(buf[i])) i++;
  if (buf[i] !== 0x7b) return undefined; // {
  i++;
  let depth = 1;
  let expectKey = true;
  while (i < n) {
    const c = buf[i]!;
    if (c === QUOTE) {
      const end = skipString(buf, i);
      if (end < 0) return undefined;
      if (depth === 1 && expectKey) {
        const isModel = end - i === 7 && buf.toString('latin1', i + 1, end - 1) === 'model';
        let j = end;
        while (j < n && isSpace(buf[j])) j++;
        if (buf[j] !== 0x3a) return undefined; // :
        j++;
        while (j < n && isSpace(buf[j])) j++;
        if (isModel) {
          if (buf[j] !== QUOTE) return undefined;
          const vEnd = skipString(buf, j);
          if (vEnd < 0) return undefined;
          try {
            const model = JSON.parse(buf.toString('utf8', j, vEnd)) as string;
            return { model, start: j, end: vEnd };
          } catch {
            return undefined;
          }
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
      if (depth === 0) return undefined;
    } else if (c === 0x2c && depth === 1) expectKey = true;
    i++;
  }
  return undefined;
}

/** The body with the model value replaced (the rest untouched). */
export function rewriteModel(buf: Buffer, field: ModelField, upstreamModel: string): Buffer {
  if (upstreamModel === field.model) return buf;
  return Buffer.concat(rewrittenParts(buf, field, upstreamModel));
}

/** Above this size a rewritten body is sent as views of the client's bytes, never copied whole. */
const COPY_LIMIT = 1024 * 1024;

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
