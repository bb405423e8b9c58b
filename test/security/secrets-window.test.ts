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
import { startCore, type TestCore } from '../helpers/core.js';
import { CHROMIUM, launchProfile } from '../helpers/browser.js';

const TOKEN = `teamTok${randomBytes(12).toString('hex')}`;
const KEYISH = `0123456789abcdef${randomBytes(8).toString('hex')}`; // key-shaped value under an innocent name

describe('credential extra headers in the window', { skip: !existsSync(CHROMIUM) && `no Chromium at ${CHROMIUM}` }, () => {
  let t: TestCore;
  let link: string;
  let ctx: BrowserContext;
  let page: Page;
  let profile: string;
  const bodies: string[] = [];

  const headersOf = () =>
    (parse(readFileSync(t.configPath, 'utf8')) as { providers: { extra_headers: Record<string, string> }[] }).providers[0]!.extra_headers;

  before(async () => {
    t = await startCore(`
[[providers]]
name = "team"
base_url = "http://127.0.0.1:9"
format = "anthropic"
auth = { header = "x-api-key", value_env = "TEAM_KEY" }
extra_headers = { "anthropic-version" = "2023-06-01", "x-team-token" = "${TOKEN}", "x-route" = "${KEYISH}" }

[providers.available_models]
"m" = "m-upstream"
`, { env: { TEAM_KEY: 'team-key' } }); // set: a save of a provider whose key is missing is a warning, not the success this test awaits
    link = attachUi(t.core, { app: 'daemon', caCheck: false }).link!;
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
    const html = await page.content();
    assert.ok(!html.includes(TOKEN) && !html.includes(KEYISH), 'no value in the page');
    // what the window's API hands out, asked for by the page itself
    const config = await page.evaluate(async () => (await fetch('/api/ui/config')).text());
    assert.match(config, /"x-team-token",""/);
    assert.match(config, /"hiddenHeaders":\["x-team-token","x-route"\]/);
    assert.ok(bodies.length > 0 && [...bodies, config].every((b) => !b.includes(TOKEN) && !b.includes(KEYISH)), 'no value in any response');

    // an unrelated edit, saved: the hidden values stay in the file
    await page.fill('input[data-path="providers.0.models.0.1"]', 'm-other');
    await saved();
    assert.deepEqual({ ...headersOf() }, { 'anthropic-version': '2023-06-01', 'x-team-token': TOKEN, 'x-route': KEYISH });

    // a typed value replaces the stored one, and is not shown back either
    await token.fill('teamTokReplaced0123456789');
    await saved();
    assert.equal(headersOf()['x-team-token'], 'teamTokReplaced0123456789');
    assert.equal(headersOf()['x-route'], KEYISH);
    await page.waitForFunction(() => (globalThis as unknown as { document: { querySelector(s: string): { value: string } | null } }).document.querySelector('input[data-path="providers.0.extra_headers.1.1"]')?.value === '');
    assert.ok(!(await page.content()).includes('teamTokReplaced0123456789'));
  });
});
