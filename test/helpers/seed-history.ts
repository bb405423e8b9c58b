// A usage database with many rows, fast: one INSERT … SELECT over a generated sequence (a single statement in a
// single transaction, all inside SQLite) into the `requests` table, moved into the packed store router67 writes
// (importRequests), then the rollups rebuilt once. The rows are a function of their number (no random()), so the
// same statement can also fill a plain reference table for a test's SQL. Used by the bench (1,000,000 rows) and
// the Usage view's browser test.
import Database from 'better-sqlite3';
import { HistoryDb, ROW_COLUMNS } from '../../main/usage/history-db.js';

export const SEED_APPS = ['Claude Code', 'Codex', 'Cursor', 'VS Code', 'eval.py', ''];
export const SEED_PROVIDERS = ['anthropic', 'openrouter', 'deepseek', 'local'];
export const SEED_MODELS = ['claude-sonnet-4-5', 'anthropic/claude-sonnet-4.6', 'deepseek-chat', 'qwen3:8b', 'gpt-5', 'o4-mini'];
export const SEED_ROUTES = ['', 'coding', 'cheap'];

const list = (xs: string[], i: string) => `(CASE ${i} ${xs.map((x, k) => `WHEN ${k} THEN '${x.replace(/'/g, "''")}'`).join(' ')} END)`;

/**
 * Writes `n` rows spread evenly over the `days` days before `now`; returns the time it took (ms). With `reference`,
 * the same rows also go, as plain rows, into that file's `requests` table.
 */
export function seedHistory(file: string, n: number, now: number, days = 90, reference?: string): number {
  const t0 = performance.now();
  const db = new HistoryDb(file);
  insertRows(db.db, n, now, days);
  db.importRequests();
  db.rebuildRollups();
  db.close();
  if (reference) {
    const ref = new Database(reference);
    ref.exec(`CREATE TABLE requests (${ROW_COLUMNS.join(', ')})`);
    insertRows(ref, n, now, days);
    ref.close();
  }
  return performance.now() - t0;
}

function insertRows(db: Database.Database, n: number, now: number, days: number): void {
  const span = days * 86_400_000;
  const P = SEED_PROVIDERS.length;
  // h: a hash of the row's number, for what looks random (Knuth's multiplicative hash)
  db.transaction(() => {
    db
      .prepare(
        `WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < ? - 1),
         h AS (SELECT i, (i * 2654435761) % 4294967296 AS h FROM c),
         r AS (SELECT i, i % ${P} AS p, h % 100 AS fail, (h / 100) % 4000 AS inp, (h / 400000) % 1000 AS x FROM h)
         INSERT INTO requests (ts, entry_id, app, provider, model, route, dialect, status, ok, ttfb_ms, duration_ms, input_tokens, output_tokens,
           cache_read_tokens, cache_write_tokens, reasoning_tokens, cost_usd, bytes_in, bytes_out, attempts, stream)
         SELECT ? - ? + (i * ?) / ?, 'seed-' || i, ${list(SEED_APPS, `i % ${SEED_APPS.length}`)}, ${list(SEED_PROVIDERS, 'p')},
           ${list(SEED_MODELS, `(i + p) % ${SEED_MODELS.length}`)}, ${list(SEED_ROUTES, `i % ${SEED_ROUTES.length}`)}, 'anthropic',
           CASE WHEN fail < 3 THEN 529 ELSE 200 END, CASE WHEN fail < 3 THEN 0 ELSE 1 END,
           80 + (x * (p + 1) * 400) / 1000, 500 + x * 5, inp, x % 800, inp / 2, CASE WHEN i % 11 = 0 THEN 300 ELSE 0 END,
           CASE WHEN p = 2 THEN 40 ELSE 0 END, CASE WHEN p = 3 THEN NULL ELSE inp * 3 / 1e6 END, 2000, 1500, 1, 1
         FROM r`,
      )
      .run(n, now, span, span, n);
  })();
}
