// A whole answer's usage read from its usage values alone (readWholeUsage) must equal what decoding the whole
// body and reading it (JSON.parse + readUsage) gives, for every body: realistic answers of the four formats,
// adversarial ones, and bodies that are not valid JSON (where the scanner must give up and the caller decode).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { readUsage, readWholeUsage, type Usage } from '../../main/proxy/usage.js';
import { ANTHROPIC_USAGE, anthropicWhole, CHAT_USAGE, chatWhole, RESPONSES_USAGE, responsesWhole } from './shapes.js';

/** What router67 recorded before: the whole body decoded, then read. */
function fullParse(buf: Buffer): Usage {
  const u: Usage = {};
  try {
    readUsage(JSON.parse(buf.toString('utf8')), u);
  } catch {
    /* not JSON: nothing recorded */
  }
  return u;
}

/** What it records now: the scan, or (when the scanner gives up, having recorded nothing) the whole decode. */
function scanned(buf: Buffer): { usage: Usage; scanned: boolean } {
  const u: Usage = {};
  const ok = readWholeUsage(buf, u);
  if (!ok) {
    assert.deepEqual(u, {}, 'a scan that gave up recorded nothing');
    return { usage: fullParse(buf), scanned: false };
  }
  return { usage: u, scanned: true };
}

/** The scan agrees with the full decode; on valid JSON it never gives up (else it saves nothing). */
function agrees(text: string | Buffer, label = String(text).slice(0, 200)): void {
  const buf = typeof text === 'string' ? Buffer.from(text) : text;
  const s = scanned(buf);
  assert.deepEqual(s.usage, fullParse(buf), label);
  let valid = true;
  try {
    JSON.parse(buf.toString('utf8'));
  } catch {
    valid = false;
  }
  const isObject = valid && /^\s*\{/.test(buf.toString('utf8'));
  assert.equal(s.scanned, isObject, `scanned ${s.scanned}, valid JSON object ${isObject}: ${label}`);
}

// Realistic answers: Anthropic (cache counts, tool use), OpenAI Chat (details, tool calls), Responses (details,
// function calls), Ollama (chat and generate). Their text and tool input come from the generator.
const anthropic = (text: string, input: unknown) => ({
  ...anthropicWhole('claude-sonnet-4-5'),
  content: [
    { type: 'thinking', thinking: text, signature: 'sig' },
    { type: 'text', text },
    { type: 'tool_use', id: 'toolu_1', name: 'run', input },
  ],
  stop_reason: 'tool_use',
  usage: ANTHROPIC_USAGE,
});
const chat = (text: string, input: unknown) => ({
  ...chatWhole('gpt-4.1'),
  choices: [
    {
      index: 0,
      message: { role: 'assistant', content: text, refusal: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'run', arguments: JSON.stringify(input) } }] },
      logprobs: null,
      finish_reason: 'tool_calls',
    },
  ],
  usage: CHAT_USAGE,
});
const responses = (text: string, input: unknown) => ({
  ...responsesWhole('gpt-5'),
  output: [
    { type: 'reasoning', id: 'rs_1', summary: [{ type: 'summary_text', text }] },
    { type: 'message', id: 'msg_1', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text, annotations: [] }] },
    { type: 'function_call', id: 'fc_1', call_id: 'call_1', name: 'run', arguments: JSON.stringify(input) },
  ],
  usage: RESPONSES_USAGE,
});
const ollamaChat = (text: string, input: unknown) => ({
  model: 'qwen3',
  created_at: '2026-01-01T00:00:00Z',
  message: { role: 'assistant', content: text, tool_calls: [{ function: { name: 'run', arguments: input } }] },
  done: true,
  done_reason: 'stop',
  total_duration: 1200000,
  prompt_eval_count: 42,
  prompt_eval_duration: 1000,
  eval_count: 17,
  eval_duration: 2000,
});
const ollamaGenerate = (text: string) => ({ model: 'qwen3', created_at: '2026-01-01T00:00:00Z', response: text, done: true, context: [1, 2, 3], prompt_eval_count: 9, eval_count: 3 });
const FORMATS = [anthropic, chat, responses, ollamaChat, ollamaGenerate];

/** The ways a server may lay a body out: compact, indented, with every kind of JSON white space. */
const layouts: ((o: unknown) => string)[] = [
  (o) => JSON.stringify(o),
  (o) => JSON.stringify(o, null, 2),
  (o) => JSON.stringify(o, null, '\t').replace(/\n/g, '\r\n'),
  (o) => ` \r\n\t${JSON.stringify(o, null, 1).replace(/\n/g, ' \t\r\n')}\n\n `, // (raw line breaks only between tokens)
];

// text full of what a scanner trips on: quotes, backslashes, brackets, keys written out, escapes, any unicode
const tricky = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.constantFrom(
    '"usage": {"input_tokens": 999999}',
    '{"usage":{"prompt_tokens":5}}',
    '\\"usage\\":{"output_tokens":7}}]}',
    '}}]]"{{[[',
    '\\\\\\"',
    'naïve café 日本語 🙂 \u2028\u2029 \u0000 \ud83d',
    '"eval_count": 1, "prompt_eval_count": 2',
  ),
);

describe('whole answer usage from its usage values alone', () => {
  it('the four formats: realistic answers with any text and tool input, in every layout', () => {
    fc.assert(
      fc.property(fc.constantFrom(...FORMATS), tricky, fc.jsonValue(), fc.constantFrom(...layouts), (format, text, input, layout) => {
        const text1 = layout(format(text, input));
        agrees(text1);
        const u = scanned(Buffer.from(text1)).usage;
        assert.ok(u.inputTokens! > 0 && u.outputTokens! > 0, 'the counts are read');
      }),
      { numRuns: 400 },
    );
  });

  it('any object: the keys readUsage reads (plain, escaped, repeated, nested) among any others', () => {
    const names = ['usage', 'prompt_eval_count', 'eval_count', 'message', 'response'];
    const count = fc.oneof(fc.integer(), fc.double(), fc.constant(null), fc.string());
    const usage = fc.record(
      { input_tokens: count, output_tokens: count, cache_read_input_tokens: count, prompt_tokens: count, prompt_tokens_details: fc.record({ cached_tokens: count }) },
      { requiredKeys: [] },
    );
    const value = fc.oneof(fc.jsonValue(), usage, fc.record({ usage, content: fc.jsonValue() }, { requiredKeys: [] }), count);
    // a key as it may be written: plain, another key, or a name with one letter escaped
    const key = fc.oneof(
      fc.string(),
      fc.constantFrom(...names).map((k) => JSON.stringify(k)),
      fc.tuple(fc.constantFrom(...names), fc.nat()).map(([k, at]) => {
        const i = at % k.length;
        return `"${k.slice(0, i)}\\u${k.charCodeAt(i).toString(16).padStart(4, '0')}${k.slice(i + 1)}"`;
      }),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(key, value)), fc.constantFrom(' ', '', '\n\t'), (entries, ws) => {
        // written out by hand, so a key may repeat
        const text = `{${entries.map(([k, v]) => `${k.startsWith('"') ? k : JSON.stringify(k)}${ws}:${ws}${JSON.stringify(v, null, ws ? 1 : undefined)}`).join(`,${ws}`)}}`;
        agrees(text);
      }),
      { numRuns: 1000 },
    );
  });

  it('the recorded figures of every dialect', () => {
    const read = (o: unknown) => scanned(Buffer.from(JSON.stringify(o))).usage;
    assert.deepEqual(read(anthropicWhole('m')), { inputTokens: 1300, outputTokens: 50, cacheReadTokens: 1000, cacheWriteTokens: 200 });
    assert.deepEqual(read(chatWhole('m')), { inputTokens: 1300, outputTokens: 50, cacheReadTokens: 1000, reasoningTokens: 20 });
    assert.deepEqual(read(responsesWhole('m')), { inputTokens: 1300, outputTokens: 50, cacheReadTokens: 1000, reasoningTokens: 20 });
    assert.deepEqual(read(ollamaChat('hi', {})), { inputTokens: 42, outputTokens: 17 });
  });

  it('adversarial bodies', () => {
    const cases = [
      // usage nested in content or tool input, or only inside another key
      '{"content":[{"type":"text","text":"x","usage":{"input_tokens":5}}],"usage":{"input_tokens":1,"output_tokens":2}}',
      '{"content":[{"type":"tool_use","input":{"usage":{"input_tokens":5},"eval_count":9}}]}',
      '{"meta":{"usage":{"input_tokens":5}},"x":{"prompt_eval_count":3}}',
      '{"text":"\\"usage\\":{\\"input_tokens\\":5}","usage":{"output_tokens":1}}',
      // usage spelled with escapes, and keys that only look like it
      '{"\\u0075sage":{"input_tokens":3,"output_tokens":4}}',
      '{"us\\u0061ge":{"input_tokens":3},"\\u0065val_count":8}',
      '{"usage\\u0000":{"input_tokens":3},"usages":{"input_tokens":4},"Usage":{"input_tokens":5}}',
      '{"\\x75sage":{"input_tokens":3}}',
      '{"\\u00":1,"usage":{"input_tokens":3}}',
      '{"a\\"usage":{"input_tokens":3}}',
      // strings full of braces, brackets, quotes and backslashes
      '{"t":"{[\\"]}\\\\","u":["]","}"],"usage":{"input_tokens":1,"output_tokens":2},"z":"\\\\"}',
      '{"t":"\\\\\\\\","usage":{"input_tokens":1}}',
      // a repeated key: the last counts
      '{"usage":{"input_tokens":1,"output_tokens":1},"x":1,"usage":{"input_tokens":2}}',
      '{"usage":{"input_tokens":1},"usage":null}',
      '{"usage":{"input_tokens":1},"usage":"none"}',
      '{"eval_count":1,"eval_count":"2"}',
      '{"message":{"usage":{"input_tokens":5}},"message":"gone"}',
      '{"message":{"usage":{"input_tokens":5}},"message":{"content":"x"}}',
      '{"message":{"usage":{"input_tokens":5},"usage":{"output_tokens":6}}}',
      // the stream event shapes: usage inside message / response
      '{"type":"message_start","message":{"id":"m","usage":{"input_tokens":10,"cache_read_input_tokens":5,"output_tokens":1}}}',
      '{"type":"response.completed","response":{"id":"r","usage":{"input_tokens":10,"output_tokens":3}}}',
      '{"message":{"usage":{"input_tokens":10}},"usage":{"output_tokens":4}}',
      '{"message":[{"usage":{"input_tokens":10}}],"response":"text","usage":7}',
      '{"response":{"nested":{"usage":{"input_tokens":10}}}}',
      // white space everywhere, unicode
      ' \n\t\r{ \n"usage" \t:\r\n { "input_tokens" : 3 , "output_tokens" :4 } \n, "x" : [ ] , "y":{ }}\r\n\t ',
      '{"text":"日本語 🙂 naïve","usage":{"input_tokens":3,"output_tokens":4}}',
      // no usage, or not an object, or odd numbers
      '{"id":"x","content":[]}',
      '{"usage":null}',
      '{"usage":42,"eval_count":-1.5e3,"prompt_eval_count":0}',
      '{"usage":{"input_tokens":1e400,"output_tokens":-0.0}}',
      '{"usage":{"input_tokens":"12","output_tokens":true}}',
      '{}',
      // not JSON, or not an object: the scanner gives up
      '[{"usage":{"input_tokens":1}}]',
      '"usage"',
      '42',
      '',
      '   ',
      'null',
      '{"usage":{"input_tokens":1}}}',
      '{"usage":{"input_tokens":1}} x',
      '{"usage":{"input_tokens":1}}{}',
      '{"usage":{"input_tokens":1},}',
      '{"usage":{"input_tokens":1,}}',
      '{"usage":{"input_tokens":01}}',
      '{"usage":{"input_tokens":1.}}',
      '{"usage":{"input_tokens":+1}}',
      '{"usage":{"input_tokens":1},"x":tru}',
      '{"usage":{"input_tokens":1},"x":[1 2]}',
      '{"usage":{"input_tokens":1},"x":{"a" 1}}',
      '{"usage":{"input_tokens":1},"x":{"a":1:2}}',
      '{"usage":{"input_tokens":1},"x":[}',
      '{"usage":{"input_tokens":1},"x":{]}',
      '{"usage":{"input_tokens":1},"x":NaN}',
      '{"usage":{"input_tokens":1},"x":undefined}',
      '{"usage":{"input_tokens":1} "x":1}',
      '{"usage" {"input_tokens":1}}',
      '{"usage":{"input_tokens":1},1:2}',
      '{"usage":{"input_tokens":"\\q"}}',
      '\ufeff{"usage":{"input_tokens":1}}',
      '{"usage":{"input_tokens":1},"x":"\f"}'.replace('"\f"', '1\f'),
    ];
    for (const c of cases) agrees(c);
    // every truncation of a realistic answer
    const body = JSON.stringify(anthropic('Hi {"usage": 1} \\ "there"', { usage: { input_tokens: 9 } }), null, 1);
    for (let cut = 0; cut <= body.length; cut++) agrees(body.slice(0, cut), `cut at ${cut}`);
  });

  it('deep nesting', () => {
    agrees(`{"x":${'['.repeat(5000)}${']'.repeat(5000)},"usage":{"input_tokens":1}}`);
    agrees(`{"x":${'{"a":'.repeat(300)}1${'}'.repeat(300)},"message":${'{"a":['.repeat(200)}0${']}'.repeat(200)},"usage":{"input_tokens":1}}`);
    agrees(`{"x":${'['.repeat(5000)}${']'.repeat(4999)}}`);
  });

  it('every one-character change of an answer: the scan gives up exactly when the body is no longer a JSON object', () => {
    // strings here hold no backslash and the layout no control character, so no change can fault the inside of a
    // string (the one fault the scan does not see, below)
    const answers = FORMATS.map((f) => JSON.stringify(f('Hi, {there} [you] 12 true', { usage: { input_tokens: 5 }, list: [1, -2.5e-3, null, false] })).replace(/\\"/g, "'"));
    for (const a of answers) assert.equal(a.indexOf('\\'), -1);
    const alphabet = [...'{}[],:" 0123456789-+.eEtrufalsn'];
    fc.assert(
      fc.property(fc.constantFrom(...answers), fc.nat(), fc.constantFrom('insert', 'delete', 'replace'), fc.constantFrom(...alphabet), (body, at, op, ch) => {
        const i = at % body.length;
        const changed = op === 'insert' ? body.slice(0, i) + ch + body.slice(i) : op === 'delete' ? body.slice(0, i) + body.slice(i + 1) : body.slice(0, i) + ch + body.slice(i + 1);
        agrees(changed);
      }),
      { numRuns: 3000 },
    );
  });

  it('the one fault not seen: inside a string passed over (JSON.parse throws; the usage is read)', () => {
    const raw = '{"content":"a\nb","usage":{"input_tokens":3}}';
    assert.deepEqual(fullParse(Buffer.from(raw)), {});
    assert.deepEqual(scanned(Buffer.from(raw)), { usage: { inputTokens: 3 }, scanned: true });
    // in a value that is read, the fault is seen: the caller decodes the body whole, as before
    assert.deepEqual(scanned(Buffer.from('{"usage":{"input_tokens":3,"note":"a\nb"}}')), { usage: {}, scanned: false });
  });
});
