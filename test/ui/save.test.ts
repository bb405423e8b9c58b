// Saving the editor's draft back to config.toml: nothing lost, comments kept, atomic, validated, conflicts refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, lstatSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { parse } from 'smol-toml';
import {
  canon,
  ConflictError,
  InvalidEditError,
  loadEditorState,
  planEdit,
  renderToml,
  revisionOf,
  saveDraft,
} from '../../main/config/save.js';
import { parseConfig } from '../../main/config/load.js';
import type { ConfigDraft, ProviderDraft } from '../../main/ui/types.js';

const SAMPLE = `# router67 config — hand written
intercept_hosts = [
  "api.anthropic.com", # Claude
  "api.openai.com",
  "openrouter.ai",
]
future_top_level = "kept"

[daemon]
listen          = "127.0.67.1:443"   # loopback IP + :443
log_level       = "info"
unknown_daemon_knob = 7

# First choice: the real thing
[[providers]]
name     = "anthropic"
base_url = "https://api.anthropic.com"
auth     = { header = "x-api-key", value_env = "ANTHROPIC_API_KEY", note = "auth extra" }
extra_headers = { "anthropic-version" = "2023-06-01" }
retries_hint = 3 # unknown provider key

[providers.available_models]
"claude-sonnet-4.6" = "claude-sonnet-4-5-20250929" # pinned

# Fallback
[[providers]]
name     = "openrouter"
base_url = "https://openrouter.ai/api"
auth     = { header = "Authorization", prefix = "Bearer ", value_env = "OPENROUTER_API_KEY" }

[providers.available_models]
"claude-sonnet-4.6" = "anthropic/claude-sonnet-4.6"
`;

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'r67-save-'));
}

function setup(text = SAMPLE): { dir: string; file: string } {
  const dir = tmp();
  const file = join(dir, 'config.toml');
  writeFileSync(file, text, { mode: 0o600 });
  return { dir, file };
}

function draftOf(file: string): ConfigDraft {
  const s = loadEditorState(file);
  assert.equal(s.blocked, undefined);
  return { revision: s.revision, intercept_hosts: s.intercept_hosts, providers: s.providers };
}

function newProvider(over: Partial<ProviderDraft> = {}): ProviderDraft {
  return {
    name: 'local',
    base_url: 'http://127.0.0.1:11434',
    format: 'ollama',
    auth: { source: 'none', header: '', prefix: '', value_env: '', keychain: '', oauth: '' },
    extra_headers: [],
    models: [['llama', 'llama3.2:3b']],
    ...over,
  };
}

test('saving an unchanged draft writes the file back byte for byte', async (t) => {
  const { dir, file } = setup();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const r = await saveDraft(file, draftOf(file));
  assert.equal(readFileSync(file, 'utf8'), SAMPLE);
  assert.equal(r.revision, revisionOf(SAMPLE));
});

test('editing one provider keeps comments, unknown keys and every other block', async (t) => {
  const { dir, file } = setup();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const d = draftOf(file);
  d.providers[1]!.base_url = 'https://openrouter.ai/api/v2';
  d.providers[1]!.models.push(['gpt-5', 'openai/gpt-5']);
  await saveDraft(file, d);
  const text = readFileSync(file, 'utf8');
  // untouched parts survive verbatim, comments included
  assert.ok(text.startsWith(SAMPLE.slice(0, SAMPLE.indexOf('# Fallback'))), text);
  assert.match(text, /# Fallback\n\[\[providers\]\]/);
  const doc = parse(text) as any;
  assert.equal(doc.future_top_level, 'kept');
  assert.equal(doc.daemon.unknown_daemon_knob, 7);
  assert.equal(doc.providers[0].retries_hint, 3);
  assert.equal(doc.providers[0].auth.note, 'auth extra');
  assert.equal(doc.providers[1].base_url, 'https://openrouter.ai/api/v2');
  assert.deepEqual({ ...doc.providers[1].available_models }, {
    'claude-sonnet-4.6': 'anthropic/claude-sonnet-4.6',
    'gpt-5': 'openai/gpt-5',
  });
  // and the core accepts it
  const cfg = parseConfig(text, file);
  assert.equal(cfg.providers.length, 2);
});

test('unknown keys of an edited provider are kept', async (t) => {
  const { dir, file } = setup();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const d = draftOf(file);
  d.providers[0]!.auth.value_env = 'CLAUDE_KEY';
  await saveDraft(file, d);
  const doc = parse(readFileSync(file, 'utf8')) as any;
  assert.equal(doc.providers[0].retries_hint, 3);
  assert.equal(doc.providers[0].auth.note, 'auth extra');
  assert.equal(doc.providers[0].auth.value_env, 'CLAUDE_KEY');
  assert.equal(doc.providers[0].extra_headers['anthropic-version'], '2023-06-01');
  // lines that did not change keep their own spelling and comments
  const text = readFileSync(file, 'utf8');
  assert.match(text, /# First choice: the real thing\n\[\[providers\]\]\nname     = "anthropic"\n/);
  assert.match(text, /\nretries_hint = 3 # unknown provider key\n/);
  assert.match(text, /"claude-sonnet-4-5-20250929" # pinned/);
});

test('reordering providers changes the fallback order and moves their comments along', async (t) => {
  const { dir, file } = setup();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const d = draftOf(file);
  d.providers.reverse();
  await saveDraft(file, d);
  const text = readFileSync(file, 'utf8');
  const cfg = parseConfig(text, file);
  assert.deepEqual(
    cfg.providers.map((p) => p.name),
    ['openrouter', 'anthropic'],
  );
  assert.ok(text.indexOf('# Fallback') < text.indexOf('# First choice'));
  assert.match(text, /"claude-sonnet-4-5-20250929" # pinned/);
});

test('a new provider with a keychain secret: the key goes to beforeWrite, never into the file', async (t) => {
  const { dir, file } = setup();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const d = draftOf(file);
  d.providers.push(
    newProvider({
      name: 'groq',
      base_url: 'https://api.groq.com/openai',
      format: 'openai',
      auth: { source: 'keychain', header: 'Authorization', prefix: 'Bearer ', value_env: '', keychain: '', oauth: '', newSecret: 'gsk_SECRET_123' },
      extra_headers: [['x-team', 'a "quoted" value']],
      models: [['llama-70b', 'llama-3.3-70b-versatile']],
    }),
  );
  let stored: unknown;
  await saveDraft(file, d, {
    hasKeychainSecret: () => false,
    beforeWrite: async (s) => {
      stored = s;
      assert.equal(readFileSync(file, 'utf8'), SAMPLE, 'the file is written after the keychain');
    },
  });
  assert.deepEqual(stored, [{ account: 'groq', value: 'gsk_SECRET_123', path: ['providers', 2, 'auth', 'newSecret'] }]);
  const text = readFileSync(file, 'utf8');
  assert.ok(!text.includes('gsk_SECRET_123'));
  const cfg = parseConfig(text, file);
  const p = cfg.providers[2]!;
  assert.equal(p.auth?.keychain, 'groq');
  assert.equal(p.extra_headers['x-team'], 'a "quoted" value');
  assert.deepEqual(p.available_models, { 'llama-70b': 'llama-3.3-70b-versatile' });
  assert.ok(text.startsWith(SAMPLE.trimEnd()), 'existing text kept as is');
});

test('an invalid base URL is reported on its field and nothing is written', async (t) => {
  const { dir, file } = setup();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const before = statSync(file);
  const d = draftOf(file);
  d.providers[0]!.base_url = 'not a url';
  let called = false;
  await assert.rejects(
    saveDraft(file, d, { beforeWrite: async () => void (called = true) }),
    (e: unknown) => {
      assert.ok(e instanceof InvalidEditError);
      assert.deepEqual(e.issues.map((i) => i.path), [['providers', 0, 'base_url']]);
      assert.match(e.issues[0]!.message, /absolute URL/);
      return true;
    },
  );
  assert.equal(called, false);
  assert.equal(readFileSync(file, 'utf8'), SAMPLE);
  assert.equal(statSync(file).mtimeMs, before.mtimeMs);
  assert.deepEqual(readdirSync(dir), ['config.toml'], 'no temp file left');
});

test('issues name the row of a model map or header table', () => {
  const d: ConfigDraft = {
    revision: revisionOf(''),
    intercept_hosts: ['api.openai.com', 'bad host'],
    providers: [
      newProvider({
        extra_headers: [['bad header', 'x']],
        models: [
          ['a', 'b'],
          ['a', 'c'],
          ['x', ''],
        ],
      }),
      newProvider({ name: 'local' }),
    ],
  };
  const r = planEdit('', 'config.toml', d);
  assert.equal(r.ok, false);
  const paths = (r as { issues: { path: unknown[] }[] }).issues.map((i) => i.path.join('.')).sort();
  assert.deepEqual(paths, [
    'intercept_hosts.1',
    'providers.0.extra_headers.0.0',
    'providers.0.models.1.0',
    'providers.0.models.2.1',
    'providers.1.name',
  ]);
});

test('a file changed since it was loaded is a conflict; the other edit is kept', async (t) => {
  const { dir, file } = setup();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const d = draftOf(file);
  const other = SAMPLE.replace('log_level       = "info"', 'log_level       = "debug"');
  writeFileSync(file, other);
  d.providers[0]!.name = 'claude';
  await assert.rejects(saveDraft(file, d), ConflictError);
  assert.equal(readFileSync(file, 'utf8'), other);
});

test('a conflict that appears while the keychain is written is still caught', async (t) => {
  const { dir, file } = setup();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const d = draftOf(file);
  d.providers[0]!.name = 'claude';
  await assert.rejects(
    saveDraft(file, d, { beforeWrite: async () => writeFileSync(file, SAMPLE + '\n# edited\n') }),
    ConflictError,
  );
  assert.equal(readFileSync(file, 'utf8'), SAMPLE + '\n# edited\n');
});

test('the file mode is kept; a new file is 0600; a symlink stays a symlink', async (t) => {
  const { dir, file } = setup();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  chmodSync(file, 0o640);
  const d = draftOf(file);
  d.providers.pop();
  await saveDraft(file, d);
  assert.equal(statSync(file).mode & 0o777, 0o640);
  assert.equal((parse(readFileSync(file, 'utf8')) as any).providers.length, 1);

  const fresh = join(dir, 'new', 'config.toml');
  const nd = draftOf(fresh);
  assert.equal(nd.providers.length, 0);
  nd.providers.push(newProvider());
  await saveDraft(fresh, nd);
  assert.equal(statSync(fresh).mode & 0o777, 0o600);
  const cfg = parseConfig(readFileSync(fresh, 'utf8'), fresh);
  assert.equal(cfg.providers[0]!.name, 'local');
  assert.equal((parse(readFileSync(fresh, 'utf8')) as any).intercept_hosts, undefined, 'defaults are not written out');

  const link = join(dir, 'link.toml');
  symlinkSync(file, link);
  const ld = draftOf(link);
  ld.providers[0]!.name = 'renamed';
  await saveDraft(link, ld);
  assert.ok(lstatSync(link).isSymbolicLink());
  assert.match(readFileSync(file, 'utf8'), /name = "renamed"/);
});

test('intercept hosts: a multi-line array is replaced in place, the rest kept', async (t) => {
  const { dir, file } = setup();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const d = draftOf(file);
  d.intercept_hosts = ['api.anthropic.com', 'api.mistral.ai'];
  await saveDraft(file, d);
  const text = readFileSync(file, 'utf8');
  assert.ok(text.startsWith('# router67 config — hand written\nintercept_hosts = [ "api.anthropic.com", "api.mistral.ai" ]\nfuture_top_level = "kept"\n'), text);
  assert.ok(text.endsWith(SAMPLE.slice(SAMPLE.indexOf('\n[daemon]'))));
});

test('CRLF files stay CRLF', async (t) => {
  const { dir, file } = setup(SAMPLE.replace(/\n/g, '\r\n'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const d = draftOf(file);
  d.providers[0]!.name = 'claude';
  await saveDraft(file, d);
  const text = readFileSync(file, 'utf8');
  assert.ok(!/[^\r]\n/.test(text), 'every newline is CRLF');
  assert.equal(parseConfig(text, file).providers[0]!.name, 'claude');
});

test('an unusual layout falls back to a plain rendering without losing a setting', async (t) => {
  const text = `providers = [ { name = "a", base_url = "http://127.0.0.1:1", odd = [1, 2] } ]\n[daemon]\nlog_level = "warn"\n`;
  const { dir, file } = setup(text);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const d = draftOf(file);
  d.providers.push(newProvider({ name: 'b' }));
  await saveDraft(file, d);
  const doc = parse(readFileSync(file, 'utf8')) as any;
  assert.deepEqual(doc.providers[0].odd, [1, 2]);
  assert.equal(doc.providers[1].name, 'b');
  assert.equal(doc.daemon.log_level, 'warn');
});

test('a TOML syntax error blocks the editor instead of guessing', async (t) => {
  const { dir, file } = setup('[[providers]\nname = "x"\n');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const s = loadEditorState(file);
  assert.match(s.blocked ?? '', /config\.toml:1:\d+: TOML syntax error/);
});

test('any provider values round-trip exactly (property)', () => {
  const text = (s?: string) => fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }).map((x) => (s ?? '') + x);
  const provider = fc.record({
    name: text('p'),
    path: fc.string({ unit: 'grapheme-ascii', maxLength: 8 }).map(encodeURIComponent),
    prefix: fc.string({ maxLength: 6 }),
    models: fc.uniqueArray(fc.tuple(text('m'), text('u')), { selector: ([k]) => k, maxLength: 4 }),
    header: fc.string({ unit: 'grapheme', maxLength: 10 }),
  });
  fc.assert(
    fc.property(fc.uniqueArray(provider, { selector: (p) => p.name.trim(), minLength: 1, maxLength: 4 }), fc.nat(3), (ps, keep) => {
      const raw = parse(SAMPLE) as Record<string, unknown>;
      const d: ConfigDraft = {
        revision: revisionOf(SAMPLE),
        intercept_hosts: ['api.openai.com'],
        providers: ps.map((p, i) =>
          newProvider({
            ...(i === 0 && keep < 2 ? { origin: keep } : {}),
            name: p.name,
            base_url: `https://example.com/${p.path}`,
            auth: { source: 'env', header: 'Authorization', prefix: p.prefix, value_env: 'K', keychain: '', oauth: '' },
            extra_headers: [['x-h', p.header]],
            models: p.models,
          }),
        ),
      };
      const r = planEdit(SAMPLE, 'c.toml', d);
      assert.ok(r.ok, JSON.stringify(!r.ok && r.issues));
      assert.equal(canon(parse(r.text)), canon(r.target));
      assert.equal(canon(parse(renderToml(SAMPLE, raw, r.target))), canon(r.target));
      const cfg = parseConfig(r.text, 'c.toml');
      assert.deepEqual(
        cfg.providers.map((p) => p.name),
        ps.map((p) => p.name.trim()),
      );
    }),
    { numRuns: 150 },
  );
});
