// A small stand-in for the Core for unit tests of the UI service, tray and IPC (the browser tests use the real Core).
// It keeps a real RequestLog and reads a real config file.
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CoreStatus } from '../../main/core/core.js';
import { RequestLog } from '../../main/log/request-log.js';
import type { InterceptControl } from '../../main/ui/service.js';
import { RefusedError } from '../../main/ui/service.js';

export class FakeCore extends EventEmitter {
  readonly dir: string;
  readonly configPath: string;
  readonly env: NodeJS.ProcessEnv = {};
  readonly log = new RequestLog({ capacity: 100 });
  intercept: CoreStatus['intercept'] = { enabled: false, state: 'off', listen: '127.0.67.1:443' };
  configErrors: CoreStatus['configErrors'] = [];
  providers: CoreStatus['providers'] = [];
  reloads = 0;

  constructor(configText = '') {
    super();
    this.dir = mkdtempSync(join(tmpdir(), 'r67-fakecore-'));
    this.configPath = join(this.dir, 'config.toml');
    if (configText) writeFileSync(this.configPath, configText, { mode: 0o600 });
    this.log.on('entry', (e) => this.emit('log', e));
  }

  status(): CoreStatus {
    return {
      version: '0.0.0-test',
      pid: process.pid,
      startedAt: new Date(0).toISOString(),
      home: this.dir,
      configPath: this.configPath,
      http: { address: '127.0.0.1:6767' },
      intercept: { ...this.intercept },
      configErrors: this.configErrors,
      warnings: [],
      providers: this.providers,
      requests: { total: this.log.total, today: this.log.today, inFlight: 0 },
    };
  }

  async reload(): Promise<boolean> {
    this.reloads++;
    this.emit('config', {});
    return true;
  }

  setIntercept(s: Partial<CoreStatus['intercept']>): void {
    this.intercept = { ...this.intercept, ...s };
    this.emit('status', this.status());
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** An interception switch whose admin prompt is accepted or refused, as the test says. */
export class FakeIntercept implements InterceptControl {
  answer: 'accept' | 'refuse' | 'fail' = 'accept';
  calls: boolean[] = [];
  /** Resolve this to let a pending switch finish (to observe the busy state). */
  gate?: Promise<void>;
  constructor(private readonly core: FakeCore) {}
  async set(enabled: boolean): Promise<void> {
    this.calls.push(enabled);
    await this.gate;
    if (this.answer === 'refuse') throw new RefusedError();
    if (this.answer === 'fail') throw new Error('nft: permission denied');
    this.core.setIntercept({ enabled, state: enabled ? 'on' : 'off' });
  }
}
