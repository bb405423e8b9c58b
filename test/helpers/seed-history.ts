// A usage database with many rows, fast: one transaction, one prepared statement, rollups rebuilt once at the end.
// Used by the bench (1,000,000 rows) and the Usage view's browser test.
import { HistoryDb, ROW_COLUMNS, type HistoryRow } from '../../main/usage/history-db.js';

export const SEED_APPS = ['Claude Code', 'Codex', 'Cursor', 'VS Code', 'eval.py', ''];
export const SEED_PROVIDERS = ['anthropic', 'openrouter', 'deepseek', 'local'];
export const SEED_MODELS = ['claude-sonnet-4-5', 'anthropic/claude-sonnet-4.6', 'deepseek-chat', 'qwen3:8b', 'gpt-5', 'o4-mini'];
export const SEED_ROUTES = ['', 'coding', 'cheap'];

/** Writes `n` rows spread evenly over the `days` days before `now`; returns the time it took (ms). */
export function seedHistory(file: string, n: number, now: number, days = 90): number {
  const t0 = performance.now();
  const db = new HistoryDb(file);
  const ins = db.db.prepare(`INSERT INTO requests (${ROW_COLUMNS.join(', ')}) VALUES (${ROW_COLUMNS.map(() => '?').join(', ')})`);
  const span = days * 86_400_000;
  let x = 12345;
  const rnd = () => ((x = (x * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  db.db.transaction(() => {
    const row = new Array(ROW_COLUMNS.length) as unknown as HistoryRow;
    for (let i = 0; i < n; i++) {
      const p = i % SEED_PROVIDERS.length;
      const ok = rnd() < 0.97 ? 1 : 0;
      const inp = Math.floor(rnd() * 4000);
      row[0] = now - span + Math.floor((i / n) * span);
      row[1] = `seed-${i}`;
      row[2] = SEED_APPS[i % SEED_APPS.length]!;
      row[3] = SEED_PROVIDERS[p]!;
      row[4] = SEED_MODELS[(i + p) % SEED_MODELS.length]!;
      row[5] = SEED_ROUTES[i % SEED_ROUTES.length]!;
      row[6] = 'anthropic';
      row[7] = ok ? 200 : 529;
      row[8] = ok;
      row[9] = 80 + Math.floor(rnd() * (p + 1) * 400);
      row[10] = 500 + Math.floor(rnd() * 5000);
      row[11] = inp;
      row[12] = Math.floor(rnd() * 800);
      row[13] = Math.floor(inp / 2);
      row[14] = i % 11 === 0 ? 300 : 0;
      row[15] = p === 2 ? 40 : 0;
      row[16] = p === 3 ? null : Math.round(inp * 3) / 1e6;
      row[17] = 2000;
      row[18] = 1500;
      row[19] = 1;
      row[20] = 1;
      ins.run(row);
    }
  })();
  db.rebuildRollups();
  db.close();
  return performance.now() - t0;
}
