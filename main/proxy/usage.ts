// Token counts read from a response body or, incrementally, from a stream (SSE or NDJSON).
export interface Usage {
  inputTokens?: number;
  outputTokens?: number;
}

type Obj = Record<string, unknown>;
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** Reads usage from one decoded JSON object of any dialect (body, stream event or NDJSON line) into `u`. */
export function readUsage(o: unknown, u: Usage): void {
  if (!o || typeof o !== 'object') return;
  const obj = o as Obj;
  const usage = (obj.usage ?? (obj.message as Obj | undefined)?.usage ?? (obj.response as Obj | undefined)?.usage) as Obj | undefined;
  if (usage && typeof usage === 'object') {
    // Anthropic and Responses: input_tokens/output_tokens (Anthropic cache counts add to the prompt size).
    const it = num(usage.input_tokens);
    if (it !== undefined) {
      u.inputTokens = it + (num(usage.cache_read_input_tokens) ?? 0) + (num(usage.cache_creation_input_tokens) ?? 0);
    }
    const ot = num(usage.output_tokens);
    if (ot !== undefined) u.outputTokens = ot;
    // OpenAI Chat: prompt_tokens/completion_tokens.
    const pt = num(usage.prompt_tokens);
    if (pt !== undefined) u.inputTokens = pt;
    const ct = num(usage.completion_tokens);
    if (ct !== undefined) u.outputTokens = ct;
  }
  // Ollama: prompt_eval_count/eval_count on the final object.
  const pe = num(obj.prompt_eval_count);
  if (pe !== undefined) u.inputTokens = pe;
  const ec = num(obj.eval_count);
  if (ec !== undefined) u.outputTokens = ec;
}

/**
 * Watches stream bytes for usage without copying them: only lines that mention usage are decoded.
 * Feed it whole events (or any chunks: a partial line is kept until its end arrives).
 */
export class StreamUsage implements Usage {
  inputTokens?: number;
  outputTokens?: number;
  private partial = '';

  push(chunk: Buffer): void {
    // Cheap pre-check on the raw bytes: most chunks (text deltas) carry no usage at all.
    if (!this.partial && chunk.indexOf('usage') < 0 && chunk.indexOf('eval_count') < 0) {
      return;
    }
    const text = this.partial + chunk.toString('utf8');
    const lastNl = text.lastIndexOf('\n');
    this.partial = lastNl < 0 ? text : text.slice(lastNl + 1);
    if (this.partial.length > 1 << 20) this.partial = ''; // a runaway line: give up on it
    if (lastNl < 0) return;
    for (const line of text.slice(0, lastNl).split('\n')) {
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
