// The window's page, as both the Electron app (router67://app, main/electron/protocol.ts) and the daemon
// (http://127.0.0.1:PORT, main/ui/server.ts) serve it from dist/renderer: the same Content Security Policy and the
// same rule for which files may be served.
import { extname, join, normalize, sep } from 'node:path';

// No inline script or style, nothing remote; the page talks only to its own origin.
export const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'; object-src 'none'";

/** Content types of the page's files; no other kind of file is served. */
export const PAGE_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.map': 'application/json; charset=utf-8',
};

/** A file inside `root` for a decoded URL path; undefined outside it (traversal), with a NUL, or of a type not in `types`. */
export function pageFile(root: string, path: string, types: Readonly<Record<string, string>> = PAGE_TYPES): { file: string; type: string } | undefined {
  if (path.includes('\0')) return undefined;
  const base = normalize(root + sep);
  const file = normalize(join(base, path));
  const type = types[extname(file).toLowerCase()];
  return file.startsWith(base) && type ? { file, type } : undefined;
}
