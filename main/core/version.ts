// The package version, read once from package.json (works from dist/ and from an asar).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

function read(): string {
  for (const rel of ['../../../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(join(__dirname, rel), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'router67' && pkg.version) return pkg.version;
    } catch {
      /* try the next candidate */
    }
  }
  return '0.0.0';
}

export const VERSION = read();
