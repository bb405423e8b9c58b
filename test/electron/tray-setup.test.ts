// The tray before interception is set up: a neutral "not set up" state (not a failure), and Set up interception…
// — the two sentences in a dialog first, then install through one OS prompt and interception on. Cancelled dialog
// or refused prompt: nothing changed, said once.
import { electron, FakeTray, notifications } from './fake-electron.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TrayController } from '../../main/electron/tray.js';
import { stateLine, trayLook, trayMenuModel, trayTooltip, type TrayState } from '../../main/electron/tray-menu.js';
import { RefusedError, UiService } from '../../main/ui/service.js';
import { FakeCore, FakeIntercept } from '../ui/fake-core.js';

/** An interception switch whose one-time setup is still to do; its prompt is accepted or refused as the test says. */
class SetupIntercept extends FakeIntercept {
  needed = true;
  setups = 0;
  setupAnswer: 'accept' | 'refuse' | 'fail' = 'accept';
  constructor(private readonly fakeCore: FakeCore) {
    super(fakeCore);
  }
  setupInfo() {
    return { needed: this.needed, hosts: ['api.anthropic.com', 'api.openai.com', 'openrouter.ai'] };
  }
  async setup(): Promise<void> {
    this.setups++;
    if (this.setupAnswer === 'refuse') throw new RefusedError();
    if (this.setupAnswer === 'fail') throw new Error('certutil: not found');
    this.needed = false;
    this.fakeCore.setIntercept({ enabled: true, state: 'on' });
  }
}

const base: TrayState = {
  intercept: { enabled: false, state: 'off', listen: '127.0.67.1:443' },
  http: '127.0.0.1:6767',
  requestsToday: 0,
  configErrors: 0,
  loginItem: { supported: true, enabled: false },
  busy: false,
  setupNeeded: true,
};

test('not set up: a neutral state line and icon, and Set up interception… instead of the switch', () => {
  const m = trayMenuModel(base);
  assert.equal(m[0]!.label, 'Interception not set up · local endpoint 127.0.0.1:6767 · 0 requests today');
  const item = m.find((i) => i.id === 'intercept')!;
  assert.deepEqual({ type: item.type, label: item.label, action: item.action, enabled: item.enabled }, { type: 'normal', label: 'Set up interception…', action: 'setup-intercept', enabled: true });
  // even when an earlier attempt left the "no CA" error: not a red failure
  const failed: TrayState = { ...base, intercept: { enabled: false, state: 'error', listen: '127.0.67.1:443', error: 'no router67 CA in /x/ca; run "router67 install" first' } };
  assert.equal(trayLook(failed), 'off');
  assert.equal(stateLine(failed), 'Interception not set up · local endpoint 127.0.0.1:6767 · 0 requests today');
  assert.equal(trayMenuModel(failed).find((i) => i.id === 'intercept-error'), undefined);
  assert.doesNotMatch(trayTooltip(failed), /no router67 CA/);
  const busy = trayMenuModel({ ...base, busy: true }).find((i) => i.id === 'intercept')!;
  assert.equal(busy.enabled, false);
  assert.match(busy.label!, /waiting for permission/);
  // set up: the switch as before
  assert.equal(trayMenuModel({ ...base, setupNeeded: false }).find((i) => i.id === 'intercept')!.type, 'checkbox');
});

function build(opts: { confirm?: boolean; notifyWorks?: boolean } = {}) {
  const core = new FakeCore();
  const intercept = new SetupIntercept(core);
  const service = new UiService({ core, intercept, app: 'electron' });
  const asked: string[][] = [];
  const tray = new TrayController({
    service,
    resources: '/res',
    platform: 'linux',
    loginItem: { supported: true, get: () => false, set: () => {} },
    open: () => {},
    quit: () => {},
    notify: (title, body) => {
      if (opts.notifyWorks === false) return false;
      new electron.Notification({ title, body }).show();
      return true;
    },
    confirmSetup: async (explanation) => {
      asked.push(explanation);
      return opts.confirm ?? true;
    },
  });
  core.on('status', () => tray.render());
  return { core, intercept, tray, fake: tray.tray as unknown as FakeTray, asked, cleanup: () => core.cleanup() };
}

test('Set up interception… with the helper accepted: the two sentences, one setup, then on', async (t) => {
  const { intercept, fake, asked, cleanup } = build();
  t.after(cleanup);
  assert.equal(fake.item('intercept').label, 'Set up interception…');
  assert.equal(fake.image.path, '/res/tray-off.png');
  const before = notifications.length;
  await fake.item('intercept').click();
  await new Promise((r) => setImmediate(r));
  assert.equal(asked.length, 1);
  assert.equal(asked[0]!.length, 2, 'two sentences');
  assert.match(asked[0]![0]!, /local certificate authority that can only vouch for api\.anthropic\.com, api\.openai\.com and openrouter\.ai/);
  assert.match(asked[0]![1]!, /hosts file .* while router67 runs|While router67 runs, a block in the hosts file/);
  assert.equal(intercept.setups, 1);
  assert.equal(fake.item('intercept').type, 'checkbox');
  assert.equal(fake.item('intercept').checked, true);
  assert.match(fake.item('state').label, /^Intercepting on/);
  assert.equal(fake.image.path, '/res/tray-on.png');
  assert.equal(notifications.length, before + 1);
  assert.equal(notifications.at(-1).body, 'Interception is set up and on.');
});

test('Set up interception… cancelled in the dialog: nothing runs', async (t) => {
  const { intercept, tray, fake, cleanup } = build({ confirm: false });
  t.after(cleanup);
  const before = notifications.length;
  await tray.run('setup-intercept');
  assert.equal(intercept.setups, 0);
  assert.equal(fake.item('intercept').label, 'Set up interception…');
  assert.equal(notifications.length, before);
});

test('Set up interception… with the prompt refused: nothing changed, said once and calmly', async (t) => {
  const { core, intercept, tray, fake, cleanup } = build();
  t.after(cleanup);
  intercept.setupAnswer = 'refuse';
  const before = notifications.length;
  await tray.run('setup-intercept');
  assert.equal(intercept.setups, 1);
  assert.equal(core.status().intercept.enabled, false);
  assert.equal(fake.item('intercept').label, 'Set up interception…', 'still offered');
  assert.equal(fake.item('intercept').enabled, true);
  assert.equal(fake.image.path, '/res/tray-off.png', 'not an error look');
  assert.equal(notifications.length, before + 1, 'said once');
  assert.equal(notifications.at(-1).body, 'Nothing was changed: the password prompt was cancelled. You can set up interception whenever you like.');
  assert.equal(fake.item('notice'), undefined, 'not repeated in the menu');
  assert.equal(fake.item('intercept-error'), undefined);
});

test('where notifications cannot show, the refusal is the menu\'s one notice line', async (t) => {
  const { intercept, tray, fake, cleanup } = build({ notifyWorks: false });
  t.after(cleanup);
  intercept.setupAnswer = 'refuse';
  await tray.run('setup-intercept');
  assert.match(fake.item('notice').label, /^Nothing was changed: the password prompt was cancelled/);
});

test('a failing setup says why; the state stays not set up', async (t) => {
  const { intercept, tray, fake, cleanup } = build();
  t.after(cleanup);
  intercept.setupAnswer = 'fail';
  const before = notifications.length;
  await tray.run('setup-intercept');
  assert.equal(notifications.length, before + 1);
  assert.equal(notifications.at(-1).body, 'Could not set up interception: certutil: not found');
  assert.equal(fake.item('intercept').label, 'Set up interception…');
});
