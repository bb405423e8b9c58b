// The child process of parseConfigOffThread (offthread.ts): validates one config text and sends the answer back.
import { ConfigError, parseConfig } from './load.js';
import type { WorkerAnswer } from './offthread.js';

process.once('message', (m: { text: string; file: string }) => {
  let answer: WorkerAnswer;
  try {
    answer = { config: parseConfig(m.text, m.file) };
  } catch (e) {
    answer = e instanceof ConfigError ? { issues: e.issues } : { error: (e as Error).message };
  }
  process.send!(answer, () => process.disconnect());
});
