// Walking a JSON text held in a Buffer without decoding it: strings are passed over with indexOf (long prose
// costs a native search, not a byte loop in JS), brackets are counted, and a visitor is shown the keys of the
// top-level object. The request's "model" (body.ts) and a whole answer's token usage (usage.ts) are read this way.

// (module constants exported by name at the end: a CommonJS build reads an exported const through `exports`)
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
/** The walk gave up: the text is not (the start of) valid JSON, or it ended too soon. */
const MALFORMED = -1;
/** The visitor (or its stopAt) ended the walk. */
const STOPPED = -2;
export { BACKSLASH, MALFORMED, QUOTE, STOPPED };

/** Index just past the closing quote of the string that opens at `i`, or -1. */
export function skipString(buf: Buffer, i: number): number {
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

export function skipSpace(buf: Buffer, i: number): number {
  while (i < buf.length && isSpace(buf[i])) i++;
  return i;
}

/**
 * Whether the key string at [i, end) (quotes included) is `name` (plain ASCII), escaped spellings
 * ("mod\u0065l") too. A key whose escapes are not valid JSON is not `name`.
 */
export function isKey(buf: Buffer, i: number, end: number, name: string): boolean {
  const len = end - i;
  if (len === name.length + 2) return holds(buf, i + 1, name);
  if (len < name.length + 2 || len > name.length * 6 + 2) return false; // a \uXXXX escape for every letter at most
  if (buf.subarray(i, end).indexOf(BACKSLASH) < 0) return false;
  return parseOrUndefined(buf, i, end) === name;
}

/** Whether the bytes at `at` are those of `ascii`. */
export function holds(buf: Buffer, at: number, ascii: string): boolean {
  for (let k = 0; k < ascii.length; k++) if (buf[at + k] !== ascii.charCodeAt(k)) return false;
  return true;
}

/** The JSON text at [start, end) decoded, or undefined when it is not valid JSON. */
export function parseOrUndefined(buf: Buffer, start: number, end: number): unknown {
  try {
    return JSON.parse(buf.toString('utf8', start, end)) as unknown;
  } catch {
    return undefined;
  }
}

/** Shown the entries of the top-level object, one key at a time. */
export interface KeyVisitor {
  /** No string starting past this index is of interest: the walk stops (STOPPED) when it reaches one. */
  stopAt: number;
  /**
   * A key of the top-level object: its string at [keyStart, keyEnd) (quotes included) and the index its value
   * starts at (past the colon and white space), or MALFORMED when no colon follows the key. Returns
   * `valueStart` to have the walk pass over the value, the index just past the value when the visitor read it
   * itself, or a negative code (MALFORMED, STOPPED) to end the walk with.
   */
  key(keyStart: number, keyEnd: number, valueStart: number): number;
}

// What may come next, in strict walks.
const VALUE = 0;
const VALUE_OR_CLOSE = 1; // just after [
const KEY = 2;
const KEY_OR_CLOSE = 3; // just after {
const COLON = 4;
const AFTER = 5; // after a value: a comma or a closing bracket

/**
 * The opening bracket of each open container of the strict walks under way, by depth: a walk started from a
 * visitor (a value read itself) keeps its own above its caller's, from `kindsUsed` on.
 */
let kinds: Uint8Array = new Uint8Array(64);
let kindsUsed = 0;

/**
 * Walks the one JSON value that starts at `i` (after white space) and returns the index just past it, or
 * MALFORMED, or STOPPED. With a visitor, the keys of the object at depth 1 (the value itself, when it is an
 * object) are shown to it.
 *
 * Strict: every token outside strings is checked against JSON's grammar (brackets matched, commas, colons,
 * numbers, true/false/null), so any text JSON.parse would reject gives MALFORMED — save a fault inside a
 * string passed over (a raw control character or a bad escape), which is never read. Not strict: only quotes
 * and bracket depth are followed (as fast as it gets; the value must then be an object or array, and a text that
 * is not JSON gives whatever its brackets say).
 */
export function walkValue(buf: Buffer, i: number, strict: boolean, visitor?: KeyVisitor): number {
  const n = buf.length;
  const base = kindsUsed;
  let depth = 0;
  let objectTop = false; // the value is an object
  let expectKey = false; // at depth 1 of an object: the next string is a key
  let st = VALUE;
  let stopAt = visitor === undefined ? n : visitor.stopAt;
  while (i < n) {
    const c = buf[i]!;
    if (c === QUOTE) {
      if (i > stopAt) return STOPPED;
      const end = skipString(buf, i);
      if (end < 0) return MALFORMED;
      if (depth === 1 && expectKey && visitor !== undefined) {
        if (strict && st !== KEY && st !== KEY_OR_CLOSE) return MALFORMED;
        let j = skipSpace(buf, end);
        j = buf[j] === 0x3a ? skipSpace(buf, j + 1) : MALFORMED; // :
        kindsUsed = base + 1;
        const r = visitor.key(i, end, j);
        kindsUsed = base;
        stopAt = visitor.stopAt;
        if (r < 0) return r;
        expectKey = false;
        if (r > j) {
          i = r;
          st = AFTER;
        } else {
          i = j;
          st = VALUE;
        }
        continue;
      }
      if (strict) {
        if (st === KEY || st === KEY_OR_CLOSE) st = COLON;
        else if (st <= VALUE_OR_CLOSE) st = AFTER;
        else return MALFORMED;
      }
      if (depth === 0) return end;
      i = end;
      continue;
    }
    if (c === 0x7b || c === 0x5b) {
      // { [
      if (strict) {
        if (st > VALUE_OR_CLOSE) return MALFORMED;
        if (base + depth >= kinds.length) kinds = growKinds(kinds);
        kinds[base + depth] = c;
        st = c === 0x7b ? KEY_OR_CLOSE : VALUE_OR_CLOSE;
      }
      depth++;
      if (depth === 1) expectKey = objectTop = c === 0x7b;
    } else if (c === 0x7d || c === 0x5d) {
      // } ]
      if (strict) {
        const open = c === 0x7d ? KEY_OR_CLOSE : VALUE_OR_CLOSE;
        if ((st !== AFTER && st !== open) || depth === 0 || kinds[base + depth - 1] !== c - 2) return MALFORMED;
        st = AFTER;
      }
      depth--;
      if (depth <= 0) return depth === 0 ? i + 1 : MALFORMED;
    } else if (c === 0x2c) {
      // ,
      if (strict) {
        if (st !== AFTER || depth === 0) return MALFORMED;
        st = kinds[base + depth - 1] === 0x7b ? KEY : VALUE;
      }
      if (depth === 1) expectKey = objectTop;
    } else if (strict && !isSpace(c)) {
      if (c === 0x3a && st === COLON) st = VALUE;
      else {
        if (st > VALUE_OR_CLOSE) return MALFORMED;
        const end = scalarEnd(buf, i);
        if (end < 0) return MALFORMED;
        if (depth === 0) return end;
        st = AFTER;
        i = end;
        continue;
      }
    }
    i++;
  }
  return MALFORMED;
}

function growKinds(k: Uint8Array): Uint8Array {
  const g = new Uint8Array(k.length * 2);
  g.set(k);
  return g;
}

const isDigit = (c: number | undefined): boolean => c !== undefined && c >= 0x30 && c <= 0x39;

/** Index just past the number or true/false/null at `i`, or -1 when no valid one starts there. */
function scalarEnd(buf: Buffer, i: number): number {
  const c = buf[i];
  if (c === 0x74) return literalEnd(buf, i, 'true');
  if (c === 0x66) return literalEnd(buf, i, 'false');
  if (c === 0x6e) return literalEnd(buf, i, 'null');
  let j = i;
  if (buf[j] === 0x2d) j++; // -
  if (buf[j] === 0x30) j++; // a lone 0: no leading zeros
  else if (isDigit(buf[j])) while (isDigit(buf[j])) j++;
  else return -1;
  if (buf[j] === 0x2e) {
    // .
    j++;
    if (!isDigit(buf[j])) return -1;
    while (isDigit(buf[j])) j++;
  }
  if (buf[j] === 0x65 || buf[j] === 0x45) {
    // e E
    j++;
    if (buf[j] === 0x2b || buf[j] === 0x2d) j++;
    if (!isDigit(buf[j])) return -1;
    while (isDigit(buf[j])) j++;
  }
  return j;
}

function literalEnd(buf: Buffer, i: number, word: string): number {
  return buf.toString('latin1', i, i + word.length) === word ? i + word.length : -1;
}
