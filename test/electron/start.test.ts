// `npm start` (scripts/start.mjs): launches Electron on the app when the binary is there; otherwise exits
// non-zero naming the headless command.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '..', '..', '..');
const script = join(root, 'scripts', 'start.mjs');

function run(env: NodeJS.ProcessEnv) {
  return spawnSync(process.execPath, [script, '--show'], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 20_000 });
}

test('without the Electron binary: a clear message naming the headless command, exit 1', () => {
  const r = run({ ELECTRON_OVERRIDE_DIST_PATH: join(tmpdir(), 'r67-no-electron-here') });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /cannot start the menu-bar app: no Electron binary at /);
  assert.match(r.stderr, /node dist\/main\/cli\/index.js daemon/);
  assert.equal(r.stdout, '');
});

test('with an Electron binary: it is launched on the app folder, and its exit code is passed on', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'r67-fake-electron-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'argv.json');
  const bin = join(dir, 'electron');
  writeFileSync(bin, `#!${process.execPath}\nrequire('fs').writeFileSync(${JSON.stringify(out)}, JSON.stringify({ argv: process.argv.slice(2), runAsNode: process.env.ELECTRON_RUN_AS_NODE ?? null }));\nprocess.exit(7);\n`);
  chmodSync(bin, 0o755);
  const r = run({ ELECTRON_OVERRIDE_DIST_PATH: dir, ELECTRON_RUN_AS_NODE: '1' });
  assert.equal(r.status, 7, r.stderr);
  const seen = JSON.parse(readFileSync(out, 'utf8'));
  assert.deepEqual(seen, { argv: [root, '--show'], runAsNode: null });
});
