// `router67 doctor` and the coding CLIs: it finds an installed Codex CLI and Claude Code (on PATH, or in npm's
// global folder when that is not on PATH) with their versions, and prints the exact line each needs to trust
// the router67 CA — none when the CA is in the OS store, CODEX_CA_CERTIFICATE=<bundle> (never ca.crt) for
// Codex otherwise, NODE_EXTRA_CA_CERTS=<ca.crt> for Claude Code otherwise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clientAdvice, detectClients, fileHasCert } from '../../main/intercept/clients.js';
import { formatDoctor, runDoctor } from '../../main/intercept/doctor.js';
import { ConfigSchema } from '../../main/config/schema.js';
import { createCa, ensureCa } from '../../main/tls/ca.js';

const HOSTS = ['api.anthropic.com', 'api.openai.com', 'openrouter.ai'];

function exe(path: string, body = '#!/bin/sh\necho stub\n'): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, body);
  chmodSync(path, 0o755);
}

test('detectClients: Claude Code on PATH (native install, version from its folder), Codex only in the npm global prefix (version from its package)', () => {
  const t = mkdtempSync(join(tmpdir(), 'r67-detect-'));
  try {
    const home = join(t, 'home');
    // Claude Code's native installer: ~/.local/bin/claude -> ~/.local/share/claude/versions/2.1.332
    exe(join(home, '.local', 'share', 'claude', 'versions', '2.1.332'));
    mkdirSync(join(t, 'onpath'), { recursive: true });
    symlinkSync(join(home, '.local', 'share', 'claude', 'versions', '2.1.332'), join(t, 'onpath', 'claude'));
    // npm install -g @openai/codex with a prefix that is not on PATH
    const prefix = join(t, 'npm-global');
    const pkg = join(prefix, 'lib', 'node_modules', '@openai', 'codex');
    exe(join(pkg, 'bin', 'codex.js'), '#!/usr/bin/env node\n');
    writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: '@openai/codex', version: '0.171.0' }));
    mkdirSync(join(prefix, 'bin'));
    symlinkSync('../lib/node_modules/@openai/codex/bin/codex.js', join(prefix, 'bin', 'codex'));

    const found = detectClients({ env: { PATH: join(t, 'onpath'), npm_config_prefix: prefix }, platform: 'linux', userHome: home, execPath: join(t, 'node', 'bin', 'node') });
    assert.deepEqual(found, [
      { id: 'claude-code', name: 'Claude Code', path: join(t, 'onpath', 'claude'), version: '2.1.332' },
      { id: 'codex', name: 'Codex CLI', path: join(prefix, 'bin', 'codex'), version: '0.171.0' },
    ]);
    // the npm prefix from ~/.npmrc counts too; nothing installed anywhere: nothing found
    writeFileSync(join(home, '.npmrc'), `fund=false\nprefix=${prefix}\n`);
    assert.deepEqual(
      detectClients({ env: { PATH: join(t, 'empty') }, platform: 'linux', userHome: home, execPath: join(t, 'node', 'bin', 'node') }).map((c) => c.id),
      ['codex'],
    );
    assert.deepEqual(detectClients({ env: { PATH: join(t, 'empty') }, platform: 'linux', userHome: join(t, 'nobody'), execPath: join(t, 'node', 'bin', 'node') }), []);
  } finally {
    rmSync(t, { recursive: true, force: true });
  }
});

test('detectClients on Windows: npm shims (codex.cmd) on a ;-separated PATH', () => {
  const t = mkdtempSync(join(tmpdir(), 'r67-detect-win-'));
  try {
    exe(join(t, 'npm', 'codex.cmd'), '@echo off\r\n');
    exe(join(t, 'npm', 'claude.cmd'), '@echo off\r\n');
    const found = detectClients({ env: { Path: `${join(t, 'nothing')};${join(t, 'npm')}` }, platform: 'win32', userHome: join(t, 'home'), execPath: join(t, 'node', 'node.exe') });
    assert.deepEqual(
      found.map((c) => [c.id, c.path]),
      [
        ['claude-code', join(t, 'npm', 'claude.cmd')],
        ['codex', join(t, 'npm', 'codex.cmd')],
      ],
    );
  } finally {
    rmSync(t, { recursive: true, force: true });
  }
});

test('clientAdvice: the exact line each client needs, or none', () => {
  const t = mkdtempSync(join(tmpdir(), 'r67-advice-'));
  try {
    const ca = createCa(HOSTS);
    const other = createCa(['example.com']);
    const bundle = join(t, 'bundle.pem');
    const caPath = join(t, 'ca.crt');
    writeFileSync(bundle, `${other.certPem}\n${ca.certPem}`);
    writeFileSync(caPath, ca.certPem);
    const corporate = join(t, 'corporate.pem');
    writeFileSync(corporate, other.certPem);
    assert.equal(fileHasCert(bundle, ca.certPem), true);
    assert.equal(fileHasCert(corporate, ca.certPem), false);
    const facts = (osTrusted: boolean | undefined, env: NodeJS.ProcessEnv = {}, platform: NodeJS.Platform = 'linux') => ({ caPem: ca.certPem, caPath, bundlePath: bundle, osTrusted, env, platform });

    // Codex: the OS roots
    assert.deepEqual(clientAdvice('codex', facts(true)), { trusted: true, lines: [], note: 'uses the OS roots, which trust the router67 CA: nothing to set' });
    const untrusted = clientAdvice('codex', facts(false));
    assert.equal(untrusted.trusted, false);
    assert.deepEqual(untrusted.lines, [`export CODEX_CA_CERTIFICATE=${bundle}`]);
    assert.match(untrusted.note, /invalid peer certificate: UnknownIssuer/);
    assert.match(untrusted.note, /never ca\.crt alone/);
    // SSL_CERT_FILE replaces the roots: a file without the CA breaks it even with the CA in the OS store
    const replaced = clientAdvice('codex', facts(true, { SSL_CERT_FILE: corporate }));
    assert.deepEqual([replaced.trusted, replaced.lines], [false, [`export CODEX_CA_CERTIFICATE=${bundle}`]]);
    assert.match(replaced.note, new RegExp(`SSL_CERT_FILE=${corporate} replaces Codex's roots and lacks the router67 CA`));
    // CODEX_CA_CERTIFICATE wins over SSL_CERT_FILE
    assert.equal(clientAdvice('codex', facts(false, { CODEX_CA_CERTIFICATE: bundle, SSL_CERT_FILE: corporate })).trusted, true);
    assert.equal(clientAdvice('codex', facts(true, { CODEX_CA_CERTIFICATE: corporate })).trusted, false);
    assert.deepEqual(clientAdvice('codex', facts(false, {}, 'win32')).lines, [`setx CODEX_CA_CERTIFICATE "${bundle}"`]);

    // Claude Code: bundled roots + the OS store
    assert.deepEqual(clientAdvice('claude-code', facts(true)), { trusted: true, lines: [], note: 'trusts its bundled roots plus the OS store, which has the router67 CA: nothing to set' });
    const cc = clientAdvice('claude-code', facts(false));
    assert.deepEqual([cc.trusted, cc.lines], [false, [`export NODE_EXTRA_CA_CERTS=${caPath}`]]);
    assert.match(cc.note, /ignores it in ~\/\.claude\/settings\.json/);
    const bundled = clientAdvice('claude-code', facts(true, { CLAUDE_CODE_CERT_STORE: 'bundled' }));
    assert.deepEqual([bundled.trusted, bundled.lines], [false, [`export NODE_EXTRA_CA_CERTS=${caPath}`]]);
    assert.match(bundled.note, /CLAUDE_CODE_CERT_STORE=bundled ignores the OS store/);
    assert.equal(clientAdvice('claude-code', facts(false, { NODE_EXTRA_CA_CERTS: caPath })).trusted, true);
    assert.match(clientAdvice('claude-code', facts(false, { NODE_EXTRA_CA_CERTS: corporate })).note, /it replaces your NODE_EXTRA_CA_CERTS=/);
  } finally {
    rmSync(t, { recursive: true, force: true });
  }
});

test('runDoctor lists the installed clients first, with a check each; no CA yet: the clients are skipped with the fix', async () => {
  const home = mkdtempSync(join(tmpdir(), 'r67-doctor-clients-'));
  try {
    const config = ConfigSchema.parse({ intercept_hosts: HOSTS });
    const installedClients = [
      { id: 'claude-code' as const, name: 'Claude Code', path: '/opt/bin/claude', version: '2.1.332' },
      { id: 'codex' as const, name: 'Codex CLI', path: '/opt/bin/codex', version: '0.171.0' },
    ];
    const none = await runDoctor({ home, config, platform: 'linux', timeoutMs: 200, env: {}, installedClients, userHome: home, hostsPath: join(home, 'hosts') });
    assert.deepEqual(
      none.checks.filter((c) => c.id.startsWith('client:')).map((c) => [c.id, c.status, c.fix]),
      [
        ['client:claude-code', 'skip', 'router67 install'],
        ['client:codex', 'skip', 'router67 install'],
      ],
    );

    ensureCa(home, HOSTS);
    writeFileSync(join(home, 'hosts'), '127.0.0.1 localhost\n');
    // A fresh CA is not in this machine's OS store (the doctor reads the real store): both need their line.
    const r = await runDoctor({ home, config, platform: 'linux', timeoutMs: 200, env: {}, installedClients, userHome: home, hostsPath: join(home, 'hosts') });
    assert.notEqual(r.checks.find((c) => c.id === 'ca-trusted')?.status, 'ok');
    const bundle = join(home, 'ca', 'bundle.pem');
    assert.ok(fileHasCert(bundle, readFileSync(join(home, 'ca', 'ca.crt'), 'utf8')), 'the bundle the Codex line names exists and has the CA');
    assert.deepEqual(
      r.clients.slice(0, 2).map((c) => [c.client, c.lines, c.detected?.trusted]),
      [
        ['Claude Code 2.1.332 (/opt/bin/claude)', [`export NODE_EXTRA_CA_CERTS=${join(home, 'ca', 'ca.crt')}`], false],
        ['Codex CLI 0.171.0 (/opt/bin/codex)', [`export CODEX_CA_CERTIFICATE=${bundle}`], false],
      ],
    );
    const codexCheck = r.checks.find((c) => c.id === 'client:codex')!;
    assert.equal(codexCheck.status, 'warn');
    assert.equal(codexCheck.fix, `export CODEX_CA_CERTIFICATE=${bundle}`);
    const text = formatDoctor(r);
    assert.match(text, /warn {2}Codex CLI 0\.171\.0 \(\/opt\/bin\/codex\) will not trust the router67 CA/);
    assert.ok(text.includes(`  Codex CLI 0.171.0 (/opt/bin/codex):\n    export CODEX_CA_CERTIFICATE=${bundle}\n`), text);
    assert.ok(text.includes(`  Claude Code 2.1.332 (/opt/bin/claude):\n    export NODE_EXTRA_CA_CERTS=${join(home, 'ca', 'ca.crt')}\n`), text);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});
