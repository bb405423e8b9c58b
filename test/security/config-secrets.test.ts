// Secrets in config.toml and the window, through the daemon's real admin HTTP API (GET/PUT /api/ui/config):
// a base_url credential parameter (`?key=`) reaches the window only as set and is kept on save; a credential typed
// into the window as an extra header goes to the keychain (the file holds `{ keychain = "…" }`), is sent upstream
// from there, and is refused, with nothing written, when there is no keychain; a config holding an inline secret
// is written 0600.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'smol-toml';
import { attachUi } from '../../main/ui/attach.js';
import { parseConfig } from '../../main/config/load.js';
import { SecretStore } from '../../main/secrets/store.js';
import type { ConfigDraft, EditorState } from '../../main/ui/types.js';
import { startCore, type TestCore } from '../helpers/core.js';
import { memoryKeytar } from '../helpers/keyring.js';

const QKEY = `queryKey${randomBytes(12).toString('hex')}`;
const TYPED = `TypedInWindow${randomBytes(12).toString('hex')}`;
const posix = process.platform !== 'win32';

interface Seen {
  url: string;
  headers: IncomingHttpHeaders;
}

/** An OpenAI-style upstream that answers every chat request and remembers what it was sent. */
async function upstream(): Promise<{ url: string; seen: Seen[]; close(): Promise<void> }> {
  const seen: Seen[] = [];
  const srv: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      seen.push({ url: req.url ?? '', headers: req.headers });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'x', object: 'chat.completion', model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }] }));
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise((r) => (srv.closeAllConnections(), srv.close(() => r()))),
  };
}

/** The admin endpoint's window API, as the token holder calls it. */
function adminApi(t: TestCore) {
  const token = readFileSync(t.core.paths.adminToken, 'utf8').trim();
  const url = (p: string) => new URL(p, t.core.admin!.url);
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'x-router67': '1' };
  return {
    async text(path: string): Promise<string> {
      const r = await fetch(url(path), { headers });
      assert.equal(r.status, 200, path);
      return r.text();
    },
    async load(): Promise<{ text: string; draft: ConfigDraft }> {
      const text = await this.text('/api/ui/config');
      const { path: _p, keychain: _k, ...draft } = JSON.parse(text) as EditorState;
      return { text, draft };
    },
    async save(draft: ConfigDraft): Promise<{ ok: boolean; kind?: string; issues?: { path: (string | number)[]; message: string }[] }> {
      const r = await fetch(url('/api/ui/config'), { method: 'PUT', headers, body: JSON.stringify(draft) });
      assert.equal(r.status, 200);
      return (await r.json()) as { ok: boolean };
    },
  };
}

const modeOf = (file: string) => statSync(file).mode & 0o777;

describe('config secrets through the admin API', () => {
  let up: Awaited<ReturnType<typeof upstream>>;
  let t: TestCore;
  let store: SecretStore;
  let api: ReturnType<typeof adminApi>;

  const fileProvider = () =>
    (JSON.parse(JSON.stringify(parse(readFileSync(t.configPath, 'utf8')))) as { providers: { base_url: string; extra_headers?: Record<string, unknown> }[] }).providers[0]!;
  const chat = async () => {
    const r = await fetch(`${t.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }) });
    assert.equal(r.status, 200, await r.clone().text());
    await r.text();
    return up.seen[up.seen.length - 1]!;
  };

  before(async () => {
    up = await upstream();
    store = await SecretStore.open({ keytar: memoryKeytar() });
    t = await startCore(
      `[[providers]]
name = "gem"
base_url = "${up.url}/v1beta/openai?alt=sse&key=${QKEY}"
format = "openai"
extra_headers = { "x-plain" = "1" }

[providers.available_models]
m = "m-up"
`,
      { secrets: store.resolver() },
    );
    chmodSync(t.configPath, 0o644);
    attachUi(t.core, { app: 'daemon', caCheck: false, secrets: store });
    api = adminApi(t);
  });
  after(async () => {
    await t?.stop();
    await up?.close();
  });

  it('the window gets base_url with ?key= shown as set; a save keeps the stored value; the file becomes 0600', async () => {
    const { text, draft } = await api.load();
    assert.ok(!text.includes(QKEY), 'GET /api/ui/config holds no key');
    assert.equal(draft.providers[0]!.base_url, `${up.url}/v1beta/openai?alt=sse&key=••••••••`);
    assert.deepEqual(draft.providers[0]!.hiddenParams, ['key']);
    for (const path of ['/api/ui/status', '/api/ui/log']) assert.ok(!(await api.text(path)).includes(QKEY), path);

    // an unrelated edit: the key stays in the file
    draft.providers[0]!.models = [['m', 'm-up2']];
    const r = await api.save(draft);
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.equal(fileProvider().base_url, `${up.url}/v1beta/openai?alt=sse&key=${QKEY}`);
    if (posix) assert.equal(modeOf(t.configPath), 0o600, 'a config holding a secret is 0600 after a save');
    assert.ok(!(await api.text('/api/ui/config')).includes(QKEY));

    // the placeholder where no value is stored (a new provider) is an error on its field, nothing written
    const before = readFileSync(t.configPath, 'utf8');
    const again = (await api.load()).draft;
    again.providers.push({ ...again.providers[0]!, name: 'copy', hiddenParams: undefined, models: [['c', 'c']] });
    delete again.providers[1]!.origin;
    delete again.providers[1]!.hiddenParams;
    const bad = await api.save(again);
    assert.equal(bad.ok, false);
    assert.deepEqual(bad.issues?.map((i) => i.path), [['providers', 1, 'base_url']]);
    assert.match(bad.issues![0]!.message, /"key" is hidden in the window and none is stored/);
    assert.equal(readFileSync(t.configPath, 'utf8'), before);

    // a value typed over the placeholder replaces the stored one
    const typed = (await api.load()).draft;
    typed.providers[0]!.base_url = `${up.url}/v1beta/openai?alt=sse&key=queryKeyNew0123456789`;
    assert.equal((await api.save(typed)).ok, true);
    assert.equal(fileProvider().base_url, `${up.url}/v1beta/openai?alt=sse&key=queryKeyNew0123456789`);
    const back = await api.load();
    assert.ok(!back.text.includes('queryKeyNew0123456789'));
    assert.equal(back.draft.providers[0]!.base_url, `${up.url}/v1beta/openai?alt=sse&key=••••••••`);
    back.draft.providers[0]!.base_url = `${up.url}/v1beta/openai?alt=sse&key=${QKEY}`;
    assert.equal((await api.save(back.draft)).ok, true);
  });

  it('a credential typed as an extra header goes to the keychain, is sent from there and never shown back', async () => {
    const { draft } = await api.load();
    draft.providers[0]!.extra_headers = [
      ['x-plain', '1'],
      ['x-upstream-secret', TYPED],
    ];
    const r = await api.save(draft);
    assert.equal(r.ok, true, JSON.stringify(r));
    const text = readFileSync(t.configPath, 'utf8');
    assert.ok(!text.includes(TYPED), 'the typed value is not in config.toml');
    assert.deepEqual(fileProvider().extra_headers, { 'x-plain': '1', 'x-upstream-secret': { keychain: 'gem/x-upstream-secret' } });
    assert.match(text, /x-upstream-secret = \{ keychain = "gem\/x-upstream-secret" \}/);
    assert.equal(store.get('gem/x-upstream-secret'), TYPED);

    // sent upstream from the keychain; redacted in the log and the window
    const seen = await chat();
    assert.equal(seen.headers['x-upstream-secret'], TYPED);
    assert.equal(seen.headers['x-plain'], '1');
    const loaded = await api.load();
    assert.ok(!loaded.text.includes(TYPED));
    assert.deepEqual(loaded.draft.providers[0]!.extra_headers, [
      ['x-plain', '1'],
      ['x-upstream-secret', ''],
    ]);
    assert.deepEqual(loaded.draft.providers[0]!.hiddenHeaders, ['x-upstream-secret']);
    const log = await api.text('/api/ui/log');
    assert.ok(!log.includes(TYPED));
    const id = (t.core.log.recent(1)[0]!).id;
    assert.ok(!(await api.text(`/api/ui/log/${id}`).catch(() => '')).includes(TYPED));
    t.core.log.flush();
    assert.ok(!readFileSync(join(t.core.paths.logs, 'requests.jsonl'), 'utf8').includes(TYPED));

    // saved as loaded: the reference stays; a new value replaces the keychain entry, not the reference
    assert.equal((await api.save(loaded.draft)).ok, true);
    assert.deepEqual(fileProvider().extra_headers!['x-upstream-secret'], { keychain: 'gem/x-upstream-secret' });
    const next = (await api.load()).draft;
    next.providers[0]!.extra_headers[1] = ['x-upstream-secret', `${TYPED}2`];
    assert.equal((await api.save(next)).ok, true);
    assert.equal(store.get('gem/x-upstream-secret'), `${TYPED}2`);
    assert.equal((await chat()).headers['x-upstream-secret'], `${TYPED}2`);

    // the header removed: its keychain entry goes too
    const gone = (await api.load()).draft;
    gone.providers[0]!.extra_headers = [['x-plain', '1']];
    assert.equal((await api.save(gone)).ok, true);
    assert.equal(store.get('gem/x-upstream-secret'), undefined);
  });
});

describe('a credential header typed without a keychain', () => {
  it('is refused on its field with the keychain message; the file is left as it was', async (t) => {
    const core = await startCore(`[[providers]]
name = "p"
base_url = "http://127.0.0.1:9"
extra_headers = { "anthropic-version" = "2023-06-01" }
`);
    t.after(() => core.stop());
    attachUi(core.core, { app: 'daemon', caCheck: false, secrets: SecretStore.none('no Secret Service is running') });
    const api = adminApi(core);
    const before = readFileSync(core.configPath, 'utf8');
    const { draft } = await api.load();
    draft.providers[0]!.extra_headers.push(['x-team-token', TYPED]);
    const r = await api.save(draft);
    assert.equal(r.ok, false);
    assert.equal(r.kind, 'invalid');
    assert.deepEqual(r.issues!.map((i) => i.path), [['providers', 0, 'extra_headers', 1, 1]]);
    assert.match(r.issues![0]!.message, /^the OS keychain is not available: no Secret Service is running\. A credential header is never written to config\.toml \(nothing was saved\)\.$/);
    assert.ok(!JSON.stringify(r).includes(TYPED));
    assert.equal(readFileSync(core.configPath, 'utf8'), before);
  });
});

describe('extra headers kept in the keychain, in the config', () => {
  it('the schema takes { keychain = "account" } and nothing else but text', () => {
    const ok = parseConfig(`[[providers]]\nname = "p"\nbase_url = "http://x"\nextra_headers = { "x-h" = { keychain = "p/x-h" } }\n`, 'c.toml');
    assert.deepEqual(ok.providers[0]!.extra_headers, { 'x-h': { keychain: 'p/x-h' } });
    for (const v of ['{ keychain = "" }', '{ keychain = "a", other = 1 }', '1', '{ value_env = "X" }']) {
      assert.throws(
        () => parseConfig(`[[providers]]\nname = "p"\nbase_url = "http://x"\nextra_headers = { "x-h" = ${v} }\n`, 'c.toml'),
        /c\.toml:4: providers\[0\]\.extra_headers\.x-h.*(keychain must name an account|expected a string or \{ keychain|Unrecognized key: "other")/,
        v,
      );
    }
  });

  it('a missing keychain value: the provider is reported and skipped, never sent without it', async (t) => {
    const up = await upstream();
    const store = await SecretStore.open({ keytar: memoryKeytar() });
    const core = await startCore(
      `[[providers]]\nname = "p"\nbase_url = "${up.url}"\nformat = "openai"\nextra_headers = { "x-h" = { keychain = "p/x-h" } }\n[providers.available_models]\nm = "m"\n`,
      { secrets: store.resolver() },
    );
    t.after(async () => {
      await core.stop();
      await up.close();
    });
    const st = core.core.status().providers[0]!;
    assert.equal(st.auth, 'missing');
    assert.match(st.authDetail ?? '', /no secret stored in the keychain for "p\/x-h" \(extra header x-h\)/);
    const r = await fetch(`${core.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model":"m","messages":[]}' });
    assert.equal(r.status, 502);
    await r.text();
    assert.equal(up.seen.length, 0);
    await store.set('p/x-h', 'hv-0123456789');
    const ok = await fetch(`${core.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model":"m","messages":[]}' });
    assert.equal(ok.status, 200);
    await ok.text();
    assert.equal(up.seen[0]!.headers['x-h'], 'hv-0123456789');
  });
});
