// `npm start`: launches the menu-bar app with Electron (package.json runs the build first).
// Where the Electron binary is not installed (CI, servers, this kind of machine), it says so and names the
// headless way to run router67 instead, and exits non-zero.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

function electronBinary() {
  let pkgDir;
  try {
    pkgDir = dirname(require.resolve('electron/package.json', { paths: [root] }));
  } catch {
    return { missing: 'the electron package is not installed' };
  }
  // Electron's own resolver (index.js) would try to download the binary; read where it would be instead.
  const pathFile = join(pkgDir, 'path.txt');
  const override = process.env.ELECTRON_OVERRIDE_DIST_PATH;
  if (!existsSync(pathFile) && !override) return { missing: 'the Electron binary was never downloaded (node_modules/electron/path.txt is missing)' };
  const rel = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : 'electron';
  const bin = override ? join(override, rel) : join(pkgDir, 'dist', rel);
  if (!existsSync(bin)) return { missing: `no Electron binary at ${bin}` };
  return { bin };
}

const entry = join(root, 'dist', 'main', 'electron', 'main.js');
if (!existsSync(entry)) {
  console.error('router67: the app is not built yet; run `npm run build` first.');
  process.exit(1);
}
const found = electronBinary();
if (found.missing) {
  console.error(
    [
      `router67: cannot start the menu-bar app: ${found.missing}.`,
      'Run router67 headless instead:',
      '',
      '    node dist/main/cli/index.js daemon',
      '',
      'It serves the same window in your browser (it prints the link), and `node dist/main/cli/index.js status` shows its state.',
      'To get the app, install Electron’s binary (`npx install-electron`) and run `npm start` again.',
    ].join('\n'),
  );
  process.exit(1);
}
const env = { ...process.env };
delete env.ELECTRON_RUN_AS_NODE;
const child = spawn(found.bin, [root, ...process.argv.slice(2)], { stdio: 'inherit', env });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
child.on('error', (e) => {
  console.error(`router67: could not launch Electron: ${e.message}`);
  process.exit(1);
});
