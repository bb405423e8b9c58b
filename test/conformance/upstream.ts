// A local upstream speaking all four formats on their own paths (Anthropic /v1/messages, OpenAI
// /v1/chat/completions, Responses /v1/responses, Ollama /api/chat) with the documented wire shapes and
// the quirks real hosts have. It validates each request the way the real services do (and a little
// stricter), answering 400 in its own dialect when a translated request would be rejected.
// The upstream model name picks a behaviour: up-ok, up-deepseek, up-html-502, up-html-403, up-bad-400, up-drop, up-text.
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as fx from '../formats/fixtures.js';

export interface Seen {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: any;
}

export interface ConformanceUpstream {
  url: string;
  seen: Seen[];
  close(): Promise<void>;
}

const ISSUED_SIGNATURES = new Set(['sig-abc']);
const ISSUED_ENCRYPTED = new Set(['ENC123']);

export type Fmt = 'anthropic' | 'openai' | 'responses' | 'ollama';

/** The wire format a request path speaks (the four upstream formats' own paths). */
export function fmtOf(path: string): Fmt | undefined {
  const p = path.split('?')[0];
  if (p === '/v1/messages') return 'anthropic';
  if (p === '/v1/chat/completions') return 'openai';
  if (p === '/v1/responses') return 'responses';
  if (p === '/api/chat') return 'ollama';
  return undefined;
}

/** A 4xx error body in the format's own envelope. */
export function errorBody(f: Fmt, message: string): string {
  if (f === 'anthropic') return JSON.stringify({ type: 'error', error: { type: 'invalid_request_error', message } });
  if (f === 'ollama') return JSON.stringify({ error: message });
  return JSON.stringify({ error: { message, type: 'invalid_request_error', param: null, code: null } });
}

/** Returns why the request would be rejected, or undefined. */
function validate(f: Fmt, b: any): string | undefined {
  if (!b || typeof b !== 'object') return 'body is not a JSON object';
  if (typeof b.model !== 'string' || !b.model.startsWith('up-')) return `unexpected model ${JSON.stringify(b.model)}`;
  const text = JSON.stringify(b);
  if (f !== 'anthropic' && text.includes('cache_control')) return 'Unrecognized field: cache_control';
  if (text.includes('r67v1.') && f === 'anthropic') return 'messages: Invalid `signature` in `thinking` block';
  switch (f) {
    case 'anthropic': {
      if (typeof b.max_tokens !== 'number') return 'max_tokens: Field required';
      if (!Array.isArray(b.messages) || !b.messages.length) return 'messages: at least one message is required';
      const toolIds = new Set<string>();
      let lastAssistant: any;
      for (const m of b.messages) {
        if (m.role !== 'user' && m.role !== 'assistant') return `messages: unexpected role ${m.role}`;
        const blocks = typeof m.content === 'string' ? [{ type: 'text', text: m.content }] : m.content;
        if (!Array.isArray(blocks) || !blocks.length) return 'messages: content must be non-empty';
        for (const c of blocks) {
          if (c.type === 'text' && !c.text) return 'messages: text content blocks must be non-empty';
          if (c.type === 'tool_use') {
            if (!/^[a-zA-Z0-9_-]+$/.test(c.id)) return `tool_use.id: String should match pattern '^[a-zA-Z0-9_-]+$'`;
            if (typeof c.input !== 'object' || Array.isArray(c.input)) return 'tool_use.input: Input should be a valid dictionary';
            toolIds.add(c.id);
          }
          if (c.type === 'tool_result' && !toolIds.has(c.tool_use_id)) return `unexpected tool_use_id found in tool_result blocks: ${c.tool_use_id}`;
          if (c.type === 'thinking' && !ISSUED_SIGNATURES.has(c.signature)) return 'messages: Invalid `signature` in `thinking` block';
        }
        if (m.role === 'assistant') lastAssistant = blocks;
      }
      if (toolIds.size && !Array.isArray(b.tools)) return 'Requests which include `tool_use` or `tool_result` blocks must define tools.';
      if (b.thinking?.type === 'enabled' && lastAssistant?.some((c: any) => c.type === 'tool_use') && lastAssistant[0].type !== 'thinking' && lastAssistant[0].type !== 'redacted_thinking')
        return 'messages: Expected `thinking` or `redacted_thinking`, but found `tool_use`. When `thinking` is enabled, a final `assistant` message must start with a thinking block.';
      return undefined;
    }
    case 'openai': {
      if (!Array.isArray(b.messages) || !b.messages.length) return "'messages' must be a non-empty array";
      const open = new Set<string>();
      for (const m of b.messages) {
        if (!['system', 'developer', 'user', 'assistant', 'tool'].includes(m.role)) return `invalid role ${m.role}`;
        if (m.role === 'tool') {
          if (!open.has(m.tool_call_id)) return `Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls' (${m.tool_call_id})`;
          open.delete(m.tool_call_id);
          if (typeof m.content !== 'string' && !Array.isArray(m.content)) return 'tool content must be a string';
          continue;
        }
        if (open.size) return `An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. Missing: ${[...open].join(',')}`;
        if (m.role === 'assistant') {
          if (m.content === null && !m.tool_calls && !m.reasoning_content) return 'assistant content is null without tool_calls';
          for (const t of m.tool_calls ?? []) {
            if (t.type !== 'function' || typeof t.function?.arguments !== 'string' || !t.function.name) return 'invalid tool_calls entry';
            JSON.parse(t.function.arguments);
            open.add(t.id);
          }
          // DeepSeek thinking mode: a tool-call turn must come back with its reasoning_content
          if (b.model === 'up-deepseek' && m.tool_calls && typeof m.reasoning_content !== 'string')
            return 'Missing `reasoning_content` field in the assistant message at message index with tool_calls (thinking mode)';
        }
      }
      return undefined;
    }
    case 'responses': {
      if ('stop' in b) return "Unsupported parameter: 'stop'";
      if (typeof b.input !== 'string' && !Array.isArray(b.input)) return 'input must be a string or an array';
      const calls = new Set<string>();
      for (const it of Array.isArray(b.input) ? b.input : []) {
        if (it.type === 'function_call') calls.add(it.call_id);
        if (it.type === 'function_call_output' && !calls.has(it.call_id)) return `No tool call found for function call output with call_id ${it.call_id}.`;
        if (it.type === 'reasoning' && !ISSUED_ENCRYPTED.has(it.encrypted_content)) return 'The encrypted content for item rs could not be verified.';
      }
      return undefined;
    }
    case 'ollama': {
      if (typeof b.stream !== 'boolean') return 'stream should be set explicitly (Ollama defaults to streaming)';
      if (!Array.isArray(b.messages)) return 'messages required';
      for (const m of b.messages) {
        for (const t of m.tool_calls ?? []) if (typeof t.function?.arguments !== 'object') return 'json: cannot unmarshal string into Go struct field .messages.tool_calls.function.arguments of type api.ToolCallFunctionArguments';
        for (const i of m.images ?? []) if (typeof i !== 'string' || i.startsWith('data:') || i.startsWith('http')) return 'illegal base64 data at input byte 4';
      }
      return undefined;
    }
  }
}

function write(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** Sends a stream in pieces (torn at odd places), optionally dying half way. */
function streamOut(res: ServerResponse, type: string, text: string, drop: boolean): void {
  res.writeHead(200, { 'content-type': type, 'cache-control': 'no-cache' });
  const pieces: string[] = [];
  for (let i = 0; i < text.length; i += 97) pieces.push(text.slice(i, i + 97));
  const stopAt = drop ? Math.floor(pieces.length / 2) : pieces.length;
  let i = 0;
  const tick = () => {
    if (i >= stopAt) {
      if (drop) res.socket?.destroy();
      else res.end();
      return;
    }
    res.write(pieces[i++]);
    setImmediate(tick);
  };
  tick();
}

function deepseekStream(includeUsage: boolean): string {
  return fx.openaiStream({ interleave: true, afterDone: true }).replace(/data: \{"id":"chatcmpl-up","choices":\[\],"usage"[^\n]*\n\n/, includeUsage ? '$&' : '');
}

function textAnswer(f: Fmt, stream: boolean, text: string): { type: string; body: string } {
  const d = JSON.stringify;
  switch (f) {
    case 'anthropic':
      return stream
        ? {
            type: 'text/event-stream',
            body:
              `event: message_start\ndata: ${d({ type: 'message_start', message: { id: 'msg_t', type: 'message', role: 'assistant', model: 'x', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 5, output_tokens: 1 } } })}\n\n` +
              `event: content_block_start\ndata: ${d({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } })}\n\n` +
              `event: content_block_delta\ndata: ${d({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } })}\n\n` +
              `event: content_block_stop\ndata: ${d({ type: 'content_block_stop', index: 0 })}\n\n` +
              `event: message_delta\ndata: ${d({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 3 } })}\n\n` +
              `event: message_stop\ndata: ${d({ type: 'message_stop' })}\n\n`,
          }
        : { type: 'application/json', body: d({ id: 'msg_t', type: 'message', role: 'assistant', model: 'x', content: [{ type: 'text', text }], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 5, output_tokens: 3 } }) };
    case 'openai':
      return stream
        ? {
            type: 'text/event-stream',
            body:
              `data: ${d({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'x', choices: [{ index: 0, delta: { role: 'assistant', content: text }, finish_reason: null }] })}\n\n` +
              `data: ${d({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'x', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n` +
              `data: ${d({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'x', choices: [], usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 } })}\n\ndata: [DONE]\n\n`,
          }
        : { type: 'application/json', body: d({ id: 'c', object: 'chat.completion', created: 1, model: 'x', choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }], usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 } }) };
    default:
      throw new Error('textAnswer: anthropic/openai only');
  }
}

export async function startConformanceUpstream(): Promise<ConformanceUpstream> {
  const seen: Seen[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      let body: any;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        body = undefined;
      }
      seen.push({ path, headers: req.headers, body });
      if (path === '/v1/messages/count_tokens') return write(res, 200, 'application/json', JSON.stringify({ input_tokens: 123 }));
      const f = fmtOf(path);
      if (!f) return write(res, 404, 'text/html', '<html><title>404 Not Found</title></html>');
      const mode = String(body?.model ?? '');
      if (mode === 'up-html-502') return write(res, 502, 'text/html', '<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><center>nginx</center></body></html>');
      if (mode === 'up-html-403') return write(res, 403, 'text/html; charset=utf-8', '<html><head><title>Attention Required! | Cloudflare</title></head><body>blocked</body></html>');
      if (mode === 'up-early-error' && f === 'anthropic') {
        // 200, message_start, then overloaded before any content (as Anthropic does under load)
        return write(
          res,
          200,
          'text/event-stream',
          `event: message_start\ndata: ${JSON.stringify({ type: 'message_start', message: { id: 'msg_e', type: 'message', role: 'assistant', model: 'x', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 5, output_tokens: 1 } } })}\n\n` +
            'event: ping\ndata: {"type":"ping"}\n\n' +
            'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n',
        );
      }
      if (mode === 'up-early-error') {
        // 200 with the role chunk, then the connection closes without content
        return write(res, 200, 'text/event-stream', `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'x', choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] })}\n\n`);
      }
      if (mode === 'up-error-200') return write(res, 200, 'application/json', JSON.stringify({ error: { message: 'upstream is busy, try again', code: 503 } }));
      if (mode === 'up-no-vision') return write(res, 400, 'application/json', JSON.stringify({ error: 'registry.ollama.ai/library/llama3:8b does not support images' }));
      if (mode === 'up-bad-400') return write(res, 400, 'application/json', errorBody(f, 'context length exceeded: 999999 tokens'));
      const invalid = validate(f, body);
      if (invalid) return write(res, 400, 'application/json', errorBody(f, invalid));
      const stream = f === 'ollama' ? body.stream !== false : body.stream === true;
      if (mode === 'up-text') {
        const a = textAnswer(f, stream, 'plain answer');
        return write(res, 200, a.type, a.body);
      }
      if (mode === 'up-deepseek' && Array.isArray(body.messages) && body.messages.some((m: any) => m.role === 'tool')) {
        // the second turn: a final answer
        const a = textAnswer('openai', stream, 'Paris is sunny; it is noon.');
        return write(res, 200, a.type, a.body);
      }
      if (!stream) {
        const whole = f === 'anthropic' ? fx.anthropicResponse() : f === 'openai' ? fx.openaiResponse() : f === 'responses' ? fx.responsesResponse() : fx.ollamaResponse();
        return write(res, 200, 'application/json', JSON.stringify(whole));
      }
      const text =
        f === 'anthropic' ? fx.anthropicStream() : f === 'openai' ? deepseekStream(body.stream_options?.include_usage === true) : f === 'responses' ? fx.responsesStream(false) : fx.ollamaStream();
      streamOut(res, f === 'ollama' ? 'application/x-ndjson' : 'text/event-stream', text, mode === 'up-drop');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    seen,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
