// The reasoning setting across dialects: Anthropic `thinking.budget_tokens` ⇄ OpenAI `reasoning.effort` /
// `reasoning_effort`, and the Anthropic rules a budget has to meet (≥ 1024, below `max_tokens`, room left
// for the answer). Applied on every turn of a conversation, not only the first.
import { type Carrier, type Request, type ThinkingPart, PACKED_SIGNATURE_PREFIX, isObj, isPackedSignature, note, unpackSignature } from './canonical.js';

/** Anthropic's smallest accepted thinking budget. */
export const MIN_THINKING_BUDGET = 1024;

/** Thinking budget for an OpenAI reasoning effort. */
export const EFFORT_BUDGET: Record<string, number> = { low: 2048, medium: 8192, high: 16384, xhigh: 24576, max: 32000 };

/** OpenAI effort for an Anthropic thinking budget (nearest level at or above it). */
export function effortForBudget(budget: number | undefined): 'low' | 'medium' | 'high' {
  if (budget === undefined) return 'medium';
  if (budget <= EFFORT_BUDGET.low!) return 'low';
  if (budget <= EFFORT_BUDGET.medium!) return 'medium';
  return 'high';
}

/**
 * `max_tokens` when the client gave none: what the model can produce (current Claude models: 64000; Opus 4 and
 * 4.1: 32000; older ones less), so a thinking budget never leaves the answer without room.
 */
export function defaultMaxTokens(model: string): number {
  const m = model.toLowerCase().replace(/[@[:].*$/, '');
  if (/claude-3-5|claude-3\.5/.test(m)) return 8192;
  if (/claude-3-(opus|sonnet|haiku)|claude-3-haiku|claude-instant|claude-2/.test(m)) return 4096;
  if (/opus-4([-.][01])?(-\d{8})?$/.test(m)) return 32000;
  if (/claude/.test(m)) return 64000;
  return 4096;
}

/** OpenAI effort levels a target accepts: the client's own, or one mapped from an Anthropic budget. */
export function openaiEffort(req: Request, allowed: readonly string[], target: string): string | undefined {
  const r = req.reasoning;
  if (!r) return undefined;
  if (r.effort) {
    if (allowed.includes(r.effort)) return r.effort;
    // xhigh / max are above what the target knows: its highest; none/minimal below
    if (r.effort === 'xhigh' || r.effort === 'max') {
      note(req, `reasoning effort ${r.effort} → high (${target})`);
      return 'high';
    }
    return undefined;
  }
  if (!r.enabled) return undefined;
  const e = effortForBudget(r.budgetTokens);
  note(req, `thinking${r.budgetTokens !== undefined ? ` budget ${r.budgetTokens}` : ''} → reasoning effort ${e} (${target})`);
  return e;
}

/**
 * `max_tokens` and `thinking` for an Anthropic request. The budget is ≥ 1024 and leaves the answer room below
 * `max_tokens`: an explicit budget below 1024 (Claude Code's background calls send 500) is raised to 1024;
 * an effort maps to a budget capped so that a quarter of `max_tokens` (up to 8192) stays for the answer.
 */
export function anthropicThinking(req: Request, model: string, blocked: string | undefined): { maxTokens: number; thinking?: { type: 'enabled'; budget_tokens: number } } {
  const r = req.reasoning;
  const clientMax = req.maxTokens;
  let maxTokens = clientMax ?? defaultMaxTokens(model);
  if (!r?.enabled || r.effort === 'none' || r.effort === 'minimal') return { maxTokens };
  if (blocked) {
    note(req, `thinking not sent: ${blocked}`);
    return { maxTokens };
  }
  let budget: number;
  if (r.budgetTokens !== undefined) {
    budget = r.budgetTokens;
    if (budget < MIN_THINKING_BUDGET) {
      note(req, `thinking budget ${budget} raised to ${MIN_THINKING_BUDGET} (Anthropic's minimum)`);
      budget = MIN_THINKING_BUDGET;
    }
    if (budget >= maxTokens) {
      const raised = budget + (clientMax !== undefined && clientMax < budget ? clientMax : 4096);
      note(req, `max_tokens ${maxTokens} raised to ${raised} so the thinking budget ${budget} leaves room for the answer`);
      maxTokens = raised;
    }
  } else {
    const want = EFFORT_BUDGET[r.effort ?? 'medium'] ?? EFFORT_BUDGET.medium!;
    const room = Math.min(8192, Math.ceil(maxTokens / 4));
    budget = Math.min(want, maxTokens - room);
    if (budget < MIN_THINKING_BUDGET) {
      note(req, `thinking not sent: max_tokens ${maxTokens} leaves no room for Anthropic's minimum budget of ${MIN_THINKING_BUDGET} plus an answer`);
      return { maxTokens };
    }
    note(req, `reasoning effort ${r.effort ?? '(on)'} → thinking budget ${budget}, max_tokens ${maxTokens}${clientMax === undefined ? ' (model default)' : ''}`);
  }
  return { maxTokens, thinking: { type: 'enabled', budget_tokens: budget } };
}

/**
 * Same-dialect Anthropic traffic: a thinking budget below 1024 would be refused. Cheap check on the raw body;
 * returns the fixed body, or undefined when nothing needs changing.
 */
export function fixAnthropicBudget(body: Record<string, unknown>): { body: Record<string, unknown>; note: string } | undefined {
  const th = body.thinking as Record<string, unknown> | undefined;
  if (!th || typeof th !== 'object' || th.type !== 'enabled' || typeof th.budget_tokens !== 'number' || th.budget_tokens >= MIN_THINKING_BUDGET) return undefined;
  const was = th.budget_tokens;
  const out: Record<string, unknown> = { ...body, thinking: { ...th, budget_tokens: MIN_THINKING_BUDGET } };
  let text = `thinking budget ${was} raised to ${MIN_THINKING_BUDGET} (Anthropic's minimum)`;
  if (typeof body.max_tokens === 'number' && body.max_tokens <= MIN_THINKING_BUDGET) {
    out.max_tokens = MIN_THINKING_BUDGET + body.max_tokens;
    text += `; max_tokens ${body.max_tokens} raised to ${out.max_tokens as number}`;
  }
  return { body: out, note: text };
}

/** Quick test on raw bytes: a `budget_tokens` below 1024 may be present. */
export function mayHaveSmallBudget(raw: Buffer): boolean {
  const i = raw.indexOf(BUDGET_KEY);
  if (i < 0) return false;
  const m = /^"budget_tokens"\s*:\s*(\d+)/.exec(raw.toString('latin1', i, i + 40));
  return !!m && Number(m[1]) < MIN_THINKING_BUDGET;
}

// ---------- reasoning items a Responses client carries back ----------

/**
 * `encrypted_content` of a reasoning item router67 made from another dialect's thinking: always wrapped
 * (prefix + base64url JSON), so it is recognised on the way back and never mistaken for OpenAI's own. It holds
 * the genuine Anthropic signature (or redacted data, or where the reasoning came from) and the thinking text
 * itself, so the block goes back byte for byte even when the client drops or reshapes the summary.
 */
export function packReasoning(p: ThinkingPart): string {
  const o: { c?: Carrier; s?: string; r?: string; t?: string } = {};
  if (p.carrier) o.c = p.carrier;
  if (p.signature) o.s = p.signature;
  if (p.redacted) o.r = p.redacted;
  if (p.text) o.t = p.text;
  return PACKED_SIGNATURE_PREFIX + Buffer.from(JSON.stringify(o)).toString('base64url');
}

/** The thinking a packed `encrypted_content` holds, or undefined when it is not one of ours. */
export function unpackReasoning(enc: string | undefined): { signature?: string; carrier?: Carrier; redacted?: string; text?: string } | undefined {
  if (!enc || !enc.startsWith(PACKED_SIGNATURE_PREFIX)) return undefined;
  const u = unpackSignature(enc);
  const r: { signature?: string; carrier?: Carrier; redacted?: string; text?: string } = { ...u };
  try {
    const o = JSON.parse(Buffer.from(enc.slice(PACKED_SIGNATURE_PREFIX.length), 'base64url').toString('utf8')) as { t?: unknown };
    if (typeof o.t === 'string') r.text = o.t;
  } catch {
    /* not ours after all */
  }
  return r;
}

// The passthrough relay's helpers (same dialect, no translation): here, not in index.ts, so a passthrough request
// never loads the codecs.

/**
 * Thinking blocks router67 produced from a non-Anthropic upstream carry a wrapped signature. Sent to
 * Anthropic as-is they would be rejected as forged. Cheap check on the raw body first.
 */
export function hasPackedSignatures(raw: Buffer | string): boolean {
  return typeof raw === 'string' ? raw.includes(PACKED_SIGNATURE_PREFIX) : raw.indexOf(PACKED_PREFIX_BYTES) >= 0;
}

// Searched for in every request body: as bytes, a search costs no conversion of the needle each time.
const BUDGET_KEY = Buffer.from('"budget_tokens"');
const PACKED_PREFIX_BYTES = Buffer.from(PACKED_SIGNATURE_PREFIX);

/**
 * A Responses request going to OpenAI's own Responses API: reasoning items router67 made from another
 * provider's thinking (packed encrypted_content) would fail OpenAI's verification, so they are left out.
 */
export function dropPackedReasoning(body: unknown): Record<string, unknown> | undefined {
  if (!isObj(body)) return undefined;
  if (!Array.isArray(body.input)) return body;
  return { ...body, input: body.input.filter((it) => !(isObj(it) && it.type === 'reasoning' && isPackedSignature(it.encrypted_content))) };
}

/** Unwrap genuine signatures and drop unsigned thinking from an Anthropic request body going to Anthropic. */
export function sanitizeAnthropicThinking(body: unknown): unknown {
  if (!isObj(body) || !Array.isArray(body.messages)) return body;
  const messages = body.messages.map((m) => {
    if (!isObj(m) || m.role !== 'assistant' || !Array.isArray(m.content)) return m;
    const content: unknown[] = [];
    for (const b of m.content) {
      if (isObj(b) && b.type === 'thinking' && isPackedSignature(b.signature)) {
        const u = unpackSignature(b.signature as string);
        if (u.redacted) content.push({ type: 'redacted_thinking', data: u.redacted });
        else if (u.signature) content.push({ ...b, signature: u.signature });
        continue;
      }
      if (isObj(b) && b.type === 'redacted_thinking' && isPackedSignature(b.data)) continue;
      content.push(b);
    }
    return { ...m, content };
  });
  const out: Record<string, unknown> = { ...body, messages };
  // Anthropic insists the tool-use turn starts with thinking when thinking is on; without it, turn thinking off.
  if (isObj(out.thinking) && out.thinking.type !== 'disabled') {
    const last = [...messages].reverse().find((m) => isObj(m) && m.role === 'assistant') as Record<string, unknown> | undefined;
    const c = last && Array.isArray(last.content) ? (last.content as unknown[]) : [];
    const first = c[0];
    if (c.some((b) => isObj(b) && b.type === 'tool_use') && !(isObj(first) && (first.type === 'thinking' || first.type === 'redacted_thinking'))) delete out.thinking;
  }
  return out;
}
