// A local stand-in for OpenRouter's documented PKCE endpoints (https://openrouter.ai/docs/guides/overview/auth/oauth):
//   GET  /auth?callback_url=…&code_challenge=…&code_challenge_method=S256  -> (the user approves) redirect to
//        callback_url with ?code=…
//   POST /api/v1/auth/keys {code, code_verifier, code_challenge_method}      -> {key}
// plus /api/v1/chat/completions, which accepts only keys it issued.
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type StandInMode = 'approve' | 'other-challenge';

export interface OpenRouterStandIn {
  base: string;
  mode: StandInMode;
  /** callback_url values it was given */
  callbacks: string[];
  exchanges: { status: number }[];
  keys: string[];
  chats: { key: string; ok: boolean }[];
  close(): Promise<void>;
}

const b64url = (b: Buffer) => b.toString('base64url');

export async function startOpenRouterStandIn(): Promise<OpenRouterStandIn> {
  const codes = new Map<string, { challenge: string; method: string; used: boolean }>();
  const s: OpenRouterStandIn = { base: '', mode: 'approve', callbacks: [], exchanges: [], keys: [], chats: [], close: async () => {} };
  const json = (res: import('node:http').ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', s.base);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'GET' && url.pathname === '/auth') {
        const cb = url.searchParams.get('callback_url') ?? '';
        s.callbacks.push(cb);
        const challenge = url.searchParams.get('code_challenge') ?? '';
        const method = url.searchParams.get('code_challenge_method') ?? 'plain';
        if (!URL.canParse(cb)) return json(res, 400, { error: { message: 'callback_url is required' } });
        const code = b64url(randomBytes(18));
        // 'other-challenge': a code bound to some other PKCE challenge (e.g. one an attacker started)
        const bound = s.mode === 'other-challenge' ? b64url(createHash('sha256').update('someone-else').digest()) : challenge;
        codes.set(code, { challenge: bound, method, used: false });
        const back = new URL(cb);
        back.searchParams.set('code', code);
        res.writeHead(302, { location: back.toString(), 'content-length': 0 });
        return res.end();
      }
      if (req.method === 'POST' && url.pathname === '/api/v1/auth/keys') {
        let body: { code?: string; code_verifier?: string; code_challenge_method?: string } = {};
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          /* empty */
        }
        const entry = codes.get(body.code ?? '');
        const reply = (status: number, b: unknown) => {
          s.exchanges.push({ status });
          json(res, status, b);
        };
        if (!entry || entry.used) return reply(400, { error: { code: 400, message: 'Invalid code' } });
        entry.used = true;
        const expect = entry.method === 'S256' ? b64url(createHash('sha256').update(body.code_verifier ?? '').digest()) : body.code_verifier;
        if (body.code_challenge_method !== entry.method || expect !== entry.challenge) {
          return reply(403, { error: { code: 403, message: 'Invalid code_verifier or code_challenge_method' } });
        }
        const key = `sk-or-v1-${randomBytes(24).toString('hex')}`;
        s.keys.push(key);
        return reply(200, { key, user_id: 'user_test' });
      }
      if (req.method === 'POST' && url.pathname === '/api/v1/chat/completions') {
        const key = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
        const ok = s.keys.includes(key);
        s.chats.push({ key, ok });
        if (!ok) return json(res, 401, { error: { code: 401, message: 'No auth credentials found' } });
        let model = '';
        try {
          model = String(JSON.parse(Buffer.concat(chunks).toString('utf8')).model);
        } catch {
          /* empty */
        }
        return json(res, 200, {
          id: 'gen-1',
          object: 'chat.completion',
          created: 1_700_000_000,
          model,
          choices: [{ index: 0, message: { role: 'assistant', content: 'hello from openrouter', refusal: null }, finish_reason: 'stop', logprobs: null }],
          usage: { prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 },
        });
      }
      json(res, 404, { error: { message: 'not found' } });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  s.base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  s.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return s;
}
