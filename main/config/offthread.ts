// Validating config.toml in a short-lived child process, for the headless daemon: zod (the schema library) and
// the schema it builds cost the daemon several MB of resident memory it would keep for its whole life (zod's
// ~95 modules, the schema objects, and the young-generation growth their loading causes). The child (worker.ts)
// loads them, sends back the fully-defaulted plain config (or the same issues parseConfig throws: file, line, key
// path, message; over the structured-clone channel, as a worker thread's message would be) and exits. A child
// process rather than a worker thread: an exited worker leaves the daemon's resident memory 1–2 MB higher for good
// (its isolate's malloc arenas and the thread machinery), a child leaves nothing (node:child_process is loaded
// anyway: node's listen() loads cluster, which loads it). Where zod is loaded anyway (the Electron app's IPC
// checks) parseConfig is used directly. If the child cannot run, validation falls back to this thread, so the
// outcome never differs.
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { ConfigError, parseConfig, type ConfigIssue } from './load.js';
import type { Config } from './schema.js';

/** What config/worker.js sends back. */
export type WorkerAnswer = { config: Config } | { issues: ConfigIssue[] } | { error: string };

/** parseConfig(text, file) in a child process: the same result, the same ConfigError. */
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
    let worker: ChildProcess;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { fork } = require('node:child_process') as typeof import('node:child_process');
      // no execArgv: the daemon's own flags (a profiler, an inspector port) are not the child's
      worker = fork(join(__dirname, 'worker.js'), [], { execArgv: [], serialization: 'advanced', stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
      worker.send({ text, file });
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
