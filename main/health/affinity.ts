// Cache affinity (issue 10): consecutive turns of one conversation go to the target that served the previous
// turn while it is healthy, so the provider's prompt cache keeps hitting. A conversation is known by a
// fingerprint of its system prompt and messages (cache_control markers left out: clients move them every turn);
// a turn's own full fingerprint is remembered, and the next turn looks up its prefixes without its last turn.
// Bounded: an LRU of at most `max` conversations, each forgotten `ttlMs` after its last turn.
import { createHash, type Hash } from 'node:crypto';

/** The fingerprints of one request: `lookup` (prefixes, longest first) to find the previous turn, `own` to remember. */
export interface Fingerprint {
  lookup: string[];
  own: string;
}

/** How many trailing messages a new turn may add after the last remembered one (assistant reply, tool result, user). */
const LOOKBACK = 4;

const omitCacheControl = (k: string, v: unknown) => (k === 'cache_control' ? undefined : v);

/**
 * The fingerprints of a chat body (Anthropic Messages, OpenAI Chat, Responses `input`, Ollama chat), or undefined
 * when it has no conversation (a single message with no history still gets one: turn 1 is remembered).
 */
export function fingerprint(parse: () => unknown): Fingerprint | undefined {
  let body: unknown;
  try {
    body = parse();
  } catch {
    return undefined;
  }
  if (!body || typeof body !== 'object') return undefined;
  const b = body as Record<string, unknown>;
  const messages = Array.isArray(b.messages) ? b.messages : Array.isArray(b.input) ? b.input : undefined;
  if (!messages || messages.length === 0 || b.previous_response_id !== undefined) return undefined;
  const h: Hash = createHash('sha1');
  h.update(JSON.stringify(b.system ?? b.instructions ?? null, omitCacheControl) ?? '');
  const lookup: string[] = [];
  const n = messages.length;
  for (let i = 0; i < n; i++) {
    // prefixes of length n-1 … n-LOOKBACK (at least 1 message): what an earlier turn's `own` was
    if (i >= Math.max(1, n - LOOKBACK)) lookup.unshift(h.copy().digest('base64url'));
    h.update('\u0000');
    h.update(JSON.stringify(messages[i], omitCacheControl) ?? '');
  }
  return { lookup, own: h.digest('base64url') };
}

interface Remembered {
  target: string;
  at: number;
}

export class Affinity {
  private readonly map = new Map<string, Remembered>();

  constructor(
    public max = 10_000,
    public ttlMs = 60 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Follows config reloads. */
  configure(max: number, ttlMs: number): this {
    this.max = max;
    this.ttlMs = ttlMs;
    return this;
  }

  get size(): number {
    return this.map.size;
  }

  /** The target key that served this conversation's previous turn, if remembered and fresh. */
  find(fp: Fingerprint): string | undefined {
    const now = this.now();
    for (const k of fp.lookup) {
      const r = this.map.get(k);
      if (!r) continue;
      if (now - r.at > this.ttlMs) {
        this.map.delete(k);
        continue;
      }
      return r.target;
    }
    return undefined;
  }

  /** Remembers which target served this turn (the next turn finds it by its prefix). */
  remember(fp: Fingerprint, target: string): void {
    // the previous turn's entry is superseded by this one
    for (const k of fp.lookup) this.map.delete(k);
    this.map.delete(fp.own);
    this.map.set(fp.own, { target, at: this.now() });
    while (this.map.size > this.max) this.map.delete(this.map.keys().next().value!);
  }
}

/**
 * Puts the target that holds the conversation's cache first, when it is in the plan and healthy; returns the
 * (possibly reordered) targets and whether it moved one.
 */
export function preferTarget<T>(targets: T[], key: (t: T) => string, want: string | undefined, healthy: (t: T) => boolean): { targets: T[]; preferred?: T } {
  if (want === undefined) return { targets };
  const i = targets.findIndex((t) => key(t) === want);
  if (i < 0 || !healthy(targets[i]!)) return { targets };
  if (i === 0) return { targets, preferred: targets[0] };
  const t = targets[i]!;
  return { targets: [t, ...targets.slice(0, i), ...targets.slice(i + 1)], preferred: t };
}
