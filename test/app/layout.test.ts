// Which way the imports run (main/README.md): feature modules never reach into the CLI, the composition root or
// Electron; only the CLI and the Electron layer use the composition root.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';

const root = resolve(__dirname, '..', '..', '..');
const mainDir = join(root, 'main');

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** Every module a file imports or requires, resolved to a path under main/ (or the bare package name). */
function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:from\s+|import\(\s*|require\(\s*)'([^']+)'/g)].map((m) => m[1]!);
  return specs.map((s) => (s.startsWith('.') ? relative(mainDir, resolve(file, '..', s)).split(sep).join('/') : s));
}

test('import direction: cli/ and app/ are leaves of the graph, electron stays in main/electron', () => {
  const problems: string[] = [];
  for (const file of sources(mainDir)) {
    const rel = relative(mainDir, file).split(sep).join('/');
    const area = rel.split('/')[0]!;
    for (const imp of imports(file)) {
      if (imp.startsWith('cli/') && area !== 'cli') problems.push(`${rel} imports ${imp}`);
      if (imp.startsWith('app/') && area !== 'cli' && area !== 'electron' && area !== 'app') problems.push(`${rel} imports ${imp}`);
      if (imp.startsWith('electron/') && area !== 'electron') problems.push(`${rel} imports ${imp}`);
      if (imp === 'electron' && area !== 'electron') problems.push(`${rel} imports electron`);
    }
  }
  assert.deepEqual(problems, []);
});
