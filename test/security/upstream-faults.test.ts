// Upstreams that stall, answer enormously or get cut off, and requests that cannot be routed or translated
// safely: through the official SDKs, against local servers acting as broken peers do.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { request } from 'undici';
import { startProcess, type Proc } from '../bench/measure.js';
import { provider, startCore, type TestCore } from '../helpers/core.js';
import { startMockUpstream, type MockUpstream } from '../helpers/mock-upstream.js';
import { startBrokenUpstream, type BrokenUpstream } from './broken-upstream.js';

const BIG = 5_000_000; // well past the 1 MiB cap configured below
const TR_BIG = 50_000_000; // more than socket buffers can absorb once the router stops reading
const ANTHROPIC_BIG_OVERHEAD = '{"id":"msg_big","type":"message","role":"assistant","model":"big","content":[{"type":"text","text":"'.length + '"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":3,"output_tokens":5}}'.length;

/** A fetch for the SDKs that changes the JSON text they send, as a hand-written or buggy client would. */
function mangling(edit: (body: string) => string): typeof fetch {
  return (input, init) => fetch(input, { ...init, body: typeof init?.body === 'string' ? edit(init.body) : init?.body });
}

describe('upstream faults', () => {
  let x: BrokenUpstream;
  let b: MockUpstream;
  let t: TestCore;
  let anthropic: Anthropic;
  let openai: OpenAI;

  before(async () => {
    x = await startBrokenUpstream();
    b = await startMockUpstream('beta');
    const fallbackModels = ['stall-json', 'stall-stream', 'stall-mid', 'big-cut', 'small-cut', 'big-500', 'tr-stall', 'tr-big'];
    t = await startCore(
      `[daemon]\nfirst_byte_timeout_ms = 5000\nrequest_timeout_ms = 60000\nidle_timeout_ms = 300\nmax_buffered_response_bytes = 1048576\n` +
        provider('broken', x.url, {
          'stall-json': 'stall-headers',
          'stall-stream': 'stall-headers',
          'stall-mid': 'stall-mid-body',
          'stall-after': 'stall-after-first-event',
          big: `big:${BIG}`,
          'big-chunked': `big:${BIG}:chunked`,
          'big-cut': `big:${BIG}:cut=3000000`,
          'small-cut': 'big:500000:cut=200000',
          'big-500': `big:${TR_BIG}:status=500`,
        }) +
        provider('broken-openai', x.url, { 'tr-stall': 'stall-headers', 'tr-stall-after': 'stall-after-first-event', 'tr-big': `big:${TR_BIG}` }, 'format = "openai"') +
        provider('beta', b.url, Object.fromEntries(fallbackModels.map((m) => [m, `beta-${m}`]))) +
        provider('beta-anthropic', b.url, { 'to-anthropic': 'beta-claude' }, 'format = "anthropic"') +
        `
[[providers]]
name = "nokey"
base_url = "${x.url}"
auth = { header = "x-api-key", value_env = "ROUTER67_TEST_UNSET_KEY" }
[providers.available_models]
lonely = "whatever"

[[providers]]
name = "dead"
base_url = "http://127.0.0.1:1"
[providers.available_models]
lonely = "whatever"
`,
    );
    anthropic = new Anthropic({ baseURL: t.url, apiKey: 'k', maxRetries: 0 });
    openai = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: 'k', maxRetries: 0 });
  });
  after(async () => {
    await t.stop();
    await Promise.all([x.close(), b.close()]);
  });
  beforeEach(() => {
    b.requests.length = 0;
    x.asked.length = 0;
    // each case injects its fault afresh: no circuit breaker left open by the one before (test/health covers them)
    t.core.proxy.health.reset();
  });

  const last = () => t.core.log.recent(1)[0]!;
  const text = (m: Anthropic.Message) => (m.content[0]?.type === 'text' ? m.content[0].text : undefined);

  describe('a stall (headers, then nothing)', () => {
    it('falls through to the next provider when the answer is not streamed', async () => {
      const r = await openai.chat.completions.create({ model: 'stall-json', messages: [{ role: 'user', content: 'hi' }] });
      assert.equal(r.choices[0]?.message.content, 'Hello from beta!');
      await x.abandoned('stall-headers'); // the router let go of the stalled upstream
      const e = last();
      assert.equal(e.provider, 'beta');
      assert.equal(e.attempts[0]!.status, 200);
      assert.match(e.attempts[0]!.error ?? '', /idle timeout: the upstream sent no body bytes for 300 ms/);

      const m = await anthropic.messages.create({ model: 'stall-json', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] });
      assert.equal(text(m), 'Hello from beta!');
      await x.abandoned('stall-headers');
    });

    it('falls through when it stalls halfway through a whole answer', async () => {
      const m = await anthropic.messages.create({ model: 'stall-mid', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] });
      assert.equal(text(m), 'Hello from beta!');
      await x.abandoned('stall-mid-body');
      assert.match(last().attempts[0]!.error ?? '', /cut off: idle timeout/);
    });

    it('falls through when a stream stalls before its first byte', async () => {
      const m = await anthropic.messages.stream({ model: 'stall-stream', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }).finalMessage();
      assert.equal(text(m), 'Hello from beta!');
      await x.abandoned('stall-headers');
      const c = await openai.chat.completions.stream({ model: 'stall-stream', messages: [{ role: 'user', content: 'hi' }] }).finalChatCompletion();
      assert.equal(c.choices[0]?.message.content, 'Hello from beta!');
      await x.abandoned('stall-headers');
      assert.match(last().attempts[0]!.error ?? '', /idle timeout/);
      assert.equal(last().provider, 'beta');
    });

    it('ends a stream that stalls after its first byte with the dialect\'s error event', async () => {
      const s = anthropic.messages.stream({ model: 'stall-after', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] });
      let got = '';
      s.on('text', (d) => (got += d));
      await assert.rejects(s.finalMessage(), /idle timeout: the upstream sent no body bytes/);
      assert.equal(got, 'first words', 'the client had the first bytes, so no other provider may answer');
      assert.equal(last().state, 'error');
      assert.match(last().error ?? '', /idle timeout/);

      const o = openai.chat.completions.stream({ model: 'stall-after', messages: [{ role: 'user', content: 'hi' }] });
      await assert.rejects(o.finalChatCompletion(), /idle timeout/);
      assert.equal(b.requests.length, 0);
    });

    it('behaves the same on a translated attempt: fallback before the first byte, error event after', async () => {
      const m = await anthropic.messages.stream({ model: 'tr-stall', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }).finalMessage();
      assert.equal(text(m), 'Hello from beta!');
      assert.match(last().attempts[0]!.error ?? '', /idle timeout/);
      await x.abandoned('stall-headers');

      const s = anthropic.messages.stream({ model: 'tr-stall-after', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] });
      let got = '';
      s.on('text', (d) => (got += d));
      await assert.rejects(s.finalMessage(), /idle timeout/);
      assert.equal(got, 'first words');
      await x.abandoned('stall-after-first-event');
    });
  });

  describe('a whole answer larger than max_buffered_response_bytes', () => {
    it('is relayed without buffering when it needs no translation (content-length or chunked)', async () => {
      for (const model of ['big', 'big-chunked']) {
        const { data, response } = await anthropic.messages.create({ model, max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }).withResponse();
        assert.equal(text(data)?.length, BIG - ANTHROPIC_BIG_OVERHEAD, model);
        assert.equal(response.headers.get('x-router67-provider'), 'broken');
        assert.equal(response.headers.get('content-length'), model === 'big' ? String(BIG) : null);
        const e = last();
        assert.equal(e.bytesOut, BIG);
        assert.equal(e.state, 'done');
      }
    });

    it('cut off after the cap: the client connection is destroyed, never a clean end, and no fallback', async () => {
      const r = await request(`${t.url}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': 'k' },
        body: JSON.stringify({ model: 'big-cut', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
      });
      assert.equal(r.statusCode, 200);
      let n = 0;
      await assert.rejects(async () => {
        for await (const c of r.body) n += (c as Buffer).length;
      });
      assert.ok(n > 1_048_576 && n <= 3_000_000, `client got ${n} bytes`);
      assert.equal(b.requests.length, 0, 'no other provider was asked once bytes had gone out');
      const e = last();
      assert.equal(e.state, 'error');
      assert.match(e.error ?? '', /cut off after \d+ bytes had been relayed/);
    });

    it('cut off below the cap: still falls through (the answer was held back)', async () => {
      const m = await anthropic.messages.create({ model: 'small-cut', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] });
      assert.equal(text(m), 'Hello from beta!');
      assert.match(last().attempts[0]!.error ?? '', /cut off/);
    });

    it('an enormous 5xx body is not read to its end before the next provider is asked', async () => {
      const m = await anthropic.messages.create({ model: 'big-500', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] });
      assert.equal(text(m), 'Hello from beta!');
      assert.ok(x.written.get(`big:${TR_BIG}:status=500`)! < TR_BIG, 'the router stopped reading');
      await x.abandoned(`big:${TR_BIG}:status=500`);
      assert.equal(last().attempts[0]!.status, 500);
    });

    it('fails a translated attempt clearly (next provider), and lets go of the upstream', async () => {
      const m = await anthropic.messages.create({ model: 'tr-big', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] });
      assert.equal(text(m), 'Hello from beta!');
      const e = last();
      assert.equal(e.attempts[0]!.provider, 'broken-openai');
      assert.match(e.attempts[0]!.error ?? '', /exceeds max_buffered_response_bytes \(1048576 bytes\) and would have to be translated whole/);
      assert.ok(x.written.get(`big:${TR_BIG}`)! < TR_BIG, 'the router stopped reading');
      await x.abandoned(`big:${TR_BIG}`);
    });
  });

  describe('requests that cannot be routed or translated safely', () => {
    it('rejects a second top-level "model" key with a 400 in the client\'s dialect', async () => {
      const oa = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: 'k', maxRetries: 0, fetch: mangling((s) => s.replace(/}$/, ',"model":"big"}')) });
      await assert.rejects(oa.chat.completions.create({ model: 'stall-json', messages: [{ role: 'user', content: 'hi' }] }), (e: unknown) => {
        assert.ok(e instanceof OpenAI.BadRequestError, String(e));
        assert.match(e.message, /more than one top-level "model" key/);
        return true;
      });
      const an = new Anthropic({ baseURL: t.url, apiKey: 'k', maxRetries: 0, fetch: mangling((s) => s.replace(/^{/, '{"mod\\u0065l":"big",')) });
      await assert.rejects(an.messages.create({ model: 'stall-json', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }), (e: unknown) => {
        assert.ok(e instanceof Anthropic.BadRequestError, String(e));
        assert.equal((e.error as { error?: { type?: string } }).error?.type, 'invalid_request_error');
        return true;
      });
      assert.deepEqual(x.asked, []);
      assert.equal(b.requests.length, 0);
    });

    it('answers 400 in the client\'s dialect when the body cannot be translated (not JSON, messages not an array)', async () => {
      // messages not an array: Anthropic client, a provider that needs OpenAI Chat
      await assert.rejects(
        anthropic.messages.create({ model: 'tr-big', max_tokens: 5, messages: 'hi' as unknown as Anthropic.MessageParam[] }),
        (e: unknown) => {
          assert.ok(e instanceof Anthropic.BadRequestError, String(e));
          assert.match(e.message, /invalid request: messages: expected an array/);
          return true;
        },
      );
      // the same from an OpenAI client to an Anthropic-format provider
      await assert.rejects(openai.chat.completions.create({ model: 'to-anthropic', messages: { role: 'user' } as unknown as OpenAI.ChatCompletionMessageParam[] }), (e: unknown) => {
        assert.ok(e instanceof OpenAI.BadRequestError, String(e));
        assert.match(e.message, /messages: expected an array/);
        return true;
      });
      // not JSON at all (the model is still readable at its start)
      const broken = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: 'k', maxRetries: 0, fetch: mangling((s) => s.replace(/}$/, ',,}')) });
      await assert.rejects(broken.chat.completions.create({ model: 'to-anthropic', messages: [{ role: 'user', content: 'hi' }] }), (e: unknown) => {
        assert.ok(e instanceof OpenAI.BadRequestError, String(e));
        assert.match(e.message, /request body is not valid JSON/);
        return true;
      });
      assert.deepEqual(x.asked, []);
      assert.equal(b.requests.length, 0, 'no provider was asked');
      const e = last();
      assert.equal(e.status, 400);
      assert.equal(e.attempts.length, 0);
    });

    it('words skipped and silent providers naturally in the all-failed message', async () => {
      await assert.rejects(openai.chat.completions.create({ model: 'lonely', messages: [{ role: 'user', content: 'hi' }] }), (e: unknown) => {
        assert.ok(e instanceof OpenAI.APIError && e.status === 502, String(e));
        assert.match(e.message, /nokey: skipped \(environment variable ROUTER67_TEST_UNSET_KEY is not set\); dead: no response \(ECONNREFUSED/);
        assert.doesNotMatch(e.message, /no response skipped/);
        return true;
      });
    });
  });
});

/** VmHWM (peak resident set) of a process in MB, Linux /proc. */
function peakRssMb(pid: number): number {
  const kb = Number(/^VmHWM:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  return kb / 1024;
}

describe('a 200 MB answer, the router in its own process', () => {
  const SIZE = 200 * 1024 * 1024;
  let x: BrokenUpstream;
  let router: Proc | undefined;
  let url = '';
  let home = '';

  before(async () => {
    x = await startBrokenUpstream();
    home = mkdtempSync(join(tmpdir(), 'router67-rss-'));
    writeFileSync(
      join(home, 'config.toml'),
      `[daemon]\nlog_level = "warn"\n\n[[providers]]\nname = "huge"\nbase_url = "${x.url}"\n[providers.available_models]\nhuge = "big:${SIZE}"\n\n` +
        `[[providers]]\nname = "huge-openai"\nbase_url = "${x.url}"\nformat = "openai"\n[providers.available_models]\n"huge-tr" = "big:${SIZE}"\n`,
    );
    const started = await startProcess(
      [join(__dirname, '..', '..', 'main', 'cli', 'index.js'), 'daemon', '--listen', '127.0.0.1:0', '--no-intercept'],
      { ROUTER67_HOME: home },
      /listening on http:\/\/(127\.0\.0\.1:\d+)/,
    );
    router = started.proc;
    url = `http://${started.match[1]}`;
  });
  after(async () => {
    router?.stop();
    await x.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('relays it to a client that reads it, with peak RSS at most 200 MB', async (t) => {
    const r = await request(`${url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'k' },
      body: JSON.stringify({ model: 'huge', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
      bodyTimeout: 60_000,
    });
    assert.equal(r.statusCode, 200);
    assert.equal(r.headers['content-length'], String(SIZE));
    let n = 0;
    let head = '';
    let tail = Buffer.alloc(0);
    for await (const c of r.body) {
      const b = c as Buffer;
      if (n === 0) head = b.toString('utf8', 0, 40);
      n += b.length;
      tail = Buffer.concat([tail, b]).subarray(-64);
    }
    assert.equal(n, SIZE);
    assert.match(head, /^\{"id":"msg_big"/);
    assert.match(tail.toString(), /"output_tokens":5\}\}$/);
    const peak = peakRssMb(router!.pid);
    t.diagnostic(`router peak RSS (VmHWM) after relaying a 200 MB answer: ${peak.toFixed(1)} MB`);
    assert.ok(peak <= 200, `peak RSS ${peak.toFixed(1)} MB > 200 MB`);
  });

  it('fails a translated 200 MB answer clearly at the cap, with peak RSS at most 200 MB', async (t) => {
    const client = new Anthropic({ baseURL: url, apiKey: 'k', maxRetries: 0 });
    await assert.rejects(client.messages.create({ model: 'huge-tr', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }), (e: unknown) => {
      assert.ok(e instanceof Anthropic.APIError && e.status === 502, String(e));
      assert.match(e.message, /huge-openai: 200 \(upstream answer exceeds max_buffered_response_bytes \(33554432 bytes\)/);
      return true;
    });
    await x.abandoned(`big:${SIZE}`);
    const peak = peakRssMb(router!.pid);
    t.diagnostic(`router peak RSS (VmHWM) after also refusing a translated 200 MB answer: ${peak.toFixed(1)} MB`);
    assert.ok(peak <= 200, `peak RSS ${peak.toFixed(1)} MB > 200 MB`);
  });
});
