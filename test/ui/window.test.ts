// The window's rough edges (issue 12), in a real browser (Debian's Chromium via playwright-core) against a real
// headless core routing official SDK requests to local mock upstreams: what the log shows (local answers, marks,
// the detail pane, Copy as curl, Resend to…), the misleading states (a config that does not parse, one that is
// invalid, a key that is not set), forms, contrast, focus and cursor, and every view at four sizes in both themes
// (screenshots in test-output/window/).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import type { BrowserContext, Page } from 'playwright-core';
import { attachUi } from '../../main/ui/attach.js';
import type { SignInService } from '../../main/oauth/signin.js';
import type { SignInState } from '../../main/ui/types.js';
import { startCore, type TestCore } from '../helpers/core.js';
import { startMockUpstream, type MockUpstream } from '../helpers/mock-upstream.js';
import { skipUnless } from '../helpers/requires.js';
import { CHROMIUM, launchProfile } from '../helpers/browser.js';

// Page-side code in page.evaluate()/waitForFunction() runs in the browser; this module has no DOM types.
declare const document: any; // eslint-disable-line @typescript-eslint/no-explicit-any
declare const window: any; // eslint-disable-line @typescript-eslint/no-explicit-any
declare const getComputedStyle: any; // eslint-disable-line @typescript-eslint/no-explicit-any

const root = resolve(__dirname, '..', '..', '..');
const shots = join(root, 'test-output', 'window');

const SIZES: [number, number][] = [
  [1280, 800],
  [1040, 700],
  [720, 480], // Electron's minimum (main/electron/window.ts)
  [420, 700], // a popover-like window
];

function config(a: MockUpstream, b: MockUpstream, c: MockUpstream, o: MockUpstream): string {
  return `intercept_hosts = ["api.anthropic.com", "api.openai.com"]

[daemon]
log_level = "warn"
log_bodies = true
retry_max = 0

[[providers]]
name = "alpha"
base_url = "${a.url}"
format = "openai"
auth = { header = "Authorization", prefix = "Bearer ", value_env = "ALPHA_KEY" }

[providers.available_models]
"gpt-test" = "alpha-gpt"

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

[[providers]]
name = "openrouter"
base_url = "${o.url}"
format = "openai"
auth = { header = "Authorization", prefix = "Bearer ", value_env = "OPENROUTER_API_KEY" }

[providers.available_models]
"router-test" = "vendor/router-model"
`;
}

/** A sign-in backend with OpenRouter not signed in (the window's agreement with Providers is what is tested). */
function signIns(): SignInService {
  const state: SignInState = {
    credentials: [{ name: 'openrouter', type: 'openrouter', title: 'OpenRouter', state: 'signed-out', usedBy: [], device: false }],
    flows: [],
    keychain: { available: false, reason: 'no Secret Service in this test' },
  };
  return {
    state: () => state,
    start: async () => {
      throw new Error('not in this test');
    },
    cancel: () => null,
    signOut: async () => ({ ok: false, message: 'not signed in' }),
  } as unknown as SignInService;
}

describe('the window’s rough edges, in Chromium against a real headless core', { skip: skipUnless({ files: [CHROMIUM] }) }, () => {
  let a: MockUpstream, b: MockUpstream, c: MockUpstream, d: MockUpstream, o: MockUpstream;
  let t: TestCore;
  let link: string;
  let ctx: BrowserContext;
  let page: Page;
  let profile: string;
  let openai: OpenAI;
  let anthropic: Anthropic;
  let good: string;
  const pageErrors: string[] = [];

  const go = async (view: string) => {
    await page.evaluate((v: string) => document.getElementById(`nav-${v}`).click(), view);
    await page.waitForSelector(`#view-${view}:not([hidden])`);
  };
  const item = (name: string) => page.locator('li.pitem', { has: page.locator('.pname', { hasText: new RegExp(`^${name}$`) }) });
  const clearToasts = () => page.locator('.toast').evaluateAll((els) => els.forEach((e) => e.remove()));
  const lastCopy = () => page.evaluate(() => document.documentElement.dataset.lastCopy as string);
  const detail = () => page.locator('aside.detail');

  before(async () => {
    mkdirSync(shots, { recursive: true });
    [a, b, c, d, o] = await Promise.all(['alpha', 'beta', 'claude', 'delta', 'openrouter'].map((n) => startMockUpstream(n)));
    good = config(a!, b!, c!, o!);
    t = await startCore(good, { env: { ALPHA_KEY: 'key-a', BETA_KEY: 'key-b', CLAUDE_KEY: 'key-c', OPENROUTER_API_KEY: 'key-or' } });
    link = attachUi(t.core, { app: 'daemon', caCheck: false, signInService: signIns() }).link!;
    openai = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: 'client-key', maxRetries: 0 });
    anthropic = new Anthropic({ baseURL: t.url, apiKey: 'client-secret-key', maxRetries: 0 });
    profile = mkdtempSync(join(tmpdir(), 'r67-chromium-'));
    ctx = await launchProfile(profile, { viewport: { width: 1280, height: 800 }, colorScheme: 'light' });
    page = ctx.pages()[0] ?? (await ctx.newPage());
    page.setDefaultTimeout(10_000);
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(link);
    await page.waitForSelector('li.pitem');
  });

  after(async () => {
    await ctx?.close();
    await t?.stop();
    await Promise.all([a, b, c, d, o].map((m) => m?.close()));
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('the log: model lists and 404s appear, streamed and count_tokens requests are marked, a hidden 500 is found by its code', async () => {
    await go('log');
    const models = await openai.models.list();
    assert.ok(models.data.some((m) => m.id === 'gpt-test'));
    await assert.rejects(openai.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] }), /404|not served/);
    const stream = await openai.chat.completions.create({ model: 'gpt-test', stream: true, messages: [{ role: 'user', content: 's' }] });
    for await (const _ of stream) void _;
    await anthropic.messages.countTokens({ model: 'claude-test', messages: [{ role: 'user', content: 'count me' }] }).catch(() => undefined);
    a.mode = '500';
    const r = await openai.chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'fallback' }] });
    a.mode = 'ok';
    assert.equal(r.choices[0]?.message.content, 'Hello from beta!');

    const row = (text: string) => page.locator('.vrow', { hasText: text }).first();
    await row('GET /v1/models').waitFor();
    assert.match((await row('GET /v1/models').textContent()) ?? '', /local.*200/);
    await row('no-such-model').waitFor();
    assert.match((await row('no-such-model').textContent()) ?? '', /404/);
    await page.locator('.vrow .tag-stream').first().waitFor();
    await page.locator('.vrow .tag-count_tokens').first().waitFor();

    // the fallback answered 200; its first attempt's 500 is still found by searching "500"
    await page.fill('input[type="search"]', '500');
    await page.waitForFunction(() => {
      const rows = [...document.querySelectorAll('.vrow')];
      return rows.length === 1 && rows[0].textContent.includes('gpt-test') && rows[0].textContent.includes('200');
    });
    await page.fill('input[type="search"]', 'count_tokens');
    await page.waitForFunction(() => [...document.querySelectorAll('.vrow')].length >= 1 && [...document.querySelectorAll('.vrow')].every((r: any) => r.querySelector('.tag-count_tokens')));
    await page.fill('input[type="search"]', '');
  });

  it('the detail pane: JSON tree with copy, headers sent upstream and received (redacted), Copy as curl, Resend to… beside the original, Escape', async () => {
    await page.fill('input[type="search"]', 'fallback');
    await page.fill('input[type="search"]', '500');
    await page.locator('.vrow', { hasText: 'gpt-test' }).first().click();
    await page.fill('input[type="search"]', '');
    const det = detail();
    await det.locator('h3:has-text("Attempts (2)")').waitFor();
    const text = (await det.textContent()) ?? '';
    for (const secret of ['key-a', 'key-b', 'client-key']) assert.ok(!text.includes(secret), `${secret} is not shown`);
    // headers actually sent upstream, credentials redacted; the provider's response headers
    const sent = det.locator('details.section', { hasText: 'Sent upstream' });
    await sent.locator('summary').click(); // headers start folded
    await det.locator('details.section', { hasText: 'Response headers' }).locator('summary').click();
    assert.match((await sent.textContent()) ?? '', /authorization\[redacted\]/);
    assert.match((await det.locator('details.section', { hasText: 'Response headers' }).textContent()) ?? '', /content-type/);
    // the request body as a collapsible tree, copied pretty-printed
    const body = det.locator('details.body-sec', { hasText: 'Request body' });
    await body.locator('.json-tree details.jt-node').first().waitFor();
    assert.match((await body.locator('.json-tree').textContent()) ?? '', /"model": "gpt-test"/);
    const rootNode = body.locator('.json-tree > details.jt-node');
    await rootNode.locator('> summary').click();
    assert.equal(await rootNode.evaluate((e: any) => e.open), false, 'the tree collapses');
    await rootNode.locator('> summary').click();
    await body.locator('button:has-text("Copy")').click();
    assert.match(await lastCopy(), /^\{\n  "model": "gpt-test",\n/);
    // Copy as curl: to router67's endpoint, the client's key redacted
    await det.locator('button:has-text("Copy as curl")').click();
    const curl = await lastCopy();
    assert.match(curl, new RegExp(`^curl -X POST 'http://${t.core.status().http.address.replace(/\./g, '\\.')}/v1/chat/completions'`));
    assert.match(curl, /-H 'authorization: \[redacted\]'/);
    assert.match(curl, /--data-raw '\{"model":"gpt-test"/);
    assert.ok(!curl.includes('client-key'));
    await clearToasts();
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.emulateMedia({ colorScheme: 'light' });
    await page.screenshot({ path: join(shots, 'log-detail-1280x800-light.png') });

    // Resend to claude (another format): its answer beside the original; the resend is in the log too
    const before = c.requests.length;
    await det.locator('select[aria-label="Resend to provider"]').selectOption('claude');
    assert.equal(await det.locator('input[aria-label="Upstream model"]').inputValue(), 'claude-test');
    await det.locator('input[aria-label="Upstream model"]').fill('claude-upstream');
    await det.locator('button:has-text("Resend")').click();
    const cmp = det.locator('.compare');
    await cmp.waitFor();
    const cols = cmp.locator('.compare-col');
    assert.equal(await cols.count(), 2);
    assert.match((await cols.nth(0).textContent()) ?? '', /Original · beta[\s\S]*200[\s\S]*Hello from beta!/);
    assert.match((await cols.nth(1).textContent()) ?? '', /Resent · claude · claude-upstream[\s\S]*200[\s\S]*Hello from claude!/);
    assert.equal(c.requests.length, before + 1);
    assert.equal(c.requests.at(-1)!.json?.model, 'claude-upstream');
    assert.equal(c.requests.at(-1)!.headers['x-api-key'], 'key-c');
    await page.locator('.vrow .tag-resend').first().waitFor();
    await page.screenshot({ path: join(shots, 'log-resend-1280x800-light.png') });

    // Escape from a control inside the pane closes it
    await det.locator('button:has-text("Copy as curl")').focus();
    await page.keyboard.press('Escape');
    await page.waitForSelector('aside.detail', { state: 'hidden' });

    // a GET cannot be resent, and says why
    await page.locator('.vrow', { hasText: 'GET /v1/models' }).first().click();
    await det.locator('.resend-why').waitFor();
    assert.match((await det.locator('.resend-why').textContent()) ?? '', /Only POST requests/);
    assert.equal(await det.locator('button:has-text("Resend")').isDisabled(), true);
    await page.keyboard.press('Escape');
  });

  it('an entry whose details the main side dropped says so', async () => {
    const id = t.core.log.recent(1)[0]!.id;
    await page.route(`**/api/ui/log/${id}`, (r) => r.fulfill({ status: 200, contentType: 'application/json', body: 'null' }));
    await page.locator(`#req-${id}`).click();
    await detail().locator('.dropped').waitFor();
    assert.match((await detail().locator('.dropped').textContent()) ?? '', /Only the summary of this request is left/);
    await page.unroute(`**/api/ui/log/${id}`);
    await page.keyboard.press('Escape');
  });

  it('forms: no problems shown on a blank new provider, placeholders fit the format, templates prefill the env var', async () => {
    await go('providers');
    // the keychain banner: one plain sentence, the reason behind "Why?"
    const kb = page.locator('.keychain-banner');
    assert.match((await kb.locator('.banner-body > span').textContent()) ?? '', /^Keys go in environment variables here, because this system has no keychain router67 can use\.$/);
    assert.equal(await kb.locator('details > summary').textContent(), 'Why?');
    // an x-api-key provider: no "Bearer" anywhere in its placeholders
    await item('claude').click();
    assert.equal(await page.getAttribute('input[data-path="providers.2.auth.prefix"]', 'placeholder'), '(none)');
    await item('openrouter').click();
    await page.fill('input[data-path="providers.3.auth.value_env"]', '');
    assert.equal(await page.getAttribute('input[data-path="providers.3.auth.value_env"]', 'placeholder'), 'OPENROUTER_API_KEY');
    await page.click('.view-head button:has-text("Revert")');

    await page.click('button.add');
    await page.waitForSelector('input[data-path="providers.4.name"]');
    await page.waitForTimeout(400); // the debounced validation has run (it shows nothing on a blank form)
    assert.equal(await page.locator('.field-issue').count(), 0, 'a blank new form shows no problems');
    assert.equal(await item('provider-1').locator('.err-dot').isVisible(), false);
    // touched and left empty: now it says so
    await page.focus('input[data-path="providers.4.base_url"]');
    await page.focus('input[data-path="providers.4.name"]');
    await page.locator('[data-field="providers.4.base_url"] .field-issue').waitFor();
    // the OpenRouter template: format, header and the usual variable
    await page.click('.templates button:has-text("OpenRouter")');
    assert.equal(await page.isChecked('input[value="env"]'), true, 'no keychain here: the env var is the source');
    assert.equal(await page.inputValue('input[data-path="providers.4.auth.value_env"]'), 'OPENROUTER_API_KEY');
    await page.click('.view-head button:has-text("Revert")');
    await page.waitForSelector('input[data-path="providers.4.name"]', { state: 'detached' });
  });

  it('a provider whose env var is not set: saved with a warning, marked in the list, and its attempt reads naturally', async () => {
    await page.click('button.add');
    await page.fill('input[data-path="providers.4.name"]', 'delta');
    await page.fill('input[data-path="providers.4.base_url"]', d.url);
    await page.selectOption('select[data-path="providers.4.format"]', 'openai');
    await page.click('label:has-text("Environment variable")');
    await page.fill('input[data-path="providers.4.auth.value_env"]', 'DELTA_KEY');
    await page.fill('input[data-path="providers.4.models.0.0"]', 'delta-test');
    await page.fill('input[data-path="providers.4.models.0.1"]', 'delta-up');
    // unsaved edits: a reload or a closing tab asks first
    assert.equal(await page.evaluate(() => {
      const e = new Event('beforeunload', { cancelable: true });
      window.dispatchEvent(e);
      return e.defaultPrevented;
    }), true);
    // a "Copied." toast of the detail pane's test can outlive it (its copy settles after that test cleared the
    // toasts); this test's claim is about the toast its own Save shows
    await clearToasts();
    await page.click('.view-head button.primary');
    const warn = page.locator('.toast-warn');
    await warn.waitFor();
    assert.match((await warn.textContent()) ?? '', /Saved, but DELTA_KEY is not set \(provider “delta”\)/);
    assert.equal(await page.locator('.toast-ok').count(), 0, 'not a green success');
    await item('delta').locator('.warn-mark').waitFor();
    assert.match((await item('delta').textContent()) ?? '', /key missing/);
    assert.equal(await page.evaluate(() => {
      const e = new Event('beforeunload', { cancelable: true });
      window.dispatchEvent(e);
      return e.defaultPrevented;
    }), false, 'nothing to lose once saved');
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.screenshot({ path: join(shots, 'providers-env-missing-1280x800-light.png') });
    await clearToasts();

    await assert.rejects(openai.chat.completions.create({ model: 'delta-test', messages: [{ role: 'user', content: 'x' }] }));
    await go('log');
    await page.locator('.vrow', { hasText: 'delta-test' }).first().click();
    const att = detail().locator('.attempts li').first();
    await att.waitFor();
    assert.match((await att.textContent()) ?? '', /deltadelta-upskipped/);
    assert.equal(await att.locator('.error-text').textContent(), 'Not tried: environment variable DELTA_KEY is not set.');
    assert.ok(!/no (response|answer)/.test((await att.textContent()) ?? ''));
    await page.keyboard.press('Escape');
  });

  it('Sign-in agrees with Providers: OpenRouter working through its env var is not "not signed in"', async () => {
    await go('signin');
    const card = page.locator('.signin-card[data-name="openrouter"]');
    await card.waitFor();
    const text = (await card.textContent()) ?? '';
    assert.match(text, /using an API key/);
    assert.match(text, /works with its key from the environment variable OPENROUTER_API_KEY/);
    assert.ok(!/not signed in/.test(text), text);
  });

  it('a config that does not parse: the last good providers read-only with the error; an invalid one: the Status banner on Providers too', async () => {
    await go('providers');
    const running = await page.locator('li.pitem .pname').allTextContents();
    writeFileSync(t.configPath, good.replace('[[providers]]\nname = "beta"', '[[providers]\nname = "beta"'));
    await t.core.reload();
    await page.locator('.banner-error', { hasText: 'does not parse' }).waitFor();
    assert.deepEqual(await page.locator('li.pitem .pname').allTextContents(), running, 'the running providers, not "No providers yet"');
    assert.equal(await page.locator('.plist-empty').count(), 0);
    assert.equal(await page.isDisabled('button.add'), true);
    assert.equal(await page.isDisabled('.view-head button.primary'), true);
    assert.equal(await page.locator('.pedit input').count(), 0, 'nothing to edit');
    assert.match((await page.textContent('.pedit')) ?? '', /Running \(read-only\)/);
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.screenshot({ path: join(shots, 'providers-parse-error-1280x800-light.png') });

    writeFileSync(t.configPath, good.replace(`base_url = "${b.url}"`, 'base_url = "ftp://nope"'));
    await t.core.reload();
    const banner = page.locator('.config-banner');
    await banner.waitFor();
    await go('status');
    const statusWords = (await page.locator('#view-status .card.is-error .error-text').first().textContent()) ?? '';
    await go('providers');
    assert.equal((await banner.locator('.banner-body > div').first().textContent()) ?? '', statusWords);
    assert.match(statusWords, /The file has 1 error; the last good configuration keeps running\./);
    assert.match((await banner.textContent()) ?? '', /providers\[1\]\.base_url/);
    writeFileSync(t.configPath, readFileSync(t.configPath, 'utf8').replace('base_url = "ftp://nope"', `base_url = "${b.url}"`));
    await t.core.reload();
    await page.waitForSelector('.config-banner', { state: 'detached' });
    await page.waitForSelector('.banner-error', { state: 'detached' });
  });

  it('text contrast is at least 4.5:1 in both themes (nav, segments, pills, drag handles, hints)', async () => {
    await page.setViewportSize({ width: 1280, height: 800 });
    const failures: string[] = [];
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      for (const view of ['providers', 'log', 'status', 'signin']) {
        await go(view);
        if (view === 'providers') await item('claude').click();
        if (view === 'log') await page.locator('.vrow').first().click();
        const bad = (await page.evaluate(() => {
          const parse = (s: string) => {
            const m = s.match(/rgba?\(([^)]+)\)/);
            if (!m) return [0, 0, 0, 0];
            const p = m[1]!.split(/[ ,/]+/).filter(Boolean).map(Number);
            return [p[0]!, p[1]!, p[2]!, p[3] ?? 1];
          };
          const over = (top: number[], under: number[]) => {
            const a = top[3]!;
            return [0, 1, 2].map((i) => top[i]! * a + under[i]! * (1 - a)).concat(1);
          };
          const lum = (c: number[]) => {
            const f = (v: number) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
            return 0.2126 * f(c[0]!) + 0.7152 * f(c[1]!) + 0.0722 * f(c[2]!);
          };
          const background = (el: any) => {
            const layers: number[][] = [];
            for (let e = el; e; e = e.parentElement) {
              const bg = parse(getComputedStyle(e).backgroundColor);
              if (bg[3]! > 0) layers.push(bg);
              if (bg[3] === 1) break;
            }
            let c = [255, 255, 255, 1];
            if (layers.length && layers[layers.length - 1]![3] === 1) c = layers.pop()!;
            for (let i = layers.length - 1; i >= 0; i--) c = over(layers[i]!, c);
            return c;
          };
          const sel = '.nav-item, .nav-item.active, .side-status-text, .seg label, .pill, .grip, .pos, .hint, .sub, .btn:not(:disabled), .tag, h3, .pmeta, .count, dt, .pname, .warn-mark, .jt-key, .jt-str, .jt-num, .jt-lit, .banner, .error-text, .ok-text, .warn-text, .dirty-note, summary';
          const out: string[] = [];
          for (const el of document.querySelectorAll(sel)) {
            const r = el.getBoundingClientRect();
            if (!r.width || !r.height || el.closest('[hidden]') || !el.textContent.trim()) continue;
            const cs = getComputedStyle(el);
            if (cs.visibility === 'hidden' || Number(cs.opacity) < 1 || el.closest('.sr-only')) continue;
            const bg = background(el);
            const fg = over(parse(cs.color), bg);
            const [l1, l2] = [lum(fg), lum(bg)].sort((x, y) => y - x);
            const ratio = (l1! + 0.05) / (l2! + 0.05);
            if (ratio < 4.5) out.push(`${el.className || el.tagName} "${el.textContent.trim().slice(0, 20)}" ${ratio.toFixed(2)}`);
          }
          return [...new Set(out)];
        })) as string[];
        failures.push(...bad.map((x) => `${scheme}/${view}: ${x}`));
        if (view === 'log') await page.keyboard.press('Escape');
      }
    }
    await page.emulateMedia({ colorScheme: 'light' });
    assert.deepEqual(failures, []);
  });

  it('every control shows a focus ring when reached by keyboard, and clickable things have a pointer cursor', async () => {
    await page.setViewportSize({ width: 1280, height: 800 });
    const noRing: string[] = [];
    const noPointer: string[] = [];
    for (const view of ['providers', 'log', 'status', 'signin']) {
      await go(view);
      if (view === 'log') await page.locator('.vrow').first().click();
      await page.focus(`#nav-${view}`);
      for (let i = 0; i < 45; i++) {
        await page.keyboard.press('Tab');
        const r = (await page.evaluate(() => {
          const el = document.activeElement;
          if (!el || el === document.body) return null;
          const ring = (e: any) => {
            const cs = getComputedStyle(e);
            return (cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) >= 1) || /0px 0px 0px [23]px/.test(cs.boxShadow);
          };
          const label = el.matches('.seg input') ? el.nextElementSibling : null;
          return { name: `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}.${el.className}`, ok: ring(el) || (label && ring(label)) };
        })) as { name: string; ok: boolean } | null;
        if (r && !r.ok) noRing.push(`${view}: ${r.name}`);
      }
      noPointer.push(
        ...((await page.evaluate(() => {
          const out: string[] = [];
          for (const el of document.querySelectorAll('button:not(:disabled), summary, select:not(:disabled), .pitem, .vrow, .seg input:not(:disabled) + label, .nav-item, .side-status')) {
            const r = el.getBoundingClientRect();
            if (!r.width || el.closest('[hidden]')) continue;
            if (getComputedStyle(el).cursor !== 'pointer') out.push(`${el.tagName.toLowerCase()}.${el.className} "${el.textContent.trim().slice(0, 20)}"`);
          }
          return out;
        })) as string[]).map((x) => `${view}: ${x}`),
      );
      if (view === 'log') await page.keyboard.press('Escape');
    }
    assert.deepEqual([...new Set(noRing)], []);
    assert.deepEqual([...new Set(noPointer)], []);
  });

  it('small windows: nothing overflows, Save stays in sight, inputs keep their width, the sidebar is an icon rail, the log keeps status and provider beside the detail', async () => {
    for (const [w, hgt] of [
      [720, 480],
      [420, 700],
    ] as [number, number][]) {
      await page.setViewportSize({ width: w, height: hgt });
      const where = `${w}×${hgt}`;
      assert.ok(((await page.locator('aside.sidebar').boundingBox())?.width ?? 999) <= 60, `${where}: the sidebar is an icon rail`);
      for (const view of ['providers', 'log', 'status', 'signin']) {
        await go(view);
        if (view === 'providers') await item('claude').click();
        const over = await page.evaluate(() => {
          const out: string[] = [];
          if (document.documentElement.scrollWidth > window.innerWidth) out.push(`page ${document.documentElement.scrollWidth}`);
          const content = document.querySelector('.content');
          if (content.scrollWidth > content.clientWidth + 1) out.push(`content ${content.scrollWidth} > ${content.clientWidth}`);
          for (const el of document.querySelectorAll('.view:not([hidden]) *')) {
            const r = el.getBoundingClientRect();
            if (r.width && r.right > window.innerWidth + 1 && !el.closest('.vlist, .json-tree, pre, .vrow')) out.push(`${el.tagName.toLowerCase()}.${el.className} right ${Math.round(r.right)}`);
          }
          return out.slice(0, 5);
        });
        assert.deepEqual(over, [], `${where} ${view}: overflow`);
      }
      // providers: Save visible with the form scrolled to its end; inputs keep a usable width
      await go('providers');
      await page.fill('input[data-path="providers.2.models.0.1"]', 'claude-upstream-x');
      await page.evaluate(() => {
        const c = document.querySelector('.content');
        c.scrollTop = c.scrollHeight;
      });
      const save = await page.locator('.view-head button.primary').boundingBox();
      assert.ok(save && save.y >= 0 && save.y + save.height <= hgt && save.x + save.width <= w, `${where}: Save is in sight (${JSON.stringify(save)})`);
      const narrow = await page.evaluate(() =>
        [...document.querySelectorAll('.pedit input[type="text"], .pedit input[type="url"], .pedit select')]
          .map((e: any) => [e.dataset.path ?? e.getAttribute('aria-label'), Math.round(e.getBoundingClientRect().width)])
          .filter(([, width]: any) => width < 110),
      );
      assert.deepEqual(narrow, [], `${where}: inputs keep a usable width`);
      await page.click('.view-head button:has-text("Revert")');
      // the log with the detail open: status and provider of the rows stay readable
      await go('log');
      await page.locator('.vrow').first().click();
      await detail().locator('h2').waitFor();
      const cells = await page.evaluate(() => {
        const r = document.querySelector('.vrow');
        const rect = (n: number) => r.children[n].getBoundingClientRect();
        const st = r.children[3];
        return { provider: rect(2).width, status: rect(3).width, statusCut: st.scrollWidth > st.clientWidth, statusRight: rect(3).right, detailTop: document.querySelector('aside.detail').getBoundingClientRect().top };
      });
      assert.ok(cells.provider >= 60 && cells.status >= 24 && !cells.statusCut && cells.statusRight <= w, `${where}: ${JSON.stringify(cells)}`);
      await page.keyboard.press('Escape');
    }
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  it('every view at 1280×800, 1040×700, 720×480 and 420×700, light and dark (screenshots)', async () => {
    for (const [w, hgt] of SIZES) {
      await page.setViewportSize({ width: w, height: hgt });
      for (const view of ['providers', 'log', 'status', 'signin']) {
        await go(view);
        if (view === 'providers') await item('claude').click();
        if (view === 'log') {
          await page.locator('.vrow', { hasText: 'gpt-test' }).first().click();
          await detail().locator('h2').waitFor();
        }
        for (const scheme of ['light', 'dark'] as const) {
          await page.emulateMedia({ colorScheme: scheme });
          await page.screenshot({ path: join(shots, `${view}-${w}x${hgt}-${scheme}.png`) });
        }
        if (view === 'log') await page.keyboard.press('Escape');
      }
    }
    await page.emulateMedia({ colorScheme: 'light' });
    await page.setViewportSize({ width: 1280, height: 800 });
    assert.deepEqual(pageErrors, [], 'no script errors in the page');
  });
});
