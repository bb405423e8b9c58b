// The window's Electron side with `electron` mocked: the unsaved-edits question on will-prevent-unload (both
// answers), and the UI service's live events — budget notices included — pushed to the page over IPC.
import { FakeBrowserWindow, messageBoxAnswer, syncMessageBoxes } from './fake-electron.js';
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CH } from '../../main/electron/ipc.js';
import { MainWindow } from '../../main/electron/window.js';
import type { BudgetNotice, UiEvent } from '../../main/ui/types.js';
import { UiService } from '../../main/ui/service.js';
import { FakeCore } from '../ui/fake-core.js';

describe('the main window (electron mocked)', () => {
  let core: FakeCore;
  let win: MainWindow;
  let bw: FakeBrowserWindow;
  before(() => {
    core = new FakeCore('');
    win = new MainWindow('/app/preload.js', new UiService({ core, app: 'electron' }));
    const n = FakeBrowserWindow.instances.length;
    win.show();
    assert.equal(FakeBrowserWindow.instances.length, n + 1, 'one window');
    bw = FakeBrowserWindow.instances.at(-1)!;
  });
  after(() => {
    win.destroy();
    core.cleanup();
  });
  beforeEach(() => {
    syncMessageBoxes.length = 0;
  });

  /** The page refuses to unload (a view has unsaved edits): what Electron then asks the app. */
  const unload = (): boolean => {
    let prevented = false;
    bw.webContents.emit('will-prevent-unload', { preventDefault: () => (prevented = true) });
    return prevented;
  };

  it('unsaved edits, "Discard changes": the page unloads (the unload prevention is overridden)', () => {
    messageBoxAnswer.response = 0;
    assert.equal(unload(), true, 'preventDefault on will-prevent-unload lets the page go');
    assert.equal(syncMessageBoxes.length, 1);
    const box = syncMessageBoxes[0]!;
    assert.equal(box.parent, bw, 'modal to the window');
    assert.deepEqual(box.options.buttons, ['Discard changes', 'Keep editing']);
    assert.equal(box.options.defaultId, 1, 'the safe answer is the default');
    assert.equal(box.options.cancelId, 1, 'Escape keeps the edits');
    assert.match(box.options.message, /unsaved changes/i);
  });

  it('unsaved edits, "Keep editing" (or Escape): the page stays with its edits', () => {
    messageBoxAnswer.response = 1;
    assert.equal(unload(), false);
    assert.equal(syncMessageBoxes.length, 1, 'asked once');
    assert.equal(bw.destroyed, false);
  });

  it('a budget notice reaches the page as a budget event over IPC, as it happens', () => {
    const notice: BudgetNotice = {
      level: 'soft',
      scope: 'provider',
      name: 'alpha',
      period: 'daily',
      spent: 5.2,
      limit: 5,
      at: new Date(0).toISOString(),
      message: 'provider budget "alpha": $5.20 spent today, soft daily limit $5.00 — notice only; requests go on',
    };
    const before = bw.webContents.sent.length;
    core.emit('budget', notice);
    const sent = bw.webContents.sent.slice(before).filter(([ch]) => ch === CH.event).map(([, m]) => m as UiEvent);
    assert.deepEqual(sent, [{ type: 'budget', notice }]);
  });
});
