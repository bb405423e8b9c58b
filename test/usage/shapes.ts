// Recorded usage shapes of the three wire formats (whole and streamed), with prompt-cache and reasoning counts,
// and a local upstream that answers with them. The figures are chosen so every part of the price shows:
//   Anthropic: 100 uncached + 1000 cache read + 200 cache write prompt tokens (1300 in all), 50 output tokens
//   OpenAI Chat / Responses: 1300 prompt tokens of which 1000 cached, 50 output tokens of which 20 reasoning
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';

export const ANTHROPIC_USAGE = { input_tokens: 100, cache_creation_input_tokens: 200, cache_read_input_tokens: 1000, output_tokens: 50, service_tier: 'standard' };
export const CHAT_USAGE = {
  prompt_tokens: 1300,
  completion_tokens: 50,
  total_tokens: 1350,
  prompt_tokens_details: { cached_tokens: 1000, audio_tokens: 0 },
  completion_tokens_details: { reasoning_tokens: 20, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
};
export const RESPONSES_USAGE = { input_tokens: 1300, input_tokens_details: { cached_tokens: 1000 }, output_tokens: 50, output_tokens_details: { reasoning_tokens: 20 }, total_tokens: 1350 };

/** The answer's text: a model whose name holds long- answers with some 4 KB of it (text that mentions "usage" too). */
const answerText = (model: string): string => (model.includes('long-') ? 'Hi there, {"usage": {"input_tokens": 1}} \\ "quoted". '.repeat(80) : 'Hi there');

export function anthropicWhole(model: string): Record<string, unknown> {
  return {
    id: 'msg_01',
    type: 'message',
    role: 'assistant',
    model,
    content: [{ type: 'text', text: answerText(model) }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: ANTHROPIC_USAGE,
  };
}

export function anthropicStream(model: string): string {
  const ev = (type: string, data: unknown) => `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
  return (
    ev('message_start', {
      type: 'message_start',
      message: { id: 'msg_01', type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { ...ANTHROPIC_USAGE, output_tokens: 1 } },
    }) +
    ev('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }) +
    ev('ping', { type: 'ping' }) +
    ev('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hi there' } }) +
    ev('content_block_stop', { type: 'content_block_stop', index: 0 }) +
    ev('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 50 } }) +
    ev('message_stop', { type: 'message_stop' })
  );
}

export function chatWhole(model: string): Record<string, unknown> {
  return {
    id: 'chatcmpl-1',
    object: 'chat.completion',
    created: 1700000000,
    model,
    choices: [{ index: 0, message: { role: 'assistant', content: answerText(model), refusal: null }, logprobs: null, finish_reason: 'stop' }],
    usage: CHAT_USAGE,
    system_fingerprint: 'fp_1',
  };
}

export function chatStream(model: string): string {
  const head = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1700000000, model, system_fingerprint: 'fp_1' };
  const d = (x: Record<string, unknown>) => `data: ${JSON.stringify({ ...head, ...x })}\n\n`;
  return (
    d({ choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }], usage: null }) +
    d({ choices: [{ index: 0, delta: { content: 'Hi there' }, logprobs: null, finish_reason: null }], usage: null }) +
    d({ choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }], usage: null }) +
    d({ choices: [], usage: CHAT_USAGE }) +
    'data: [DONE]\n\n'
  );
}

export function responsesWhole(model: string): Record<string, unknown> {
  return {
    id: 'resp_1',
    object: 'response',
    created_at: 1700000000,
    status: 'completed',
    error: null,
    incomplete_details: null,
    model,
    output: [
      { type: 'reasoning', id: 'rs_1', summary: [] },
      { type: 'message', id: 'msg_1', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: answerText(model), annotations: [] }] },
    ],
    usage: RESPONSES_USAGE,
  };
}

export function responsesStream(model: string): string {
  const ev = (type: string, data: Record<string, unknown>) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
  const base = { id: 'resp_1', object: 'response', created_at: 1700000000, model, error: null, incomplete_details: null };
  const msg = { type: 'message', id: 'msg_1', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'Hi there', annotations: [] }] };
  return (
    ev('response.created', { sequence_number: 0, response: { ...base, status: 'in_progress', output: [], usage: null } }) +
    ev('response.in_progress', { sequence_number: 1, response: { ...base, status: 'in_progress', output: [], usage: null } }) +
    ev('response.output_item.added', { sequence_number: 2, output_index: 0, item: { ...msg, status: 'in_progress', content: [] } }) +
    ev('response.content_part.added', { sequence_number: 3, item_id: 'msg_1', output_index: 0, content_index: 0, part: { type: 'output_text', text: '', annotations: [] } }) +
    ev('response.output_text.delta', { sequence_number: 4, item_id: 'msg_1', output_index: 0, content_index: 0, delta: 'Hi there' }) +
    ev('response.output_text.done', { sequence_number: 5, item_id: 'msg_1', output_index: 0, content_index: 0, text: 'Hi there' }) +
    ev('response.content_part.done', { sequence_number: 6, item_id: 'msg_1', output_index: 0, content_index: 0, part: msg.content[0] }) +
    ev('response.output_item.done', { sequence_number: 7, output_index: 0, item: msg }) +
    ev('response.completed', { sequence_number: 8, response: { ...base, status: 'completed', output: [msg], usage: RESPONSES_USAGE } })
  );
}

export interface ShapeUpstream {
  url: string;
  /** Requests received, by path. */
  hits: string[];
  close(): Promise<void>;
}

/** Answers /v1/messages, /v1/chat/completions and /v1/responses with the recorded shapes, whole or streamed as asked. */
export async function startShapeUpstream(): Promise<ShapeUpstream> {
  const hits: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = (req.url ?? '').split('?')[0]!;
      hits.push(path);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { model?: string; stream?: boolean };
      const model = body.model ?? 'unknown';
      const shapes: Record<string, [(m: string) => Record<string, unknown>, (m: string) => string]> = {
        '/v1/messages': [anthropicWhole, anthropicStream],
        '/v1/chat/completions': [chatWhole, chatStream],
        '/v1/responses': [responsesWhole, responsesStream],
      };
      const s = shapes[path];
      if (!s) {
        res.writeHead(404, { 'content-type': 'application/json' });
        return res.end('{"error":{"message":"no such path"}}');
      }
      if (body.stream && model.includes('gzip')) {
        // a compressed stream, sent in pieces that split the usage event
        const gz = gzipSync(s[1](model));
        res.writeHead(200, { 'content-type': 'text/event-stream', 'content-encoding': 'gzip' });
        for (let i = 0; i < gz.length; i += 40) res.write(gz.subarray(i, i + 40));
        return res.end();
      }
      if (body.stream) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        return res.end(s[1](model));
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(s[0](model)));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
