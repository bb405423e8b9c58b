// Shared parts of the OAuth tests: Chromium (a real browser completes the provider's pages) and an in-memory vault
// for the tests that do not exercise the keychain. Keychain tests run under test/helpers/keyring.ts's wrapper.
import type { Browser, Page } from 'playwright-core';
import type { Vault } from '../../main/oauth/vault.js';
import { CHROMIUM, CHROMIUM_ARGS } from '../helpers/browser.js';

export { CHROMIUM };

export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
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
