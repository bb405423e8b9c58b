// Builds everything into dist/: the core, CLI, Electron layer, preload and tests (tsconfig.json),
// then the renderer (renderer/tsconfig.json, browser modules) and its static files.
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
let tsc;
try {
  tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
} catch {
  console.error('router67 build: TypeScript is not installed; run `npm install` first.');
  process.exit(1);
}
for (const project of ['tsconfig.json', 'renderer/tsconfig.json']) {
  const r = spawnSync(process.execPath, [tsc, '-p', join(root, project)], { stdio: 'inherit', cwd: root });
  if (r.status !== 0) {
    console.error(`router67 build: TypeScript failed for ${project}`);
    process.exit(r.status ?? 1);
  }
}
const out = join(root, 'dist', 'renderer');
mkdirSync(out, { recursive: true });
for (const f of readdirSync(join(root, 'renderer'))) {
  if (/\.(html|css|svg|png)$/.test(f)) cpSync(join(root, 'renderer', f), join(out, f));
}
// The Usage view's chart library, served next to the page (same origin, same CSP) from its package.
const vendor = join(out, 'vendor');
mkdirSync(vendor, { recursive: true });
const uplotDir = dirname(require.resolve('uplot/package.json', { paths: [root] }));
for (const f of ['uPlot.esm.js', 'uPlot.min.css']) cpSync(join(uplotDir, 'dist', f), join(vendor, f));
cpSync(join(uplotDir, 'LICENSE'), join(vendor, 'uPlot.LICENSE.txt'));
const bin = join(root, 'dist', 'main', 'cli', 'index.js');
if (existsSync(bin)) chmodSync(bin, 0o755);
