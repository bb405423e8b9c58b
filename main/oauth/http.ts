// The few HTTP calls sign-in needs (discovery, token, device, revocation, OpenRouter's key exchange), with a time
// limit and a size limit. Errors name the endpoint and the OAuth error code, never a request body: those carry
// codes, verifiers and refresh tokens.
import type { Dispatcher } from 'undici';

export interface HttpOptions {
  /** The dispatcher to use (the daemon's, which bypasses the hosts file for intercepted hosts). */
  dispatcher?: Dispatcher;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface HttpResult {
  status: number;
  json: unknown;
  text: string;
}

/** A call that did not get an answer (network, timeout, cancel). */
export class OAuthNetworkError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OAuthNetworkError';
  }
}

/** An endpoint answered with an error (RFC 6749 §5.2 shape when it could be read). */
export class OAuthResponseError extends Error {
  constructor(
    readonly endpoint: string,
    readonly status: number,
    readonly code: string | undefined,
    description: string | undefined,
  ) {
    super(`${endpoint} answered ${status}${code ? ` ${code}` : ''}${description ? `: ${description.slice(0, 300)}` : ''}`);
    this.name = 'OAuthResponseError';
  }
}

const MAX = 1024 * 1024;

function where(url: string): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname}`;
}

export async function httpCall(
  method: 'GET' | 'POST',
  url: string,
  body: { form?: Record<string, string>; json?: unknown } | undefined,
  o: HttpOptions = {},
): Promise<HttpResult> {
  // loaded on first use: the daemon need not carry all of undici until someone signs in
  const { request } = await import('undici');
  const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'router67' };
  let payload: string | undefined;
  if (body?.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    payload = new URLSearchParams(body.form).toString();
  } else if (body?.json !== undefined) {
    headers['content-type'] = 'application/json';
    payload = JSON.stringify(body.json);
  }
  const timeoutMs = o.timeoutMs ?? 15_000;
  const signals = [AbortSignal.timeout(timeoutMs), ...(o.signal ? [o.signal] : [])];
  const signal = AbortSignal.any(signals);
  let r: Dispatcher.ResponseData;
  try {
    r = await request(url, {
      method,
      headers,
      body: payload,
      signal,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      ...(o.dispatcher ? { dispatcher: o.dispatcher } : {}),
    });
  } catch (e) {
    if (o.signal?.aborted) throw new OAuthNetworkError('cancelled');
    const err = e as NodeJS.ErrnoException;
    const why = signal.aborted ? `no answer within ${timeoutMs} ms` : (err.code ?? err.message);
    throw new OAuthNetworkError(`${where(url)} could not be reached: ${why}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const c of r.body) {
      size += (c as Buffer).length;
      if (size > MAX) {
        r.body.destroy();
        throw new OAuthNetworkError(`${where(url)} sent more than ${MAX} bytes`);
      }
      chunks.push(c as Buffer);
    }
  } catch (e) {
    if (e instanceof OAuthNetworkError) throw e;
    throw new OAuthNetworkError(`${where(url)}: the answer was cut off`);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: r.statusCode, json, text };
}

/** The answer's JSON object when the status is 2xx; an OAuthResponseError otherwise. */
export function expectJson(url: string, r: HttpResult): Record<string, unknown> {
  const obj = r.json && typeof r.json === 'object' && !Array.isArray(r.json) ? (r.json as Record<string, unknown>) : undefined;
  if (r.status >= 200 && r.status < 300 && obj) return obj;
  const code = typeof obj?.error === 'string' ? obj.error : undefined;
  const desc =
    typeof obj?.error_description === 'string'
      ? obj.error_description
      : typeof obj?.message === 'string'
        ? obj.message
        : typeof (obj?.error as { message?: unknown } | undefined)?.message === 'string'
          ? String((obj!.error as { message: string }).message)
          : r.status >= 200 && r.status < 300
            ? 'the answer is not a JSON object'
            : undefined;
  throw new OAuthResponseError(where(url), r.status, code, desc);
}
