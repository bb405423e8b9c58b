// Runs every compiled test file (dist/test/**/*.test.js) with node's test runner, one file at a time.
// Listing files ourselves keeps helpers and the benchmark (also under dist/test/) from running as tests.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const base = join(root, 'dist', 'test');
const filters = process.argv.slice(2);
const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.test.js')) files.push(p);
  }
})(base);
const chosen = filters.length ? files.filter((f) => filters.some((x) => relative(root, f).includes(x))) : files;
if (chosen.length === 0) {
  console.error(`no test files matched ${filters.join(' ')}`);
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', '--test-timeout=300000', ...chosen], { stdio: 'inherit', cwd: root });
process.exit(r.status ?? 1);
