// Shared parts of the OAuth tests: Chromium (a real browser completes the provider's pages), an in-memory vault for
// the tests that do not exercise the keychain, and running a test file inside with-keyring (a real Secret Service).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { Vault } from '../../main/oauth/vault.js';

export const CHROMIUM = '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    timeout: 30_000,
  });
}

/** Signs in on oidc-provider's development pages (any login), gives consent, and waits for router67's result page. */
export async function oidcBrowserLogin(page: Page, url: string, login = 'alice'): Promise<{ ok: boolean; text: string }> {
  await page.goto(url, { timeout: 15_000 });
  for (let i = 0; i < 4; i++) {
    if (await page.locator('#result').count()) break;
    if (await page.locator('input[name="login"]').count()) {
      await page.fill('input[name="login"]', login);
      await page.fill('input[name="password"]', 'any-password');
      await Promise.all([page.waitForLoadState('load'), page.click('button[type="submit"]')]);
      continue;
    }
    if (await page.locator('button[type="submit"]').count()) {
      await Promise.all([page.waitForLoadState('load'), page.click('button[type="submit"]')]);
      continue;
    }
    await page.waitForTimeout(100);
  }
  await page.waitForSelector('#result', { timeout: 15_000 });
  return { ok: (await page.getAttribute('#result', 'data-ok')) === 'true', text: (await page.textContent('body')) ?? '' };
}

/** A vault in memory (the keychain's behaviour without the keychain). `fail` makes the next writes throw. */
export class MemoryVault implements Vault {
  readonly data = new Map<string, string>();
  /** Another process's writes: visible only after reread. */
  readonly behind = new Map<string, string | null>();
  writes = 0;
  fail = false;
  get(a: string) {
    return this.data.get(a);
  }
  async set(a: string, v: string) {
    if (this.fail) throw new Error('keychain write refused (test)');
    this.writes++;
    this.data.set(a, v);
  }
  async delete(a: string) {
    return this.data.delete(a);
  }
  async reread(a: string) {
    if (this.behind.has(a)) {
      const v = this.behind.get(a);
      this.behind.delete(a);
      if (v === null || v === undefined) this.data.delete(a);
      else this.data.set(a, v);
    }
    return this.data.get(a);
  }
  info() {
    return { available: true };
  }
}

const root = resolve(__dirname, '..', '..', '..');

export function withKeyringTool(): string | undefined {
  const candidates = [process.env.ROUTER67_WITH_KEYRING, join(root, '..', 'shared', 'tools', 'with-keyring'), '/work/shared/tools/with-keyring'];
  return candidates.find((c): c is string => !!c && existsSync(c));
}

export const insideKeyring = process.env.ROUTER67_TEST_IN_KEYRING === '1';

/** Runs `file` with node's test runner inside with-keyring; returns the TAP output (asserting it passed). */
export function runInsideKeyring(file: string, timeoutMs: number): { ok: boolean; out: string; skipped?: string } {
  const tool = withKeyringTool();
  if (!tool) return { ok: true, out: '', skipped: 'with-keyring (shared/tools) not found' };
  const env: NodeJS.ProcessEnv = { ...process.env, ROUTER67_TEST_IN_KEYRING: '1' };
  delete env.NODE_TEST_CONTEXT;
  const r = spawnSync(tool, [process.execPath, '--test', '--test-reporter=tap', '--test-timeout=120000', file], { env, encoding: 'utf8', timeout: timeoutMs });
  const out = `${r.stdout}\n${r.stderr}`;
  return { ok: r.status === 0 && /# fail 0/.test(out) && /# pass [1-9]/.test(out), out };
}
