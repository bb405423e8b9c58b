// The window in a real browser (Debian's Chromium via playwright-core), served by a real core in a temporary
// home, routing official SDK requests to local mock upstreams. Screenshots of every view, light and dark, go to
// test-output/screenshots/.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import type { BrowserContext, Page } from 'playwright-core';
import { parse } from 'smol-toml';
import { attachUi } from '../../main/ui/attach.js';
import { startCore, type TestCore } from '../helpers/core.js';
import { startMockUpstream, type MockUpstream } from '../helpers/mock-upstream.js';
import { skipUnless } from '../helpers/requires.js';
import { CHROMIUM, launchProfile } from '../helpers/browser.js';

// Page-side code in page.evaluate()/waitForFunction() runs in the browser; this module has no DOM types.
declare const document: any; // eslint-disable-line @typescript-eslint/no-explicit-any

const root = resolve(__dirname, '..', '..', '..');
const shots = join(root, 'test-output', 'screenshots');

function config(a: MockUpstream, b: MockUpstream, c: MockUpstream): string {
  return `# router67 test config — this comment must survive saves
intercept_hosts = ["api.anthropic.com", "api.openai.com"]

[daemon]
log_level = "warn"

# primary
[[providers]]
name = "alpha"
base_url = "${a.url}"
format = "openai"
auth = { header = "Authorization", prefix = "Bearer ", value_env = "ALPHA_KEY" }

[providers.available_models]
"gpt-test" = "alpha-gpt"

# fallback
[[providers]]
name = "beta"
base_url = "${b.url}"
format = "openai"
auth = { header = "Authorization", prefix = "Bearer ", value_env = "BETA_KEY" }

[providers.available_models]
"gpt-test" = "beta-gpt"

[[providers]]
name = "claude"
base_url = "${c.url}"
format = "anthropic"
auth = { header = "x-api-key", value_env = "CLAUDE_KEY" }
extra_headers = { "anthropic-version" = "2023-06-01" }

[providers.available_models]
"claude-test" = "claude-upstream"

# 11 × $3 + 7 × $15 per million = $0.000138 for the mock's usage
[prices."claude/claude-upstream"]
input = 3
output = 15
`;
}

describe('the window in Chromium, against a real headless core', { skip: skipUnless({ files: [CHROMIUM] }) }, () => {
  let a: MockUpstream, b: MockUpstream, c: MockUpstream, d: MockUpstream;
  let t: TestCore;
  let link: string;
  let base: string;
  let ctx: BrowserContext;
  let page: Page;
  let profile: string;
  let openai: OpenAI;
  let anthropic: Anthropic;
  const pageErrors: string[] = [];

  const toml = () => parse(readFileSync(t.configPath, 'utf8')) as { providers: { name: string; base_url: string; available_models: Record<string, string>; auth?: Record<string, string> }[] };
  const names = () => toml().providers.map((p) => p.name);
  const shot = async (name: string) => {
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      await page.waitForTimeout(50);
      await page.screenshot({ path: join(shots, `${name}-${scheme}.png`) });
    }
    await page.emulateMedia({ colorScheme: 'light' });
  };
  const go = async (view: 'providers' | 'log' | 'status') => {
    await page.click(`#nav-${view}`);
    await page.waitForSelector(`#view-${view}:not([hidden])`);
  };
  const item = (name: string) => page.locator('li.pitem', { has: page.locator('.pname', { hasText: new RegExp(`^${name}$`) }) });
  const saved = async () => {
    await page.click('.view-head button.primary');
    await page.waitForSelector('.toast-ok', { timeout: 5000 });
    await page.locator('.toast').evaluateAll((els) => els.forEach((e) => e.remove()));
  };

  before(async () => {
    mkdirSync(shots, { recursive: true });
    [a, b, c, d] = await Promise.all(['alpha', 'beta', 'claude', 'gamma'].map((n) => startMockUpstream(n)));
    t = await startCore(config(a!, b!, c!), { env: { ALPHA_KEY: 'key-a', BETA_KEY: 'key-b', CLAUDE_KEY: 'key-c', GAMMA_KEY: 'key-g' } });
    const ui = attachUi(t.core, { app: 'daemon', caCheck: false });
    link = ui.link!;
    base = t.core.admin!.url;
    openai = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: 'client-key', maxRetries: 0 });
    anthropic = new Anthropic({ baseURL: t.url, apiKey: 'client-secret-key', maxRetries: 0 });
    profile = mkdtempSync(join(tmpdir(), 'r67-chromium-'));
    // a page on another name that resolves to loopback: the DNS rebinding case
    ctx = await launchProfile(profile, { viewport: { width: 1200, height: 780 }, colorScheme: 'light', args: ['--host-resolver-rules=MAP rebind.test 127.0.0.1'] });
    page = ctx.pages()[0] ?? (await ctx.newPage());
    page.setDefaultTimeout(10_000);
    page.on('pageerror', (e) => pageErrors.push(e.message));
  });

  after(async () => {
    await ctx?.close();
    await t?.stop();
    await Promise.all([a, b, c, d].map((m) => m?.close()));
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('refuses the page without the token and from a non-loopback name; the link signs in', async () => {
    const port = new URL(base).port;
    let r = await page.goto(`${base}/`);
    assert.equal(r?.status(), 401);
    assert.match(await page.textContent('body') ?? '', /needs the link/);
    r = await page.goto(`${base}/?token=not-the-token`);
    assert.equal(r?.status(), 401);
    // DNS rebinding: a foreign name pointing at 127.0.0.1 gets nothing, even with the right token
    const token = new URL(link).searchParams.get('token')!;
    r = await page.goto(`http://rebind.test:${port}/?token=${token}`);
    assert.equal(r?.status(), 403);
    assert.equal((await ctx.cookies(`http://rebind.test:${port}`)).length, 0);
    // the link
    await page.goto(link);
    await page.waitForSelector('li.pitem');
    assert.equal(new URL(page.url()).search, '', 'the token is gone from the address bar');
    assert.equal(await page.evaluate(() => document.cookie), '', 'the session cookie is HttpOnly');
    const cookies = await ctx.cookies(base);
    assert.equal(cookies.length, 1);
    assert.equal(cookies[0]!.httpOnly, true);
    assert.equal(cookies[0]!.sameSite, 'Strict');
    assert.deepEqual(await page.locator('li.pitem .pname').allTextContents(), ['alpha', 'beta', 'claude']);
    // Sign-in shows only when the process offers it (issue 6); never a placeholder
    const features = (await page.evaluate(async () => (await fetch('/api/ui/features')).json())) as { signIn: boolean };
    const nav = await page.locator('nav .nav-item').allTextContents();
    assert.deepEqual(nav.slice(0, 3), ['Providers', 'Live log', 'Status']);
    assert.equal(nav.length, (features.signIn ? 4 : 3) + 1, nav.join(', ')); // + Routes (issue 13), last
  });

  it('adds a provider with a model map: the TOML changes and the next SDK request routes through it', async () => {
    await page.click('button.add');
    const name = page.locator('input[data-path="providers.3.name"]');
    await assert.doesNotReject(name.waitFor());
    assert.equal(await page.evaluate(() => document.activeElement.dataset.path), 'providers.3.name', 'focus moves to the new name');
    await name.fill('gamma');
    await page.fill('input[data-path="providers.3.base_url"]', d.url);
    await page.selectOption('select[data-path="providers.3.format"]', 'openai');
    await page.click('label:has-text("Environment variable")');
    await page.fill('input[data-path="providers.3.auth.value_env"]', 'GAMMA_KEY');
    await page.fill('input[data-path="providers.3.models.0.0"]', 'gamma-test');
    await page.fill('input[data-path="providers.3.models.0.1"]', 'gamma-upstream');
    await page.waitForSelector('.dirty-note:has-text("Unsaved changes")');
    await shot('providers-editing');
    await saved();

    const text = readFileSync(t.configPath, 'utf8');
    assert.ok(text.startsWith('# router67 test config — this comment must survive saves\n'), 'comments kept');
    assert.match(text, /# fallback\n\[\[providers\]\]\nname = "beta"/);
    const g = toml().providers[3]!;
    assert.equal(g.name, 'gamma');
    assert.equal(g.base_url, d.url);
    assert.deepEqual({ ...g.available_models }, { 'gamma-test': 'gamma-upstream' });
    assert.deepEqual({ ...g.auth }, { header: 'Authorization', prefix: 'Bearer ', value_env: 'GAMMA_KEY' });

    const res = await openai.chat.completions.create({ model: 'gamma-test', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(res.choices[0]?.message.content, 'Hello from gamma!');
    assert.equal(d.requests.length, 1);
    assert.equal(d.requests[0]!.json?.model, 'gamma-upstream');
    assert.equal(d.requests[0]!.headers.authorization, 'Bearer key-g');
  });

  it('reordering by drag and by keyboard changes the fallback order', async () => {
    const ask = async () => (await openai.chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'who?' }] })).choices[0]?.message.content;
    assert.equal(await ask(), 'Hello from alpha!');

    // drag beta above alpha
    await item('beta').dragTo(item('alpha'), { targetPosition: { x: 40, y: 4 } });
    assert.deepEqual(await page.locator('li.pitem .pname').allTextContents(), ['beta', 'alpha', 'claude', 'gamma']);
    await saved();
    assert.deepEqual(names(), ['beta', 'alpha', 'claude', 'gamma']);
    assert.equal(await ask(), 'Hello from beta!');

    // keyboard: focus beta, Alt+Down moves it below alpha; Ctrl+S saves
    await item('beta').focus();
    await page.keyboard.press('Alt+ArrowDown');
    assert.deepEqual(await page.locator('li.pitem .pname').allTextContents(), ['alpha', 'beta', 'claude', 'gamma']);
    assert.equal(await page.evaluate(() => document.activeElement?.querySelector('.pname')?.textContent), 'beta', 'focus follows the moved provider');
    await page.keyboard.press('Control+s');
    await page.waitForSelector('.toast-ok');
    await page.locator('.toast').evaluateAll((els) => els.forEach((e) => e.remove()));
    assert.deepEqual(names(), ['alpha', 'beta', 'claude', 'gamma']);
    assert.equal(await ask(), 'Hello from alpha!');
  });

  it('an invalid base URL shows an inline error from the schema and saves nothing', async () => {
    const before = readFileSync(t.configPath, 'utf8');
    await item('alpha').click();
    const url = page.locator('input[data-path="providers.0.base_url"]');
    await url.fill('not a url');
    const issue = page.locator('[data-field="providers.0.base_url"] .field-issue');
    await issue.waitFor();
    assert.match((await issue.textContent()) ?? '', /expected an absolute URL/);
    assert.equal(await url.getAttribute('aria-invalid'), 'true');
    assert.equal(await item('alpha').locator('.err-dot').isVisible(), true);
    await shot('providers-invalid');
    await page.click('.view-head button.primary');
    await page.waitForSelector('.toast-error:has-text("Not saved")');
    assert.equal(readFileSync(t.configPath, 'utf8'), before, 'nothing written');
    await page.click('.view-head button:has-text("Revert")');
    await page.waitForSelector('[data-field="providers.0.base_url"] .field-issue', { state: 'detached' });
    assert.equal(await page.inputValue('input[data-path="providers.0.base_url"]'), a.url);
    await page.locator('.toast').evaluateAll((els) => els.forEach((e) => e.remove()));
  });

  it('an edit made to the file meanwhile is detected, not overwritten: one banner offers keep mine, take theirs and the differences', async () => {
    await item('claude').click();
    await page.fill('input[data-path="providers.2.models.0.1"]', 'claude-other');
    const external = readFileSync(t.configPath, 'utf8') + '\n# edited by hand meanwhile\n';
    writeFileSync(t.configPath, external);
    const banner = page.locator('.banner-warn.conflict-banner', { hasText: 'changed outside this window' });
    await banner.waitFor();
    assert.equal(await page.locator('.conflict-banner').count(), 1, 'one banner');
    await banner.locator('button:has-text("Show differences")').click();
    assert.match((await banner.locator('.conflict-diff').textContent()) ?? '', /\+ providers\[claude\]\.models claude-test → claude-other/);
    await shot('providers-conflict');
    await banner.locator('button:has-text("Take theirs")').click();
    await page.waitForSelector('.conflict-banner', { state: 'detached' });
    assert.equal(readFileSync(t.configPath, 'utf8'), external, 'the other edit is kept');
    assert.equal(await page.inputValue('input[data-path="providers.2.models.0.1"]'), 'claude-upstream');

    // again, and this time keep mine: saved over the file as it is now, the hand edit (a comment) survives
    await page.fill('input[data-path="providers.2.models.0.1"]', 'claude-other');
    const external2 = readFileSync(t.configPath, 'utf8') + '# and again\n';
    writeFileSync(t.configPath, external2);
    await banner.waitFor();
    await banner.locator('button:has-text("Keep mine (overwrite)")').click();
    await page.waitForSelector('.toast-ok');
    const after = readFileSync(t.configPath, 'utf8');
    assert.match(after, /"claude-test" = "claude-other"/);
    assert.match(after, /# and again/);
    // and back
    await page.fill('input[data-path="providers.2.models.0.1"]', 'claude-upstream');
    await saved();
    await page.locator('.toast').evaluateAll((els) => els.forEach((e) => e.remove()));
  });

  it('an SDK request appears in the live log, pushed by its event stream, with its provider and tokens', async () => {
    await page.keyboard.press('Alt+2');
    await page.waitForSelector('#view-log:not([hidden])');
    const msg = await anthropic.messages.create({ model: 'claude-test', max_tokens: 20, messages: [{ role: 'user', content: 'hello' }] });
    assert.equal(msg.content[0]?.type === 'text' && msg.content[0].text, 'Hello from claude!');
    const row = page.locator('.vrow', { hasText: 'claude-test' }).first();
    // pushed by the live event stream, no reload (speed is measured by npm run bench, not asserted here)
    await row.waitFor();
    await page.waitForFunction(() => [...document.querySelectorAll('.vrow')].some((r: any) => r.textContent?.includes('claude · claude-upstream') && r.textContent.includes('11 / 7') && r.textContent.includes('200')));
    // its cost, from the [prices] entry; a model without a price shows "—"
    await page.waitForFunction(() => [...document.querySelectorAll('.vrow')].some((r: any) => r.textContent?.includes('claude-test') && r.lastElementChild?.textContent === '$0.0001'));

    // a request that fails over: each provider retried (budget 3 per request), each attempt with its error and why
    a.mode = '500';
    b.mode = '500';
    await assert.rejects(openai.chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'x' }] }));
    a.mode = 'ok';
    b.mode = 'ok';
    const failed = page.locator('.vrow', { hasText: 'gpt-test' }).filter({ hasText: '502' }).first();
    await failed.waitFor();
    await failed.click();
    const detail = page.locator('aside.detail');
    await detail.locator('h3:has-text("Attempts (5)")').waitFor();
    assert.match((await detail.textContent()) ?? '', /alpha[\s\S]*500[\s\S]*retry 2 after \d+ ms[\s\S]*beta[\s\S]*500[\s\S]*retry 1 after \d+ ms/);

    // filter: failures only
    await page.selectOption('select[aria-label="Filter by status"]', 'failed');
    await page.waitForFunction(() => /^1 of \d+ requests$/.test(document.querySelector('.count')?.textContent ?? ''));
    await page.selectOption('select[aria-label="Filter by status"]', 'all');
    await page.waitForFunction(() => !/ of /.test(document.querySelector('.count')?.textContent ?? ' of '));
    await page.selectOption('select[aria-label="Filter by provider"]', 'claude');
    await page.waitForFunction(() => /^1 of /.test(document.querySelector('.count')?.textContent ?? ''));
    await page.waitForFunction(() => [...document.querySelectorAll('.vrow')].every((r: any) => r.textContent?.includes('claude')));
    await page.selectOption('select[aria-label="Filter by provider"]', '');
    await page.waitForFunction(() => !/ of /.test(document.querySelector('.count')?.textContent ?? ' of '));

    // the app behind each connection: a column and a filter (the SDK ran in this test process; one more entry from another app)
    const app = t.core.log.recent(1)[0]!.app!;
    assert.ok(app, 'the SDK request names its app');
    await page.waitForFunction((a: string) => [...document.querySelectorAll('.vrow')].some((r: any) => r.children[1]?.textContent === a), app);
    const other = t.core.log.begin({ dialect: 'openai', method: 'POST', path: '/v1/chat/completions', model: 'gpt-test', stream: false, app: 'Other App' });
    other.status = 200;
    t.core.log.finish(other);
    await page.waitForFunction(() => [...document.querySelectorAll('select[aria-label="Filter by app"] option')].some((o: any) => o.value === 'Other App'));
    await page.selectOption('select[aria-label="Filter by app"]', 'Other App');
    await page.waitForFunction(() => /^1 of /.test(document.querySelector('.count')?.textContent ?? ''));
    await page.selectOption('select[aria-label="Filter by app"]', app);
    await page.waitForFunction((a: string) => [...document.querySelectorAll('.vrow')].every((r: any) => r.children[1]?.textContent === a), app);
    await page.selectOption('select[aria-label="Filter by app"]', '');
    await page.waitForFunction(() => !/ of /.test(document.querySelector('.count')?.textContent ?? ' of '));

    // details of the Anthropic request: attempt and redacted headers, never the client's key
    await page.locator('.vrow', { hasText: 'claude-test' }).first().click();
    await detail.locator('h3:has-text("Attempts (1)")').waitFor();
    const text = (await detail.textContent()) ?? '';
    assert.match(text, /Cost\$0\.0001/);
    assert.ok(!text.includes('client-secret-key'), 'no secret in the detail pane');
    if (text.includes('Request headers')) assert.match(text, /(x-api-key|authorization)\[redacted\]/);

    // a translated request (Chat → Anthropic) with a free-form tool: the detail pane says what was mapped
    await openai.chat.completions.create({ model: 'claude-test', messages: [{ role: 'user', content: 'patch' }], tools: [{ type: 'custom', custom: { name: 'apply_patch' } }] });
    const translated = page.locator('.vrow', { hasText: 'claude-test' }).first();
    await page.waitForFunction(() => document.querySelectorAll('.vrow').length > 0 && [...document.querySelectorAll('.vrow')].filter((r: any) => r.textContent?.includes('claude-test')).length >= 2);
    await translated.click();
    await detail.locator('h3:has-text("Translation")').waitFor();
    assert.match((await detail.locator('ul.notes').textContent()) ?? '', /mapped free-form tool apply_patch → function tool with one string argument "input"/);
    await shot('log');
  });

  it('keeps as many entries as the daemon (and says so), only visible rows exist', async () => {
    await page.click('aside.detail button.close');
    const total = 10_500;
    for (let i = 0; i < total; i++) {
      const e = t.core.log.begin({ dialect: 'openai', method: 'POST', path: '/v1/chat/completions', stream: false, model: `bulk-${i}` });
      e.provider = i % 2 ? 'alpha' : 'beta';
      e.status = 200;
      e.state = 'done';
      e.inputTokens = i;
      e.outputTokens = 1;
      t.core.log.finish(e);
      if (i % 500 === 499) await new Promise((r) => setImmediate(r));
    }
    await page.waitForFunction(() => document.querySelector('.vrow .model')?.textContent === 'bulk-10499', undefined, { timeout: 30_000 });
    const cap = t.core.log.capacity;
    const countText = (await page.textContent('.count')) ?? '';
    assert.equal(Number(countText.split(' ')[0]!.replace(/,/g, '')), cap, countText);
    assert.match(countText, new RegExp(`the newest ${cap.toLocaleString('en-US')} of [\\d,]+ since start`));
    assert.equal(((await page.evaluate(async () => (await fetch("/api/ui/log?limit=10000")).json())) as unknown[]).length, cap, 'the daemon keeps the same number');
    const rows = await page.locator('.vrow').count();
    assert.ok(rows > 10 && rows < 100, `${rows} row elements in the DOM`);
    // scroll to the end: still only a window of rows, and the oldest kept ones show
    await page.evaluate(() => {
      const s = document.querySelector('.vlist')!;
      s.scrollTop = s.scrollHeight;
    });
    await page.waitForFunction(
      (oldest: number) => [...document.querySelectorAll('.vrow .model')].some((m: any) => /^bulk-\d+$/.test(m.textContent ?? '') && Number(m.textContent!.slice(5)) < oldest),
      total - cap + 50,
    );
    assert.ok((await page.locator('.vrow').count()) < 100);
    // keyboard: Home selects the newest and opens its details
    await page.focus('.vlist');
    await page.keyboard.press('Home');
    await page.locator('aside.detail h2').waitFor();
    assert.match((await page.textContent('aside.detail')) ?? '', /bulk-10499/);
    await page.keyboard.press('Escape');
    // text filter across the whole store
    await page.fill('input[type="search"]', 'bulk-1049');
    await page.waitForFunction(() => /^10 of /.test(document.querySelector('.count')?.textContent ?? '')); // bulk-10490…10499 (bulk-1049 is older than the newest 2,000)
    await page.fill('input[type="search"]', '');
  });

  it('status shows interception, addresses, CA, keychain and config errors with file, line and key', async () => {
    await page.keyboard.press('Alt+3');
    await page.waitForSelector('#view-status:not([hidden]) .card');
    const text = (await page.textContent('#view-status')) ?? '';
    assert.match(text, new RegExp(`http://${t.core.status().http.address.replace(/\./g, '\\.')}`));
    assert.match(text, /127\.0\.67\.1:443/);
    assert.match(text, /No errors\./);
    const sw = page.locator('#intercept-switch');
    assert.equal(await sw.getAttribute('aria-checked'), 'false');
    assert.equal(await sw.isDisabled(), true, 'the daemon has no switch of its own');
    await shot('status');
    // a broken edit by hand: the core keeps the last good config and the window shows where
    const good = readFileSync(t.configPath, 'utf8');
    writeFileSync(t.configPath, good.replace(`base_url = "${b.url}"`, 'base_url = "ftp://nope"'));
    await t.core.reload();
    const err = page.locator('.config-errors li').first();
    await err.waitFor();
    const line = good.split('\n').findIndex((l) => l === `base_url = "${b.url}"`) + 1;
    assert.equal(await err.locator('.loc').textContent(), `config.toml:${line}`);
    assert.equal(await err.locator('.key').textContent(), 'providers[1].base_url');
    assert.match((await err.textContent()) ?? '', /http:\/\/ or https:\/\//);
    assert.equal(await page.locator('.side-status-text').textContent(), 'Config has 1 error');
    await shot('status-config-error');
    writeFileSync(t.configPath, good);
    await t.core.reload();
    await page.waitForSelector('.config-errors', { state: 'detached' });
  });

  it('status and providers show an open circuit breaker (main/health)', async () => {
    const cfg = t.core.config;
    const health = t.core.proxy.health;
    const alpha = { provider: cfg.providers.find((p) => p.name === 'alpha')!, model: 'alpha-gpt' };
    for (let i = 0; i < cfg.daemon.breaker_failures; i++) {
      const k = health.tryAdmit(cfg, alpha, 1);
      assert.ok(!('skip' in k));
      health.settle(k, { kind: 'transport', error: 'connect ECONNREFUSED' });
      health.release(k);
    }
    try {
      await go('providers');
      await go('status');
      const pill = page.locator('#view-status .prov-status [data-breaker="open"]');
      await pill.waitFor();
      assert.match((await pill.textContent()) ?? '', /^breaker open · \d+ s$/);
      await go('providers');
      const p = item('alpha').locator('.phealth');
      await p.waitFor();
      assert.equal(await p.textContent(), 'breaker open');
      assert.equal(await item('beta').locator('.phealth').isHidden(), true);
    } finally {
      health.reset();
    }
  });

  it('is keyboard reachable and shows every view in both themes', async () => {
    await page.keyboard.press('Alt+1');
    await page.waitForSelector('#view-providers:not([hidden])');
    await page.focus('#nav-providers');
    const reached = new Set<string>();
    for (let i = 0; i < 16; i++) {
      await page.keyboard.press('Tab');
      reached.add(await page.evaluate(() => document.activeElement?.id || document.activeElement?.className || document.activeElement?.tagName || ''));
    }
    for (const id of ['nav-log', 'nav-status']) assert.ok(reached.has(id), `${id} is reachable by Tab (${[...reached].join(', ')})`);
    assert.ok([...reached].some((x) => /pitem/.test(x)), 'the provider list is reachable by Tab');
    assert.ok([...reached].some((x) => /^f-providers-\d+-name$/.test(x)), `the editor is reachable by Tab (${[...reached].join(', ')})`);
    await page.focus('#nav-log');
    await page.keyboard.press('Shift+Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'nav-providers');
    // the editor followed the hand edits (broken, then fixed): no stale problem marks
    assert.equal(await page.locator('li.pitem .err-dot:visible').count(), 0);
    await item('claude').click();
    await shot('providers');
    assert.deepEqual(pageErrors, [], 'no script errors in the page');
  });
});
