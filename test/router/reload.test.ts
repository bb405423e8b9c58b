// Hot reload: a valid edit applies to new requests without dropping in-flight ones; a bad one keeps the last good config.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import type { ConfigIssue } from '../../main/config/load.js';
import { eventually, provider, startCore, type TestCore } from '../helpers/core.js';
import { startMockUpstream, type MockUpstream } from '../helpers/mock-upstream.js';

describe('hot reload', () => {
  let a: MockUpstream, b: MockUpstream;
  let t: TestCore;
  let client: Anthropic;
  before(async () => {
    a = await startMockUpstream('alpha');
    b = await startMockUpstream('beta');
    t = await startCore(provider('alpha', a.url, { m: 'alpha-m' }));
    client = new Anthropic({ baseURL: t.url, apiKey: 'x', maxRetries: 0 });
  });
  after(async () => {
    await t.stop();
    await a.close();
    await b.close();
  });

  const ask = async () => {
    const r = await client.messages.create({ model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] });
    return r.content[0]?.type === 'text' ? r.content[0].text : '';
  };

  it('applies a valid edit to the next request, letting an in-flight stream finish', async () => {
    assert.equal(await ask(), 'Hello from alpha!');
    a.words = Array.from({ length: 30 }, (_, i) => ` w${i}`);
    let release!: () => void;
    a.gate = new Promise<void>((r) => (release = r)); // alpha holds the stream open after its first word
    const s = client.messages.stream({ model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] });
    let ended = false;
    s.on('end', () => (ended = true));
    await new Promise<void>((r) => s.once('text', () => r()));
    const changed = new Promise((r) => t.core.once('config', r));
    // an editor-style save: write a new file and rename it over the old one
    writeFileSync(`${t.configPath}.tmp`, provider('beta', b.url, { m: 'beta-m' }) + provider('alpha', a.url, { m: 'alpha-m' }));
    renameSync(`${t.configPath}.tmp`, t.configPath);
    await changed;
    // the reload happened while the stream was open, and new requests already take the new config
    assert.equal(ended, false, 'the stream is still open after the reload');
    assert.equal(await ask(), 'Hello from beta!');
    assert.equal(ended, false);
    release();
    const done = await s.finalMessage();
    assert.equal(done.content[0]?.type === 'text' && done.content[0].text.trim().split(/\s+/).length, 30);
    assert.equal(await ask(), 'Hello from beta!');
  });

  it('keeps the last good config on an invalid edit and reports file, line and key', async () => {
    const good = readFileSync(t.configPath, 'utf8');
    const reported = new Promise<ConfigIssue[]>((r) => t.core.once('config-error', r));
    writeFileSync(t.configPath, good.replace('base_url = "' + b.url + '"', 'base_url = "nonsense"'));
    const issues = await reported;
    assert.equal(issues[0]!.file, t.configPath);
    assert.equal(issues[0]!.path, 'providers[0].base_url');
    assert.equal(issues[0]!.line, 4);
    assert.equal(await ask(), 'Hello from beta!', 'the last good config keeps routing');
    assert.equal(t.core.status().configErrors.length, 1);
    // fixing the file clears the error
    writeFileSync(t.configPath, good);
    await eventually(() => assert.equal(t.core.status().configErrors.length, 0));
  });

  it('reports a missing env var as a warning and skips that provider at request time', async () => {
    const changed = new Promise((r) => t.core.once('config', r));
    writeFileSync(
      t.configPath,
      `[[providers]]\nname = "envy"\nbase_url = "${a.url}"\nauth = { header = "x-api-key", value_env = "ROUTER67_TEST_UNSET_KEY" }\n[providers.available_models]\nm = "x"\n` +
        provider('beta', b.url, { m: 'beta-m' }),
    );
    await changed;
    assert.match(t.core.status().warnings.join('\n'), /envy: environment variable ROUTER67_TEST_UNSET_KEY is not set/);
    assert.equal(t.core.status().providers[0]!.auth, 'missing');
    const before = a.requests.length;
    assert.equal(await ask(), 'Hello from beta!');
    assert.equal(a.requests.length, before);
    assert.match(t.core.log.recent(1)[0]!.attempts[0]!.error ?? '', /ROUTER67_TEST_UNSET_KEY is not set/);
  });
});
