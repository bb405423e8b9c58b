// The window's pages come from router67://app/…, a privileged custom scheme served from dist/renderer
// (ES modules need a real origin; file:// has none). Only files inside that folder are served, with the CSP.
// No electron import here: main.ts registers the handler with these functions.
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { CSP, PAGE_TYPES, pageFile } from '../ui/page.js';

export { CSP };

export const APP_SCHEME = 'router67';
export const APP_HOST = 'app';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
export const APP_INDEX = `${APP_ORIGIN}/index.html`;

const TYPES: Record<string, string> = { ...PAGE_TYPES, '.json': 'application/json; charset=utf-8' };

export function contentType(file: string): string {
  return TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/** Whether a URL is one of ours (the IPC sender check uses this). */
export function isAppUrl(url: string | undefined | null): boolean {
  if (!url || !URL.canParse(url)) return false;
  const u = new URL(url);
  return u.protocol === `${APP_SCHEME}:` && u.host === APP_HOST && u.username === '' && u.password === '';
}

/** Maps router67://app/<path> to a file inside root; undefined for anything else (other hosts, traversal). */
export function resolveAppFile(url: string, root: string): string | undefined {
  if (!isAppUrl(url)) return undefined;
  let path: string;
  try {
    path = decodeURIComponent(new URL(url).pathname);
  } catch {
    return undefined;
  }
  if (path === '/' || path === '') path = '/index.html';
  return pageFile(root, path, TYPES)?.file;
}

/** The protocol handler: a fetch-style Response for a request URL. */
export async function serveApp(url: string, root: string): Promise<Response> {
  const file = resolveAppFile(url, root);
  if (!file) return new Response('not found', { status: 404, headers: { 'content-type': 'text/plain' } });
  try {
    const body = await readFile(file);
    return new Response(body, {
      status: 200,
      headers: {
        'content-type': contentType(file),
        'content-security-policy': CSP,
        'x-content-type-options': 'nosniff',
        'cache-control': 'no-store',
      },
    });
  } catch {
    return new Response('not found', { status: 404, headers: { 'content-type': 'text/plain' } });
  }
}
