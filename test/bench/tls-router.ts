// Benchmark: router67 with its TLS interception listener (HTTP/2 + HTTP/1.1) on an ephemeral loopback port, the
// hosts block written to a scratch file in ROUTER67_HOME (never the system's), no watchdog. Run as its own process.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Core } from '../../main/core/core.js';
import { Interceptor } from '../../main/intercept/interceptor.js';
import { silentLogger } from '../../main/log/logger.js';
import { ensureCa } from '../../main/tls/ca.js';

async function main(): Promise<void> {
  const home = process.env.ROUTER67_HOME!;
  ensureCa(home, ['api.anthropic.com']);
  const hostsPath = join(home, 'hosts');
  writeFileSync(hostsPath, '127.0.0.1 localhost\n');
  const core = await Core.start({ home, configPath: join(home, 'config.toml'), httpListen: '127.0.0.1:0', logger: silentLogger, env: {}, admin: false, watch: false });
  const ic = new Interceptor(core, { hostsPath, bind: '127.0.0.1:0', watchdog: false });
  await ic.start();
  process.stdout.write(`LISTEN ${ic.address!.port} ${join(home, 'ca', 'ca.crt')}\n`);
}

main().catch((e: Error) => {
  console.error(e.stack ?? e.message);
  process.exit(1);
});
