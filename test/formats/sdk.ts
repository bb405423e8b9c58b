// The official SDKs parsing our output without a network: a fetch that answers with a given body.
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';

function fakeFetch(body: string, status = 200, contentType = 'text/event-stream'): typeof fetch {
  return (async () => new Response(body, { status, headers: { 'content-type': contentType } })) as typeof fetch;
}

export function anthropicClient(body: string, status = 200, contentType = 'text/event-stream'): Anthropic {
  return new Anthropic({ apiKey: 'test', baseURL: 'http://sdk.invalid', fetch: fakeFetch(body, status, contentType), maxRetries: 0 });
}
export function openaiClient(body: string, status = 200, contentType = 'text/event-stream'): OpenAI {
  return new OpenAI({ apiKey: 'test', baseURL: 'http://sdk.invalid/v1', fetch: fakeFetch(body, status, contentType), maxRetries: 0 });
}

export const TOOLS_ANTHROPIC = [
  { name: 'get_weather', description: 'Weather', input_schema: { type: 'object' as const, properties: { city: { type: 'string' } } } },
  { name: 'get_time', description: 'Time', input_schema: { type: 'object' as const, properties: { tz: { type: 'string' } } } },
];
export const TOOLS_OPENAI = TOOLS_ANTHROPIC.map((t) => ({ type: 'function' as const, function: { name: t.name, description: t.description, parameters: t.input_schema } }));
export const TOOLS_RESPONSES = TOOLS_ANTHROPIC.map((t) => ({ type: 'function' as const, name: t.name, description: t.description, parameters: t.input_schema, strict: false }));

export async function anthropicStreamFinal(sseText: string) {
  return anthropicClient(sseText)
    .messages.stream({ model: 'client-model', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }], tools: TOOLS_ANTHROPIC })
    .finalMessage();
}
export async function openaiStreamFinal(sseText: string) {
  return openaiClient(sseText)
    .chat.completions.stream({ model: 'client-model', messages: [{ role: 'user', content: 'hi' }], tools: TOOLS_OPENAI, stream_options: { include_usage: true } })
    .finalChatCompletion();
}
export async function responsesStreamFinal(sseText: string) {
  return openaiClient(sseText).responses.stream({ model: 'client-model', input: 'hi', tools: TOOLS_RESPONSES }).finalResponse();
}
