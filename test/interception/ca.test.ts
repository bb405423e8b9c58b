import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import {
  caMatchesHosts,
  caPaths,
  checkKeyMode,
  createCa,
  ensureCa,
  inspectCaCert,
  LeafCertStore,
  leafKeySync,
  loadCa,
  mintLeaf,
  parseCa,
} from '../../main/tls/ca.js';
import { X509Certificate } from 'node:crypto';
import { PRE_ECDSA_CA_CERT, PRE_ECDSA_CA_KEY } from './pre-ecdsa-ca.js';

const HOSTS = ['api.anthropic.com', 'api.openai.com', 'openrouter.ai'];

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'r67-ca-'));
}

// One CA and one leaf key for the whole file (RSA key generation is the slow part).
const files = createCa(HOSTS);
const ca = parseCa(files.certPem, files.keyPem);
const leafKey = leafKeySync();

test('the CA is a constrained root: CA:true pathlen 0, keyCertSign/cRLSign, critical nameConstraints', () => {
  const text = execFileSync('openssl', ['x509', '-noout', '-text'], { input: files.certPem }).toString();
  assert.match(text, /Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
  assert.match(text, /Key Usage: critical\s+Certificate Sign, CRL Sign/);
  assert.match(text, /Name Constraints: critical\s+Permitted:\s+DNS:api\.anthropic\.com\s+DNS:api\.openai\.com\s+DNS:openrouter\.ai\s+Excluded:\s+IP:0\.0\.0\.0\/0\.0\.0\.0\s+IP:0:0:0:0:0:0:0:0\/0:0:0:0:0:0:0:0/);
  assert.match(text, /Subject: CN = router67 local CA [0-9a-f]{8}, O = router67/);
  assert.deepEqual(ca.permittedHosts, [...HOSTS].sort());
  assert.equal(ca.excludesAllIps, true);
});

test('each CA is unique (serial, subject suffix, key)', () => {
  const other = parseCa(...(Object.values(createCa(HOSTS, { key: ca.key })) as [string, string]));
  assert.notEqual(other.serialHex, ca.serialHex);
  assert.notEqual(other.commonName, ca.commonName);
  const third = createCa(['api.anthropic.com']);
  assert.notEqual(parseCa(third.certPem, third.keyPem).keyId, ca.keyId);
});

test('caMatchesHosts compares the constraint set, ignoring order and case', () => {
  assert.equal(caMatchesHosts(ca, ['OpenRouter.ai', 'api.openai.com', 'api.anthropic.com']), true);
  assert.equal(caMatchesHosts(ca, ['api.openai.com', 'api.anthropic.com']), false);
  assert.equal(caMatchesHosts(files.certPem, [...HOSTS, 'api.mistral.ai']), false);
});

test('openssl verify accepts a leaf for an intercepted host and rejects one for another host signed by the same CA', () => {
  const dir = tmp();
  try {
    writeFileSync(join(dir, 'ca.pem'), files.certPem);
    writeFileSync(join(dir, 'good.pem'), mintLeaf(ca, leafKey, 'api.anthropic.com'));
    writeFileSync(join(dir, 'bad.pem'), mintLeaf(ca, leafKey, 'www.example.com'));
    const good = spawnSync('openssl', ['verify', '-x509_strict', '-purpose', 'sslserver', '-CAfile', join(dir, 'ca.pem'), join(dir, 'good.pem')], { encoding: 'utf8' });
    assert.equal(good.status, 0, good.stderr + good.stdout);
    assert.match(good.stdout, /good\.pem: OK/);
    const bad = spawnSync('openssl', ['verify', '-CAfile', join(dir, 'ca.pem'), join(dir, 'bad.pem')], { encoding: 'utf8' });
    assert.notEqual(bad.status, 0);
    assert.match(bad.stdout + bad.stderr, /permitted subtree violation/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('leaf: SAN dNSName, serverAuth, validity ≤ 397 days and backdated', () => {
  const pem = mintLeaf(ca, leafKey, 'api.openai.com');
  const text = execFileSync('openssl', ['x509', '-noout', '-text', '-dates'], { input: pem }).toString();
  assert.match(text, /Subject Alternative Name:\s+DNS:api\.openai\.com\s/);
  assert.match(text, /Extended Key Usage:\s+TLS Web Server Authentication/);
  assert.match(text, /Basic Constraints: critical\s+CA:FALSE/);
  const nb = new Date(/notBefore=(.*)/.exec(text)![1]!).getTime();
  const na = new Date(/notAfter=(.*)/.exec(text)![1]!).getTime();
  assert.ok(nb < Date.now() - 30 * 60_000, 'backdated');
  assert.ok(na - nb <= 397 * 86400_000, 'at most 397 days');
});

test('leaf keys are ECDSA P-256, signed by the RSA CA; key identifiers chain; openssl and node verify them', () => {
  const pem = mintLeaf(ca, leafKey, 'openrouter.ai');
  const text = execFileSync('openssl', ['x509', '-noout', '-text'], { input: pem }).toString();
  assert.match(text, /Public Key Algorithm: id-ecPublicKey/);
  assert.match(text, /NIST CURVE: P-256/);
  assert.match(text, /Signature Algorithm: sha256WithRSAEncryption/);
  assert.match(text, /Key Usage: critical\s+Digital Signature\s/);
  const x = new X509Certificate(pem);
  assert.equal(x.publicKey.asymmetricKeyType, 'ec');
  assert.equal(x.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  assert.ok(x.checkPrivateKey(leafKey.key));
  assert.equal(x.verify(new X509Certificate(files.certPem).publicKey), true);
  assert.equal(x.checkIssued(new X509Certificate(files.certPem)), true);
  // subjectKeyIdentifier: the SHA-1 of the EC point (RFC 5280 method 1)
  const ski = /Subject Key Identifier:\s+([0-9A-F:]+)/.exec(text)![1]!.replace(/:/g, '').toLowerCase();
  assert.equal(ski, leafKey.keyId);
  const aki = /Authority Key Identifier:\s+(?:keyid:)?([0-9A-F:]+)/.exec(text)![1]!.replace(/:/g, '').toLowerCase();
  assert.equal(aki, ca.keyId);
});

test('a CA created before leaves became ECDSA (RSA, already trusted) still signs leaves that verify', async () => {
  const old = parseCa(PRE_ECDSA_CA_CERT, PRE_ECDSA_CA_KEY);
  assert.deepEqual(old.permittedHosts, [...HOSTS].sort());
  const dir = tmp();
  try {
    writeFileSync(join(dir, 'ca.pem'), PRE_ECDSA_CA_CERT);
    writeFileSync(join(dir, 'leaf.pem'), mintLeaf(old, leafKey, 'api.openai.com'));
    const r = spawnSync('openssl', ['verify', '-x509_strict', '-purpose', 'sslserver', '-CAfile', join(dir, 'ca.pem'), join(dir, 'leaf.pem')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr + r.stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const srv = await listen(new LeafCertStore(old, HOSTS, leafKey));
  try {
    const ok = await tryConnect(srv.port, 'api.openai.com', PRE_ECDSA_CA_CERT);
    assert.equal(ok.ok, true, ok.error);
  } finally {
    await srv.close();
  }
});

function listen(store: LeafCertStore): Promise<{ port: number; close: () => Promise<void>; handshakes: string[] }> {
  const handshakes: string[] = [];
  const server = createServer({ SNICallback: store.SNICallback, ALPNProtocols: ['http/1.1'] }, (s) => {
    handshakes.push(s.servername || '');
    s.end(`hello ${s.servername}`);
  });
  server.on('tlsClientError', () => {});
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: (server.address() as AddressInfo).port,
        handshakes,
        close: () => new Promise((r) => server.close(() => r())),
      }),
    ),
  );
}

function tryConnect(port: number, servername: string | undefined, caPem: string): Promise<{ ok: boolean; data?: string; alpn?: string | false | null; error?: string }> {
  return new Promise((resolve) => {
    const s: TLSSocket = connect({ host: '127.0.0.1', port, ca: caPem, ALPNProtocols: ['http/1.1'], ...(servername ? { servername } : {}) });
    let data = '';
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ ok: false, error: 'timeout' });
    }, 5000);
    s.on('secureConnect', () => {
      s.on('data', (d) => (data += d));
      s.on('end', () => {
        clearTimeout(timer);
        resolve({ ok: true, data, alpn: s.alpnProtocol });
      });
    });
    s.on('error', (e) => {
      clearTimeout(timer);
      resolve({ ok: false, error: /subtree/.test(e.message) ? e.message : ((e as NodeJS.ErrnoException).code ?? e.message) });
    });
  });
}

test('a real TLS handshake succeeds for an intercepted host and fails for any other SNI or none', async () => {
  const store = new LeafCertStore(ca, HOSTS, leafKey);
  const srv = await listen(store);
  try {
    const ok = await tryConnect(srv.port, 'api.anthropic.com', files.certPem);
    assert.deepEqual(ok, { ok: true, data: 'hello api.anthropic.com', alpn: 'http/1.1' });
    const upper = await tryConnect(srv.port, 'API.OpenAI.com', files.certPem);
    assert.equal(upper.ok, true, upper.error);
    const other = await tryConnect(srv.port, 'www.example.com', files.certPem);
    assert.equal(other.ok, false);
    const none = await tryConnect(srv.port, undefined, files.certPem);
    assert.equal(none.ok, false);
    assert.deepEqual(srv.handshakes, ['api.anthropic.com', 'API.OpenAI.com']);
  } finally {
    await srv.close();
  }
});

test('node refuses a leaf for a non-intercepted host signed by the CA (nameConstraints enforced by the client)', async () => {
  // A store that (wrongly) intercepts www.example.com: the CA's constraints still make clients refuse it.
  const rogue = new LeafCertStore({ ...ca, permittedHosts: [...ca.permittedHosts, 'www.example.com'] }, ['www.example.com'], leafKey);
  const srv = await listen(rogue);
  try {
    const r = await tryConnect(srv.port, 'www.example.com', files.certPem);
    assert.equal(r.ok, false);
    assert.equal(r.error, 'permitted subtree violation');
  } finally {
    await srv.close();
  }
});

test('LeafCertStore caches one SecureContext per host and follows host-list changes', () => {
  const store = new LeafCertStore(ca, ['api.anthropic.com'], leafKey);
  const a = store.contextFor('api.anthropic.com');
  assert.equal(store.contextFor('API.ANTHROPIC.COM.'), a);
  assert.throws(() => store.contextFor('api.openai.com'), /does not intercept/);
  store.setHosts(['api.openai.com', 'api.mistral.ai']);
  assert.throws(() => store.contextFor('api.anthropic.com'), /does not intercept/);
  assert.ok(store.contextFor('api.openai.com'));
  // Not permitted by the CA's constraints: never minted, reported for install to re-issue.
  assert.equal(store.intercepts('api.mistral.ai'), false);
  assert.deepEqual(store.unpermittedHosts(), ['api.mistral.ai']);
});

test('saved under <home>/ca: ca.crt PEM, ca.key 0600; a too-open key mode is repaired on load', () => {
  const home = tmp();
  try {
    const r1 = ensureCa(home, HOSTS);
    assert.equal(r1.created, true);
    assert.equal(r1.replacedCertPem, undefined);
    const p = caPaths(home);
    assert.equal(statSync(p.key).mode & 0o777, 0o600);
    assert.match(readFileSync(p.cert, 'utf8'), /^-----BEGIN CERTIFICATE-----/);
    assert.deepEqual(checkKeyMode(home), { mode: 0o600, ok: true });
    chmodSync(p.key, 0o644);
    assert.deepEqual(checkKeyMode(home), { mode: 0o644, ok: false });
    const loaded = loadCa(home)!;
    assert.equal(loaded.repairedKeyMode, true);
    assert.equal(statSync(p.key).mode & 0o777, 0o600);
    // Idempotent: same hosts keep the same CA.
    const r2 = ensureCa(home, [...HOSTS].reverse());
    assert.equal(r2.created, false);
    assert.equal(r2.ca.sha256, r1.ca.sha256);
    // Changed hosts re-issue it (new key) and keep the old certificate to untrust.
    const r3 = ensureCa(home, [...HOSTS, 'api.mistral.ai']);
    assert.equal(r3.created, true);
    assert.equal(r3.replacedCertPem, r1.ca.certPem);
    assert.notEqual(r3.ca.keyId, r1.ca.keyId);
    assert.equal(readFileSync(join(p.dir, 'previous.crt'), 'utf8'), r1.ca.certPem);
    assert.equal(caMatchesHosts(readFileSync(p.cert, 'utf8'), [...HOSTS, 'api.mistral.ai']), true);
    assert.equal(inspectCaCert(readFileSync(p.cert, 'utf8')).isCa, true);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

test('a key that does not match the certificate is refused; ensureCa replaces the pair', () => {
  const home = tmp();
  try {
    ensureCa(home, HOSTS);
    const p = caPaths(home);
    writeFileSync(p.key, createCa(HOSTS).keyPem, { mode: 0o600 });
    assert.throws(() => loadCa(home), /does not match/);
    const r = ensureCa(home, HOSTS);
    assert.equal(r.created, true);
    assert.ok(loadCa(home));
    assert.ok(existsSync(join(p.dir, 'previous.crt')));
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});
