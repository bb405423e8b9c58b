// A local upstream for the state / reasoning tests, speaking the real wire formats on their own paths
// (Anthropic /v1/messages, Chat /v1/chat/completions, Responses /v1/responses, Ollama /api/chat), whole or
// streamed as asked. Every answer carries reasoning the way that format does (a signed thinking block, a
// reasoning item with encrypted_content, DeepSeek `reasoning_content`), and every request is checked the way
// the real service checks it: a thinking signature / encrypted_content it did not issue, a system role inside
// Anthropic messages, a DeepSeek assistant turn without its reasoning_content are answered with 400.
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { fmtOf } from '../conformance/upstream.js';

export interface Seen {
  path: string;
  body: any;
}

export interface StateUpstream {
  url: string;
  seen: Seen[];
  /** Signatures / encrypted contents / reasoning texts it issued, in order. */
  issued: { signatures: string[]; encrypted: string[]; reasoning: string[] };
  close(): Promise<void>;
}

function sse(res: ServerResponse, events: Array<[string | null, unknown]>): void {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  for (const [e, d] of events) res.write(`${e ? `event: ${e}\n` : ''}data: ${typeof d === 'string' ? d : JSON.stringify(d)}\n\n`);
  res.end();
}
function json(res: ServerResponse, status: number, body: unknown): void {
  const s = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(s) });
  res.end(s);
}

export async function startStateUpstream(): Promise<StateUpstream> {
  const issued = { signatures: [] as string[], encrypted: [] as string[], reasoning: [] as string[] };
  const seen: Seen[] = [];
  const signed = new Map<string, string>(); // signature → the thinking text it covers
  let n = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      let body: any;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return json(res, 400, { error: { message: 'bad json' } });
      }
      seen.push({ path, body });
      const f = fmtOf(path);
      n++;
      const reasoningText = `Thinking about turn ${n}: "quotes", \\ and ünïcode.`;
      const answer = `Answer ${n}.`;
      const wantsTool = Array.isArray(body.tools) && body.tools.length > 0 && !JSON.stringify(body).includes('tool_result') && !JSON.stringify(body).includes('function_call_output') && !JSON.stringify(body).includes('"role":"tool"');
      if (f === 'anthropic') {
        for (const m of body.messages ?? []) {
          if (m.role !== 'user' && m.role !== 'assistant') return json(res, 400, { type: 'error', error: { type: 'invalid_request_error', message: `messages: Unexpected role "${m.role}"` } });
          for (const c of Array.isArray(m.content) ? m.content : []) {
            if (c.type === 'thinking' && !issued.signatures.includes(c.signature)) return json(res, 400, { type: 'error', error: { type: 'invalid_request_error', message: 'messages: Invalid `signature` in `thinking` block' } });
            if (c.type === 'thinking' && signed.get(c.signature) !== c.thinking)
              return json(res, 400, { type: 'error', error: { type: 'invalid_request_error', message: 'messages: thinking block was modified' } });
          }
        }
        const th = body.thinking;
        if (th && th.type === 'enabled' && (th.budget_tokens < 1024 || th.budget_tokens >= body.max_tokens))
          return json(res, 400, { type: 'error', error: { type: 'invalid_request_error', message: 'thinking.budget_tokens: must be ≥ 1024 and less than max_tokens' } });
        const content: any[] = [];
        if (th?.type === 'enabled') {
          const sig = `EqQBCkgIBRABGAIiQ${randomBytes(24).toString('base64')}+/=${n}`;
          issued.signatures.push(sig);
          signed.set(sig, reasoningText);
          issued.reasoning.push(reasoningText);
          content.push({ type: 'thinking', thinking: reasoningText, signature: sig });
        }
        if (wantsTool) content.push({ type: 'tool_use', id: `toolu_${n}`, name: body.tools[0].name, input: { city: 'Oslo' } });
        else content.push({ type: 'text', text: answer });
        const stop = wantsTool ? 'tool_use' : 'end_turn';
        const id = `msg_up${n}`;
        if (!body.stream)
          return json(res, 200, { id, type: 'message', role: 'assistant', model: body.model, content, stop_reason: stop, stop_sequence: null, usage: { input_tokens: 10, output_tokens: 5 } });
        const ev: Array<[string, unknown]> = [
          ['message_start', { type: 'message_start', message: { id, type: 'message', role: 'assistant', model: body.model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 10, output_tokens: 1 } } }],
        ];
        content.forEach((c, index) => {
          if (c.type === 'thinking') {
            ev.push(['content_block_start', { type: 'content_block_start', index, content_block: { type: 'thinking', thinking: '', signature: '' } }]);
            ev.push(['content_block_delta', { type: 'content_block_delta', index, delta: { type: 'thinking_delta', thinking: c.thinking.slice(0, 10) } }]);
            ev.push(['content_block_delta', { type: 'content_block_delta', index, delta: { type: 'thinking_delta', thinking: c.thinking.slice(10) } }]);
            ev.push(['content_block_delta', { type: 'content_block_delta', index, delta: { type: 'signature_delta', signature: c.signature } }]);
          } else if (c.type === 'text') {
            ev.push(['content_block_start', { type: 'content_block_start', index, content_block: { type: 'text', text: '' } }]);
            ev.push(['content_block_delta', { type: 'content_block_delta', index, delta: { type: 'text_delta', text: c.text } }]);
          } else {
            ev.push(['content_block_start', { type: 'content_block_start', index, content_block: { type: 'tool_use', id: c.id, name: c.name, input: {} } }]);
            ev.push(['content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: JSON.stringify(c.input) } }]);
          }
          ev.push(['content_block_stop', { type: 'content_block_stop', index }]);
        });
        ev.push(['message_delta', { type: 'message_delta', delta: { stop_reason: stop, stop_sequence: null }, usage: { output_tokens: 5 } }]);
        ev.push(['message_stop', { type: 'message_stop' }]);
        return sse(res, ev);
      }
      if (f === 'openai') {
        // DeepSeek thinking mode: every earlier assistant turn must come back with its reasoning_content
        for (const m of body.messages ?? []) {
          if (String(body.model).includes('deepseek') && m.role === 'assistant' && !issued.reasoning.includes(m.reasoning_content))
            return json(res, 400, { error: { message: 'Missing `reasoning_content` field in the assistant message (thinking mode)', type: 'invalid_request_error', param: null, code: 'invalid_request_error' } });
        }
        issued.reasoning.push(reasoningText);
        const id = `chatcmpl-up${n}`;
        const toolCalls = wantsTool ? [{ id: `call_${n}`, type: 'function', function: { name: body.tools[0].function.name, arguments: '{"city":"Oslo"}' } }] : undefined;
        const finish = wantsTool ? 'tool_calls' : 'stop';
        if (!body.stream)
          return json(res, 200, {
            id,
            object: 'chat.completion',
            created: 1,
            model: body.model,
            choices: [{ index: 0, message: { role: 'assistant', content: wantsTool ? null : answer, reasoning_content: reasoningText, ...(toolCalls ? { tool_calls: toolCalls } : {}) }, finish_reason: finish }],
            usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
          });
        const chunk = (delta: unknown, finish_reason: string | null = null) => [null, { id, object: 'chat.completion.chunk', created: 1, model: body.model, choices: [{ index: 0, delta, finish_reason }] }] as [null, unknown];
        const ev: Array<[string | null, unknown]> = [chunk({ role: 'assistant', content: null, reasoning_content: reasoningText.slice(0, 7) }), chunk({ reasoning_content: reasoningText.slice(7) })];
        if (toolCalls) ev.push(chunk({ tool_calls: [{ index: 0, ...toolCalls[0] }] }));
        else ev.push(chunk({ content: answer }));
        ev.push(chunk({}, finish));
        ev.push([null, { id, object: 'chat.completion.chunk', created: 1, model: body.model, choices: [], usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 } }]);
        ev.push([null, '[DONE]']);
        return sse(res, ev);
      }
      if (f === 'responses') {
        for (const it of Array.isArray(body.input) ? body.input : []) {
          if (it.type === 'reasoning' && !issued.encrypted.includes(it.encrypted_content))
            return json(res, 400, { error: { message: `The encrypted content for item ${it.id} could not be verified.`, type: 'invalid_request_error', param: null, code: 'invalid_encrypted_content' } });
          if (it.type === 'item_reference') return json(res, 400, { error: { message: `Item with id '${it.id}' not found.`, type: 'invalid_request_error', param: 'input', code: null } });
        }
        const id = `resp_up${n}`;
        const output: any[] = [];
        if (body.reasoning?.effort) {
          const enc = `gAAAAAB${randomBytes(30).toString('base64')}+/==${n}`;
          issued.encrypted.push(enc);
          issued.reasoning.push(reasoningText);
          output.push({ id: `rs_up${n}`, type: 'reasoning', summary: [{ type: 'summary_text', text: reasoningText }], encrypted_content: enc });
        }
        if (wantsTool) output.push({ id: `fc_up${n}`, type: 'function_call', status: 'completed', call_id: `call_${n}`, name: body.tools[0].name, arguments: '{"city":"Oslo"}' });
        else output.push({ id: `msg_up${n}`, type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: answer, annotations: [] }] });
        const usage = { input_tokens: 10, input_tokens_details: { cached_tokens: 0 }, output_tokens: 5, output_tokens_details: { reasoning_tokens: 2 }, total_tokens: 15 };
        const full = { id, object: 'response', created_at: 1, status: 'completed', model: body.model, output, usage };
        if (!body.stream) return json(res, 200, full);
        let seq = 0;
        const ev: Array<[string, unknown]> = [['response.created', { type: 'response.created', sequence_number: seq++, response: { ...full, status: 'in_progress', output: [], usage: null } }]];
        output.forEach((item, oi) => {
          if (item.type === 'reasoning') {
            ev.push(['response.output_item.added', { type: 'response.output_item.added', sequence_number: seq++, output_index: oi, item: { id: item.id, type: 'reasoning', summary: [] } }]);
            ev.push(['response.reasoning_summary_text.delta', { type: 'response.reasoning_summary_text.delta', sequence_number: seq++, item_id: item.id, output_index: oi, summary_index: 0, delta: reasoningText }]);
          } else if (item.type === 'message') {
            ev.push(['response.output_item.added', { type: 'response.output_item.added', sequence_number: seq++, output_index: oi, item: { ...item, status: 'in_progress', content: [] } }]);
            ev.push(['response.content_part.added', { type: 'response.content_part.added', sequence_number: seq++, item_id: item.id, output_index: oi, content_index: 0, part: { type: 'output_text', text: '', annotations: [] } }]);
            ev.push(['response.output_text.delta', { type: 'response.output_text.delta', sequence_number: seq++, item_id: item.id, output_index: oi, content_index: 0, delta: answer }]);
            ev.push(['response.content_part.done', { type: 'response.content_part.done', sequence_number: seq++, item_id: item.id, output_index: oi, content_index: 0, part: item.content[0] }]);
          } else {
            ev.push(['response.output_item.added', { type: 'response.output_item.added', sequence_number: seq++, output_index: oi, item: { ...item, arguments: '', status: 'in_progress' } }]);
            ev.push(['response.function_call_arguments.delta', { type: 'response.function_call_arguments.delta', sequence_number: seq++, item_id: item.id, output_index: oi, delta: item.arguments }]);
          }
          ev.push(['response.output_item.done', { type: 'response.output_item.done', sequence_number: seq++, output_index: oi, item }]);
        });
        ev.push(['response.completed', { type: 'response.completed', sequence_number: seq++, response: full }]);
        return sse(res, ev);
      }
      if (f === 'ollama') {
        return json(res, 200, { model: body.model, created_at: '2026-01-01T00:00:00Z', message: { role: 'assistant', content: answer }, done: true, done_reason: 'stop', prompt_eval_count: 10, eval_count: 5 });
      }
      json(res, 404, { error: 'not found' });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    issued,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
