// Usage history: rows in, reports out (checked against direct SQL over the same rows in a plain table), retention with an injected
// clock, and the database failing (damaged file, a lock held by another connection) while routing goes on.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { History, localMidnight, toRow } from '../../main/usage/history.js';
import { HistoryDb, HOUR, DAY, ROW_COLUMNS, type HistoryRow } from '../../main/usage/history-db.js';
import { eventually, provider, startCore } from '../helpers/core.js';
import { startMockUpstream } from '../helpers/mock-upstream.js';
import { History as H2 } from '../../main/usage/history.js';
import { entry, scratchDirs } from './history-fixtures.js';

const dir = scratchDirs('router67-history-');

/** The rows as plain rows of an in-memory table `requests`, for SQL to check the reports against. */
function reference(rows: HistoryRow[]): Database.Database {
  const ref = new Database(':memory:');
  ref.exec(`CREATE TABLE requests (${ROW_COLUMNS.join(', ')})`);
  const ins = ref.prepare(`INSERT INTO requests VALUES (${ROW_COLUMNS.map(() => '?').join(', ')})`);
  ref.transaction(() => rows.forEach((r) => ins.run(r)))();
  return ref;
}

describe('history database', () => {
  it('totals, breakdowns, latency and series match direct SQL, across whole and partial hours', () => {
    const db = new HistoryDb(join(dir(), 'u.db'));
    const t0 = Date.UTC(2026, 0, 10, 0, 0, 0);
    const rows = [];
    for (let i = 0; i < 500; i++) {
      const at = t0 + i * 7 * 60_000; // every 7 minutes, ~58 hours
      rows.push(
        toRow(
          entry(at, {
            app: ['Claude Code', 'Codex', ''][i % 3]!,
            provider: ['alpha', 'beta'][i % 2]!,
            upstreamModel: ['m1', 'm2', 'm3', 'm4'][i % 4]!,
            route: i % 5 === 0 ? 'cheap' : '',
            status: i % 10 === 0 ? 502 : 200,
            state: i % 10 === 0 ? 'error' : 'done',
            ttfbMs: 50 + (i % 100) * 10,
            inputTokens: i,
            outputTokens: 2 * i,
            cacheReadTokens: i % 7,
            cacheWriteTokens: i % 3,
            ...(i % 4 === 3 ? {} : { costUsd: i / 1000 }),
          }),
        ),
      );
    }
    db.insert(rows);
    const ref = reference(rows);
    // a range that starts and ends mid-hour
    const from = t0 + 90 * 60_000 + 17_000;
    const to = t0 + 40 * HOUR + 23 * 60_000;
    const r = db.query({ from, to, step: 'hour' });
    const sql = ref
      .prepare(
        `SELECT count(*) n, sum(1 - ok) e, sum(input_tokens) i, sum(output_tokens) o, sum(cache_read_tokens) cr, sum(cache_write_tokens) cw,
         sum(cost_usd) c, count(cost_usd) cn FROM requests WHERE ts >= ? AND ts < ?`,
      )
      .get(from, to) as Record<string, number>;
    assert.equal(r.totals.requests, sql.n);
    assert.equal(r.totals.errors, sql.e);
    assert.equal(r.totals.inputTokens, sql.i);
    assert.equal(r.totals.outputTokens, sql.o);
    assert.equal(r.totals.cacheReadTokens, sql.cr);
    assert.equal(r.totals.cacheWriteTokens, sql.cw);
    assert.equal(r.totals.costed, sql.cn);
    assert.ok(Math.abs(r.totals.costUsd! - sql.c!) < 1e-6);
    for (const [dim, list] of [
      ['app', r.byApp],
      ['provider', r.byProvider],
      ['model', r.byModel],
      ['route', r.byRoute],
    ] as const) {
      const want = ref.prepare(`SELECT ${dim} k, count(*) n FROM requests WHERE ts >= ? AND ts < ? GROUP BY ${dim}`).all(from, to) as { k: string; n: number }[];
      assert.deepEqual(
        list.map((g) => [g.key, g.requests]).sort(),
        want.map((w) => [w.k, w.n]).sort(),
        dim,
      );
    }
    // series: every hour of the range, summing to the totals
    assert.equal(r.series.length, 40);
    assert.equal(
      r.series.reduce((s, p) => s + p.requests, 0),
      sql.n,
    );
    // latency: error rate exact, percentiles within a bucket (5 %) of the exact value
    for (const l of r.latency) {
      const vals = (ref.prepare('SELECT ttfb_ms v FROM requests WHERE ts >= ? AND ts < ? AND provider = ? ORDER BY ttfb_ms').all(from, to, l.provider) as { v: number }[]).map((x) => x.v);
      const exact = (q: number) => vals[Math.max(0, Math.ceil(q * vals.length) - 1)]!;
      assert.ok(Math.abs(l.p50Ms! - exact(0.5)) <= exact(0.5) * 0.05 + 1, `p50 ${l.p50Ms} vs ${exact(0.5)}`);
      assert.ok(Math.abs(l.p95Ms! - exact(0.95)) <= exact(0.95) * 0.05 + 1, `p95 ${l.p95Ms} vs ${exact(0.95)}`);
      const errs = ref.prepare('SELECT avg(1 - ok) a FROM requests WHERE ts >= ? AND ts < ? AND provider = ?').get(from, to, l.provider) as { a: number };
      assert.ok(Math.abs(l.errorRate - errs.a) < 1e-9);
    }
    db.close();
  });

  it('cost is null ("—") when no request of a group had a price, never 0', () => {
    const db = new HistoryDb(join(dir(), 'u.db'));
    const t = Date.UTC(2026, 0, 1, 12);
    db.insert([toRow(entry(t, { provider: 'local', app: 'script.py' })), toRow(entry(t + 1, { provider: 'paid', costUsd: 0.25 }))]);
    const r = db.query({ from: t - HOUR, to: t + HOUR });
    assert.equal(r.byProvider.find((g) => g.key === 'local')!.costUsd, null);
    assert.equal(r.byProvider.find((g) => g.key === 'paid')!.costUsd, 0.25);
    assert.equal(r.totals.costUsd, 0.25);
    assert.equal(r.totals.costed, 1);
    db.close();
  });
});

describe('History (main side)', () => {
  it('batches, answers queries off the main thread, keeps today for the tray, and prunes by the injected clock', async () => {
    const file = join(dir(), 'usage.db');
    let now = Date.UTC(2026, 5, 15, 12);
    const h = new History({ file, retentionDays: 30, now: () => now, flushMs: 10 });
    // old entries, 40 and 10 days back, and today's
    h.add(entry(now - 40 * DAY, { app: 'Old' }));
    h.add(entry(now - 10 * DAY, { app: 'Codex', costUsd: 1 }));
    for (let i = 0; i < 3; i++) h.add(entry(now - i * 1000, { app: 'Claude Code', costUsd: 0.5 }));
    h.add(entry(now - 5000, { app: 'Codex' }));
    assert.equal(await h.count(), 6);
    assert.equal(h.state.state, 'ok');
    const today = h.today();
    assert.equal(today.requests, 4);
    assert.equal(today.costUsd, 1.5);
    assert.equal(today.busiestApp, 'Claude Code');
    // retention: 30 days at "now"
    assert.equal(await h.prune(), 1);
    assert.equal(await h.count(), 5);
    now += 25 * DAY; // the 10-day-old row is now 35 days old
    assert.equal(await h.prune(), 1);
    const r = await h.query({ from: now - 60 * DAY, to: now });
    assert.equal(r.totals.requests, 4);
    assert.equal(r.step, 'day');
    // a new day: today starts from zero
    assert.equal(h.today().requests, 0);
    await h.close();

    // reopened: today's earlier rows are read back for the tray
    now = Date.UTC(2026, 5, 15, 12) + 60_000;
    const again = new H2({ file, retentionDays: 30, now: () => now });
    again.start();
    await again.count();
    assert.equal(again.today().requests, 4);
    assert.equal(again.today().busiestApp, 'Claude Code');
    again.add(entry(now, { app: 'Codex' }));
    assert.equal(again.today().requests, 5);
    await again.close();
    assert.ok(localMidnight(now) <= now);
  });

  it('retention 0 records nothing and says so', async () => {
    const h = new History({ file: join(dir(), 'usage.db'), retentionDays: 0 });
    h.add(entry(Date.now()));
    assert.equal(h.state.state, 'off');
    await assert.rejects(h.query({ from: 0, to: Date.now() }), /history is off/);
    assert.equal(h.today().requests, 1);
    await h.close();
  });
});

describe('a failing database: reported, and routing continues', () => {
  const toml = (url: string, extra = '') => `[daemon]\nlog_level = "error"\n${extra}\n${provider('alpha', url, { 'claude-x': 'alpha-model' })}`;

  async function routeOne(url: string): Promise<number> {
    const r = await fetch(`${url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude-x', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
    });
    await r.text();
    return r.status;
  }

  it('a damaged file', async () => {
    const up = await startMockUpstream('alpha');
    const t = await startCore(toml(up.url));
    const file = join(t.home, 'usage.db');
    writeFileSync(file, 'this is not a database at all'.repeat(200));
    const warnings: string[] = [];
    const h = new History({ file, retentionDays: 90, flushMs: 5, logger: { level: 'warn', error() {}, warn: (m) => warnings.push(m), info() {}, debug() {} } });
    t.core.log.on('finish', (e) => h.add(e));
    t.core.warningSources.add(() => h.warning());
    try {
      assert.equal(await routeOne(t.url), 200);
      await eventually(() => assert.equal(h.state.state, 'error'));
      assert.match(h.state.message!, /damaged/);
      assert.match(t.core.status().warnings.join('\n'), /usage history: .*usage\.db is damaged/);
      assert.match(warnings.join('\n'), /routing is not affected/);
      assert.equal(await routeOne(t.url), 200); // and again
      await assert.rejects(h.query({ from: 0, to: Date.now() }), /damaged/);
    } finally {
      await h.close();
      await t.stop();
      await up.close();
    }
  });

  it('a file locked by another program: entries wait, then are written', async () => {
    const up = await startMockUpstream('alpha');
    const t = await startCore(toml(up.url));
    const file = join(t.home, 'usage.db');
    const h = new History({ file, retentionDays: 90, flushMs: 5, busyMs: 50 });
    t.core.log.on('finish', (e) => h.add(e));
    t.core.warningSources.add(() => h.warning());
    try {
      assert.equal(await routeOne(t.url), 200);
      assert.equal(await h.count(), 1);
      const other = new Database(file);
      other.exec('BEGIN EXCLUSIVE');
      assert.equal(await routeOne(t.url), 200);
      await eventually(() => assert.equal(h.state.state, 'error'));
      assert.match(h.state.message!, /locked/);
      assert.equal(h.state.pending, 1);
      assert.match(t.core.status().warnings.join('\n'), /usage history: .*locked.*1 entries waiting/);
      assert.equal(await routeOne(t.url), 200);
      other.exec('COMMIT');
      other.close();
      await eventually(() => assert.equal(h.state.state, 'ok'), 6000);
      assert.equal(await h.count(), 3);
      assert.deepEqual(t.core.status().warnings, []);
    } finally {
      await h.close();
      await t.stop();
      await up.close();
    }
  });
});
