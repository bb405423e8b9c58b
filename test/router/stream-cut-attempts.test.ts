// A stream the upstream cuts after the client already has bytes ends with the dialect's error event, and that
// event carries the attempts so far (provider, model, status, error; scrubbed like the all-failed 502's), from
// both relays: passthrough (OpenAI client → OpenAI upstream) and translated (Anthropic and Responses clients →
// the same upstream). Local OpenAI Chat upstreams that drop the connection or end the body mid-stream; the
// official SDKs, and the raw SSE parsed.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { request } from 'undici';
import { provider, startCore, type TestCore } from '../helpers/core.js';
import { startFaultUpstream, type FaultUpstream } from '../helpers/fault-upstream.js';

interface Shown {
  provider: string;
  model: string;
  status: number | null;
  error: string | null;
}

describe('a stream cut mid-way: the error event carries the attempts', () => {
  let down: FaultUpstream, alpha: FaultUpstream;
  let t: TestCore;
  let openai: OpenAI;
  let anthropic: Anthropic;
  before(async () => {
    // the first provider fails with a body quoting the key it was sent: the attempts must not repeat it
    down = await startFaultUpstream('down', { status: 500, body: JSON.stringify({ error: { message: 'backend exploded (key key-down was fine)', type: 'server_error' } }) });
    alpha = await startFaultUpstream('alpha');
    t = await startCore(
      '[daemon]\nretry_max = 0\naffinity = false\n' +
        provider('down', down.url, { m: 'down-m' }, 'format = "openai"') +
        provider('alpha', alpha.url, { m: 'alpha-m' }, 'format = "openai"'),
    );
    openai = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: 'client-key-not-for-upstreams', maxRetries: 0 });
    anthropic = new Anthropic({ baseURL: t.url, apiKey: 'client-key-not-for-upstreams', maxRetries: 0 });
  });
  after(async () => {
    await t.stop();
    await Promise.all([down.close(), alpha.close()]);
  });
  beforeEach(() => {
    alpha.script = [];
    alpha.seen = [];
  });

  /** The attempts as the log has them, in the shape the client is shown. */
  const logged = async (): Promise<Shown[]> => {
    await t.core.proxy.idle();
    return t.core.log.recent(1)[0]!.attempts.map((a) => ({ provider: a.provider, model: a.model, status: a.status, error: a.error }));
  };
  const check = (shown: unknown, cut: RegExp) => {
    const list = shown as Shown[];
    assert.ok(Array.isArray(list), `attempts in the error event: ${JSON.stringify(shown)}`);
    assert.deepEqual(list.map((a) => [a.provider, a.model, a.status]), [['down', 'down-m', 500], ['alpha', 'alpha-m', 200]]);
    assert.match(list[0]!.error ?? '', /backend exploded/);
    assert.match(list[1]!.error ?? '', cut);
    assert.doesNotMatch(JSON.stringify(list), /key-down|key-alpha|client-key-not-for-upstreams/, 'scrubbed');
    assert.deepEqual(Object.keys(list[0]!).sort(), ['error', 'model', 'provider', 'status'], 'only what the 502 shows');
  };

  it('passthrough (OpenAI → OpenAI): a dropped connection; the OpenAI SDK raises the error with its attempts', async () => {
    alpha.script = ['drop-mid-stream'];
    let text = '';
    const err = await (async () => {
      try {
        for await (const ch of await openai.chat.completions.create({ model: 'm', stream: true, messages: [{ role: 'user', content: 'hi' }] })) text += ch.choices[0]?.delta.content ?? '';
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    assert.equal(text, 'Hello', 'the client had bytes before the cut');
    assert.ok(err instanceof OpenAI.APIError, String(err));
    assert.match(err.message, /upstream stream failed/);
    const body = err.error as { attempts?: unknown };
    check(body.attempts, /^upstream stream failed: /);
    assert.deepEqual(body.attempts, await logged(), 'the same attempts the log has');
  });

  it('passthrough: a body that ends without [DONE]; the raw SSE ends with an error chunk holding the attempts', async () => {
    alpha.script = ['end-mid-stream'];
    const r = await request(`${t.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer client-key-not-for-upstreams' },
      body: JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(r.statusCode, 200);
    const events = (await r.body.text()).split('\n\n').filter(Boolean);
    const last = JSON.parse(events.at(-1)!.replace(/^data: /, '')) as { error: { message: string; attempts: unknown }; attempts: unknown };
    assert.equal(last.error.message, 'upstream closed the stream before its end event');
    check(last.attempts, /^upstream closed the stream before its end event$/);
    assert.deepEqual(last.error.attempts, last.attempts, 'inside `error` too, where the OpenAI SDK reads it');
    assert.deepEqual(last.attempts, await logged());
  });

  it('translated (Anthropic client → OpenAI upstream): the event: error carries the attempts; the Anthropic SDK has them', async () => {
    for (const step of ['drop-mid-stream', 'end-mid-stream'] as const) {
      alpha.script = [step];
      let text = '';
      const stream = anthropic.messages.stream({ model: 'm', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] });
      stream.on('text', (d) => (text += d));
      const err = await stream.finalMessage().then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.equal(text, 'Hello', `${step}: the client had bytes before the cut`);
      assert.ok(err instanceof Anthropic.APIError, `${step}: ${String(err)}`);
      const body = err.error as { type: string; error: { type: string; message: string }; attempts?: unknown };
      assert.equal(body.type, 'error');
      check(body.attempts, step === 'drop-mid-stream' ? /^upstream stream failed: / : /^upstream stream ended before a finish_reason or \[DONE\]$/);
      assert.deepEqual(body.attempts, await logged(), `${step}: the same attempts the log has`);
    }
  });

  it('translated (Responses client → OpenAI Chat upstream): the error event carries them too', async () => {
    alpha.script = ['drop-mid-stream'];
    let text = '';
    const err = await (async () => {
      try {
        for await (const ev of await openai.responses.create({ model: 'm', stream: true, input: 'hi' })) if (ev.type === 'response.output_text.delta') text += ev.delta;
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    assert.equal(text, 'Hello');
    assert.ok(err instanceof OpenAI.APIError, String(err));
    check((err.error as { attempts?: unknown }).attempts, /^upstream stream failed: /);
  });
});
