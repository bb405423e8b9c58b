// Validating config.toml on a short-lived worker thread, for the headless daemon: zod (the schema library) and
// the schema it builds cost the daemon several MB of resident memory it would keep for its whole life (zod's
// ~95 modules, the schema objects, and the young-generation growth their loading causes). The worker loads them,
// returns the fully-defaulted plain config (or the same issues parseConfig throws: file, line, key path, message)
// and exits; its heap goes with it. Where zod is loaded anyway (the Electron app's IPC checks) parseConfig is used
// directly. If the worker cannot run, validation falls back to this thread, so the outcome never differs.
import { join } from 'node:path';
import type { Worker as WorkerType } from 'node:worker_threads';
import { ConfigError, parseConfig, type ConfigIssue } from './load.js';
import type { Config } from './schema.js';

/** What config/worker.js posts back. */
export type WorkerAnswer = { config: Config } | { issues: ConfigIssue[] } | { error: string };

/** parseConfig(text, file) on a worker thread: the same result, the same ConfigError. */
export function parseConfigOffThread(text: string, file: string): Promise<Config> {
  return new Promise<Config>((resolve, reject) => {
    let settled = false;
    const inProcess = () => {
      if (settled) return;
      settled = true;
      try {
        resolve(parseConfig(text, file));
      } catch (e) {
        reject(e as Error);
      }
    };
    let worker: WorkerType;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { Worker } = require('node:worker_threads') as typeof import('node:worker_threads');
      worker = new Worker(join(__dirname, 'worker.js'), { workerData: { text, file } });
    } catch {
      inProcess();
      return;
    }
    worker.once('message', (m: WorkerAnswer) => {
      if (settled) return;
      if ('config' in m) {
        settled = true;
        resolve(m.config);
      } else if ('issues' in m) {
        settled = true;
        reject(new ConfigError(m.issues));
      } else inProcess(); // an unexpected failure: let this thread's parseConfig throw it as before
    });
    worker.once('error', inProcess);
    worker.once('exit', inProcess);
  });
}
