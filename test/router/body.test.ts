// Finding and rewriting the top-level model without touching any other byte.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { findModel, rewriteModel } from '../../main/proxy/body.js';

const find = (s: string) => findModel(Buffer.from(s))?.model;

describe('request body model', () => {
  it('finds the top-level model only', () => {
    assert.equal(find('{"model":"a"}'), 'a');
    assert.equal(find(' \n{ "x" : {"model":"nested"}, "model" : "top" }'), 'top');
    assert.equal(find('{"messages":[{"content":"\\"model\\": \\"fake\\""}],"model":"real"}'), 'real');
    assert.equal(find('{"a":"\\\\","model":"after-escaped-backslash"}'), 'after-escaped-backslash');
    assert.equal(find('{"model":"caf\\u00e9"}'), 'café');
    assert.equal(find('{"tools":[{"name":"model"}],"model":"m"}'), 'm');
    assert.equal(find('{"stream":true}'), undefined);
    assert.equal(find('{"model":42}'), undefined);
    assert.equal(find('[{"model":"a"}]'), undefined);
    assert.equal(find('not json'), undefined);
    assert.equal(find('{"model":"unterminated'), undefined);
  });

  it('flags a second top-level "model" key, however it is spelled, and only at the top level', () => {
    const dup = (s: string) => findModel(Buffer.from(s))?.duplicate === true;
    assert.equal(dup('{"model":"a","messages":[],"model":"b"}'), true);
    assert.equal(dup('{"model":"a","model":42}'), true);
    assert.equal(dup('{"mod\\u0065l":"a","model":"b"}'), true);
    assert.equal(dup('{"model":"a","\\u006dodel":"b"}'), true);
    assert.equal(find('{"mod\\u0065l":"a","x":1}'), 'a', 'an escaped key is the model for every JSON parser');
    assert.equal(dup('{"model":"a","tools":[{"name":"model","input_schema":{"properties":{"model":{"type":"string"}}}}]}'), false);
    assert.equal(dup('{"model":"a","messages":[{"content":"say \\"model\\" and \\\\u006d"}],"meta":{"model":"x"}}'), false);
    assert.equal(dup('{"model":"a","models":["model"],"modelx":1}'), false);
    assert.equal(dup('{"model":"a","x":"unterminated'), false);
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), fc.string(), (obj, model) => {
        const rest = Object.fromEntries(Object.entries(obj).filter(([k]) => k !== 'model' && k !== '__proto__'));
        const text = JSON.stringify({ model, ...rest });
        const f = findModel(Buffer.from(text));
        assert.equal(f?.model, model);
        assert.equal(f?.duplicate, undefined);
        const twice = findModel(Buffer.from(text.replace(/}$/, ',"model":"again"}')));
        assert.equal(twice?.duplicate, true);
      }),
      { numRuns: 300 },
    );
  });

  it('rewrites only the model value, byte for byte', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), fc.string(), fc.string(), (obj, model, upstream) => {
        const rest = Object.fromEntries(Object.entries(obj).filter(([k]) => k !== 'model' && k !== 'tail' && k !== '__proto__'));
        const text = JSON.stringify({ ...rest, model, tail: 1 }, null, 1);
        const buf = Buffer.from(text);
        const f = findModel(buf);
        assert.ok(f);
        assert.equal(f.model, model);
        const out = rewriteModel(buf, f, upstream).toString();
        const marker = JSON.stringify(model) + ',\n "tail"';
        assert.equal(out, text.replace(marker, () => JSON.stringify(upstream) + ',\n "tail"'));
        assert.deepEqual(JSON.parse(out), { ...JSON.parse(text), model: upstream });
      }),
      { numRuns: 300 },
    );
  });
});
