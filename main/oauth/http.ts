// The few HTTP calls sign-in needs (discovery, token, device, revocation, OpenRouter's key exchange), with a time
// limit and a size limit. Errors name the endpoint and the OAuth error code, never a request body: those carry
// codes, verifiers and refresh tokens. An endpoint's own error text may quote them back: every value the call sent
// is scrubbed from it (in every form) before it is cut or shown, and an error code is kept only when it looks like
// one (RFC 6749 §5.2's are short words).
import type { Dispatcher } from 'undici';
import { scrub, secretForms } from '../proxy/errors.js';

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
  /** The values the call sent that may be secrets (codes, verifiers, tokens, client secrets), to scrub from its errors. */
  sent?: readonly string[];
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

  /** The endpoint, the status and the error code: no free text of the endpoint's (for logs and request errors). */
  get brief(): string {
    return `${this.endpoint} answered ${this.status}${this.code ? ` ${this.code}` : ''}`;
  }
}

/** An OAuth error code as RFC 6749 §5.2 names them (invalid_grant, authorization_pending…): anything else is dropped. */
const ERROR_CODE = /^[A-Za-z][A-Za-z0-9_.-]{0,39}$/;

/** The values a call sends that may be secrets: every string of its form or JSON body of 8 characters or more. */
function sentValues(body: { form?: Record<string, string>; json?: unknown } | undefined): string[] {
  const values = body?.form ? Object.values(body.form) : body?.json && typeof body.json === 'object' ? Object.values(body.json as Record<string, unknown>) : [];
  return values.filter((v): v is string => typeof v === 'string' && v.length >= 8);
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
  return { status: r.statusCode, json, text, sent: sentValues(body) };
}

/** The answer's JSON object when the status is 2xx; an OAuthResponseError otherwise. */
export function expectJson(url: string, r: HttpResult): Record<string, unknown> {
  const obj = r.json && typeof r.json === 'object' && !Array.isArray(r.json) ? (r.json as Record<string, unknown>) : undefined;
  if (r.status >= 200 && r.status < 300 && obj) return obj;
  const forms = (r.sent ?? []).flatMap((v) => secretForms(v));
  const code = typeof obj?.error === 'string' && ERROR_CODE.test(obj.error) && scrub(obj.error, forms) === obj.error ? obj.error : undefined;
  const text =
    typeof obj?.error_description === 'string'
      ? obj.error_description
      : typeof obj?.message === 'string'
        ? obj.message
        : typeof (obj?.error as { message?: unknown } | undefined)?.message === 'string'
          ? String((obj!.error as { message: string }).message)
          : r.status >= 200 && r.status < 300
            ? 'the answer is not a JSON object'
            : undefined;
  const desc = text === undefined ? undefined : scrub(text, forms);
  throw new OAuthResponseError(where(url), r.status, code, desc);
}
