// File modes in router67's home under a umask of 022: a home that `router67 install` creates (the CA first) is 0700
// like the one the core creates; usage.db and its -wal/-shm are the owner's only, also when an older version left
// them 0644.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureHome } from '../../main/core/paths.js';
import { ensureCa } from '../../main/tls/ca.js';
import { HistoryDb } from '../../main/usage/history-db.js';
import { Core } from '../../main/core/core.js';
import { silentLogger } from '../../main/log/logger.js';

const modeOf = (p: string) => statSync(p).mode & 0o777;

describe('modes in a fresh home (umask 022)', { skip: process.platform === 'win32' && 'POSIX modes' }, () => {
  const scratch = () => {
    const dir = mkdtempSync(join(tmpdir(), 'router67-modes-'));
    return { home: join(dir, 'home'), done: () => rmSync(dir, { recursive: true, force: true }) };
  };
  const umask022 = (t: { after(fn: () => void): void }) => {
    const old = process.umask(0o022);
    t.after(() => process.umask(old));
  };

  it('the CA made first (router67 install) creates the home 0700; ca/ stays 0755, ca.key 0600', (t) => {
    umask022(t);
    const s = scratch();
    t.after(s.done);
    ensureCa(s.home, ['api.openai.com']);
    assert.equal(modeOf(s.home).toString(8), '700');
    assert.equal(modeOf(join(s.home, 'ca')).toString(8), '755');
    assert.equal(modeOf(join(s.home, 'ca', 'ca.key')).toString(8), '600');
  });

  it('the core creates the home 0700 the same way', async (t) => {
    umask022(t);
    const s = scratch();
    t.after(s.done);
    const core = await Core.start({ home: s.home, configPath: join(s.home, 'config.toml'), httpListen: '127.0.0.1:0', logger: silentLogger, env: {} });
    t.after(() => core.stop({ drainMs: 0 }));
    assert.equal(modeOf(s.home).toString(8), '700');
  });

  it('usage.db, -wal and -shm are 0600, and an old 0644 file is set back', (t) => {
    umask022(t);
    const s = scratch();
    t.after(s.done);
    ensureHome(s.home);
    const file = join(s.home, 'usage.db');
    let db = new HistoryDb(file);
    db.db.exec('CREATE TABLE IF NOT EXISTS probe (x)'); // a write: the -wal and -shm exist now
    for (const f of [file, `${file}-wal`, `${file}-shm`]) {
      assert.ok(existsSync(f), f);
      assert.equal(modeOf(f).toString(8), '600', f);
    }
    db.close();
    for (const f of [file, `${file}-wal`, `${file}-shm`]) if (existsSync(f)) chmodSync(f, 0o644);
    db = new HistoryDb(file);
    for (const f of [file, `${file}-wal`, `${file}-shm`]) if (existsSync(f)) assert.equal(modeOf(f).toString(8), '600', `${f} again`);
    db.close();
  });
});
