// An OpenAI-format upstream that accepts a request only when its Bearer token is good, as a real API gateway
// would: it asks the OpenID provider (userinfo) about every token it is given. Records what it saw.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Seen {
  token: string;
  ok: boolean;
}

export interface CheckingUpstream {
  url: string;
  seen: Seen[];
  close(): Promise<void>;
}

/** `check` says whether a token is good. */
export async function startCheckingUpstream(name: string, check: (token: string) => Promise<boolean>): Promise<CheckingUpstream> {
  const seen: Seen[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const auth = req.headers.authorization ?? '';
      const token = /^Bearer (.+)$/.exec(auth)?.[1] ?? '';
      const ok = token !== '' && (await check(token).catch(() => false));
      seen.push({ token, ok });
      if (!ok) {
        const body = JSON.stringify({ error: { message: 'invalid or expired access token', type: 'authentication_error', code: 'invalid_token' } });
        res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer error="invalid_token"', 'content-length': Buffer.byteLength(body) });
        res.end(body);
        return;
      }
      let model = 'unknown';
      try {
        model = String((JSON.parse(Buffer.concat(chunks).toString('utf8')) as { model?: unknown }).model);
      } catch {
        /* not JSON */
      }
      const body = JSON.stringify({
        id: `chatcmpl-${name}-${seen.length}`,
        object: 'chat.completion',
        created: 1_700_000_000,
        model,
        choices: [{ index: 0, message: { role: 'assistant', content: `hello from ${name}`, refusal: null }, finish_reason: 'stop', logprobs: null }],
        usage: { prompt_tokens: 3, completion_tokens: 3, total_tokens: 6 },
      });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** Asks the provider's userinfo endpoint whether the token is good. */
export function userinfoCheck(issuer: string): (token: string) => Promise<boolean> {
  return async (token) => {
    const r = await fetch(`${issuer}/me`, { headers: { authorization: `Bearer ${token}` } });
    await r.arrayBuffer();
    return r.status === 200;
  };
}
