// The `ws` package costs memory only once a client upgrades (the daemon has an idle-memory target):
// a fresh process running the core has not loaded it; the first upgrade loads it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { tempHome } from '../helpers/core.js';

const script = `
const { Core } = require(${JSON.stringify(join(__dirname, '../../main/core/core.js'))});
const { silentLogger } = require(${JSON.stringify(join(__dirname, '../../main/log/logger.js'))});
const net = require('node:net');
const loaded = () => Object.keys(require.cache).some((k) => /[\\\\/]node_modules[\\\\/]ws[\\\\/]/.test(k));
(async () => {
  const core = await Core.start({ home: process.argv[1], httpListen: '127.0.0.1:0', logger: silentLogger, env: {}, admin: false, watch: false });
  const before = loaded();
  const status = await new Promise((resolve, reject) => {
    const s = net.connect(core.httpAddress.port, '127.0.0.1', () =>
      s.write('GET /v1/responses HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\\r\\nSec-WebSocket-Version: 13\\r\\n\\r\\n'),
    );
    s.once('data', (d) => { resolve(String(d).split('\\r\\n')[0]); s.destroy(); });
    s.on('error', reject);
  });
  console.log(JSON.stringify({ before, after: loaded(), status }));
  await core.stop({ drainMs: 100 });
})().catch((e) => { console.error(e); process.exit(1); });
`;

test('ws is loaded on the first upgrade, not at start', () => {
  const home = tempHome();
  const r = spawnSync(process.execPath, ['-e', script, home], { encoding: 'utf8', timeout: 20_000 });
  rmSync(home, { recursive: true, force: true });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
  assert.equal(out.before, false, 'not loaded by an idle core');
  assert.equal(out.status, 'HTTP/1.1 101 Switching Protocols');
  assert.equal(out.after, true);
});
