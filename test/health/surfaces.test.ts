// The health state where people see it: the tray tooltip (mocked electron), `router67 status`, the snapshot's
// shape; and the pieces with an injected clock: the breaker alone, the reset-header parser.
import '../electron/fake-electron.js'; // first: installs the electron stand-in
import type { FakeTray } from '../electron/fake-electron.js';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TrayController } from '../../main/electron/tray.js';
import { UiService } from '../../main/ui/service.js';
import { FakeCore, FakeIntercept } from '../ui/fake-core.js';
import { Health } from '../../main/health/health.js';
import { healthInfo } from '../../main/health/summary.js';
import { resetMs, RateState } from '../../main/health/foresight.js';
import { formatStatus } from '../../main/cli/status.js';
import { parseConfig } from '../../main/config/load.js';
import type { Config } from '../../main/config/schema.js';

function config(extra = ''): Config {
  return parseConfig(`[daemon]\nbreaker_failures = 2\nbreaker_cooloff_ms = 4000\n\n[[providers]]\nname = "alpha"\nbase_url = "http://127.0.0.1:1"\nmax_in_flight = 3\n${extra}\n[providers.available_models]\nm = "alpha-m"\n\n[[providers]]\nname = "beta"\nbase_url = "http://127.0.0.1:2"\n[providers.available_models]\nm = "beta-m"\n`, 'config.toml');
}

/** Two transport failures in a row on alpha, with an injected clock. */
function tripped(clock: { t: number }) {
  const cfg = config();
  const h = new Health(() => clock.t);
  const target = { provider: cfg.providers[0]!, model: 'alpha-m' };
  for (let i = 0; i < 2; i++) {
    const k = h.tryAdmit(cfg, target, 10);
    assert.ok(!('skip' in k));
    h.settle(k, { kind: 'transport', error: 'connect ECONNREFUSED 127.0.0.1:1' });
    h.release(k);
  }
  return { cfg, h, target };
}

test('the snapshot has a stable, typed shape for status, the window and metrics', () => {
  const clock = { t: 10_000 };
  const { cfg, h } = tripped(clock);
  const s = h.snapshot(cfg);
  assert.deepEqual(s.providers.map((p) => p.name), ['alpha', 'beta']);
  const a = s.providers[0]!;
  assert.deepEqual(a.breaker, { state: 'open', consecutiveFailures: 2, windowRequests: 0, windowFailures: 0, trips: 1, retryInMs: 4000, probing: false, lastError: 'connect ECONNREFUSED 127.0.0.1:1' });
  assert.equal(a.maxInFlight, 3);
  assert.equal(a.inFlight, 0);
  assert.equal(a.queued, 0);
  assert.equal(a.queueMax, 64);
  assert.equal(a.rpm, null);
  assert.deepEqual(a.targets.map((x) => x.key), ['alpha/alpha-m']);
  assert.deepEqual(a.targets[0]!.rateLimit, { requestsRemaining: null, requestsResetInMs: null, tokensRemaining: null, tokensResetInMs: null, blockedForMs: null });
  assert.deepEqual(s.providers[1]!.breaker.state, 'closed');
  clock.t += 4000;
  assert.equal(h.snapshot(cfg).providers[0]!.breaker.state, 'half-open');
  assert.doesNotThrow(() => JSON.stringify(s));
});

test('half-open admits exactly one probe; a probe that ends without a verdict lets the next one probe', () => {
  const clock = { t: 0 };
  const { cfg, h, target } = tripped(clock);
  assert.ok('skip' in h.tryAdmit(cfg, target, 1));
  clock.t += 4000;
  const probe = h.tryAdmit(cfg, target, 1);
  assert.ok(!('skip' in probe) && probe.probeProvider);
  const second = h.tryAdmit(cfg, target, 1);
  assert.ok('skip' in second && /half-open/.test(second.skip));
  h.release(probe); // client went away: no verdict
  const again = h.tryAdmit(cfg, target, 1);
  assert.ok(!('skip' in again) && again.probeProvider);
  h.settle(again, { kind: 'ok' });
  h.release(again);
  assert.equal(h.snapshot(cfg).providers[0]!.breaker.state, 'closed');
});

test('the tray tooltip names a provider whose breaker is open (mocked electron)', () => {
  const clock = { t: 0 };
  const { cfg, h } = tripped(clock);
  const core = new FakeCore();
  try {
    const service = new UiService({ core, intercept: new FakeIntercept(core), app: 'electron' });
    const tray = new TrayController({ service, resources: '/res', platform: 'linux', loginItem: { supported: false, get: () => false, set: () => {} }, open: () => {}, quit: () => {} });
    const fake = tray.tray as unknown as FakeTray;
    assert.doesNotMatch(fake.tooltip, /breaker/);
    core.providers = h.snapshot(cfg).providers.map((p) => ({ name: p.name, models: ['m'], auth: 'ok', authSource: 'env', health: healthInfo(p) }));
    tray.render();
    assert.match(fake.tooltip, /\nalpha: breaker open \(retry in 4 s\); 0\/3 in flight$/);
    assert.doesNotMatch(fake.tooltip, /beta/);
  } finally {
    core.cleanup();
  }
});

test('router67 status shows breaker state, in flight against max_in_flight and rate-limited models', () => {
  const clock = { t: 0 };
  const { cfg, h } = tripped(clock);
  const t = { provider: cfg.providers[1]!, model: 'beta-m' };
  const k = h.tryAdmit(cfg, t, 1);
  assert.ok(!('skip' in k));
  h.settle(k, { kind: 'rate-limited', headers: { 'retry-after': '12' } });
  h.release(k);
  const health = h.snapshot(cfg);
  const out = formatStatus({
    version: '1',
    pid: 1,
    startedAt: 'now',
    home: '/h',
    configPath: '/h/config.toml',
    http: { address: '127.0.0.1:6767' },
    intercept: { enabled: false, state: 'off', listen: '127.0.67.1:443' },
    configErrors: [],
    warnings: [],
    requests: { total: 0, today: 0, inFlight: 0 },
    providers: health.providers.map((p) => ({ name: p.name, models: ['m'], auth: 'ok', authSource: 'env', health: healthInfo(p) })),
    health,
  });
  assert.match(out, /alpha .*\n\s+breaker open \(retry in 4 s\); 0\/3 in flight\n/);
  assert.match(out, /beta .*\n\s+rate-limited: beta-m 12 s\n/);
});

test('reset headers: Go durations, seconds, epoch ms, RFC 3339', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  assert.equal(resetMs('6m0s', now), 360_000);
  assert.equal(resetMs('1s', now), 1000);
  assert.equal(resetMs('20ms', now), 20);
  assert.equal(resetMs('2m59.56s', now), 179_560);
  assert.equal(resetMs('1h0m0s', now), 600_000, 'capped at 10 minutes');
  assert.equal(resetMs('30', now), 30_000);
  assert.equal(resetMs(String(now + 5000), now), 5000);
  assert.equal(resetMs('2026-01-01T00:00:42Z', now), 42_000);
  assert.equal(resetMs('soon', now), undefined);
  const r = new RateState();
  r.observe({ 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '1s' }, now, 1000);
  assert.equal(r.blocked(now, 1), 1000);
  assert.equal(r.blocked(now + 1000, 1), 0);
  r.observe({ 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(now + 3000) }, now, 1000);
  assert.equal(r.blocked(now, 1), 3000, 'OpenRouter: epoch ms');
});
