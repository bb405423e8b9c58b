// A provider's base_url with a query of its own (Azure OpenAI's `?api-version=`, a `?key=`): the query goes on
// every upstream request, passthrough and translated, after the request's own parameters; the credential in it
// stays out of the request log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { upstreamTarget, withQuery } from '../../main/proxy/upstream-url.js';
import { upstreamUrl } from '../../main/formats/index.js';
import { startCore, provider } from '../helpers/core.js';
import { startMockUpstream } from '../helpers/mock-upstream.js';

test('upstream URL: the base_url query follows the path (and the request query), with /v1 handling unchanged', () => {
  assert.equal(upstreamTarget('https://x.openai.azure.com/openai/v1?api-version=preview', '/v1/chat/completions').path, '/openai/v1/chat/completions?api-version=preview');
  assert.equal(upstreamTarget('https://h/base?key=abc%3D%3D', '/v1/messages?beta=true').path, '/base/v1/messages?beta=true&key=abc%3D%3D');
  assert.equal(upstreamTarget('https://h/base', '/v1/messages?beta=true').path, '/base/v1/messages?beta=true');
  assert.equal(withQuery('/a?', 'k=1'), '/a?k=1');
  assert.equal(upstreamUrl('https://x.openai.azure.com/openai/v1?api-version=preview', 'openai'), 'https://x.openai.azure.com/openai/v1/chat/completions?api-version=preview');
  assert.equal(upstreamUrl('https://gen.example/v1beta/openai/?key=k1', 'openai'), 'https://gen.example/v1beta/openai/v1/chat/completions?key=k1');
  assert.equal(upstreamUrl('http://127.0.0.1:11434/v1?x=1', 'ollama'), 'http://127.0.0.1:11434/api/chat?x=1');
});

test('a base_url query reaches the provider on passthrough and translated requests; its key is not logged', async (t) => {
  const up = await startMockUpstream('azure');
  t.after(() => up.close());
  const base = `${up.url}/openai/deployments/gpt?api-version=2024-10-21&key=qk-0123456789`;
  const tc = await startCore(`${provider('azure', base, { gpt: 'gpt-4o' }, 'format = "openai"')}`);
  t.after(() => tc.stop());
  const chat = await fetch(`${tc.url}/v1/chat/completions?trace=1`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt', messages: [{ role: 'user', content: 'hi' }] }),
  });
  assert.equal(chat.status, 200, await chat.clone().text());
  await chat.arrayBuffer();
  const msg = await fetch(`${tc.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({ model: 'gpt', max_tokens: 32, messages: [{ role: 'user', content: 'hi' }] }),
  });
  assert.equal(msg.status, 200, await msg.clone().text());
  assert.equal(((await msg.json()) as { type: string }).type, 'message', 'translated from Chat to Messages');
  assert.deepEqual(
    up.requests.map((r) => r.path),
    [
      '/openai/deployments/gpt/v1/chat/completions?trace=1&api-version=2024-10-21&key=qk-0123456789',
      '/openai/deployments/gpt/v1/chat/completions?api-version=2024-10-21&key=qk-0123456789',
    ],
  );
  const logged = JSON.stringify(tc.core.log.recent());
  assert.ok(!logged.includes('qk-0123456789'), logged);
});
