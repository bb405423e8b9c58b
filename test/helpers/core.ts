// Starts a real Core in a throwaway home folder, on an ephemeral loopback port.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Core, type CoreOptions } from '../../main/core/core.js';
import { silentLogger } from '../../main/log/logger.js';

export interface TestCore {
  core: Core;
  url: string;
  home: string;
  configPath: string;
  stop(): Promise<void>;
}

export function tempHome(prefix = 'router67-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function startCore(toml: string, opts: Partial<CoreOptions> = {}): Promise<TestCore> {
  const home = opts.home ?? tempHome();
  const configPath = join(home, 'config.toml');
  writeFileSync(configPath, toml);
  const core = await Core.start({ home, configPath, httpListen: '127.0.0.1:0', logger: silentLogger, env: {}, ...opts });
  return {
    core,
    url: `http://127.0.0.1:${core.httpAddress.port}`,
    home,
    configPath,
    stop: async () => {
      await core.stop({ drainMs: 100 });
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** A provider block for config.toml. */
export function provider(name: string, baseUrl: string, models: Record<string, string>, extra = ''): string {
  return `
[[providers]]
name = "${name}"
base_url = "${baseUrl}"
auth = { header = "x-api-key", api_key = "key-${name}" }
${extra}
[providers.available_models]
${Object.entries(models)
  .map(([k, v]) => `"${k}" = "${v}"`)
  .join('\n')}
`;
}

/** Waits until `check` passes or the time is up (then throws the last error). */
export async function eventually(check: () => void | Promise<void>, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      await check();
      return;
    } catch (e) {
      if (Date.now() > end) throw e;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
