// Reading, validating and locating errors in config.toml.
import { readFileSync } from 'node:fs';
import { parse, TomlError } from 'smol-toml';
import type { Config } from './schema.js';

// The schema (and zod) is loaded on the first validation, not with this module: the daemon validates in a child
// process (offthread.ts) and never needs it itself; ConfigError, locate and the formatting here stay light.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const schema = () => require('./schema.js') as typeof import('./schema.js');

export interface ConfigIssue {
  file: string;
  line?: number;
  column?: number;
  /** Dotted key path, e.g. `providers[1].auth.value_env`. */
  path: string;
  message: string;
}

export class ConfigError extends Error {
  constructor(readonly issues: ConfigIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'ConfigError';
  }
}

export function formatIssue(i: ConfigIssue): string {
  const where = i.line ? `${i.file}:${i.line}${i.column ? `:${i.column}` : ''}` : i.file;
  return `${where}: ${i.path ? `${i.path}: ` : ''}${i.message}`;
}

export function formatPath(path: readonly PropertyKey[]): string {
  let s = '';
  for (const p of path) {
    if (typeof p === 'number') s += `[${p}]`;
    else s += s ? `.${String(p)}` : String(p);
  }
  return s;
}

/** Parses and validates TOML text; throws ConfigError naming file, line and key path. */
export function parseConfig(text: string, file: string): Config {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (e) {
    if (e instanceof TomlError) {
      const first = e.message.split('\n')[0]?.replace(/^Invalid TOML document: /, '') ?? e.message;
      throw new ConfigError([{ file, line: e.line, column: e.column, path: '', message: `TOML syntax error: ${first}` }]);
    }
    throw e;
  }
  const r = schema().ConfigSchema.safeParse(raw);
  if (!r.success) {
    throw new ConfigError(
      r.error.issues.map((iss) => {
        const path = iss.path as PropertyKey[];
        return { file, line: locate(text, path), path: formatPath(path), message: describeIssue(iss) };
      }),
    );
  }
  return r.data;
}

function describeIssue(iss: { code: string; message: string; expected?: unknown; input?: unknown }): string {
  if (iss.code === 'invalid_type' && iss.input === undefined) return `missing (expected ${String(iss.expected)})`;
  return iss.message;
}

export function loadConfigFile(file: string): { config: Config; text: string } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new ConfigError([{ file, path: '', message: err.code === 'ENOENT' ? 'config file not found' : `cannot read: ${err.message}` }]);
  }
  return { config: parseConfig(text, file), text };
}

/**
 * Finds the line where a key path is written in TOML text, best effort: tracks table headers
 * ([a.b], [[a]] with their index), dotted keys and inline tables opening on a key's line.
 * Returns the deepest match found (a missing key reports its table's header line).
 */
export function locate(text: string, path: readonly PropertyKey[]): number | undefined {
  const want = normalise(path);
  const arrayCounts = new Map<string, number>();
  let table: string[] = [];
  let best: { line: number; depth: number } | undefined;
  const consider = (keys: string[], line: number) => {
    let n = 0;
    while (n < keys.length && n < want.length && keys[n] === want[n]) n++;
    if (n === keys.length && (!best || n > best.depth)) best = { line, depth: n };
  };
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = stripComment(lines[i] ?? '').trim();
    if (!line) continue;
    let m = /^\[\[\s*([^\]]+?)\s*\]\]$/.exec(line);
    if (m) {
      const keys = splitKey(m[1]!);
      const base = [...resolveHeader(keys.slice(0, -1), arrayCounts), ...keys.slice(-1)];
      const idx = arrayCounts.get(base.join('.')) ?? -1;
      arrayCounts.set(base.join('.'), idx + 1);
      table = [...base, String(idx + 1)];
      consider(table, i + 1);
      continue;
    }
    m = /^\[\s*([^\]]+?)\s*\]$/.exec(line);
    if (m) {
      table = resolveHeader(splitKey(m[1]!), arrayCounts);
      consider(table, i + 1);
      continue;
    }
    const eq = findTopLevelEquals(line);
    if (eq < 0) continue;
    const key = [...table, ...splitKey(line.slice(0, eq))];
    consider(key, i + 1);
    const value = line.slice(eq + 1).trim();
    if (value.startsWith('{')) {
      // inline table: look for its keys on the same line
      for (const km of value.matchAll(/(?:^\{|,)\s*("[^"]*"|'[^']*'|[A-Za-z0-9_-]+)\s*=/g)) {
        consider([...key, ...splitKey(km[1]!)], i + 1);
      }
    }
  }
  return best?.line;
}

function normalise(path: readonly PropertyKey[]): string[] {
  return path.map((p) => String(p));
}

/** `[[providers]]` then `[providers.available_models]` means the last providers element. */
function resolveHeader(keys: string[], arrayCounts: Map<string, number>): string[] {
  const out: string[] = [];
  for (const k of keys) {
    out.push(k);
    const idx = arrayCounts.get(out.join('.'));
    if (idx !== undefined) out.push(String(idx));
  }
  return out;
}

function splitKey(s: string): string[] {
  const out: string[] = [];
  const re = /\s*("([^"\\]|\\.)*"|'[^']*'|[A-Za-z0-9_-]+)\s*(\.|$)/gy;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) && m[0] !== '') {
    const k = m[1]!;
    out.push(k.startsWith('"') ? (JSON.parse(k) as string) : k.startsWith("'") ? k.slice(1, -1) : k);
    if (re.lastIndex >= s.length) break;
  }
  return out;
}

/** Index of the first `ch` outside quoted strings, or -1. */
function indexOutsideQuotes(line: string, ch: string): number {
  let q: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (q) {
      if (c === '\\' && q === '"') i++;
      else if (c === q) q = null;
    } else if (c === '"' || c === "'") q = c;
    else if (c === ch) return i;
  }
  return -1;
}

function stripComment(line: string): string {
  const i = indexOutsideQuotes(line, '#');
  return i < 0 ? line : line.slice(0, i);
}

function findTopLevelEquals(line: string): number {
  return indexOutsideQuotes(line, '=');
}
