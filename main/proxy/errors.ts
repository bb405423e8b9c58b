// Short, secret-free descriptions of why an attempt failed.

/**
 * A transport error as one line: code and message, nothing else; scrubbed of `secrets` (and anything key-shaped)
 * before it is cut to 500 characters, so a key the cut would split is never left half there.
 */
export function describeTransportError(err: unknown, secrets?: readonly string[]): string {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string }; name?: string };
  if (!e || typeof e !== 'object') return scrub(String(err), secrets).slice(0, 500);
  const code = e.code && e.code !== 'UND_ERR' ? e.code : e.cause?.code;
  const base = code === 'UND_ERR_HEADERS_TIMEOUT' ? 'first-byte timeout: no response headers in time' : (e.message ?? String(err));
  const cause = e.cause?.message && e.cause.message !== e.message ? ` (${e.cause.message})` : '';
  return scrub(`${code ? `${code}: ` : ''}${base}${cause}`, secrets).slice(0, 500);
}

const KEYLIKE = /\b(sk-[A-Za-z0-9_-]{6}|sk-ant-[A-Za-z0-9_-]{6}|Bearer\s+)[A-Za-z0-9._~+/=-]{6,}/g;
/** Credentials carried in a query string (`?key=`, `&api_key=`, `access_token=`...), plain or as a JSON/form field. */
const QUERY_CRED = /([?&;](?:key|api[_-]?key|apikey|access[_-]?token|token|auth|secret|client[_-]?secret|password|sig|signature)=)[^&#\s"'<>]+/gi;
/** A credential as a JSON field: "api_key": "…", "password": "…", "authorization": "…". */
const JSON_CRED = /("(?:api[_-]?key|apikey|x-api-key|access[_-]?token|refresh[_-]?token|id[_-]?token|client[_-]?secret|secret|password|authorization)"\s*:\s*")((?:[^"\\]|\\.)+)"/gi;

/** Removes a known secret and anything key-shaped from text bound for a log or an error message. */
export function scrub(text: string, secrets: readonly string[] = []): string {
  let t = withoutSecrets(text, secrets);
  t = t.replace(KEYLIKE, (_m, p: string) => `${p.startsWith('Bearer') ? 'Bearer ' : p.slice(0, 3)}[redacted]`);
  if (t.includes('=')) t = t.replace(QUERY_CRED, '$1[redacted]');
  if (t.includes('"')) t = t.replace(JSON_CRED, '$1[redacted]"');
  return t;
}

/** Needles per secrets list: a provider's list is the same array on every request (auth.ts caches the forms). */
const needleCache = new WeakMap<readonly string[], readonly string[]>();

/** The forms of `secrets` worth searching for: those that contain no other (the bare key covers `Bearer <key>`). */
export function secretNeedles(secrets: readonly string[]): readonly string[] {
  let n = needleCache.get(secrets);
  if (!n) needleCache.set(secrets, (n = secrets.filter((s) => s.length >= 4 && !secrets.some((o) => o !== s && o.length >= 4 && s.includes(o)))));
  return n;
}

/** Whether `text` holds any of `needles`. */
export function holdsAny(text: string, needles: readonly string[]): boolean {
  for (let i = 0; i < needles.length; i++) if (text.includes(needles[i]!)) return true;
  return false;
}

/**
 * A header value (or list) fit to relay: each secret it holds replaced (nothing else changed), else the same
 * value. The caller passes `needles` (secretNeedles of the same list) so a response's headers share one lookup.
 */
export function scrubHeaderValue<V extends string | string[]>(v: V, secrets: readonly string[], needles: readonly string[]): V {
  if (typeof v === 'string') return (holdsAny(v, needles) ? withoutSecrets(v, secrets) : v) as V;
  return (v.some((x) => holdsAny(x, needles)) ? v.map((x) => withoutSecrets(x, secrets)) : v) as V;
}

/**
 * A JSON text with every string that holds a secret once its escapes are undone (`\/`, `\uXXXX`) scrubbed —
 * object keys too — and serialised again; undefined when the text is not JSON or holds no secret.
 */
export function scrubJsonText(text: string, secrets: readonly string[]): string | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  const needles = secretNeedles(secrets);
  let changed = false;
  const str = (x: string): string => {
    if (!holdsAny(x, needles)) return x;
    changed = true;
    return scrub(x, secrets);
  };
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return str(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v === null || typeof v !== 'object') return v;
    const o = Object.create(null) as Record<string, unknown>; // a "__proto__" key stays a key
    for (const k of Object.keys(v)) o[str(k)] = walk((v as Record<string, unknown>)[k]);
    return o;
  };
  const out = walk(json);
  return changed ? JSON.stringify(out) : undefined;
}

/**
 * A body (an error answer, a logged body) scrubbed of `secrets` and anything key-shaped. A JSON text that may
 * hide a secret in `\uXXXX` escapes, which no byte form matches, is parsed to look (scrubJsonText).
 */
export function scrubBody(text: string, secrets: readonly string[] | undefined): string {
  if (secrets?.length && text.includes('\\u')) text = scrubJsonText(text, secrets) ?? text;
  return scrub(text, secrets);
}

/** `text` with every occurrence of each secret (4 characters or more) replaced, and nothing else changed. */
function withoutSecrets(text: string, secrets: readonly string[]): string {
  let t = text;
  for (const s of secrets) if (s && s.length >= 4 && t.includes(s)) t = t.split(s).join('[redacted]');
  return t;
}

/** A URL or path with its query-string credentials (`?key=`, `api_key=`, `access_token=`...) redacted. */
export function scrubUrl(url: string): string {
  return url.includes('=') ? url.replace(QUERY_CRED, '$1[redacted]') : url;
}

/**
 * The forms in which a secret router67 sends may come back: as sent (`Bearer <key>`), bare, URL-encoded, and
 * quoted in JSON (escaped as JSON.stringify escapes it, and with `/` as `\/`). Longest first, so the whole
 * header value goes before its bare part. A key quoted with other `\uXXXX` escapes is found only by parsing
 * (scrubJsonText).
 */
export function secretForms(secret: string, prefixed?: string): readonly string[] {
  const key = prefixed === undefined ? secret : `${prefixed}\0${secret}`;
  let forms = formsCache.get(key);
  if (!forms) {
    if (formsCache.size >= 256) formsCache.clear();
    formsCache.set(key, (forms = computeForms(secret, prefixed)));
  }
  return forms;
}

/** The same few keys come with every request: their forms are computed once (they are in memory anyway). */
const formsCache = new Map<string, readonly string[]>();

function computeForms(secret: string, prefixed?: string): readonly string[] {
  const out = new Set<string>();
  for (const s of [prefixed, secret]) {
    if (!s) continue;
    out.add(s);
    const enc = encodeURIComponent(s);
    if (enc !== s) out.add(enc);
    const json = JSON.stringify(s).slice(1, -1);
    if (json !== s) out.add(json);
    if (json.includes('/')) out.add(json.replace(/\//g, '\\/'));
  }
  return Object.freeze([...out].sort((a, b) => b.length - a.length)); // shared by every request with this key: never changed
}

/** Whether a query parameter's name says it carries a credential (`key`, `api_key`, `access_token`, `sig`...). */
export function isCredentialParam(name: string): boolean {
  return /key|token|secret|auth|sig|password/i.test(name);
}

/**
 * A query part (`name=value`) as its name, decoded where it can be (`api%5Fkey` is `api_key`), and its value as
 * written: everything after the first `=` (base64 keys end in `=`). Undefined for a part without `=`.
 */
export function queryParam(part: string): { name: string; value: string } | undefined {
  const eq = part.indexOf('=');
  if (eq < 0) return undefined;
  const raw = part.slice(0, eq);
  let name = raw;
  try {
    name = decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    /* not valid percent-encoding: the name as written */
  }
  return { name, value: part.slice(eq + 1) };
}

const CRED_HEADER = /auth|api[-_]?key|key$|token|secret|password|passwd|cookie|session|credential|signature/i;

/**
 * Whether an extra header carries a credential: its name says so (auth, key, token, secret...) or its value is
 * key-shaped (`sk-…`, `Bearer …`, or a run of 20+ letters and digits mixed, like a hex or base62 key).
 */
export function isCredentialHeader(name: string, value: string): boolean {
  if (CRED_HEADER.test(name)) return true;
  if (/^\s*(bearer|basic|token)\s+\S{6,}/i.test(value)) return true;
  if (/\b(sk|pk|rk|gsk|xai)[-_][A-Za-z0-9_-]{8,}/.test(value)) return true;
  for (const run of value.match(/[A-Za-z0-9]{20,}/g) ?? []) if (/[0-9]/.test(run) && /[A-Za-z]/.test(run)) return true;
  return false;
}

/**
 * The gist of an upstream error body: its JSON error message, an HTML page's title, or the start of the text;
 * scrubbed of `secrets` (and anything key-shaped) before it is cut.
 */
export function summariseErrorBody(body: string, contentType: string | undefined, secrets?: readonly string[]): string {
  const t = body.trim();
  if (!t) return '';
  if (/json/i.test(contentType ?? '') || t.startsWith('{')) {
    try {
      const j = JSON.parse(t) as { error?: unknown; message?: unknown };
      const err = j.error as { message?: unknown } | string | undefined;
      const msg = typeof err === 'string' ? err : typeof err?.message === 'string' ? err.message : typeof j.message === 'string' ? j.message : undefined;
      if (msg) return scrub(msg, secrets).slice(0, 300);
    } catch {
      /* fall through */
    }
  }
  if (/html/i.test(contentType ?? '') || /^<(!doctype|html)/i.test(t)) {
    const title = /<title[^>]*>([^<]*)<\/title>/i.exec(t)?.[1]?.trim();
    return `HTML error page${title ? `: ${scrub(title, secrets).slice(0, 120)}` : ''}`;
  }
  return scrub(t, secrets).slice(0, 200).replace(/\s+/g, ' ');
}
