// The real browser the window tests drive: Debian's Chromium through playwright-core, headless, one profile
// folder per test file (the window's session cookie and storage live there, as in a user's browser).
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];

export interface ProfileOptions {
  /** Playwright's default (1280 × 720) when absent. */
  viewport?: { width: number; height: number };
  colorScheme?: 'light' | 'dark';
  acceptDownloads?: boolean;
  /** Chromium flags beyond the headless set (e.g. host resolver rules). */
  args?: string[];
}

/** Chromium with its own profile in `profile`. */
export function launchProfile(profile: string, o: ProfileOptions = {}): Promise<BrowserContext> {
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS, ...(o.args ?? [])],
    ...(o.viewport ? { viewport: o.viewport } : {}),
    ...(o.colorScheme ? { colorScheme: o.colorScheme } : {}),
    ...(o.acceptDownloads ? { acceptDownloads: true } : {}),
    timeout: 30_000,
  });
}
