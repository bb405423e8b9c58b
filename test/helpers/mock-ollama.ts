// A stand-in Ollama on an ephemeral loopback port: GET /api/tags lists the given models, as Ollama answers it.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A stand-in Ollama: GET /api/tags with the given models. */
export async function mockOllama(models: string[]): Promise<{ url: string; hits: number; close(): Promise<void> }> {
  const state = { hits: 0 };
  const server: Server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/api/tags') {
      state.hits++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ models: models.map((name) => ({ name, model: name, size: 1, details: { family: 'llama' } })) }));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get hits() {
      return state.hits;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

