// Server-side conversation state for Responses clients whose requests router67 translates for a stateless
// upstream (Anthropic, Chat, Ollama). OpenAI keeps what it returned (`store`, true by default) and clients
// lean on that: the Vercel AI SDK sends `{"type":"item_reference","id":…}` for items the server returned, others
// send `previous_response_id`. router67 remembers the responses it returned itself — their output items, and
// the input items of the turn so a `previous_response_id` chain can be replayed — bounded by bytes and age,
// least recently used first out. It lives in the proxy (one per process), so a config reload keeps it.
import { isObj, str } from './canonical.js';

type Item = Record<string, unknown>;

interface Stored {
  id: string;
  prev?: string;
  input: Item[];
  output: Item[];
  bytes: number;
  at: number;
}

/** A reference the client sent that router67 cannot resolve: answered 400 in the client's dialect. */
export class UnknownReferenceError extends Error {
  readonly code: string;
  constructor(
    message: string,
    readonly param: string,
    code: 'previous_response_not_found' | 'item_not_found',
  ) {
    super(message);
    this.name = 'UnknownReferenceError';
    this.code = code;
  }
}

export interface StoreLimits {
  maxBytes: number;
  ttlMs: number;
}

export class ResponseStore {
  private readonly responses = new Map<string, Stored>();
  private readonly items = new Map<string, { resp: string; item: Item }>();
  private total = 0;

  constructor(
    private limits: StoreLimits,
    private readonly now: () => number = Date.now,
  ) {}

  /** New limits (config reload); what no longer fits is dropped. */
  configure(limits: StoreLimits): void {
    if (limits.maxBytes === this.limits.maxBytes && limits.ttlMs === this.limits.ttlMs) return;
    this.limits = limits;
    this.evict();
  }

  get bytes(): number {
    return this.total;
  }
  get size(): number {
    return this.responses.size;
  }
  has(id: string): boolean {
    return this.get(id) !== undefined;
  }

  /** Remembers a response router67 returned: its id, the turn's (resolved) input items and its output items. */
  record(id: string, prev: string | undefined, input: Item[], output: Item[]): void {
    const bytes = JSON.stringify(input).length + JSON.stringify(output).length + id.length + (prev?.length ?? 0) + 64;
    if (bytes > this.limits.maxBytes || this.limits.maxBytes <= 0) return;
    this.drop(id);
    const s: Stored = { id, input, output, bytes, at: this.now() };
    if (prev) s.prev = prev;
    this.responses.set(id, s);
    this.total += bytes;
    for (const it of [...input, ...output]) {
      const iid = str(it.id);
      if (iid && it.type !== 'item_reference') this.items.set(iid, { resp: id, item: it });
    }
    this.evict();
  }

  /** An item router67 returned (or was sent) earlier, by id. */
  item(id: string): Item | undefined {
    const ref = this.items.get(id);
    if (!ref) return undefined;
    if (!this.get(ref.resp)) return undefined;
    return ref.item;
  }

  /** The whole conversation a response ends: every earlier turn's input and output, then its own. */
  history(id: string): Item[] {
    const chain: Stored[] = [];
    const seen = new Set<string>();
    for (let cur: string | undefined = id; cur; ) {
      if (seen.has(cur)) break;
      seen.add(cur);
      const s = this.get(cur);
      if (!s) {
        const what = cur === id ? `Previous response with id '${id}' not found` : `Previous response with id '${id}' is incomplete: its earlier turn '${cur}' is no longer stored`;
        throw new UnknownReferenceError(
          `${what} (router67 keeps the responses it returned in memory for a limited time and size; send the full input, or store: false)`,
          'previous_response_id',
          'previous_response_not_found',
        );
      }
      chain.push(s);
      cur = s.prev;
    }
    const out: Item[] = [];
    for (let i = chain.length - 1; i >= 0; i--) out.push(...chain[i]!.input, ...chain[i]!.output);
    return out;
  }

  private get(id: string): Stored | undefined {
    const s = this.responses.get(id);
    if (!s) return undefined;
    const t = this.now();
    if (t - s.at > this.limits.ttlMs) {
      this.drop(id);
      return undefined;
    }
    // used again: it moves to the young end (least recently used goes first)
    s.at = t;
    this.responses.delete(id);
    this.responses.set(id, s);
    return s;
  }

  private drop(id: string): void {
    const s = this.responses.get(id);
    if (!s) return;
    this.responses.delete(id);
    this.total -= s.bytes;
    for (const it of [...s.input, ...s.output]) {
      const iid = str(it.id);
      if (iid && this.items.get(iid)?.resp === id) this.items.delete(iid);
    }
  }

  private evict(): void {
    const t = this.now();
    for (const s of this.responses.values()) {
      if (this.total <= this.limits.maxBytes && t - s.at <= this.limits.ttlMs) break;
      this.drop(s.id);
    }
  }
}

export interface ResolvedState {
  /** The request body with references replaced by the items they name (undefined: nothing to resolve). */
  body?: Record<string, unknown>;
  /** This turn's input items, references resolved (what a later previous_response_id replays). */
  input: Item[];
  previousResponseId?: string;
  /** `store` is not false: the answer is to be remembered. */
  store: boolean;
  /** How many references came from router67's store. */
  resolved: number;
  notes: string[];
}

/**
 * Resolves `item_reference` items and `previous_response_id` of a Responses request from the store. Throws
 * UnknownReferenceError for a reference router67 does not hold, unless `lenient` (then it is left in place:
 * the upstream may know it, e.g. a same-format OpenAI provider).
 */
export function resolveState(body: unknown, store: ResponseStore, lenient = false): ResolvedState {
  const b = isObj(body) ? body : {};
  const r: ResolvedState = { input: [], store: b.store !== false, resolved: 0, notes: [] };
  let changed = false;
  if (typeof b.input === 'string') r.input = [{ type: 'message', role: 'user', content: b.input }];
  else if (Array.isArray(b.input)) {
    for (const it of b.input) {
      if (!isObj(it)) continue;
      if (it.type === 'item_reference') {
        const id = str(it.id) ?? '';
        const found = store.item(id);
        if (found) {
          r.input.push(found);
          r.resolved++;
          changed = true;
          continue;
        }
        if (!lenient)
          throw new UnknownReferenceError(
            `Item with id '${id}' not found (item_reference: router67 keeps the items it returned in memory for a limited time and size; send the full item, or store: false)`,
            'input',
            'item_not_found',
          );
      }
      r.input.push(it);
    }
  }
  if (changed) r.notes.push(`${r.resolved} item_reference${r.resolved === 1 ? '' : 's'} resolved from router67's response store`);
  const prev = str(b.previous_response_id);
  let history: Item[] = [];
  let prevResolved = false;
  if (prev) {
    r.previousResponseId = prev;
    try {
      history = store.history(prev);
      changed = prevResolved = true;
      r.resolved++;
      r.notes.push(`previous_response_id ${prev}: ${history.length} earlier item${history.length === 1 ? '' : 's'} replayed from router67's response store`);
    } catch (e) {
      if (!lenient) throw e;
    }
  }
  if (changed) {
    const out: Record<string, unknown> = { ...b, input: [...history, ...r.input] };
    if (prevResolved) delete out.previous_response_id;
    r.body = out;
  }
  return r;
}
