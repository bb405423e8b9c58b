// The usage history's cheap paths give exactly what the plain ones gave: a batch rolls up to the same totals as
// the same rows written one by one; the packed batch the proxy thread sends unpacks to toRow's rows; the start
// time read without a Date is Date.parse's; entries recorded through History (packed, posted, stored packed) read
// back as the rows toRow makes; rows in the older one-row-per-request table are read beside the packed ones.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { IsoClock } from '../../main/log/iso-clock.js';
import { History, toRow } from '../../main/usage/history.js';
import { HistoryDb, HOUR, DAY, ROW_COLUMNS, type HistoryRow } from '../../main/usage/history-db.js';
import { BATCH_WIDTH, BatchBuilder, decodeRows, encodeRows, unpack } from '../../main/usage/history-batch.js';
import type { LogEntry } from '../../main/ui/types.js';
import { entry, scratchDirs } from './history-fixtures.js';

const dir = scratchDirs('router67-history-batch-');

/** Entries that vary every column, with nulls, errors and costs that do not add up exactly in binary. */
function mixed(t0: number, count: number, step: number): LogEntry[] {
  return Array.from({ length: count }, (_, i) =>
    entry(t0 + i * step, {
      app: ['Claude Code', 'Codex', ''][i % 3]!,
      provider: i % 11 === 0 ? undefined : ['alpha', 'beta'][i % 2]!,
      upstreamModel: i % 13 === 0 ? undefined : ['m1', 'm2'][i % 2]!,
      route: i % 5 === 0 ? 'cheap' : undefined,
      status: i % 17 === 0 ? undefined : i % 10 === 0 ? 502 : 200,
      state: i % 10 === 0 ? 'error' : 'done',
      stream: i % 2 === 0,
      ttfbMs: i % 9 === 0 ? undefined : i % 23 === 0 ? 0.5 : 50 + (i % 100) * 10.37,
      durationMs: i % 19 === 0 ? undefined : 200 + i,
      inputTokens: i,
      outputTokens: 2 * i,
      cacheReadTokens: i % 7,
      cacheWriteTokens: i % 3,
      reasoningTokens: i % 4,
      ...(i % 4 === 3 ? {} : { costUsd: 0.1 + i / 3000 }),
      bytesIn: 100 + i,
      bytesOut: 50 + i,
      attempts: Array.from({ length: 1 + (i % 3) }, () => ({ provider: 'alpha', model: 'm1', status: 200, error: null, durationMs: 1 })),
    }),
  );
}

const TABLES = ['rows', 'hourly', 'daily', 'series', 'ttfb_hourly', 'ttfb_daily'];

function dump(db: HistoryDb): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = { rows: db.allRows() };
  for (const t of TABLES.slice(1)) {
    const rows = db.db.prepare(`SELECT * FROM ${t} ORDER BY 1`).raw().all() as unknown[][];
    out[t] = rows.map((r) => JSON.stringify(r)).sort();
  }
  return out;
}

describe('history batches', () => {
  it('a batch with many rows in the same hours and keys rolls up to exactly what row-by-row writes give', () => {
    const t0 = Date.UTC(2026, 2, 3, 22, 10, 0);
    // 3000 rows, one every 5 s: many rows per (hour, key), across hours and a UTC day boundary
    const rows = mixed(t0, 3000, 5_000).map(toRow);
    const one = new HistoryDb(join(dir(), 'one.db'));
    const batch = new HistoryDb(join(dir(), 'batch.db'));
    for (const r of rows) one.insert([r]);
    batch.insert(rows);
    const a = dump(one);
    const b = dump(batch);
    assert.ok((a.hourly as unknown[]).length > 10 && (a.daily as unknown[]).length >= 4, 'several hours, days and keys');
    assert.equal(a.rows!.length, 3000);
    assert.deepEqual(a.rows, rows, 'the rows read back are the rows written');
    for (const t of TABLES) assert.deepEqual(b[t], a[t], t);
    for (const [from, to] of [
      [t0, t0 + 3000 * 5_000],
      [t0 + 17 * 60_000 + 3_000, t0 + 3 * HOUR + 11_000],
      [t0 - DAY, t0 + 2 * DAY],
    ] as const) {
      const x = { ...one.query({ from, to }), queryMs: 0 };
      const y = { ...batch.query({ from, to }), queryMs: 0 };
      assert.deepEqual(y, x);
    }
    one.close();
    batch.close();
  });

  it('the packed batch unpacks to the rows toRow makes', () => {
    const entries = [
      ...mixed(Date.UTC(2026, 5, 1, 12), 600, 1_000).slice(0, 500),
      entry(Date.UTC(2026, 5, 1), { costUsd: Number.NaN, ttfbMs: 0, status: 0, dialect: 'ollama' }),
      entry(Date.UTC(2026, 5, 1), { costUsd: Number.POSITIVE_INFINITY, bytesIn: 2 ** 40, inputTokens: 2 ** 33 }),
    ];
    const b = new BatchBuilder();
    const got: HistoryRow[] = [];
    for (const e of entries) {
      const r = toRow(e);
      b.add(e, r[0], r[16]);
      if (b.rows === 500) got.push(...unpack(b.take()));
    }
    got.push(...unpack(b.take()));
    assert.equal(b.rows, 0);
    assert.deepEqual(got, entries.map(toRow));
    assert.equal(got[0]!.length, ROW_COLUMNS.length);
  });

  it('stored rows read back exactly, whatever the numbers, and a typical row takes under 60 bytes', () => {
    const W = BATCH_WIDTH;
    const odd = [0, 1, 127, 128, 16_383, 16_384, 2 ** 31, 2 ** 32 + 1, 2 ** 50, 2 ** 50 + 1, 2 ** 53 - 1, 2 ** 60, -1, -128, -(2 ** 50) - 3];
    const frac = [0.29, 12.34, 0.5, 1 / 3, Math.PI, 1e-8, 0.00000123, 1e-300, 5e-324, Number.MAX_VALUE, NaN, Infinity, -Infinity, -0.01];
    const rows = 3000;
    const n = new Float64Array(rows * W);
    let seed = 7;
    const rnd = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);
    let ts = Date.UTC(2026, 5, 1);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < W; c++) {
        const x = rnd();
        n[r * W + c] =
          c === 0
            ? (ts += Math.floor(rnd() * 4000) - 1000) // out of order too
            : x < 0.2
              ? odd[Math.floor(rnd() * odd.length)]!
              : x < 0.4
                ? frac[Math.floor(rnd() * frac.length)]!
                : x < 0.7
                  ? Math.floor(rnd() * 100_000)
                  : Math.round(rnd() * 1e6) / 100;
      }
    }
    n[5 * W] = NaN; // a start time that could not be read
    n[9 * W] = 1.5; // and one that is not a whole ms
    const back = decodeRows(encodeRows(n, rows), rows);
    for (let i = 0; i < n.length; i++) assert.ok(Object.is(back[i], n[i]) || (n[i] === 0 && back[i] === 0), `value ${i}: ${n[i]} read back as ${back[i]}`);
    // picked rows, in the order given
    const pick = [7, 3, 2999, 0];
    const picked = decodeRows(encodeRows(n, rows, pick), pick.length);
    pick.forEach((r, k) => assert.deepEqual([...picked.subarray(k * W, k * W + W)], [...n.subarray(r * W, r * W + W)]));
    // what the proxy sends: a size of a usual row
    const b = new BatchBuilder();
    for (const e of mixed(Date.UTC(2026, 5, 1, 12), 500, 1_500)) b.add(e, Date.parse(e.startedAt), e.costUsd ?? null);
    const bytes = encodeRows(b.take().n, 500).length;
    assert.ok(bytes / 500 < 60, `${bytes / 500} bytes a row`);
    assert.throws(() => decodeRows(encodeRows(n, 10).subarray(0, 50), 10), /cut short/);
  });

  it('reads start times as Date.parse does, across days, and hands the rest to Date.parse', () => {
    const c = new IsoClock();
    const samples: string[] = [];
    let t = Date.UTC(2024, 1, 28, 23, 59, 58, 999);
    for (let i = 0; i < 5000; i++) {
      samples.push(new Date(t).toISOString());
      t += 1 + ((i * 7919) % 400_000);
    }
    samples.push(
      '2026-12-01T00:00:00.000Z',
      '2026-12-01T23:59:59.999Z',
      '2026-12-01T24:00:00.000Z',
      '2026-12-01T12:60:00.000Z',
      '2026-12-01T12:00:60.000Z',
      '2026-12-01T12:0a:00.000Z',
      '2026-12-01T12:00:00.00aZ',
      '2026-12-01t12:00:00.000Z',
      '2026-12-01T12:00:00.000+',
      '2026-02-30T12:00:00.000Z',
      '2026-13-01T12:00:00.000Z',
      '2026-12-01T12:00:00Z',
      '2026-12-01T12:00:00.000',
      '+012026-12-01T12:00:00.000Z',
      'not a date at all, 24 ch',
      '',
      '1999-12-31T23:59:59.999Z',
      '2000-01-01T00:00:00.000Z',
    );
    for (const s of samples) assert.equal(c.parse(s), Date.parse(s), s);
    // a day seen again after another one
    assert.equal(c.parse('2026-12-01T08:00:00.000Z'), Date.parse('2026-12-01T08:00:00.000Z'));
  });

  it('entries recorded through History are written as toRow makes them', async () => {
    const file = join(dir(), 'u.db');
    const h = new History({ file, retentionDays: 3650, thread: false });
    const entries = mixed(Date.now() - 2 * HOUR, 1234, 5_000);
    for (const e of entries.slice(0, 600)) h.add(e);
    h.add({ ...entries[0]!, id: 'no-time', startedAt: 'not a time' }); // left out, and holds up nothing
    for (const e of entries.slice(600)) h.add(e);
    assert.equal(await h.count(), entries.length);
    assert.equal(h.state.state, 'ok');
    await h.close();
    const db = new HistoryDb(file);
    const rows = db.allRows();
    const direct = new HistoryDb(join(dir(), 'direct.db'));
    direct.insert(entries.map(toRow));
    assert.deepEqual(rows, entries.map(toRow));
    assert.deepEqual(direct.allRows(), rows);
    const range = { from: Date.now() - 3 * HOUR, to: Date.now() + HOUR };
    assert.deepEqual({ ...db.query(range), queryMs: 0 }, { ...direct.query(range), queryMs: 0 });
    db.close();
    direct.close();
  });
  it('rows in the requests table (an older database, an import) are read beside the packed ones; importRequests moves them', () => {
    const t0 = Date.UTC(2026, 2, 3, 22, 10, 0);
    const rows = mixed(t0, 1200, 7_000).map(toRow);
    const [old, fresh] = [rows.slice(0, 700), rows.slice(700)]; // row 700 starts 81 min 40 s in: mid-hour
    const db = new HistoryDb(join(dir(), 'old.db'));
    const ins = db.db.prepare(`INSERT INTO requests (${ROW_COLUMNS.join(', ')}) VALUES (${ROW_COLUMNS.map(() => '?').join(', ')})`);
    db.db.transaction(() => old.forEach((r) => ins.run(r)))();
    db.rebuildRollups();
    db.insert(fresh);
    const all = new HistoryDb(join(dir(), 'all.db'));
    all.insert(rows);
    // the same reports, to the last cent's billionth (the sums are added in another order)
    const report = (h: HistoryDb, from: number, to: number) =>
      JSON.stringify({ ...h.query({ from, to }), queryMs: 0 }, (_k, v: unknown) => (typeof v === 'number' ? Math.round(v * 1e9) / 1e9 : v));
    const ranges = [
      [t0, t0 + 1200 * 7_000],
      [t0 + 17 * 60_000 + 3_000, t0 + 3 * HOUR + 11_000],
      [t0 + 80 * 60_000 + 1, t0 + 83 * 60_000],
      [t0 - DAY, t0 + 2 * DAY],
    ] as const;
    const byTime = (a: HistoryRow, b: HistoryRow) => a[0] - b[0] || a[1].localeCompare(b[1]);
    for (const when of ['before', 'after'] as const) {
      if (when === 'after') assert.equal(db.importRequests(), 700);
      assert.equal(db.count(), rows.length, when);
      assert.deepEqual(db.allRows().sort(byTime), [...rows].sort(byTime), when);
      for (const [from, to] of ranges) assert.equal(report(db, from, to), report(all, from, to), `${when}: ${from}..${to}`);
    }
    assert.equal((db.db.prepare('SELECT count(*) AS n FROM requests').get() as { n: number }).n, 0);
    db.close();
    // a database as an older router67 left it (no packed table), read-only (`router67 usage` before the daemon ran)
    const older = join(dir(), 'older.db');
    const w = new HistoryDb(older);
    const insOld = w.db.prepare(`INSERT INTO requests (${ROW_COLUMNS.join(', ')}) VALUES (${ROW_COLUMNS.map(() => '?').join(', ')})`);
    w.db.transaction(() => rows.forEach((r) => insOld.run(r)))();
    w.rebuildRollups();
    w.db.exec('DROP TABLE packed');
    w.close();
    const ro = new HistoryDb(older, { readonly: true });
    assert.equal(ro.count(), rows.length);
    for (const [from, to] of ranges) assert.equal(report(ro, from, to), report(all, from, to), `read-only, older: ${from}..${to}`);
    ro.close();
    all.close();
  });

  it('prune deletes packed rows by whole hours, as it does the rollups', () => {
    const db = new HistoryDb(join(dir(), 'prune.db'));
    const h = Date.UTC(2026, 0, 5, 10);
    db.insert([entry(h - 2 * HOUR + 5), entry(h + 10 * 60_000), entry(h + 50 * 60_000), entry(h + HOUR + 1)].map(toRow));
    // a cut at 10:45: the hour before it goes; the hour it falls in stays, whole
    assert.equal(db.prune(h + 45 * 60_000 + 3 * DAY, 3), 1);
    assert.equal(db.count(), 3);
    assert.equal(db.query({ from: h - 3 * HOUR, to: h + 2 * HOUR }).totals.requests, 3);
    assert.equal(db.prune(h + HOUR + 3 * DAY, 3), 2);
    assert.equal(db.count(), 1);
    assert.equal(db.query({ from: h - 3 * HOUR, to: h + 2 * HOUR }).totals.requests, 1);
    db.close();
  });
});
