// Upstream URL = provider base_url + the request's path and query. A base_url that already ends in /v1
// (as OpenAI-compatible hosts are often written) is understood: the path's own /v1 is not doubled. A base_url's
// own query (Azure's `?api-version=`, a `?key=`) goes on every request, after the request's own parameters.
// A request path never climbs out of the base path: dot segments (`..`, `.`, encoded as %2e too) are resolved
// within it (the request guard refuses such paths before they get here; this is the second line).
export interface UpstreamTarget {
  origin: string;
  path: string;
}

const cache = new Map<string, { origin: string; basePath: string; query: string }>();

function splitBase(baseUrl: string): { origin: string; basePath: string; query: string } {
  let b = cache.get(baseUrl);
  if (!b) {
    const u = new URL(baseUrl);
    b = { origin: u.origin, basePath: u.pathname.replace(/\/+$/, ''), query: u.search.slice(1) };
    if (cache.size > 1000) cache.clear();
    cache.set(baseUrl, b);
  }
  return b;
}

export function upstreamTarget(baseUrl: string, requestPath: string): UpstreamTarget {
  const { origin, basePath, query } = splitBase(baseUrl);
  let path = requestPath.startsWith('/') ? requestPath : `/${requestPath}`;
  if ((path.indexOf('%') >= 0 || path.indexOf('/.') >= 0) && mayHaveDotSegment(path)) path = withoutDotSegments(path);
  if (basePath.endsWith('/v1') && (path === '/v1' || path.startsWith('/v1/') || path.startsWith('/v1?'))) path = path.slice(3);
  return { origin, path: withQuery(basePath + path, query) };
}

/** `path` with `query` (no "?") appended after its own parameters. */
export function withQuery(path: string, query: string): string {
  if (!query) return path;
  const q = path.indexOf('?');
  return q < 0 ? `${path}?${query}` : q === path.length - 1 ? path + query : `${path}&${query}`;
}

/** Cheap pre-check (the hot path): only a path with "/." or "%" or "\" can hold a dot segment. */
function mayHaveDotSegment(path: string): boolean {
  const q = path.indexOf('?');
  const p = q < 0 ? path : path.slice(0, q);
  return p.includes('/.') || p.includes('%') || p.includes('\\');
}

const DOT = /^(?:\.|%2e){1,2}$/i;
const SINGLE_DOT = /^(?:\.|%2e)$/i;

/** RFC 3986 remove_dot_segments on the path part ("." and ".." also as %2e), never climbing above "/". */
export function withoutDotSegments(path: string): string {
  const q = path.indexOf('?');
  const p = q < 0 ? path : path.slice(0, q);
  const out: string[] = [];
  const segs = p.split('/');
  for (let i = 1; i < segs.length; i++) {
    const s = segs[i]!;
    if (DOT.test(s)) {
      if (s.length > 1 && !SINGLE_DOT.test(s)) out.pop();
      if (i === segs.length - 1) out.push(''); // "/a/b/.." → "/a/" (a trailing dot segment leaves a trailing slash)
      continue;
    }
    out.push(s);
  }
  return '/' + out.join('/') + (q < 0 ? '' : path.slice(q));
}

/**
 * What is wrong with a request path (a client error, 400), or undefined: a malformed percent-escape, or a dot
 * segment (`..`/`.`, literal or percent-encoded, with "/" "\" or their escapes as separators). No real client sends
 * either; passing them on would let a request address something outside the provider's base path.
 */
export function pathProblem(url: string): string | undefined {
  // the hot path: nothing that could be a problem anywhere in the URL
  if (url.indexOf('%') < 0 && url.indexOf('/.') < 0 && url.indexOf('\\') < 0) return undefined;
  if (!mayHaveDotSegment(url)) return undefined;
  const q = url.indexOf('?');
  const p = q < 0 ? url : url.slice(0, q);
  let decoded = p;
  if (p.includes('%')) {
    try {
      decoded = decodeURIComponent(p);
    } catch {
      return 'the request path has a malformed percent-escape (expected "%" followed by two hex digits forming valid UTF-8)';
    }
  }
  for (const s of decoded.split(/[/\\]/)) {
    if (s === '.' || s === '..') return `the request path has a "${s}" segment; send the path without dot segments`;
  }
  return undefined;
}
