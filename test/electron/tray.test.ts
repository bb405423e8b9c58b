// The tray: the menu as a pure function of state, and the interception toggle with the admin prompt accepted/refused.
import { electron, FakeTray, notifications } from './fake-electron.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TrayController } from '../../main/electron/tray.js';
import {
  stateLine,
  toMenuTemplate,
  trayIconFile,
  trayLook,
  trayMenuModel,
  type TrayAction,
  type TrayState,
} from '../../main/electron/tray-menu.js';
import { UiService } from '../../main/ui/service.js';
import { FakeCore, FakeIntercept } from '../ui/fake-core.js';

const base: TrayState = {
  intercept: { enabled: false, state: 'off', listen: '127.0.67.1:443' },
  http: '127.0.0.1:6767',
  requestsToday: 0,
  configErrors: 0,
  loginItem: { supported: true, enabled: false },
  busy: false,
};

test('the menu holds every action, with the state line first', () => {
  const m = trayMenuModel({ ...base, requestsToday: 12 });
  assert.deepEqual(
    m.map((i) => i.id),
    ['state', 'sep-1', 'intercept', 'open', 'sep-2', 'login', 'sep-3', 'quit'],
  );
  assert.equal(m[0]!.label, 'Not intercepting · local endpoint 127.0.0.1:6767 · 12 requests today');
  assert.equal(m[0]!.enabled, false);
  const byId = Object.fromEntries(m.map((i) => [i.id, i]));
  assert.deepEqual(
    { type: byId.intercept!.type, checked: byId.intercept!.checked, enabled: byId.intercept!.enabled, action: byId.intercept!.action },
    { type: 'checkbox', checked: false, enabled: true, action: 'toggle-intercept' },
  );
  assert.equal(byId.open!.label, 'Open router67…');
  assert.equal(byId.login!.type, 'checkbox');
  assert.equal(byId.quit!.action, 'quit');
  const actions = new Set(m.map((i) => i.action).filter(Boolean));
  assert.deepEqual([...actions].sort(), ['open', 'quit', 'toggle-intercept', 'toggle-login']);
});

test('the menu follows state: on, one request, busy, notice, errors, login item', () => {
  const on = trayMenuModel({ ...base, intercept: { enabled: true, state: 'on', listen: '127.0.67.1:443' }, requestsToday: 1 });
  assert.equal(on[0]!.label, 'Intercepting on 127.0.67.1:443 · 1 request today');
  assert.equal(on.find((i) => i.id === 'intercept')!.checked, true);

  const busy = trayMenuModel({ ...base, busy: true }).find((i) => i.id === 'intercept')!;
  assert.equal(busy.enabled, false);
  assert.match(busy.label!, /waiting for permission/);

  const err = trayMenuModel({
    ...base,
    intercept: { enabled: true, state: 'error', listen: '127.0.67.1:443', error: 'bind 127.0.67.1:443: EACCES' },
    configErrors: 2,
    notice: 'Interception stays off: the administrator prompt was refused.',
    loginItem: { supported: false, enabled: false },
  });
  assert.deepEqual(
    err.slice(0, 4).map((i) => i.label),
    [
      'Interception failed · 0 requests today',
      'bind 127.0.67.1:443: EACCES',
      'config.toml has 2 errors — the last good config runs',
      'Interception stays off: the administrator prompt was refused.',
    ],
  );
  assert.ok(err.slice(0, 4).every((i) => i.enabled === false));
  assert.equal(err.find((i) => i.id === 'login')!.enabled, false);
  assert.equal(trayMenuModel({ ...base, loginItem: { supported: true, enabled: true } }).find((i) => i.id === 'login')!.checked, true);
});

test('the same state always gives the same menu (pure)', () => {
  const s: TrayState = { ...base, requestsToday: 3, notice: 'x' };
  assert.deepEqual(trayMenuModel(s), trayMenuModel(structuredClone(s)));
  assert.deepEqual(s, { ...base, requestsToday: 3, notice: 'x' }, 'state not mutated');
});

test('icon look and file per platform', () => {
  assert.equal(trayLook(base), 'off');
  assert.equal(trayLook({ ...base, intercept: { enabled: true, state: 'on', listen: '' } }), 'on');
  assert.equal(trayLook({ ...base, intercept: { enabled: true, state: 'starting', listen: '' } }), 'off');
  assert.equal(trayLook({ ...base, intercept: { enabled: false, state: 'error', listen: '' } }), 'error');
  assert.equal(trayLook({ ...base, configErrors: 1 }), 'error');
  assert.equal(trayIconFile('on', 'darwin'), 'trayOnTemplate.png');
  assert.equal(trayIconFile('error', 'darwin'), 'trayErrorTemplate.png');
  assert.equal(trayIconFile('off', 'linux'), 'tray-off.png');
  assert.equal(trayIconFile('on', 'win32'), 'tray-on.ico');
  assert.match(stateLine({ ...base, intercept: { enabled: true, state: 'starting', listen: '' } }), /^Starting interception/);
});

test('menu template binds each clickable item to its action', () => {
  const ran: TrayAction[] = [];
  const t = toMenuTemplate(trayMenuModel(base), (a) => ran.push(a));
  for (const i of t) i.click?.();
  assert.deepEqual(ran, ['toggle-intercept', 'open', 'toggle-login', 'quit']);
  assert.ok(t.every((i) => !('action' in i)));
});

function setup(platform: NodeJS.Platform = 'linux') {
  const core = new FakeCore();
  const intercept = new FakeIntercept(core);
  const service = new UiService({ core, intercept, app: 'electron' });
  let login = false;
  const events = { open: 0, quit: 0 };
  const tray = new TrayController({
    service,
    resources: '/res',
    platform,
    loginItem: { supported: true, get: () => login, set: (b) => void (login = b) },
    open: () => events.open++,
    quit: () => events.quit++,
    notify: (title, body) => new electron.Notification({ title, body }).show(),
  });
  core.on('status', () => tray.render());
  const fake = tray.tray as unknown as FakeTray;
  return { core, intercept, tray, fake, events, cleanup: () => core.cleanup() };
}

test('toggle with the admin prompt accepted: interception goes on, icon and menu follow', async (t) => {
  const { intercept, tray, fake, cleanup } = setup();
  t.after(cleanup);
  assert.equal(fake.image.path, '/res/tray-off.png');
  let open!: () => void;
  intercept.gate = new Promise((r) => (open = r));
  const pending = tray.run('toggle-intercept');
  // while the prompt is open: disabled, saying so
  assert.equal(fake.item('intercept').enabled, false);
  assert.match(fake.item('intercept').label, /waiting for permission/);
  open();
  await pending;
  assert.deepEqual(intercept.calls, [true]);
  assert.equal(fake.item('intercept').checked, true);
  assert.equal(fake.item('intercept').enabled, true);
  assert.match(fake.item('state').label, /^Intercepting on 127\.0\.67\.1:443/);
  assert.equal(fake.image.path, '/res/tray-on.png');
  assert.equal(fake.item('notice'), undefined);

  // and off again through the menu item's own click
  await fake.item('intercept').click();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(intercept.calls, [true, false]);
  assert.equal(fake.item('intercept').checked, false);
});

test('toggle with the admin prompt refused: state unchanged, and the user is told', async (t) => {
  const { core, intercept, tray, fake, cleanup } = setup();
  t.after(cleanup);
  intercept.answer = 'refuse';
  const before = notifications.length;
  await tray.run('toggle-intercept');
  assert.deepEqual(intercept.calls, [true]);
  assert.equal(core.status().intercept.enabled, false);
  assert.equal(fake.item('intercept').checked, false);
  assert.equal(fake.item('intercept').enabled, true);
  assert.equal(fake.item('notice').label, 'Interception stays off: the administrator prompt was refused.');
  assert.match(fake.tooltip, /administrator prompt was refused/);
  assert.equal(fake.image.path, '/res/tray-off.png');
  assert.equal(notifications.length, before + 1);
  assert.match(notifications.at(-1).body, /refused/);

  // a later success clears the notice
  intercept.answer = 'accept';
  await tray.run('toggle-intercept');
  assert.equal(fake.item('notice'), undefined);
  assert.equal(fake.item('intercept').checked, true);
});

test('a failing helper is reported with its reason, state unchanged', async (t) => {
  const { core, intercept, tray, fake, cleanup } = setup();
  t.after(cleanup);
  intercept.answer = 'fail';
  await tray.run('toggle-intercept');
  assert.equal(core.status().intercept.enabled, false);
  assert.equal(fake.item('notice').label, 'Could not turn interception on: nft: permission denied');
});

test('menu actions: open, launch at login, quit; macOS uses template images', async (t) => {
  const { tray, fake, events, cleanup } = setup();
  t.after(cleanup);
  await tray.run('open');
  assert.equal(events.open, 1);
  assert.equal(fake.item('login').checked, false);
  await fake.item('login').click();
  assert.equal(fake.item('login').checked, true);
  await fake.item('quit').click();
  assert.equal(events.quit, 1);

  const mac = setup('darwin');
  t.after(mac.cleanup);
  assert.equal(mac.fake.image.path, '/res/trayOffTemplate.png');
  assert.equal(mac.fake.image.template, true);
  mac.core.setIntercept({ enabled: false, state: 'error', error: 'boom' });
  assert.equal(mac.fake.image.path, '/res/trayErrorTemplate.png');
});

test('request counts reach the state line', async (t) => {
  const { core, tray, fake, cleanup } = setup();
  t.after(cleanup);
  const e = core.log.begin({ dialect: 'openai', method: 'POST', path: '/v1/chat/completions', stream: false });
  core.log.finish(e);
  tray.render();
  assert.match(fake.item('state').label, /· 1 request today$/);
});

test('a budget notice shows in the tooltip and menu, and goes out as one system notification', async (t) => {
  const { core, tray, fake, cleanup } = setup();
  t.after(cleanup);
  const message = 'overall budget: $15.20 spent today, soft daily limit $15.00 — notice only; requests go on';
  const plain = core.status.bind(core);
  core.status = () => ({
    ...plain(),
    budgetNotices: [{ level: 'soft', scope: 'overall', period: 'daily', spent: 15.2, limit: 15, at: new Date().toISOString(), message }],
  });
  const before = notifications.length;
  core.emit('status');
  tray.render();
  assert.equal(fake.item('budget').label, message);
  assert.equal(notifications.length - before, 1, 'notified once, however often the tray renders');
  assert.deepEqual(notifications.at(-1), { title: 'router67 budget', body: message });
  assert.match(fake.tooltip, /soft daily limit \$15\.00/);
});
