// The tray's usage line (issue 11): today's requests and cost from the usage history, the busiest app in the
// tooltip — with the mocked Electron, a real UiService and a real History (SQLite) behind it.
import { electron, FakeTray } from './fake-electron.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TrayController } from '../../main/electron/tray.js';
import { stateLine, trayTooltip, type TrayState } from '../../main/electron/tray-menu.js';
import { UiService } from '../../main/ui/service.js';
import { History } from '../../main/usage/history.js';
import type { LogEntry } from '../../main/ui/types.js';
import { FakeCore } from '../ui/fake-core.js';

void electron;

function entry(i: number, app: string | undefined, costUsd?: number): LogEntry {
  return {
    id: `t-${i}`,
    startedAt: new Date().toISOString(),
    dialect: 'anthropic',
    method: 'POST',
    path: '/v1/messages',
    stream: false,
    provider: 'alpha',
    status: 200,
    state: 'done',
    attempts: [],
    bytesIn: 1,
    bytesOut: 1,
    ...(app ? { app } : {}),
    ...(costUsd !== undefined ? { costUsd } : {}),
  };
}

test('the state line carries today’s cost; the tooltip names the busiest app', () => {
  const base: TrayState = {
    intercept: { enabled: false, state: 'off', listen: '127.0.67.1:443' },
    http: '127.0.0.1:6767',
    requestsToday: 12,
    configErrors: 0,
    loginItem: { supported: true, enabled: false },
    busy: false,
  };
  assert.equal(stateLine(base), 'Not intercepting · local endpoint 127.0.0.1:6767 · 12 requests today');
  assert.equal(stateLine({ ...base, costToday: 1.5 }), 'Not intercepting · local endpoint 127.0.0.1:6767 · 12 requests today · $1.50');
  assert.equal(stateLine({ ...base, costToday: null }), 'Not intercepting · local endpoint 127.0.0.1:6767 · 12 requests today · cost —');
  assert.match(trayTooltip({ ...base, busiestApp: { name: 'Codex', requests: 9 } }), /\nBusiest app today: Codex \(9 requests\)$/);
});

test('the tray follows the usage history: requests and cost today, busiest app', async () => {
  const home = mkdtempSync(join(tmpdir(), 'router67-tray-usage-'));
  const core = new FakeCore();
  const history = new History({ file: join(home, 'usage.db'), retentionDays: 90, flushMs: 5 });
  const service = new UiService({ core, app: 'electron', usage: history });
  const tray = new TrayController({
    service,
    resources: '/res',
    platform: 'linux',
    loginItem: { supported: false, get: () => false, set: () => {} },
    open: () => {},
    quit: () => {},
  });
  const fake = tray.tray as unknown as FakeTray;
  try {
    assert.match(fake.item('state').label, /0 requests today$/);
    history.add(entry(1, 'Claude Code', 0.25));
    history.add(entry(2, 'Claude Code', 0.5));
    history.add(entry(3, 'Codex'));
    tray.render();
    assert.match(fake.item('state').label, /3 requests today · \$0\.75$/);
    assert.match(fake.tooltip, /Busiest app today: Claude Code \(2 requests\)/);
    assert.equal(await history.count(), 3);
  } finally {
    tray.destroy();
    await history.close();
    core.cleanup();
    rmSync(home, { recursive: true, force: true });
  }
});
