// Budget notices reach the window as they happen (a 'budget' UiEvent over the daemon's SSE; the same event goes
// through Electron's IPC push), not only through status polling, and the window shows each once as a toast:
// a real core with a priced provider and tiny overall budgets, official SDK traffic, the page in Chromium.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import type { BrowserContext, Page } from 'playwright-core';
import { attachUi, type AttachedUi } from '../../main/ui/attach.js';
import type { UiEvent } from '../../main/ui/types.js';
import { provider, startCore, type TestCore } from '../helpers/core.js';
import { startMockUpstream, type MockUpstream } from '../helpers/mock-upstream.js';
import { skipUnless } from '../helpers/requires.js';
import { CHROMIUM, launchProfile } from '../helpers/browser.js';

declare const document: any; // eslint-disable-line @typescript-eslint/no-explicit-any
declare const window: any; // eslint-disable-line @typescript-eslint/no-explicit-any


// the mock answers 11 input and 7 output tokens: 11 × $3 + 7 × $15 per million = $0.000138 a request, so the
// first request crosses the soft limit and the second the hard one; the third is refused (402) with no new notice
const toml = (url: string) =>
  provider('claude', url, { 'claude-test': 'claude-upstream' }, 'format = "anthropic"') +
  `
[prices."claude/claude-upstream"]
input = 3
output = 15

[budgets.overall]
soft_daily = 0.0001
daily = 0.0002
`;

describe('budget notices in the window', { skip: skipUnless({ files: [CHROMIUM] }) }, () => {
  let up: MockUpstream;
  let t: TestCore;
  let ui: AttachedUi;
  let ctx: BrowserContext;
  let page: Page;
  let profile: string;
  const pageErrors: string[] = [];

  before(async () => {
    up = await startMockUpstream('claude');
    t = await startCore(toml(up.url));
    ui = attachUi(t.core, { app: 'daemon', caCheck: false });
    profile = mkdtempSync(join(tmpdir(), 'r67-chromium-'));
    ctx = await launchProfile(profile, { viewport: { width: 1100, height: 700 } });
    page = ctx.pages()[0] ?? (await ctx.newPage());
    page.setDefaultTimeout(10_000);
    page.on('pageerror', (e) => pageErrors.push(e.message));
  });

  after(async () => {
    await ctx?.close();
    await t?.stop();
    await up?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('a soft and a hard limit crossed each show once as a toast, pushed as they happen', async () => {
    const events: UiEvent[] = [];
    const off = ui.service.subscribe((e) => events.push(e));
    await page.goto(ui.link!);
    await page.click('#nav-log');
    await page.waitForSelector('#view-log:not([hidden])');
    // every toast that ever appears (toasts remove themselves after a few seconds)
    await page.evaluate(() => {
      window.__toasts = [];
      new window.MutationObserver((ms: any[]) => {
        for (const m of ms) for (const n of m.addedNodes) if (n.classList?.contains('toast')) window.__toasts.push({ kind: n.className, text: n.textContent });
      }).observe(document.body, { childList: true, subtree: true });
    });
    const toasts = () => page.evaluate(() => window.__toasts as { kind: string; text: string }[]);
    const anthropic = new Anthropic({ baseURL: t.url, apiKey: 'client', maxRetries: 0 });
    const ask = () => anthropic.messages.create({ model: 'claude-test', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] });

    await ask();
    await page.waitForFunction(() => window.__toasts.some((x: any) => x.text.startsWith('Budget:')));
    let seen = await toasts();
    assert.equal(seen.length, 1, JSON.stringify(seen));
    assert.match(seen[0]!.kind, /toast-warn/);
    assert.match(seen[0]!.text, /^Budget: overall budget: \$0\.0001 spent today, soft daily limit \$0\.0001 — notice only; requests go on$/);

    await ask();
    await page.waitForFunction(() => window.__toasts.length >= 2);
    await assert.rejects(ask(), (e: InstanceType<typeof Anthropic.APIError>) => e.status === 402);
    // the refused request's row reaches the window after any notice it could have caused
    await page.waitForFunction(() => [...document.querySelectorAll('.vrow')].some((r: any) => /\b402\b/.test(r.textContent ?? '')));
    seen = await toasts();
    assert.equal(seen.length, 2, `one toast per notice: ${JSON.stringify(seen)}`);
    assert.match(seen[1]!.kind, /toast-error/);
    assert.match(seen[1]!.text, /^Budget: overall budget: \$0\.0003 spent today, hard daily limit \$0\.0002 — requests are refused until the day ends$/);

    // the same notices as UiEvents (what the SSE stream and Electron's IPC push carry)
    const budget = events.filter((e): e is Extract<UiEvent, { type: 'budget' }> => e.type === 'budget');
    assert.deepEqual(budget.map((e) => [e.notice.level, e.notice.scope, e.notice.period]), [['soft', 'overall', 'daily'], ['hard', 'overall', 'daily']]);
    assert.deepEqual(budget.map((e) => e.notice), t.core.status().budgetNotices ?? [], 'the notices status keeps');
    off();
    assert.deepEqual(pageErrors, []);
  });
});
