// The Routes view in a real browser (Chromium via playwright-core) against a real headless core: add, validate
// inline, reorder, remove, save (comments and unknown keys kept), and "test a request" showing the explain output.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import type { BrowserContext, Page } from 'playwright-core';
import { parse } from 'smol-toml';
import { attachUi } from '../../main/ui/attach.js';
import { provider, startCore, type TestCore } from '../helpers/core.js';
import { startMockUpstream, type MockUpstream } from '../helpers/mock-upstream.js';
import { skipUnless } from '../helpers/requires.js';
import { CHROMIUM, launchProfile } from '../helpers/browser.js';

// Page-side code in waitForFunction() runs in the browser; this module has no DOM types.
declare const document: any; // eslint-disable-line @typescript-eslint/no-explicit-any

const shots = join(resolve(__dirname, '..', '..', '..'), 'test-output', 'screenshots');
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

describe('the Routes view in Chromium', { skip: skipUnless({ files: [CHROMIUM] }) }, () => {
  let main: MockUpstream, cheap: MockUpstream, vision: MockUpstream;
  let t: TestCore;
  let ctx: BrowserContext;
  let page: Page;
  let profile: string;
  const pageErrors: string[] = [];
  const routes = () => (parse(readFileSync(t.configPath, 'utf8')) as { routes?: Record<string, unknown>[] }).routes ?? [];
  const save = async () => {
    await page.click('#view-routes .view-head button.primary');
    await page.waitForSelector('.toast-ok', { timeout: 5000 });
    await page.locator('.toast').evaluateAll((els) => els.forEach((e) => e.remove()));
  };

  before(async () => {
    mkdirSync(shots, { recursive: true });
    [main, cheap, vision] = await Promise.all(['main', 'cheap', 'vision'].map((n) => startMockUpstream(n)));
    t = await startCore(
      `# my router67 config — this comment must survive
[daemon]
log_level = "warn"
` +
        provider('main', main.url, { 'claude-sonnet-4-5': 'main-sonnet', 'claude-3-5-haiku-latest': 'main-haiku' }) +
        provider('cheap', cheap.url, {}) +
        provider('vision', vision.url, {}) +
        `
# background calls go to the cheap one
[[routes]]
name = "background"
match = { model = "claude-*-haiku-*" }
to = [{ provider = "cheap", model = "cheap-small" }, "main"]
future_key = "kept"
`,
    );
    const ui = attachUi(t.core, { app: 'daemon', caCheck: false });
    profile = mkdtempSync(join(tmpdir(), 'r67-chromium-'));
    ctx = await launchProfile(profile, { viewport: { width: 1200, height: 820 } });
    page = ctx.pages()[0] ?? (await ctx.newPage());
    page.setDefaultTimeout(10_000);
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(ui.link!);
    await page.click('#nav-routes');
    await page.waitForSelector('#view-routes:not([hidden]) li.rcard');
  });

  after(async () => {
    await ctx?.close();
    await t?.stop();
    await Promise.all([main, cheap, vision].map((m) => m?.close()));
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('lists the routes of config.toml in order', async () => {
    assert.deepEqual(await page.locator('li.rcard .rtitle').allTextContents(), ['background']);
    assert.equal(await page.inputValue('#route-0-match'), '{ model = "claude-*-haiku-*" }');
  });

  it('adds a route with inline validation, saves it keeping comments and unknown keys, and routes by it', async () => {
    await page.click('#route-add');
    await page.fill('#route-1-name', 'images');
    await page.fill('#route-1-match', '{ has_images = true }');
    await page.fill('#route-1-to', '["visoin"]');
    await page.waitForSelector('#view-routes .field-issue');
    assert.match(await page.locator('#view-routes .field-issue').first().textContent() ?? '', /no provider is named "visoin"/);
    assert.equal(await page.getAttribute('#route-1-to', 'aria-invalid'), 'true');
    await page.fill('#route-1-to', '["vision", "main"]');
    await page.waitForFunction(() => document.querySelectorAll('#view-routes .field-issue').length === 0);
    await save();
    const text = readFileSync(t.configPath, 'utf8');
    assert.ok(text.includes('# my router67 config — this comment must survive'));
    assert.ok(text.includes('# background calls go to the cheap one'));
    assert.deepEqual(
      routes().map((r) => r.name),
      ['background', 'images'],
    );
    assert.equal(routes()[0]!.future_key, 'kept');
    await page.screenshot({ path: join(shots, 'routes-light.png') });
    // the daemon reloaded: an image request goes to vision
    const client = new Anthropic({ baseURL: t.url, apiKey: 'k', maxRetries: 0 });
    await client.messages.create({
      model: 'claude-sonnet-4-5',
      max_tokens: 10,
      messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } }] }],
    });
    assert.equal(vision.requests.length, 1);
    assert.equal(main.requests.length, 0);
  });

  it('a shadowed route is flagged; reordering fixes it and saves the new order', async () => {
    await page.click('#route-add');
    await page.fill('#route-2-name', 'everything');
    await page.fill('#route-2-match', '');
    await page.fill('#route-2-to', '["main"]');
    // move "everything" to the top: both later routes become unreachable
    await page.click('li.rcard[data-index="2"] .up');
    await page.click('li.rcard[data-index="1"] .up');
    await page.waitForSelector('#view-routes .field-issue');
    assert.match(await page.locator('#view-routes .field-issue').first().textContent() ?? '', /never reached: "everything"/);
    // back to the end, then remove it
    await page.click('li.rcard[data-index="0"] .down');
    await page.click('li.rcard[data-index="1"] .down');
    await page.waitForFunction(() => document.querySelectorAll('#view-routes .field-issue').length === 0);
    await page.click('li.rcard[data-index="0"] .down'); // images, background, everything
    await save();
    assert.deepEqual(
      routes().map((r) => r.name),
      ['images', 'background', 'everything'],
    );
    await page.click('li.rcard[data-index="2"] .remove');
    await save();
    assert.deepEqual(
      routes().map((r) => r.name),
      ['images', 'background'],
    );
    assert.equal(routes()[1]!.future_key, 'kept', 'moved, still whole');
  });

  it('"test a request" shows the matching route, the ordered targets and their state, without sending', async () => {
    for (const m of [main, cheap, vision]) m.requests.length = 0;
    await page.fill('#explain-body', JSON.stringify({ model: 'claude-3-5-haiku-latest', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }));
    await page.click('#explain-run');
    await page.waitForFunction(() => /route:/.test(document.querySelector('#explain-out')?.textContent ?? ''));
    const out = (await page.textContent('#explain-out')) ?? '';
    assert.match(out, /route: +background \(strategy fallback\)/);
    assert.match(out, /1\. cheap → cheap-small +\[rule\] +ready/);
    assert.match(out, /2\. main → main-haiku/);
    // against the unsaved draft
    await page.fill('#route-1-to', '["main"]');
    await page.click('#explain-run');
    await page.waitForFunction(() => /unsaved/.test(document.querySelector('#explain-out')?.textContent ?? ''));
    assert.match((await page.textContent('#explain-out')) ?? '', /1\. main → main-haiku/);
    await page.fill('#explain-body', '{ not json');
    await page.click('#explain-run');
    await page.waitForFunction(() => /not JSON/.test(document.querySelector('#explain-out')?.textContent ?? ''));
    for (const m of [main, cheap, vision]) assert.equal(m.requests.length, 0, 'nothing sent');
    await page.click('#view-routes .view-head button:not(.primary)'); // revert
    assert.deepEqual(pageErrors, []);
  });
});
