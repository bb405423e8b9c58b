// The Usage view in a real browser (Debian's Chromium via playwright-core) against a real daemon (compose, as
// `router67 daemon` builds it) whose usage.db holds 1,000,000 requests: the totals and breakdowns shown match a
// direct SQL query over the rows, a request routed meanwhile shows up, the chart draws (uPlot under the page's
// CSP), CSV export works, and screenshots light and dark go to test-output/screenshots/usage-*.png.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { BrowserContext, Page } from 'playwright-core';
import { compose, type Composed } from '../../main/app/compose.js';
import { silentLogger } from '../../main/log/logger.js';
import { provider } from '../helpers/core.js';
import { startMockUpstream, type MockUpstream } from '../helpers/mock-upstream.js';
import { skipUnless } from '../helpers/requires.js';
import { seedHistory } from '../helpers/seed-history.js';
import { CHROMIUM, launchProfile } from '../helpers/browser.js';

declare const document: any, matchMedia: any; // eslint-disable-line @typescript-eslint/no-explicit-any

const root = resolve(__dirname, '..', '..', '..');
const shots = join(root, 'test-output', 'screenshots');
const DAY = 86_400_000;
const ROWS = 1_000_000;

const midnight = (t: number) => {
  const d = new Date(t);
  return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
};
const int = (n: number) => n.toLocaleString('en-US');

describe('the Usage view over 1,000,000 stored requests', { skip: skipUnless({ files: [CHROMIUM], modules: ['better-sqlite3'] }) }, () => {
  let home: string;
  let profile: string;
  let parts: Composed;
  let up: MockUpstream;
  let ctx: BrowserContext;
  let page: Page;
  let db: Database.Database;
  let seededAt: number;
  const pageErrors: string[] = [];

  before(async () => {
    mkdirSync(shots, { recursive: true });
    home = mkdtempSync(join(tmpdir(), 'router67-usage-view-'));
    seededAt = Date.now() - 60_000;
    // the same rows also as plain rows in a file of their own: the SQL the view is checked against
    const ms = seedHistory(join(home, 'usage.db'), ROWS, seededAt, 90, join(home, 'reference.db'));
    process.stderr.write(`# seeded ${int(ROWS)} rows in ${(ms / 1000).toFixed(1)} s\n`);
    up = await startMockUpstream('alpha');
    writeFileSync(join(home, 'config.toml'), `[daemon]\nlog_level = "error"\n${provider('alpha', up.url, { 'claude-x': 'alpha-model' })}`);
    parts = await compose({ ui: 'daemon', home, httpListen: '127.0.0.1:0', logger: silentLogger, env: {}, caCheck: false });
    db = new Database(join(home, 'reference.db'), { readonly: true });
    profile = mkdtempSync(join(tmpdir(), 'r67-chromium-'));
    ctx = await launchProfile(profile, { viewport: { width: 1280, height: 900 }, colorScheme: 'light', acceptDownloads: true });
    page = ctx.pages()[0] ?? (await ctx.newPage());
    page.setDefaultTimeout(15_000);
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(m.text());
    });
  });

  after(async () => {
    db?.close();
    await ctx?.close();
    await parts?.stop({ drainMs: 100 });
    await up?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    if (home) rmSync(home, { recursive: true, force: true });
  });

  const tile = async (id: string) => (await page.textContent(`#usage-${id} .tile-value`))?.trim();
  const tableRows = async (id: string) =>
    page.$$eval(`#usage-by-${id} tbody tr`, (trs) => trs.map((tr: any) => [...tr.children].map((td: any) => td.textContent.trim()))); // eslint-disable-line @typescript-eslint/no-explicit-any

  it('30 days: totals and the provider breakdown match SQL over the rows; the chart draws', async () => {
    await page.goto(parts.uiLink!);
    await page.click('#nav-usage');
    await page.waitForSelector('#view-usage:not([hidden]) #usage-requests');
    await page.click('#usage-range-30d');
    await page.waitForSelector('#usage-range-30d[aria-pressed="true"]');
    await page.waitForFunction(() => document.querySelector('#usage-refresh')?.textContent === 'Refresh');
    await page.waitForSelector('#usage-chart canvas');
    const from = midnight(Date.now()) - 29 * DAY;
    const sql = db.prepare('SELECT count(*) n, sum(1 - ok) e, sum(cost_usd) c FROM requests WHERE ts >= ?').get(from) as { n: number; e: number; c: number };
    assert.ok(sql.n > 300_000, `about a third of the rows are in 30 days (${sql.n})`);
    assert.equal(await tile('requests'), int(sql.n));
    assert.equal(await tile('cost'), `$${sql.c.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`);
    assert.match((await page.textContent('#usage-requests .tile-sub')) ?? '', new RegExp(`^${int(sql.e)} failed`));
    const byProvider = db.prepare('SELECT provider, count(*) n FROM requests WHERE ts >= ? GROUP BY provider ORDER BY n DESC, provider').all(from) as { provider: string; n: number }[];
    const shown = await tableRows('provider');
    assert.deepEqual(
      shown.map((r) => [r[0], r[1]]).sort(),
      byProvider.map((r) => [r.provider, int(r.n)]).sort(),
    );
    // "local" has no price: its cost is "—", never $0
    assert.equal(shown.find((r) => r[0] === 'local')![6], '—');
    const latency = await page.$$eval('#usage-latency tbody tr', (trs) => trs.length);
    assert.equal(latency, 4);
    const foot = (await page.textContent('#usage-foot')) ?? '';
    const queryMs = Number(/Query ([\d.]+) ms/.exec(foot)?.[1]);
    process.stderr.write(`# Usage view, 30 days over ${int(ROWS)} rows: query ${queryMs} ms (the bench has the target)\n`);
    assert.deepEqual(pageErrors, []);
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      await page.waitForFunction((s) => matchMedia(`(prefers-color-scheme: ${s})`).matches, scheme);
      await page.waitForTimeout(100); // the chart is redrawn with the theme's colours
      await page.screenshot({ path: join(shots, `usage-${scheme}.png`), fullPage: false });
    }
    await page.emulateMedia({ colorScheme: 'light' });
  });

  it('today: a request routed now shows up beside the seeded ones', async () => {
    const r = await fetch(`http://${parts.core.status().http.address}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude-x', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(r.status, 200);
    await r.text();
    await page.click('#usage-range-today');
    const today = midnight(Date.now());
    const seeded = (db.prepare('SELECT count(*) n FROM requests WHERE ts >= ? AND entry_id LIKE ?').get(today, 'seed-%') as { n: number }).n;
    const want = int(seeded + 1);
    for (let i = 0; i < 20 && (await tile('requests')) !== want; i++) {
      await page.click('#usage-refresh');
      await page.waitForFunction(() => document.querySelector('#usage-refresh')?.textContent === 'Refresh');
    }
    assert.equal(await tile('requests'), want);
    const alpha = (await tableRows('provider')).find((row) => row[0] === 'alpha');
    assert.equal(alpha?.[1], '1');
  });

  it('custom range and CSV export', async () => {
    await page.click('#usage-range-custom');
    const a = new Date(seededAt - 10 * DAY);
    const b = new Date(seededAt - 4 * DAY);
    const d = (x: Date) => `${x.getFullYear()}-${String(x.getMonth() + 1).padStart(2, '0')}-${String(x.getDate()).padStart(2, '0')}`;
    await page.fill('#usage-from', d(a));
    await page.fill('#usage-to', d(b));
    await page.dispatchEvent('#usage-to', 'change');
    const from = new Date(a.getFullYear(), a.getMonth(), a.getDate()).getTime();
    const to = new Date(b.getFullYear(), b.getMonth(), b.getDate() + 1).getTime();
    const n = (db.prepare('SELECT count(*) n FROM requests WHERE ts >= ? AND ts < ?').get(from, to) as { n: number }).n;
    await page.waitForFunction((want) => document.querySelector('#usage-requests .tile-value')?.textContent === want, int(n));
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#usage-csv')]);
    const file = join(home, 'usage.csv');
    await download.saveAs(file);
    const csv = readFileSync(file, 'utf8').split('\r\n');
    assert.equal(csv[0], 'section,key,requests,errors,input_tokens,output_tokens,cache_read_tokens,cache_write_tokens,reasoning_tokens,cost_usd');
    assert.equal(csv[1]!.split(',')[2], String(n));
    assert.equal(csv.filter((l) => l.startsWith('day,')).length, 7);
    assert.ok(csv.some((l) => /^provider,local,\d+(,\d+){6},$/.test(l)), 'no price: an empty cost cell');
  });
});
