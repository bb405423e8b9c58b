// First run in the daemon's window (Chromium), against a real composed daemon in a temporary home with no config:
// the Get started page (keys from the environment, a stand-in Ollama, the installed clients and their trust lines),
// then Set up interception with the OS prompt refused and accepted (mocked at the OS boundary: the exec that runs
// the elevation command), and each state of the Interception card (not set up, on, off, failed).
// Screenshots (light and dark) go to test-output/screenshots/.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { compose, type Composed } from '../../main/app/compose.js';
import { parseConfig } from '../../main/config/load.js';
import { silentLogger } from '../../main/log/logger.js';
import { SecretStore } from '../../main/secrets/store.js';
import type { Exec } from '../../main/system/truststore.js';
import { mockOllama } from '../helpers/mock-ollama.js';
import { skipUnless } from '../helpers/requires.js';
import { CHROMIUM, launchProfile } from '../helpers/browser.js';

declare const document: any; // eslint-disable-line @typescript-eslint/no-explicit-any

const root = resolve(__dirname, '..', '..', '..');
const shots = join(root, 'test-output', 'screenshots');

describe('first run and Set up interception in Chromium, against a composed daemon', { skip: skipUnless({ files: [CHROMIUM] }) }, () => {
  let home: string;
  let parts: Composed;
  let ollama: Awaited<ReturnType<typeof mockOllama>>;
  let ctx: BrowserContext;
  let page: Page;
  let profile: string;
  const pageErrors: string[] = [];
  /** The OS prompt: every elevation command the setup runs, answered as `answer` says. */
  const prompts: string[][] = [];
  let answer: 'accept' | 'refuse' = 'refuse';
  const exec: Exec = async (argv) => {
    if (argv[0] === 'osascript') {
      prompts.push(argv);
      return answer === 'accept' ? { code: 0, stdout: '{"ok":true,"op":"batch"}\n', stderr: '' } : { code: 1, stdout: '', stderr: 'execution error: User canceled. (-128)' };
    }
    if (argv[0] === 'security') return { code: 1, stdout: '', stderr: '' }; // the CA is not trusted yet
    return { code: 0, stdout: '', stderr: '' };
  };
  const env = {
    ANTHROPIC_API_KEY: 'sk-ant-secret-value-1',
    OPENROUTER_API_KEY: 'sk-or-secret-value-2',
    GEMINI_API_KEY: 'gm-secret-value-3',
    // Claude Code told to ignore the OS store: it needs a line even after setup
    CLAUDE_CODE_CERT_STORE: 'bundled',
    PATH: '',
  };

  const shot = async (name: string, fullPage = false) => {
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      await page.waitForTimeout(50);
      await page.screenshot({ path: join(shots, `${name}-${scheme}.png`), fullPage });
    }
    await page.emulateMedia({ colorScheme: 'light' });
  };
  const go = async (view: string) => {
    await page.click(`#nav-${view}`);
    await page.waitForSelector(`#view-${view}:not([hidden])`);
  };
  const stateWord = () => page.textContent('#intercept-state');
  const sideText = () => page.textContent('.side-status-text');

  before(async () => {
    mkdirSync(shots, { recursive: true });
    home = mkdtempSync(join(tmpdir(), 'r67-firstrun-'));
    const bin = join(home, 'bin');
    mkdirSync(bin);
    for (const b of ['claude', 'codex']) {
      writeFileSync(join(bin, b), '#!/bin/sh\n');
      chmodSync(join(bin, b), 0o755);
    }
    env.PATH = bin;
    writeFileSync(join(home, 'hosts'), '127.0.0.1 localhost\n');
    ollama = await mockOllama(['llama3.2:latest', 'qwen3:8b']);
    parts = await compose({
      ui: 'daemon',
      home,
      env,
      httpListen: '127.0.0.1:0',
      logger: silentLogger,
      hostsPath: join(home, 'hosts'),
      bind: '127.0.0.1:0',
      caCheck: false,
      openSecrets: async () => SecretStore.none('no keychain in this test'),
      install: { platform: 'darwin', exec, nss: false, elevate: { privileged: false, exec } },
      firstRun: { ollamaUrl: ollama.url, userHome: home },
    });
    profile = mkdtempSync(join(tmpdir(), 'r67-chromium-'));
    ctx = await launchProfile(profile, { viewport: { width: 1200, height: 780 }, colorScheme: 'light' });
    page = ctx.pages()[0] ?? (await ctx.newPage());
    page.setDefaultTimeout(10_000);
    page.on('pageerror', (e) => pageErrors.push(e.message));
  });

  after(async () => {
    await ctx?.close();
    await parts?.stop({ drainMs: 10 });
    await ollama?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('opens on Get started: keys in the environment, Ollama\'s models, the clients and their trust lines', async () => {
    await page.goto(parts.uiLink!);
    await page.waitForSelector('#view-welcome:not([hidden]) #fr-keys');
    const row = (id: string) => page.locator(`tr[data-entry="${id}"]`);
    const box = (id: string) => row(id).locator('input[type=checkbox]');
    assert.equal(await box('env:ANTHROPIC_API_KEY').isChecked(), true);
    assert.equal(await box('env:OPENROUTER_API_KEY').isChecked(), true);
    assert.equal(await box('env:OPENAI_API_KEY').isChecked(), false);
    assert.equal(await box('env:OPENAI_API_KEY').isDisabled(), true);
    assert.match((await row('env:OPENAI_API_KEY').textContent()) ?? '', /not set/);
    assert.equal(await box('env:GEMINI_API_KEY').isDisabled(), true);
    assert.match((await row('env:GEMINI_API_KEY').textContent()) ?? '', /set — not offered/);
    assert.equal(await box('ollama').isChecked(), true);
    assert.match((await row('ollama').textContent()) ?? '', /llama3\.2:latest, qwen3:8b/);
    assert.ok(ollama.hits >= 1);
    // the clients, with the exact line doctor prints
    const clients = (await page.textContent('#fr-clients')) ?? '';
    assert.match(clients, new RegExp(`Claude Code \\(${join(home, 'bin', 'claude').replace(/[.]/g, '\\.')}\\)`));
    assert.match(clients, /Codex CLI/);
    assert.ok(clients.includes(`export NODE_EXTRA_CA_CERTS=${join(home, 'ca', 'ca.crt')}`), clients);
    assert.match(clients, /Once interception is set up/);
    // no key value ever reaches the page
    const html = await page.content();
    for (const v of [env.ANTHROPIC_API_KEY, env.OPENROUTER_API_KEY, env.GEMINI_API_KEY]) assert.ok(!html.includes(v));
    assert.equal(await sideText(), 'Interception not set up');
    await shot('firstrun');
    await page.locator('#fr-clients').scrollIntoViewIfNeeded();
    await shot('firstrun-clients');
    await page.locator('#fr-keys').scrollIntoViewIfNeeded();
  });

  it('writes the starting config with the ticked entries only, as env-var references', async () => {
    await page.locator('tr[data-entry="env:OPENROUTER_API_KEY"] input').uncheck();
    assert.equal(await page.textContent('#fr-count'), 'Providers: anthropic, ollama');
    await page.click('#fr-write');
    await page.waitForSelector('.toast-ok');
    await page.waitForSelector('#view-providers:not([hidden])');
    const text = readFileSync(join(home, 'config.toml'), 'utf8');
    const cfg = parseConfig(text, 'config.toml');
    assert.deepEqual(cfg.providers.map((p) => p.name), ['anthropic', 'ollama']);
    assert.equal(cfg.providers[0]!.auth?.value_env, 'ANTHROPIC_API_KEY');
    assert.ok(!text.includes(env.ANTHROPIC_API_KEY));
    assert.deepEqual(parts.core.status().providers.map((p) => p.name), ['anthropic', 'ollama'], 'the running core took it');
    await page.locator('.toast').evaluateAll((els: { remove(): void }[]) => els.forEach((e) => e.remove()));
  });

  it('Status: not set up is neutral — no failure in the sidebar, the card or a toast', async () => {
    await go('status');
    assert.equal(await stateWord(), 'Not set up');
    assert.equal(await page.locator('.card.intercept.is-error').count(), 0);
    assert.equal(await page.locator('.side-status .dot-error').count(), 0);
    assert.equal(await sideText(), 'Interception not set up');
    assert.equal(await page.locator('.toast-error').count(), 0);
    assert.equal(await page.locator('#intercept-switch').count(), 0, 'setup first, not a switch that fails');
    await shot('status-not-set-up');
  });

  it('Set up interception with the prompt refused: one prompt, nothing changed, said once and calmly', async () => {
    answer = 'refuse';
    const configBefore = readFileSync(join(home, 'config.toml'), 'utf8');
    await page.click('#setup-intercept');
    await page.waitForSelector('#setup-dialog[open]');
    const what = (await page.textContent('#setup-what')) ?? '';
    assert.match(what, /local certificate authority that can only vouch for api\.anthropic\.com, api\.openai\.com and openrouter\.ai/);
    assert.match(what, /While router67 runs, a block in the hosts file sends those names to router67/);
    assert.equal(await page.locator('#setup-what p').count(), 2);
    await shot('setup-dialog');
    await page.click('#setup-go');
    await page.waitForSelector('#setup-dialog', { state: 'detached' });
    await page.waitForSelector('.calm-note');
    assert.equal(prompts.length, 1, 'one OS prompt');
    assert.match(prompts[0]![2]!, /'helper' 'batch' 'b64:/);
    assert.equal(await page.textContent('.calm-note'), 'Nothing was changed: the password prompt was cancelled. You can set up interception whenever you like.');
    assert.equal(await page.locator('.toast').count(), 0, 'not also a toast');
    assert.equal(await page.locator('.card.intercept [role=alert]').count(), 0, 'not an alert');
    assert.equal(await stateWord(), 'Not set up');
    assert.equal(existsSync(join(home, 'ca')), false, 'no CA left behind');
    assert.equal(readFileSync(join(home, 'config.toml'), 'utf8'), configBefore);
    assert.doesNotMatch(readFileSync(join(home, 'hosts'), 'utf8'), /router67/);
    await shot('setup-refused');
  });

  it('Cancel in the dialog runs nothing', async () => {
    await page.click('#setup-intercept');
    await page.waitForSelector('#setup-dialog[open]');
    await page.keyboard.press('Escape');
    await page.waitForSelector('#setup-dialog', { state: 'detached' });
    assert.equal(prompts.length, 1);
  });

  it('Set up interception with the prompt accepted: install through one prompt, then interception is on', async () => {
    answer = 'accept';
    await page.click('#setup-intercept');
    await page.waitForSelector('#setup-dialog[open]');
    await page.click('#setup-go');
    await page.waitForSelector('#setup-dialog', { state: 'detached' });
    await page.waitForFunction(() => document.querySelector('#intercept-state')?.textContent === 'On');
    assert.equal(prompts.length, 2, 'one more prompt');
    assert.equal(await page.getAttribute('#intercept-switch', 'aria-checked'), 'true');
    await page.waitForFunction(() => document.querySelector('.side-status-text')?.textContent === 'Intercepting');
    assert.ok(existsSync(join(home, 'ca', 'ca.crt')));
    assert.match(readFileSync(join(home, 'hosts'), 'utf8'), /router67/);
    assert.equal(parts.core.status().intercept.state, 'on');
    await page.waitForSelector('.toast-ok');
    await shot('status-on');
    await page.locator('.toast').evaluateAll((els: { remove(): void }[]) => els.forEach((e) => e.remove()));
  });

  it('off, and failed: the switch and its states once set up', async () => {
    await page.click('#intercept-switch');
    await page.waitForFunction(() => document.querySelector('#intercept-state')?.textContent === 'Off');
    assert.equal(await sideText(), 'Local endpoint only');
    assert.doesNotMatch(readFileSync(join(home, 'hosts'), 'utf8'), /router67/);
    await shot('status-off');
    // a broken CA file: switching on fails, and that is a real failure (red)
    writeFileSync(join(home, 'ca', 'ca.crt'), 'not a certificate\n');
    await page.click('#intercept-switch');
    await page.waitForFunction(() => document.querySelector('#intercept-state')?.textContent === 'Failed');
    await page.waitForSelector('.card.intercept.is-error');
    await page.waitForFunction(() => document.querySelector('.side-status-text')?.textContent === 'Interception failed');
    assert.equal(await page.locator('.side-status .dot-error').count(), 1);
    await shot('status-failed');
    assert.deepEqual(pageErrors, []);
  });
});
