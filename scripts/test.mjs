// Runs every compiled test file (dist/test/**/*.test.js) with node's test runner, one file at a time.
// Listing files ourselves keeps helpers and the benchmark (also under dist/test/) from running as tests.
import { spawn } from 'node:child_process';
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
// Output passes through as it comes; the skip lines (test/helpers/requires.ts, which the runner relays from each
// file's stderr as "# " diagnostics) are also gathered for a summary at the end.
const child = spawn(process.execPath, ['--test', '--test-concurrency=1', '--test-timeout=300000', ...chosen], { stdio: ['inherit', 'pipe', 'pipe'], cwd: root });
const skipped = new Set();
const scan = (out) => {
  let rest = '';
  return (d) => {
    out.write(d);
    const lines = (rest + d.toString('utf8')).split('\n');
    rest = lines.pop() ?? '';
    for (const l of lines) {
      const m = /^(?:# )?router67 tests: (skipping .*)$/.exec(l.trim());
      if (m) skipped.add(m[1]);
    }
  };
};
child.stdout.on('data', scan(process.stdout));
child.stderr.on('data', scan(process.stderr));
child.on('exit', (code, signal) => {
  if (skipped.size) {
    process.stderr.write(`\nrouter67 tests: skipped for missing system parts (.ci/run installs them all):\n${[...skipped].map((s) => `  - ${s}`).join('\n')}\n`);
  }
  process.exit(code ?? (signal ? 1 : 0));
});
