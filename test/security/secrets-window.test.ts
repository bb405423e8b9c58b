// Secrets in the window (issue 9): a credential-like extra header is shown as set, its value never reaches the
// page (not in the DOM, not in any response the page gets), saving the provider keeps it, typing replaces it.
// A real browser (Debian's Chromium via playwright-core) against a real headless core.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { parse } from 'smol-toml';
import { attachUi } from '../../main/ui/attach.js';
import { SecretStore } from '../../main/secrets/store.js';
import { memoryKeytar } from '../helpers/keyring.js';
import { startCore, type TestCore } from '../helpers/core.js';
import { CHROMIUM, launchProfile } from '../helpers/browser.js';

const TOKEN = `teamTok${randomBytes(12).toString('hex')}`;
const KEYISH = `0123456789abcdef${randomBytes(8).toString('hex')}`; // key-shaped value under an innocent name
const QKEY = `queryKey${randomBytes(12).toString('hex')}`; // a base_url credential parameter (?key=)

describe('credential extra headers and base_url parameters in the window', { skip: !existsSync(CHROMIUM) && `no Chromium at ${CHROMIUM}` }, () => {
  let t: TestCore;
  let link: string;
  let ctx: BrowserContext;
  let page: Page;
  let profile: string;
  const bodies: string[] = [];

  let store: SecretStore;
  const fileProvider = () =>
    (parse(readFileSync(t.configPath, 'utf8')) as { providers: { base_url: string; extra_headers: Record<string, unknown> }[] }).providers[0]!;
  const headersOf = () => fileProvider().extra_headers;

  before(async () => {
    store = await SecretStore.open({ keytar: memoryKeytar() });
    t = await startCore(`
[[providers]]
name = "team"
base_url = "http://127.0.0.1:9/v1beta?alt=sse&key=${QKEY}"
format = "anthropic"
auth = { header = "x-api-key", value_env = "TEAM_KEY" }
extra_headers = { "anthropic-version" = "2023-06-01", "x-team-token" = "${TOKEN}", "x-route" = "${KEYISH}" }

[providers.available_models]
"m" = "m-upstream"
`, { env: { TEAM_KEY: 'team-key' }, secrets: store.resolver() }); // set: a save of a provider whose key is missing is a warning, not the success this test awaits
    link = attachUi(t.core, { app: 'daemon', caCheck: false, secrets: store }).link!;
    profile = mkdtempSync(join(tmpdir(), 'r67-chromium-'));
    ctx = await launchProfile(profile, { viewport: { width: 1200, height: 780 } });
    page = ctx.pages()[0] ?? (await ctx.newPage());
    page.setDefaultTimeout(10_000);
    page.on('response', (r) => {
      if (!/text\/event-stream/.test(r.headers()['content-type'] ?? '')) void r.text().then((b) => bodies.push(b), () => {});
    });
  });

  after(async () => {
    await ctx?.close();
    await t?.stop();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  const saved = async () => {
    await page.click('.view-head button.primary');
    await page.waitForSelector('.toast-ok', { timeout: 5000 });
    await page.locator('.toast').evaluateAll((els) => els.forEach((e) => e.remove()));
  };

  it('shows the token as set, never its value; a save keeps it; a typed value replaces it', async () => {
    await page.goto(link);
    await page.waitForSelector('li.pitem');
    await page.locator('li.pitem').first().click();
    const token = page.locator('input[data-path="providers.0.extra_headers.1.1"]');
    const keyish = page.locator('input[data-path="providers.0.extra_headers.2.1"]');
    assert.equal(await page.inputValue('input[data-path="providers.0.extra_headers.1.0"]'), 'x-team-token');
    for (const input of [token, keyish]) {
      assert.equal(await input.inputValue(), '');
      assert.equal(await input.getAttribute('type'), 'password');
      assert.match((await input.getAttribute('placeholder')) ?? '', /^Set \(hidden\)/);
    }
    assert.equal(await page.inputValue('input[data-path="providers.0.extra_headers.0.1"]'), '2023-06-01', 'other headers show as they are');
    // the base URL's ?key= reads as dots, with a hint that it is set
    const url = page.locator('input[data-path="providers.0.base_url"]');
    assert.equal(await url.inputValue(), 'http://127.0.0.1:9/v1beta?alt=sse&key=••••••••');
    assert.match(await page.locator('.field[data-field="providers.0.base_url"] .hint').innerText(), /“key” is set \(its value is never shown here\)/);
    const html = await page.content();
    assert.ok(!html.includes(TOKEN) && !html.includes(KEYISH) && !html.includes(QKEY), 'no value in the page');
    // what the window's API hands out, asked for by the page itself
    const config = await page.evaluate(async () => (await fetch('/api/ui/config')).text());
    assert.match(config, /"x-team-token",""/);
    assert.match(config, /"hiddenHeaders":\["x-team-token","x-route"\]/);
    assert.match(config, /"hiddenParams":\["key"\]/);
    const clean = (b: string) => !b.includes(TOKEN) && !b.includes(KEYISH) && !b.includes(QKEY);
    assert.ok(bodies.length > 0 && [...bodies, config].every(clean), 'no value in any response');

    // an unrelated edit, saved: the hidden values stay in the file
    await page.fill('input[data-path="providers.0.models.0.1"]', 'm-other');
    await saved();
    assert.deepEqual({ ...headersOf() }, { 'anthropic-version': '2023-06-01', 'x-team-token': TOKEN, 'x-route': KEYISH });
    assert.equal(fileProvider().base_url, `http://127.0.0.1:9/v1beta?alt=sse&key=${QKEY}`);

    // a typed value replaces the stored one: it goes to the keychain (the file names the entry), not shown back
    await token.fill('teamTokReplaced0123456789');
    await saved();
    assert.deepEqual({ ...(headersOf()['x-team-token'] as object) }, { keychain: 'team/x-team-token' });
    assert.equal(store.get('team/x-team-token'), 'teamTokReplaced0123456789');
    assert.ok(!readFileSync(t.configPath, 'utf8').includes('teamTokReplaced0123456789'));
    assert.equal(headersOf()['x-route'], KEYISH);
    // so does a base URL parameter typed over the dots (into the file: base_url has no keychain form)
    await url.fill('http://127.0.0.1:9/v1beta?alt=sse&key=queryKeyTyped0123456789');
    await saved();
    assert.equal(fileProvider().base_url, 'http://127.0.0.1:9/v1beta?alt=sse&key=queryKeyTyped0123456789');
    await page.waitForFunction(() => (globalThis as unknown as { document: { querySelector(s: string): { value: string } | null } }).document.querySelector('input[data-path="providers.0.base_url"]')?.value.endsWith('key=••••••••'));
    await page.waitForFunction(() => (globalThis as unknown as { document: { querySelector(s: string): { value: string } | null } }).document.querySelector('input[data-path="providers.0.extra_headers.1.1"]')?.value === '');
    assert.ok(!(await page.content()).includes('teamTokReplaced0123456789'));
    assert.ok(!(await page.content()).includes('queryKeyTyped0123456789'));
    assert.ok(bodies.every((b) => clean(b) && !b.includes('teamTokReplaced0123456789') && !b.includes('queryKeyTyped0123456789')), 'nor in any response');
  });
});
