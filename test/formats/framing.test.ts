// SSE / NDJSON framing, <think> splitting, signature wrapping: the incremental pieces under every decoder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineSplitter, NdjsonParser, SseParser } from '../../main/formats/sse.js';
import { ThinkSplitter, packSignature, parseDataUrl, splitThink, unpackSignature } from '../../main/formats/canonical.js';
import { chunked } from './helpers.js';

test('SSE parser gives the same events for every chunking, CRLF, comments and missing blank lines', () => {
  const text =
    ': keep-alive comment\r\n' +
    'event: message_start\r\ndata: {"a":1}\r\n\r\n' +
    'data:{"b":"x\\ny"}\n\n' + // no space after the colon
    'id: 7\nretry: 100\ndata: {"c":3}\n' + // no blank line before the next event
    'data: [DONE]\n\n' +
    'data: {"tail":true}'; // last line without newline
  const expect = [
    ['message_start', '{"a":1}'],
    [null, '{"b":"x\\ny"}'],
    [null, '{"c":3}'],
    [null, '[DONE]'],
    [null, '{"tail":true}'],
  ];
  for (const size of [1, 2, 3, 5, 7, 13, 1000]) {
    const got: Array<[string | null, string]> = [];
    const p = new SseParser((e, d) => got.push([e, d]));
    for (const c of chunked(text, size)) p.push(c);
    p.end();
    assert.deepEqual(got, expect, `chunk size ${size}`);
  }
});

test('line splitter does not rescan: a long line split into many pieces is joined once', () => {
  const lines: string[] = [];
  const s = new LineSplitter((l) => lines.push(l));
  const long = 'x'.repeat(100_000);
  for (const c of chunked(long, 10)) s.push(c);
  s.push('\nnext\n');
  assert.deepEqual(lines, [long, 'next']);
});

test('NDJSON parser skips blank and broken lines and keeps a final line without newline', () => {
  const got: unknown[] = [];
  const p = new NdjsonParser((v) => got.push(v));
  for (const c of chunked('{"a":1}\n\n{broken\n{"b":2}\r\n{"c":3}', 4)) p.push(c);
  p.end();
  assert.deepEqual(got, [{ a: 1 }, { b: 2 }, { c: 3 }]);
});

test('<think> split across chunks at every position', () => {
  const full = '  <think>\nI am reasoning about </thin and <b>.</think>\n\nThe answer is 42.';
  for (let size = 1; size <= full.length; size++) {
    let think = '';
    let text = '';
    const s = new ThinkSplitter(
      (t) => (think += t),
      (t) => (text += t),
    );
    for (const c of chunked(full, size)) s.push(c);
    s.flush();
    assert.equal(think, 'I am reasoning about </thin and <b>.', `size ${size}`);
    assert.equal(text, 'The answer is 42.', `size ${size}`);
  }
});

test('<think> only counts at the start; text mentioning it stays text', () => {
  assert.deepEqual(splitThink('Use the <think> tag like <think>this</think>.'), { text: 'Use the <think> tag like <think>this</think>.' });
  assert.deepEqual(splitThink('<thinking is fun'), { text: '<thinking is fun' });
  assert.deepEqual(splitThink('<think>unterminated'), { think: 'unterminated', text: '' });
  assert.deepEqual(splitThink('<thi'), { text: '<thi' });
});

test('signatures: genuine ones pass untouched, anything else is wrapped and unwraps exactly', () => {
  assert.equal(packSignature('EqQBCkYIARgCKkA', undefined), 'EqQBCkYIARgCKkA');
  assert.deepEqual(unpackSignature('EqQBCkYIARgCKkA'), { signature: 'EqQBCkYIARgCKkA' });
  const rc = packSignature(undefined, { k: 'rc' });
  assert.match(rc, /^r67v1\./);
  assert.deepEqual(unpackSignature(rc), { carrier: { k: 'rc' } });
  const or = packSignature('sig', { k: 'or', d: [{ type: 'reasoning.encrypted', data: 'xyz', format: 'openai-responses-v1' }] });
  assert.deepEqual(unpackSignature(or), { signature: 'sig', carrier: { k: 'or', d: [{ type: 'reasoning.encrypted', data: 'xyz', format: 'openai-responses-v1' }] } });
  assert.deepEqual(unpackSignature(packSignature(undefined, undefined, 'REDACTED')), { redacted: 'REDACTED' });
  assert.deepEqual(unpackSignature('r67v1.!!!not-base64-json'), {});
});

test('data URLs', () => {
  assert.deepEqual(parseDataUrl('data:image/png;base64,iVBOR'), { mediaType: 'image/png', data: 'iVBOR' });
  assert.equal(parseDataUrl('https://x/y.png'), undefined);
  assert.equal(parseDataUrl('data:text/plain,hello'), undefined);
});
