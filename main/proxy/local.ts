// Answers router67 gives itself, without a provider: the model list (GET /v1/models, /api/tags) from the
// config, and a count_tokens estimate when no provider could count.
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { Config } from '../config/schema.js';
import type { LogEntry } from '../log/request-log.js';
import type { Dialect } from '../formats/canonical.js';
import { errorEnvelope } from '../formats/errors.js';
import { codecs } from '../formats/lazy.js';

/** count_tokens when no Anthropic-format provider answered: a conservative local estimate, marked as such. */
export function sendTokenEstimate(res: ServerResponse, body: Buffer, entry: LogEntry): boolean {
  let n: number;
  try {
    n = codecs().estimateInputTokens('anthropic', JSON.parse(body.toString('utf8')));
  } catch {
    return false;
  }
  const out = JSON.stringify({ input_tokens: n });
  res.writeHead(200, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(out),
    'x-router67-token-count': 'estimate',
  });
  res.end(out);
  entry.status = 200;
  entry.state = 'done';
  entry.error = undefined;
  entry.inputTokens = n;
  entry.bytesOut = out.length;
  return true;
}

/** `GET /v1/models` (and `/v1/models/{id}`, Ollama's `/api/tags`) answered from the config, in the client's dialect. */
export function sendModels(res: ServerResponse, method: string, url: string, headers: IncomingHttpHeaders, cfg: Config): boolean {
  if (method !== 'GET') return false;
  const path = url.split('?', 1)[0]!.replace(/\/+$/, '');
  const names = [...new Set(cfg.providers.flatMap((p) => Object.keys(p.available_models)))];
  let dialect: Dialect;
  let body: unknown;
  if (path === '/api/tags') body = codecs().modelsBody((dialect = 'ollama'), names);
  else if (path === '/v1/models' || path.startsWith('/v1/models/')) {
    dialect = headers['anthropic-version'] !== undefined || (headers['x-api-key'] !== undefined && headers.authorization === undefined) ? 'anthropic' : 'openai';
    const list = codecs().modelsBody(dialect, names) as { data: unknown[] };
    if (path === '/v1/models') body = list;
    else {
      const id = decodeURIComponent(path.slice('/v1/models/'.length));
      body = list.data.find((m) => (m as { id: string }).id === id);
      if (!body) {
        const msg = errorEnvelope(dialect, 404, '', `model "${id}" is not served by any configured provider`);
        res.writeHead(404, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(msg) });
        res.end(msg);
        return true;
      }
    }
  } else return false;
  const out = JSON.stringify(body);
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
  res.end(out);
  return true;
}
