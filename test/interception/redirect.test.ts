import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import {
  aliasPlist,
  macosAliasOff,
  macosAliasOn,
  macosRedirectOff,
  macosRedirectOn,
  nftRule,
  nftRuleset,
  parseNftList,
  pfRules,
} from '../../main/system/redirect.js';
import { skipUnless } from '../helpers/requires.js';

test('nftables ruleset: our own table, output nat chain, dnat to the listen IP (not redirect)', () => {
  assert.equal(nftRule({ ip: '127.0.67.1', toPort: 8443 }), 'ip daddr 127.0.67.1 tcp dport 443 dnat to 127.0.67.1:8443');
  assert.equal(
    nftRuleset({ ip: '127.0.67.1', toPort: 8443 }),
    'table ip router67\n' +
      'delete table ip router67\n' +
      'table ip router67 {\n' +
      '\tchain output {\n' +
      '\t\ttype nat hook output priority -100; policy accept;\n' +
      '\t\tip daddr 127.0.67.1 tcp dport 443 dnat to 127.0.67.1:8443\n' +
      '\t}\n' +
      '}\n',
  );
  assert.doesNotMatch(nftRuleset({ ip: '127.0.67.1', toPort: 8443 }), /redirect/);
});

test('ruleset values are validated (nothing but an IPv4 address and ports reaches the text)', () => {
  assert.throws(() => nftRuleset({ ip: '127.0.67.1; flush ruleset', toPort: 8443 }), /not an IPv4/);
  assert.throws(() => nftRuleset({ ip: '127.0.67.1', toPort: 70000 }), /not a port/);
  assert.throws(() => nftRuleset({ ip: '127.0.67.1', toPort: 8443.5 }), /not a port/);
  assert.throws(() => pfRules({ ip: '::1', toPort: 8443 }), /not an IPv4/);
  assert.throws(() => macosAliasOn('127.0.67.1 up; rm -rf /'), /not an IPv4/);
});

test('parseNftList finds our rule and whether it matches', () => {
  const listed = 'table ip router67 {\n\tchain output {\n\t\ttype nat hook output priority dstnat; policy accept;\n\t\tip daddr 127.0.67.1 tcp dport 443 dnat ip to 127.0.67.1:8443\n\t}\n}\n';
  assert.deepEqual(parseNftList(listed, { ip: '127.0.67.1', toPort: 8443 }), {
    present: true,
    matches: true,
    rules: ['ip daddr 127.0.67.1 tcp dport 443 dnat ip to 127.0.67.1:8443'],
  });
  assert.equal(parseNftList(listed, { ip: '127.0.67.1', toPort: 9443 }).matches, false);
  assert.equal(parseNftList('', { ip: '127.0.67.1', toPort: 8443 }).present, false);
});

test('macOS: lo0 alias (now, and a LaunchDaemon for every boot) and a pf rdr anchor (commands and plist only)', () => {
  const plist = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
\t<key>Label</key>
\t<string>com.router67.lo0-alias</string>
\t<key>ProgramArguments</key>
\t<array>
\t\t<string>/sbin/ifconfig</string>
\t\t<string>lo0</string>
\t\t<string>alias</string>
\t\t<string>127.0.67.1</string>
\t\t<string>up</string>
\t</array>
\t<key>RunAtLoad</key>
\t<true/>
</dict>
</plist>
`;
  assert.equal(aliasPlist('127.0.67.1'), plist);
  assert.throws(() => aliasPlist('127.0.67.1</string><string>x'), /not an IPv4/);
  assert.deepEqual(macosAliasOn('127.0.67.1'), [
    { kind: 'run', argv: ['ifconfig', 'lo0', 'alias', '127.0.67.1', 'up'] },
    { kind: 'write', path: '/Library/LaunchDaemons/com.router67.lo0-alias.plist', content: plist, mode: 0o644 },
  ]);
  assert.deepEqual(macosAliasOff('127.0.67.1'), [
    { kind: 'run', argv: ['launchctl', 'bootout', 'system/com.router67.lo0-alias'], allowFail: true },
    { kind: 'remove', path: '/Library/LaunchDaemons/com.router67.lo0-alias.plist' },
    { kind: 'run', argv: ['ifconfig', 'lo0', '-alias', '127.0.67.1'], allowFail: true },
  ]);
  assert.equal(pfRules({ ip: '127.0.67.1', toPort: 8443 }), 'rdr pass on lo0 inet proto tcp from any to 127.0.67.1 port 443 -> 127.0.67.1 port 8443\n');
  assert.deepEqual(macosRedirectOn({ ip: '127.0.67.1', toPort: 8443 }), [
    { argv: ['pfctl', '-a', 'com.apple/router67', '-f', '-'], input: 'rdr pass on lo0 inet proto tcp from any to 127.0.67.1 port 443 -> 127.0.67.1 port 8443\n' },
    { argv: ['pfctl', '-E'] },
  ]);
  assert.deepEqual(macosRedirectOff(), [{ argv: ['pfctl', '-a', 'com.apple/router67', '-F', 'all'] }]);
});

test('nftables for real (network namespace): apply, traffic to :443 reaches the high port, state, remove twice', { skip: skipUnless({ linux: true, root: true, tools: ['nft', 'unshare', 'ip'] }) }, () => {
  const mod = join(__dirname, '..', '..', 'main', 'system', 'redirect.js');
  const script = `
    const { execFileSync } = require('node:child_process');
    const net = require('node:net');
    const r = require(${JSON.stringify(mod)});
    (async () => {
      execFileSync('ip', ['link', 'set', 'lo', 'up']);
      const out = {};
      const server = net.createServer((c) => { c.on('error', () => {}); c.end('reached ' + c.localAddress + ':' + c.localPort); });
      await new Promise((res) => server.listen(18443, '127.0.67.1', res));
      await r.linuxRedirectOn({ ip: '127.0.67.1', toPort: 18443 });
      await r.linuxRedirectOn({ ip: '127.0.67.1', toPort: 18443 }); // replaces, no duplicate
      out.state = await r.linuxRedirectState({ ip: '127.0.67.1', toPort: 18443 });
      out.reply = await new Promise((res, rej) => {
        const s = net.connect(443, '127.0.67.1');
        let d = ''; s.on('data', (x) => (d += x)); s.on('close', () => res(d)); s.on('error', rej);
        setTimeout(() => rej(new Error('timeout')), 5000).unref();
      });
      out.removed1 = await r.linuxRedirectOff();
      out.removed2 = await r.linuxRedirectOff();
      out.after = await r.linuxRedirectState();
      server.close();
      process.stdout.write(JSON.stringify(out));
    })().catch((e) => { console.error(e); process.exit(1); });`;
  const res = spawnSync('unshare', ['--net', '--fork', process.execPath, '-e', script], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(res.status, 0, res.stderr);
  const out = JSON.parse(res.stdout);
  assert.equal(out.state.present, true);
  assert.equal(out.state.matches, true);
  assert.equal(out.state.rules.length, 1);
  assert.equal(out.reply, 'reached 127.0.67.1:18443');
  assert.equal(out.removed1, true);
  assert.equal(out.removed2, false);
  assert.equal(out.after.present, false);
});
