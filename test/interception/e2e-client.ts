// An unmodified client for the end-to-end test: the official SDKs with their default base URLs, run in their
// own process so NODE_EXTRA_CA_CERTS (read at start) can point at the router67 CA. Prints one JSON line.
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';

interface Spec {
  sdk: 'anthropic' | 'openai';
  op: 'create' | 'stream' | 'models';
  model?: string;
  apiKey: string;
}

async function main(): Promise<unknown> {
  const spec = JSON.parse(process.argv[2]!) as Spec;
  if (spec.sdk === 'anthropic') {
    const client = new Anthropic({ apiKey: spec.apiKey, maxRetries: 0, timeout: 15_000 });
    if (client.baseURL !== 'https://api.anthropic.com') throw new Error(`unexpected base URL ${client.baseURL}`);
    if (spec.op === 'models') {
      const page = await client.models.list();
      return { ids: page.data.map((m) => m.id) };
    }
    const params = { model: spec.model!, max_tokens: 32, messages: [{ role: 'user' as const, content: 'Say hello' }] };
    if (spec.op === 'stream') {
      const stream = client.messages.stream(params);
      let text = '';
      stream.on('text', (t) => (text += t));
      const final = await stream.finalMessage();
      return { text, model: final.model, usage: final.usage };
    }
    const { data, response } = await client.messages.create(params).withResponse();
    const first = data.content[0];
    return { text: first?.type === 'text' ? first.text : '', model: data.model, provider: response.headers.get('x-router67-provider'), origin: response.headers.get('x-origin') };
  }
  const client = new OpenAI({ apiKey: spec.apiKey, maxRetries: 0, timeout: 15_000 });
  if (client.baseURL !== 'https://api.openai.com/v1') throw new Error(`unexpected base URL ${client.baseURL}`);
  if (spec.op === 'models') {
    const page = await client.models.list();
    return { ids: page.data.map((m) => m.id) };
  }
  const params = { model: spec.model!, messages: [{ role: 'user' as const, content: 'Say hello' }] };
  if (spec.op === 'stream') {
    const stream = await client.chat.completions.create({ ...params, stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    return { text };
  }
  const { data, response } = await client.chat.completions.create(params).withResponse();
  return { text: data.choices[0]?.message.content, model: data.model, provider: response.headers.get('x-router67-provider') };
}

main().then(
  (r) => process.stdout.write(JSON.stringify({ ok: true, ...(r as object) }) + '\n'),
  (e: Error & { status?: number }) => {
    process.stdout.write(JSON.stringify({ ok: false, error: e.message, status: e.status }) + '\n');
    process.exitCode = 1;
  },
);
