// Helpers for the formats tests: run a stream translator over chunks, parse SSE / NDJSON output back.
import { createStreamTranslator, type Dialect } from '../../main/formats/index.js';

export interface SseEvent {
  event: string | null;
  data: string;
  json?: any;
}

/** Parse an SSE text into events (strict: every event ends with a blank line). */
export function parseSse(text: string): SseEvent[] {
  const out: SseEvent[] = [];
  for (const block of text.split('\n\n')) {
    if (!block.trim()) continue;
    let event: string | null = null;
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith('event: ')) event = line.slice(7);
      else if (line.startsWith('data: ')) data.push(line.slice(6));
    }
    const d = data.join('\n');
    let json: unknown;
    try {
      json = JSON.parse(d);
    } catch {
      /* [DONE] */
    }
    out.push({ event, data: d, json });
  }
  return out;
}

export function parseNdjson(text: string): any[] {
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));
}

/** Split a string into chunks of `size` characters (1 = every boundary). */
export function chunked(s: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < s.length; i += size) out.push(s.slice(i, i + size));
  return out;
}

export function sse(events: Array<[string | null, unknown]>): string {
  return events.map(([e, d]) => `${e ? `event: ${e}\n` : ''}data: ${typeof d === 'string' ? d : JSON.stringify(d)}\n\n`).join('');
}

export function translateStream(
  from: Dialect,
  to: Dialect,
  chunks: string[] | string,
  opts: { clientWantsUsage?: boolean; inputTokensEstimate?: number; noEnd?: boolean; failWith?: string } = {},
): { text: string; usage: { inputTokens?: number; outputTokens?: number } } {
  const t = createStreamTranslator(from, to, {
    requestedModel: 'client-model',
    clientWantsUsage: opts.clientWantsUsage ?? true,
    ...(opts.inputTokensEstimate !== undefined ? { inputTokensEstimate: opts.inputTokensEstimate } : {}),
  });
  let text = '';
  for (const c of typeof chunks === 'string' ? [chunks] : chunks) text += t.push(Buffer.from(c));
  if (opts.failWith) text += t.fail(opts.failWith);
  else if (!opts.noEnd) text += t.end();
  return { text, usage: t.usage() };
}
