// Budgets: soft notices once per period (injected clock), resets at local midnight and month start, the state file
// across restarts; through a real core: a provider over its budget is skipped for the next, an app over its budget
// gets a non-retryable dialect error the official SDKs raise as such.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { request } from 'undici';
import { formatStatus } from '../../main/cli/status.js';
import { parseConfig } from '../../main/config/load.js';
import { Core } from '../../main/core/core.js';
import type { LogEntry } from '../../main/log/request-log.js';
import { silentLogger } from '../../main/log/logger.js';
import { Budgets, type BudgetNotice } from '../../main/usage/budgets.js';
import { startCore, tempHome, type TestCore } from '../helpers/core.js';
import { startShapeUpstream, type ShapeUpstream } from './shapes.js';

describe('budget periods and notices (injected clock)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'router67-budgets-'));
  });

  const cfg = parseConfig(
    `
[[providers]]
name = "p"
base_url = "https://llm.example.com"
[budgets.overall]
soft_daily = 1
daily = 2
soft_monthly = 10
[budgets.providers.p]
daily = 0.5
[budgets.apps."Codex"]
monthly = 3
`,
    '/tmp/config.toml',
  );

  it('a soft limit notifies exactly once per day; the next day it may again; counts reset at local midnight', () => {
    let now = new Date(2026, 11, 1, 9, 0, 0); // local time
    const b = new Budgets({ file: join(dir, 'budgets.json'), config: () => cfg, now: () => now });
    const notices: BudgetNotice[] = [];
    b.on('notice', (n: BudgetNotice) => notices.push(n));
    b.add(0.6, undefined, undefined);
    assert.equal(notices.length, 0);
    b.add(0.6, undefined, undefined); // 1.2 ≥ soft 1
    b.add(0.1, undefined, undefined);
    b.add(0.1, undefined, undefined);
    const soft = notices.filter((n) => n.level === 'soft' && n.scope === 'overall' && n.period === 'daily');
    assert.equal(soft.length, 1, 'once, however many requests follow');
    assert.match(soft[0]!.message, /^overall budget: \$1\.20 spent today, soft daily limit \$1\.00 — notice only/);
    assert.equal(b.refusal(undefined), undefined, 'a soft limit only notifies');
    b.add(0.7, undefined, undefined); // 2.1 ≥ hard 2
    assert.equal(notices.filter((n) => n.level === 'hard').length, 1);
    assert.match(b.refusal(undefined) ?? '', /overall budget daily limit \$2\.00 reached/);
    // 23:59:59 is still today; midnight local is a new day
    now = new Date(2026, 11, 1, 23, 59, 59);
    assert.ok(b.refusal(undefined));
    now = new Date(2026, 11, 2, 0, 0, 0);
    assert.equal(b.refusal(undefined), undefined, 'a new day, a new daily budget');
    assert.deepEqual(b.spent(), { day: 0, month: 2.1 });
    b.add(1.5, undefined, undefined);
    assert.equal(notices.filter((n) => n.level === 'soft' && n.period === 'daily').length, 2, 'the next day notifies again');
  });

  it('monthly counts reset on the 1st; app and provider budgets count their own', () => {
    let now = new Date(2026, 10, 30, 12);
    const b = new Budgets({ file: join(dir, 'budgets.json'), config: () => cfg, now: () => now });
    b.add(3, 'p', 'Codex');
    assert.match(b.refusal('Codex') ?? '', /app budget "Codex" monthly limit \$3\.00 reached/);
    // another app is not refused for Codex's budget — only for the overall one ($3 today is over its $2 a day)
    assert.match(b.refusal('Claude Code') ?? '', /^budget: overall budget daily limit \$2\.00 reached/);
    assert.match(b.providerBlocked('p') ?? '', /^budget: provider budget "p" daily limit \$0\.50 reached/);
    now = new Date(2026, 11, 1, 0, 0, 1);
    assert.equal(b.refusal('Codex'), undefined);
    assert.equal(b.providerBlocked('p'), undefined);
    assert.deepEqual(b.spent('app', 'Codex'), { day: 0, month: 0 });
  });

  it('the state file keeps the counts and the notices given (written atomically, debounced)', () => {
    const now = new Date(2026, 11, 1, 9);
    const file = join(dir, 'budgets.json');
    const b = new Budgets({ file, config: () => cfg, now: () => now, debounceMs: 60_000 });
    let given = 0;
    b.on('notice', () => given++);
    b.add(1.2, 'p', undefined);
    assert.ok(!existsSync(file), 'not written at once (debounced)');
    b.flush();
    assert.ok(JSON.parse(readFileSync(file, 'utf8')).spent.overall.day > 1);
    const again = new Budgets({ file, config: () => cfg, now: () => now });
    again.on('notice', () => given++);
    assert.deepEqual(again.spent(), { day: 1.2, month: 1.2 });
    const before = given;
    again.add(0.1, undefined, undefined);
    assert.equal(given, before, 'a notice given before the restart is not given twice');
  });

  it('an unreadable state file is reported and counting starts from zero', () => {
    const file = join(dir, 'budgets.json');
    writeFileSync(file, '{not json');
    const errors: string[] = [];
    const b = new Budgets({ file, config: () => cfg, onError: (m) => errors.push(m) });
    assert.deepEqual(b.spent(), { day: 0, month: 0 });
    assert.match(errors[0] ?? '', /unreadable/);
  });
});

const PRICE = 'input = 2\noutput = 8\ncache_read = 0.5\ncache_write = 2.5\n';
function providerBlock(name: string, url: string): string {
  return `
[[providers]]
name = "${name}"
base_url = "${url}"
format = "anthropic"
auth = { header = "x-api-key", api_key = "k-${name}" }
[providers.available_models]
"claude-x" = "up-${name}"
[prices."${name}/up-${name}"]
${PRICE}`;
}
// each answer: 100×2 + 1000×0.5 + 200×2.5 + 50×8 = $0.0016

describe('budgets through the core', () => {
  let up: ShapeUpstream;
  before(async () => {
    up = await startShapeUpstream();
  });
  after(async () => {
    await up.close();
  });

  function finished(core: Core): Promise<LogEntry> {
    return new Promise((resolve) => {
      const on = (e: LogEntry) => {
        if (e.durationMs === undefined) return;
        core.off('log', on);
        resolve(e);
      };
      core.on('log', on);
    });
  }
  async function ask(t: { url: string; core: Core }): Promise<{ status: number; body: string; entry: LogEntry }> {
    const done = finished(t.core);
    const r = await request(`${t.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'claude-x', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }),
    });
    const body = await r.body.text();
    return { status: r.statusCode, body, entry: await done };
  }

  it('a provider over its hard limit is skipped: the next request goes to the next provider; a restart keeps the spent amount', async () => {
    const home = tempHome();
    const toml = providerBlock('first', up.url) + providerBlock('second', up.url) + '\n[budgets.providers.first]\ndaily = 0.001\nsoft_daily = 0.0005\n';
    const t = await startCore(toml, { home });
    const notices: BudgetNotice[] = [];
    t.core.on('budget', (n: BudgetNotice) => notices.push(n));
    try {
      const one = await ask(t);
      assert.equal(one.status, 200);
      assert.equal(one.entry.provider, 'first');
      assert.equal(one.entry.costUsd, 0.0016);
      assert.deepEqual(
        notices.map((n) => `${n.level} ${n.scope} ${n.name}`),
        ['hard provider first', 'soft provider first'],
      );
      const two = await ask(t);
      assert.equal(two.status, 200);
      assert.equal(two.entry.provider, 'second', 'the chain moved on');
      const skipped = two.entry.attempts[0]!;
      assert.equal(skipped.provider, 'first');
      assert.match(skipped.why ?? '', /^budget: provider budget "first" daily limit \$0\.001 reached/);
      assert.equal(skipped.status, null);
      assert.equal(notices.length, 2, 'no second notice in the same day');
      const st = t.core.status();
      assert.deepEqual(
        st.budgets?.map((b) => [b.scope, b.name, b.period, b.spent, b.limit, b.over]),
        [['provider', 'first', 'daily', 0.0016, 0.001, true]],
      );
      assert.match(formatStatus(st), /provider first\s+daily\s+\$0\.0016 \/ \$0\.0010 \(notice at \$0\.0005\)\s+LIMIT REACHED/);
      assert.equal(st.budgetNotices?.length, 2);
    } finally {
      await t.core.stop({ drainMs: 100 });
    }
    // a new core on the same home: the spent amount is still there, and "first" is still skipped
    const core = await Core.start({ home, configPath: t.configPath, httpListen: '127.0.0.1:0', logger: silentLogger, env: {} });
    try {
      assert.deepEqual(core.budgets.spent('provider', 'first'), { day: 0.0016, month: 0.0016 });
      const three = await ask({ url: `http://127.0.0.1:${core.httpAddress.port}`, core });
      assert.equal(three.entry.provider, 'second');
      assert.match(three.entry.attempts[0]!.why ?? '', /^budget/);
      assert.deepEqual(core.budgets.spent(), { day: 0.0048, month: 0.0048 });
    } finally {
      await core.stop({ drainMs: 100 });
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('every provider over its budget: 402 naming the budgets, not a retryable 502', async () => {
    const t = await startCore(providerBlock('only', up.url) + '\n[budgets.providers.only]\nmonthly = 0.001\n');
    try {
      assert.equal((await ask(t)).status, 200);
      const r = await ask(t);
      assert.equal(r.status, 402);
      const e = JSON.parse(r.body) as { type: string; error: { type: string; message: string } };
      assert.equal(e.error.type, 'billing_error');
      assert.match(e.error.message, /over its budget: budget: provider budget "only" monthly limit/);
    } finally {
      await t.stop();
    }
  });

  describe('an app over its budget', () => {
    let t: TestCore;
    let app: Server;
    let appUrl: string;
    before(async () => {
      t = await startCore(providerBlock('first', up.url) + '\n[budgets.apps."Test App"]\ndaily = 0.001\n');
      // requests from "Test App": the app a process lookup would name, set here by the listener
      app = createServer((req, res) => t.core.proxy.handle(req, res, { app: 'Test App' }));
      await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
      appUrl = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
      const first = await ask({ url: appUrl, core: t.core });
      assert.equal(first.status, 200);
      assert.equal(first.entry.app, 'Test App');
    });
    after(async () => {
      app.closeAllConnections();
      await new Promise((r) => app.close(r));
      await t.stop();
    });
    const refusals = () => t.core.log.recent().filter((e) => e.status === 402).length;

    it('Anthropic SDK: an APIError with status 402 (billing_error), not retried', async () => {
      const before = refusals();
      const hits = up.hits.length;
      const client = new Anthropic({ baseURL: appUrl, apiKey: 'client-key' }); // default retries (2)
      await assert.rejects(
        client.messages.create({ model: 'claude-x', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }),
        (e: unknown) => {
          assert.ok(e instanceof Anthropic.APIError);
          assert.ok(!(e instanceof Anthropic.InternalServerError) && !(e instanceof Anthropic.RateLimitError));
          assert.equal(e.status, 402);
          const body = (e.error as { error: { type: string; message: string } }).error;
          assert.equal(body.type, 'billing_error');
          assert.match(body.message, /app budget "Test App" daily limit \$0\.001 reached \(\$0\.0016 spent today\)/);
          return true;
        },
      );
      assert.equal(refusals() - before, 1, 'the SDK did not retry');
      assert.equal(up.hits.length, hits, 'nothing went upstream');
    });

    it('OpenAI SDK: an APIError with status 402 and code budget_exceeded, not retried', async () => {
      const before = refusals();
      const client = new OpenAI({ baseURL: `${appUrl}/v1`, apiKey: 'client-key' });
      await assert.rejects(client.chat.completions.create({ model: 'claude-x', messages: [{ role: 'user', content: 'hi' }] }), (e: unknown) => {
        assert.ok(e instanceof OpenAI.APIError);
        assert.ok(!(e instanceof OpenAI.InternalServerError) && !(e instanceof OpenAI.RateLimitError));
        assert.equal(e.status, 402);
        assert.equal(e.code, 'budget_exceeded');
        assert.match(e.message, /app budget "Test App"/);
        return true;
      });
      assert.equal(refusals() - before, 1, 'the SDK did not retry');
    });

    it('another app (or none) is not refused', async () => {
      assert.equal((await ask(t)).status, 200);
    });
  });
});
