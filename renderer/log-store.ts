// The live log's memory: at most `max` rows (oldest dropped first), updated in place by id, filtered on demand.
import type { LogRow } from '../main/ui/types.js';

export interface LogFilter {
  text: string;
  provider: string;
  /** The app behind the request ('' any). */
  app: string;
  status: 'all' | 'ok' | '4xx' | '5xx' | 'failed' | 'active';
}

export const NO_FILTER: LogFilter = { text: '', provider: '', app: '', status: 'all' };

/** Short marks a row carries (also searchable): streamed, count_tokens, answered locally, a resend. */
export function tags(r: LogRow): string[] {
  const t: string[] = [];
  if (r.stream) t.push('stream');
  if (/\/count_tokens(?:$|\?)/.test(r.path)) t.push('count_tokens');
  if (r.local) t.push('local');
  if (r.passthrough) t.push('passthrough');
  if (r.resendOf) t.push('resend');
  return t;
}

export function matches(r: LogRow, f: LogFilter): boolean {
  if (f.provider && r.provider !== f.provider && !r.attempts.some((a) => a.provider === f.provider)) return false;
  if (f.app && r.app !== f.app) return false;
  const st = r.status ?? 0;
  switch (f.status) {
    case 'ok':
      if (!(st >= 200 && st < 300) || r.state === 'error') return false;
      break;
    case '4xx':
      if (!(st >= 400 && st < 500)) return false;
      break;
    case '5xx':
      if (!(st >= 500)) return false;
      break;
    case 'failed':
      if (!(r.state === 'error' || st >= 400)) return false;
      break;
    case 'active':
      if (!(r.state === 'pending' || r.state === 'streaming')) return false;
      break;
  }
  if (f.text) {
    const q = f.text.toLowerCase();
    const hay = [
      r.model,
      r.provider,
      r.upstreamModel,
      r.path,
      r.host,
      r.error,
      r.dialect,
      r.status,
      r.id,
      r.app,
      ...tags(r),
      // every attempt's status too: a 503 that a fallback hid is still found by "503"
      ...r.attempts.map((a) => `${a.provider} ${a.model} ${a.status ?? ''} ${a.error ?? ''}`),
    ]
      .filter((x) => x !== undefined && x !== null)
      .join(' ')
      .toLowerCase();
    if (!hay.includes(q)) return false;
  }
  return true;
}

export class LogStore {
  private rows: LogRow[] = []; // oldest first
  private readonly seqOf = new Map<string, number>();
  private base = 0;
  /** Bumped on every change (views recompute lazily). */
  version = 0;
  private cache?: { version: number; key: string; rows: LogRow[] };

  constructor(public max = 10_000) {}

  get size(): number {
    return this.rows.length;
  }

  get(id: string): LogRow | undefined {
    const s = this.seqOf.get(id);
    return s === undefined ? undefined : this.rows[s - this.base];
  }

  /** Adds or updates a row; returns true when it is new. */
  upsert(r: LogRow): boolean {
    this.version++;
    const s = this.seqOf.get(r.id);
    if (s !== undefined) {
      this.rows[s - this.base] = r;
      return false;
    }
    this.seqOf.set(r.id, this.base + this.rows.length);
    this.rows.push(r);
    if (this.rows.length > this.max) {
      // the same number as the main side keeps: the oldest goes as the newest comes
      const drop = this.rows.length - this.max;
      for (const old of this.rows.splice(0, drop)) this.seqOf.delete(old.id);
      this.base += drop;
    }
    return true;
  }

  /** Keeps at most `n` (the main side's capacity) from now on. */
  setMax(n: number): void {
    this.max = n;
    if (this.rows.length > n) {
      const drop = this.rows.length - n;
      for (const old of this.rows.splice(0, drop)) this.seqOf.delete(old.id);
      this.base += drop;
      this.version++;
    }
  }

  /** Replaces everything with `rows` (newest first, as the API returns them). */
  reset(rows: LogRow[]): void {
    this.rows = [];
    this.seqOf.clear();
    this.base = 0;
    this.version++;
    for (let i = rows.length - 1; i >= 0; i--) this.upsert(rows[i]!);
  }

  /** Newest first, filtered; cached until the next change. */
  view(f: LogFilter): LogRow[] {
    const key = `${f.text}\u0000${f.provider}\u0000${f.app}\u0000${f.status}`;
    if (this.cache && this.cache.version === this.version && this.cache.key === key) return this.cache.rows;
    const out: LogRow[] = [];
    const all = f.text === '' && f.provider === '' && f.app === '' && f.status === 'all';
    for (let i = this.rows.length - 1; i >= 0; i--) {
      const r = this.rows[i]!;
      if (all || matches(r, f)) out.push(r);
    }
    this.cache = { version: this.version, key, rows: out };
    return out;
  }

  /** The apps seen, sorted. */
  apps(): string[] {
    const s = new Set<string>();
    for (const r of this.rows) if (r.app) s.add(r.app);
    return [...s].sort();
  }

  providers(): string[] {
    const s = new Set<string>();
    for (const r of this.rows) {
      if (r.provider) s.add(r.provider);
      for (const a of r.attempts) s.add(a.provider);
    }
    return [...s].sort();
  }
}
