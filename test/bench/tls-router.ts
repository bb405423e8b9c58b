// Benchmark: router67 as the daemon runs it — built by the composition root (core, usage history, interception),
// its TLS interception listener (HTTP/2 + HTTP/1.1) on an ephemeral loopback port, the hosts block written to a
// scratch file in ROUTER67_HOME (never the system's, so no watchdog). Run as its own process.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compose } from '../../main/app/compose.js';
import { silentLogger } from '../../main/log/logger.js';
import { ensureCa } from '../../main/tls/ca.js';

async function main(): Promise<void> {
  const home = process.env.ROUTER67_HOME!;
  ensureCa(home, ['api.anthropic.com']);
  const hostsPath = join(home, 'hosts');
  writeFileSync(hostsPath, '127.0.0.1 localhost\n');
  const parts = await compose({ ui: 'daemon', home, configPath: join(home, 'config.toml'), env: {}, httpListen: '127.0.0.1:0', logger: silentLogger, hostsPath, bind: '127.0.0.1:0', caCheck: false });
  await parts.interception.set(true);
  process.stdout.write(`LISTEN ${parts.interception.address!.port} ${join(home, 'ca', 'ca.crt')}\n`);
}

main().catch((e: Error) => {
  console.error(e.stack ?? e.message);
  process.exit(1);
});
