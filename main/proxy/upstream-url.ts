// Upstream URL = provider base_url + the request's path and query. A base_url that already ends in /v1
// (as OpenAI-compatible hosts are often written) is understood: the path's own /v1 is not doubled.
export interface UpstreamTarget {
  origin: string;
  path: string;
}

const cache = new Map<string, { origin: string; basePath: string }>();

function splitBase(baseUrl: string): { origin: string; basePath: string } {
  let b = cache.get(baseUrl);
  if (!b) {
    const u = new URL(baseUrl);
    b = { origin: u.origin, basePath: u.pathname.replace(/\/+$/, '') };
    if (cache.size > 1000) cache.clear();
    cache.set(baseUrl, b);
  }
  return b;
}

export function upstreamTarget(baseUrl: string, requestPath: string): UpstreamTarget {
  const { origin, basePath } = splitBase(baseUrl);
  let path = requestPath.startsWith('/') ? requestPath : `/${requestPath}`;
  if (basePath.endsWith('/v1') && (path === '/v1' || path.startsWith('/v1/') || path.startsWith('/v1?'))) path = path.slice(3);
  return { origin, path: basePath + path };
}
