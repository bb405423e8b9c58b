// The worker thread of parseConfigOffThread (offthread.ts): validates one config text and posts the answer.
import { parentPort, workerData } from 'node:worker_threads';
import { ConfigError, parseConfig } from './load.js';
import type { WorkerAnswer } from './offthread.js';

const { text, file } = workerData as { text: string; file: string };
let answer: WorkerAnswer;
try {
  answer = { config: parseConfig(text, file) };
} catch (e) {
  answer = e instanceof ConfigError ? { issues: e.issues } : { error: (e as Error).message };
}
parentPort!.postMessage(answer);
