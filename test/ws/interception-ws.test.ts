// WebSocket upgrades on the TLS listener (the Interceptor in process, scratch hosts file, ephemeral port):
// /v1/responses is served and routed; another path, or a model no provider routes, is piped to the real
// origin — here a local stand-in origin speaking WebSocket over TLS with its own CA — and the upgrade works.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { WebSocketServer } from 'ws';
import { startCore, provider, eventually } from '../helpers/core.js';
import { createCa, ensureCa, LeafCertStore, parseCa } from '../../main/tls/ca.js';
import { Interceptor } from '../../main/intercept/interceptor.js';
import { startResponsesUpstream } from './upstream.js';
import { open } from './client.js';

interface Seen {
  url: string;
  headers: Record<string, string | string[] | undefined>;
}

/** The "real" api.openai.com: TLS with a certificate from another CA, echoing each message back. */
async function startStandIn() {
  const files = createCa(['api.openai.com']);
  const store = await LeafCertStore.create(parseCa(files.certPem, files.keyPem), ['api.openai.com']);
  const server = createHttpsServer({ SNICallback: store.SNICallback });
  const wss = new WebSocketServer({ server, handleProtocols: (p) => (p.has('realtime') ? 'realtime' : false) });
  const seen: Seen[] = [];
  wss.on('connection', (ws, req) => {
    seen.push({ url: req.url ?? '', headers: req.headers });
    ws.on('message', (d) => ws.send(JSON.stringify({ type: 'origin.echo', url: req.url, data: String(d) })));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    ca: files.certPem,
    port: (server.address() as AddressInfo).port,
    seen,
    close: () =>
      new Promise<void>((r) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

test('TLS listener: /v1/responses is served and routed; other upgrades and unrouted models reach the origin; stopping interception ends them', async () => {
  const up = await startResponsesUpstream();
  const origin = await startStandIn();
  const toml = `intercept_hosts = ["api.openai.com"]\n[daemon]\nlisten = "127.0.67.1:443"\n` + provider('resp', up.url, { 'gpt-r': 'up-ok' }, 'format = "responses"');
  const t = await startCore(toml);
  const hostsPath = join(t.home, 'hosts');
  writeFileSync(hostsPath, '127.0.0.1 localhost\n');
  const ca = ensureCa(t.home, ['api.openai.com']).ca.certPem;
  const ic = new Interceptor(t.core, {
    hostsPath,
    bind: '127.0.0.1:0',
    originTls: () => ({ host: '127.0.0.1', port: origin.port, ca: origin.ca, lookup: undefined }),
  });
  try {
    await ic.start();
    const base = `wss://127.0.0.1:${ic.address!.port}`;
    const tls = { servername: 'api.openai.com', ca, headers: { host: 'api.openai.com', authorization: 'Bearer client-key' } };

    // Another path (the Realtime API): piped to the origin, subprotocol and query intact, frames both ways.
    const rt = await open(`${base}/v1/realtime?model=gpt-realtime`, { ...tls, headers: { ...tls.headers, 'x-trace': 'sent with client-key' } }, ['realtime']);
    assert.equal(rt.ws.protocol, 'realtime');
    rt.send({ type: 'session.update' });
    const echo = await rt.next();
    assert.equal(echo.type, 'origin.echo');
    assert.deepEqual(JSON.parse(echo.data), { type: 'session.update' });
    assert.equal(origin.seen.length, 1);
    assert.equal(origin.seen[0]!.url, '/v1/realtime?model=gpt-realtime');
    assert.equal(origin.seen[0]!.headers.host, 'api.openai.com');
    assert.equal(origin.seen[0]!.headers.authorization, 'Bearer client-key', "the client's own credentials go to its origin");
    const entry = t.core.log.recent(5).find((x) => x.path.startsWith('/v1/realtime'))!;
    assert.equal(entry.passthrough, true);
    assert.equal(entry.status, 101);
    assert.ok(!JSON.stringify(entry).includes('client-key'), "the client's key is in no field of the upgrade's log entry");
    assert.equal(entry.host, 'api.openai.com');

    // /v1/responses naming a model nobody routes (x-codex-turn-metadata): the origin serves it.
    const unrouted = await open(`${base}/v1/responses`, { ...tls, headers: { ...tls.headers, 'x-codex-turn-metadata': '{"model":"gpt-elsewhere"}' } });
    unrouted.send({ type: 'response.create', model: 'gpt-elsewhere', input: 'hi' });
    const fromOrigin = await unrouted.next();
    assert.equal(fromOrigin.type, 'origin.echo');
    assert.equal(fromOrigin.url, '/v1/responses');
    assert.equal(up.requests.length, 0);

    // /v1/responses otherwise: served here, routed to the provider.
    const served = await open(`${base}/v1/responses`, tls);
    const evs = await served.turn({ type: 'response.create', model: 'gpt-r', input: 'hi', store: false });
    assert.equal(evs.at(-1).type, 'response.completed');
    assert.equal(up.requests.length, 1);
    assert.equal(t.core.log.recent(1)[0]!.host, 'api.openai.com');
    assert.equal(t.core.log.recent(1)[0]!.provider, 'resp');

    // Stopping interception ends the piped and the served connections.
    await ic.stop();
    await Promise.all([rt.closed, unrouted.closed, served.closed]);
    await eventually(() => assert.equal(t.core.ws.connections, 0));
  } finally {
    await ic.stop().catch(() => {});
    await t.stop();
    await up.close();
    await origin.close();
  }
});
