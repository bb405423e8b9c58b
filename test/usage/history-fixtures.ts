// What the usage history tests share: scratch folders removed after the file's tests, and a finished log entry
// with every field the history records (override any of them).
import { after } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LogEntry } from '../../main/ui/types.js';

/** A maker of scratch folders named `prefix…`; all are removed after the test file. */
export function scratchDirs(prefix: string): () => string {
  const dirs: string[] = [];
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  return () => {
    const d = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(d);
    return d;
  };
}

let n = 0;
/** A finished entry started at `at` (ms), answered by provider "alpha". */
export function entry(at: number, o: Partial<LogEntry> = {}): LogEntry {
  return {
    id: `e-${++n}`,
    startedAt: new Date(at).toISOString(),
    dialect: 'anthropic',
    method: 'POST',
    path: '/v1/messages',
    model: 'claude-x',
    stream: false,
    provider: 'alpha',
    upstreamModel: 'alpha-model',
    status: 200,
    state: 'done',
    attempts: [{ provider: 'alpha', model: 'alpha-model', status: 200, error: null, durationMs: 10 }],
    ttfbMs: 100,
    durationMs: 200,
    inputTokens: 10,
    outputTokens: 5,
    bytesIn: 100,
    bytesOut: 50,
    ...o,
  };
}
