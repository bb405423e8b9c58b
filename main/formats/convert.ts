// Whole responses ⇄ canonical stream events, for upstreams that answer a stream request with one JSON
// body (or the reverse): the client still gets the shape it asked for.
import type { Event, Part, Response } from './canonical.js';
import { type BlockEvent, EventReader } from './codec.js';

export function responseToEvents(resp: Response): Event[] {
  const out: Event[] = [];
  const start: Event = { type: 'start', usage: resp.usage };
  if (resp.id) start.id = resp.id;
  if (resp.model) start.model = resp.model;
  out.push(start);
  resp.parts.forEach((p, index) => {
    switch (p.type) {
      case 'text':
        out.push({ type: 'block_start', index, block: { kind: 'text' } }, { type: 'text', index, text: p.text });
        break;
      case 'thinking':
        if (p.redacted && !p.carrier) out.push({ type: 'block_start', index, block: { kind: 'redacted', data: p.redacted } });
        else {
          out.push({ type: 'block_start', index, block: { kind: 'thinking' } });
          if (p.text) out.push({ type: 'text', index, text: p.text });
          const meta: Event = { type: 'thinking_meta', index };
          if (p.signature) meta.signature = p.signature;
          if (p.carrier) meta.carrier = p.carrier;
          out.push(meta);
        }
        break;
      case 'tool_call':
        out.push({
          type: 'block_start',
          index,
          block: { kind: 'tool_call', id: p.id, name: p.name, ...(p.namespace ? { namespace: p.namespace } : {}), ...(p.custom ? { custom: true } : {}) },
        });
        if (p.args) out.push({ type: 'args', index, json: p.args });
        break;
      case 'raw':
        out.push({ type: 'block_start', index, block: { kind: 'raw', dialect: p.dialect, value: p.value } });
        break;
      default:
        return;
    }
    out.push({ type: 'block_stop', index });
  });
  out.push({ type: 'usage', usage: resp.usage }, { type: 'stop', reason: resp.stop, stopSequence: resp.stopSequence ?? null }, { type: 'end' });
  return out;
}

/** Accumulates canonical events into a whole response (an error event becomes `error`). */
export class ResponseCollector extends EventReader {
  private readonly parts = new Map<number, Part>();
  private readonly order: number[] = [];
  done = false;
  error: { message: string; type?: string } | undefined;

  protected onBlock(ev: BlockEvent): void {
    switch (ev.type) {
      case 'block_start': {
        const b = ev.block;
        let p: Part | undefined;
        if (b.kind === 'text') p = { type: 'text', text: '' };
        else if (b.kind === 'thinking') p = { type: 'thinking', text: '' };
        else if (b.kind === 'redacted') p = { type: 'thinking', text: '', redacted: b.data };
        else if (b.kind === 'tool_call')
          p = { type: 'tool_call', id: b.id, name: b.name, args: '', ...(b.namespace ? { namespace: b.namespace } : {}), ...(b.custom ? { custom: true } : {}) };
        else p = { type: 'raw', dialect: b.dialect, what: 'block', value: b.value };
        this.parts.set(ev.index, p);
        this.order.push(ev.index);
        break;
      }
      case 'text': {
        const p = this.parts.get(ev.index);
        if (p && (p.type === 'text' || p.type === 'thinking')) p.text += ev.text;
        break;
      }
      case 'args': {
        const p = this.parts.get(ev.index);
        if (p && p.type === 'tool_call') p.args += ev.json;
        break;
      }
      case 'thinking_meta': {
        const p = this.parts.get(ev.index);
        if (p && p.type === 'thinking') {
          if (ev.signature) p.signature = ev.signature;
          if (ev.carrier) p.carrier = ev.carrier;
        }
        break;
      }
      default:
        break;
    }
  }

  protected onEnd(): void {
    this.done = true;
  }

  protected onError(message: string, type: string | undefined): void {
    this.error = type ? { message, type } : { message };
  }

  response(): Response {
    const r: Response = { parts: this.order.map((i) => this.parts.get(i)!), stop: this.stop ?? 'end_turn', stopSequence: this.stopSequence, usage: this.usage };
    if (this.id) r.id = this.id;
    if (this.model) r.model = this.model;
    return r;
  }
}
