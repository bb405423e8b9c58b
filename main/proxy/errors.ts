// Short, secret-free descriptions of why an attempt failed.

/** A transport error as one line: code and message, nothing else. */
export function describeTransportError(err: unknown): string {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string }; name?: string };
  if (!e || typeof e !== 'object') return String(err);
  const code = e.code && e.code !== 'UND_ERR' ? e.code : e.cause?.code;
  const base = code === 'UND_ERR_HEADERS_TIMEOUT' ? 'first-byte timeout: no response headers in time' : (e.message ?? String(err));
  const cause = e.cause?.message && e.cause.message !== e.message ? ` (${e.cause.message})` : '';
  return `${code ? `${code}: ` : ''}${base}${cause}`.slice(0, 500);
}

const KEYLIKE = /\b(sk-[A-Za-z0-9_-]{6}|sk-ant-[A-Za-z0-9_-]{6}|Bearer\s+)[A-Za-z0-9._~+/=-]{6,}/g;

/** Removes a known secret and anything key-shaped from text bound for a log or an error message. */
export function scrub(text: string, secrets: readonly string[] = []): string {
  let t = text;
  for (const s of secrets) if (s && s.length >= 4) t = t.split(s).join('[redacted]');
  return t.replace(KEYLIKE, (_m, p: string) => `${p.startsWith('Bearer') ? 'Bearer ' : p.slice(0, 3)}[redacted]`);
}

/** The gist of an upstream error body: its JSON error message, an HTML page's title, or the start of the text. */
export function summariseErrorBody(body: string, contentType: string | undefined): string {
  const t = body.trim();
  if (!t) return '';
  if (/json/i.test(contentType ?? '') || t.startsWith('{')) {
    try {
      const j = JSON.parse(t) as { error?: unknown; message?: unknown };
      const err = j.error as { message?: unknown } | string | undefined;
      const msg = typeof err === 'string' ? err : typeof err?.message === 'string' ? err.message : typeof j.message === 'string' ? j.message : undefined;
      if (msg) return msg.slice(0, 300);
    } catch {
      /* fall through */
    }
  }
  if (/html/i.test(contentType ?? '') || /^<(!doctype|html)/i.test(t)) {
    const title = /<title[^>]*>([^<]*)<\/title>/i.exec(t)?.[1]?.trim();
    return `HTML error page${title ? `: ${title.slice(0, 120)}` : ''}`;
  }
  return t.slice(0, 200).replace(/\s+/g, ' ');
}
