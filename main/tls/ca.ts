// router67's local root CA and the leaf certificates it mints for intercepted hosts.
//
// node-forge builds every certificate (it has no helper for nameConstraints, so that extension's
// ASN.1 is built by hand); keys come from node:crypto and the TBSCertificate is signed with
// node:crypto too, because an RSA-2048 signature in pure JS takes 35-60 ms on this class of
// machine and the first handshake for a host must stay well under 20 ms.
// The CA key is RSA-2048 (a CA users already trust keeps working); leaf keys are ECDSA P-256, whose
// SubjectPublicKeyInfo node:crypto encodes and is spliced into the TBSCertificate forge builds.
//
// The CA is constrained: a critical nameConstraints extension permits only the intercepted DNS
// names (and, per RFC 5280, names below them) and excludes every IPv4 and IPv6 address, so even a
// stolen ca.key cannot impersonate any other site to a verifier that enforces constraints (OpenSSL, and
// therefore Node, curl and Python — tested; Chrome for local roots; other verifiers are not relied upon).
import { createHash, createPrivateKey, createPublicKey, generateKeyPair, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { chmodSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { createSecureContext, type SecureContext } from 'node:tls';
import type forgeNs from 'node-forge';
import { ensureHome } from '../core/paths.js';
import { hostNameProblem } from '../system/hostname.js';

type Forge = typeof forgeNs;
let forgeModule: Forge | undefined;
/** node-forge, loaded on first use: a daemon without interception never pays its ~4 MB. */
function F(): Forge {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (forgeModule ??= require('node-forge') as Forge);
}

export const CA_ORG = 'router67';
export const CA_CN_PREFIX = 'router67 local CA';
/** Leaf certificates: at most 397 days (browsers' limit for publicly trusted leaves is 398). */
export const LEAF_VALIDITY_DAYS = 365;
/** Leaves are backdated this much to tolerate small clock differences. */
export const LEAF_BACKDATE_MS = 60 * 60 * 1000;
export const CA_VALIDITY_DAYS = 3650;
const DAY = 24 * 60 * 60 * 1000;

const SHA256_WITH_RSA = '1.2.840.113549.1.1.11'; // pki.oids.sha256WithRSAEncryption
const OID_NAME_CONSTRAINTS = '2.5.29.30';

import { caPaths } from './paths.js';

export { caPaths, type CaPaths } from './paths.js';

/** A CA ready to sign: its certificate (PEM and forge form), its key, and facts read from it. */
export interface LoadedCa {
  certPem: string;
  keyPem: string;
  cert: forgeNs.pki.Certificate;
  key: KeyObject;
  /** DNS names the CA's nameConstraints permit (lower case, sorted); [] when it has none. */
  permittedHosts: string[];
  /** True when the CA excludes all IPv4 and IPv6 addresses. */
  excludesAllIps: boolean;
  commonName: string;
  serialHex: string;
  sha1: string;
  sha256: string;
  notAfter: Date;
  /** Hex key identifier (subjectKeyIdentifier) used as the leaves' authorityKeyIdentifier. */
  keyId: string;
}

export function normalizeHost(h: string): string {
  return h.trim().toLowerCase().replace(/\.$/, '');
}

/** A host name the CA may permit: never an IP address or a name ending in an all-numeric label. */
export function isHostName(h: string): boolean {
  return h === h.toLowerCase() && hostNameProblem(h) === undefined;
}

function normalizeHosts(hosts: Iterable<string>): string[] {
  const out = new Set<string>();
  for (const h of hosts) {
    const n = normalizeHost(h);
    if (!isHostName(n)) throw new Error(hostNameProblem(n) ?? `not a host name: ${JSON.stringify(h)}`);
    out.add(n);
  }
  return [...out].sort();
}

/** A positive serial number of 16 random bytes, as hex. */
function randomSerial(): string {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x01;
  return b.toString('hex');
}

/** Builds the DER of a NameConstraints value: permitted dNSNames, excluded 0.0.0.0/0 and ::/0. */
export function nameConstraintsAsn1(hosts: readonly string[]): forgeNs.asn1.Asn1 {
  const C = F().asn1.Class;
  const T = F().asn1.Type;
  const subtree = (base: forgeNs.asn1.Asn1) => F().asn1.create(C.UNIVERSAL, T.SEQUENCE, true, [base]);
  // GeneralName dNSName is [2] IMPLICIT IA5String; iPAddress is [7] IMPLICIT OCTET STRING (address + mask).
  const permitted = hosts.map((h) => subtree(F().asn1.create(C.CONTEXT_SPECIFIC, 2, false, h)));
  const excluded = [
    subtree(F().asn1.create(C.CONTEXT_SPECIFIC, 7, false, '\0'.repeat(8))),
    subtree(F().asn1.create(C.CONTEXT_SPECIFIC, 7, false, '\0'.repeat(32))),
  ];
  return F().asn1.create(C.UNIVERSAL, T.SEQUENCE, true, [
    F().asn1.create(C.CONTEXT_SPECIFIC, 0, true, permitted),
    F().asn1.create(C.CONTEXT_SPECIFIC, 1, true, excluded),
  ]);
}

interface ParsedConstraints {
  permitted: string[];
  excludesAllIps: boolean;
}

/** Reads the nameConstraints of a certificate by hand (forge versions differ in what they parse). */
function readNameConstraints(cert: forgeNs.pki.Certificate): ParsedConstraints | undefined {
  const ext = (cert.extensions as { id?: string; value?: unknown }[]).find((e) => e.id === OID_NAME_CONSTRAINTS);
  if (!ext || typeof ext.value !== 'string') return undefined;
  const root = F().asn1.fromDer(ext.value);
  const permitted: string[] = [];
  let v4 = false;
  let v6 = false;
  for (const trees of root.value as forgeNs.asn1.Asn1[]) {
    for (const st of trees.value as forgeNs.asn1.Asn1[]) {
      const gn = (st.value as forgeNs.asn1.Asn1[])[0];
      if (!gn || gn.tagClass !== F().asn1.Class.CONTEXT_SPECIFIC) continue;
      if (trees.type === 0 && gn.type === 2) permitted.push(normalizeHost(String(gn.value)));
      if (trees.type === 1 && gn.type === 7 && typeof gn.value === 'string' && /^\0*$/.test(gn.value)) {
        if (gn.value.length === 8) v4 = true;
        if (gn.value.length === 32) v6 = true;
      }
    }
  }
  return { permitted: [...new Set(permitted)].sort(), excludesAllIps: v4 && v6 };
}

/** Signs a forge certificate with a node:crypto key (SHA-256 with RSA); `spki` replaces the subject's public key. */
function signWithNode(cert: forgeNs.pki.Certificate, key: KeyObject, spki?: forgeNs.asn1.Asn1): void {
  cert.signatureOid = SHA256_WITH_RSA;
  cert.siginfo.algorithmOid = SHA256_WITH_RSA;
  const tbs = (F().pki as unknown as { getTBSCertificate(c: forgeNs.pki.Certificate): forgeNs.asn1.Asn1 }).getTBSCertificate(cert);
  // TBSCertificate: [0] version, serial, signature, issuer, validity, subject, subjectPublicKeyInfo, [3] extensions
  if (spki) (tbs.value as forgeNs.asn1.Asn1[])[6] = spki;
  cert.tbsCertificate = tbs;
  const der = Buffer.from(F().asn1.toDer(tbs).getBytes(), 'binary');
  cert.signature = sign('sha256', der, key).toString('binary');
}

function forgePublicKey(key: KeyObject): forgeNs.pki.rsa.PublicKey {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return F().pki.publicKeyFromPem(pub.export({ type: 'spki', format: 'pem' }) as string);
}

function keyIdOf(pub: forgeNs.pki.rsa.PublicKey): string {
  // RFC 5280 method 1: SHA-1 of the subjectPublicKey BIT STRING contents (the RSAPublicKey DER).
  const der = Buffer.from(F().asn1.toDer(F().pki.publicKeyToRSAPublicKey(pub)).getBytes(), 'binary');
  return createHash('sha1').update(der).digest('hex');
}

export interface CreateCaOptions {
  now?: Date;
  validityDays?: number;
  /** For tests: reuse a key instead of generating one. */
  key?: KeyObject;
}

/** Creates a new constrained root CA for the given host names. Returns PEM texts. */
export function createCa(hosts: Iterable<string>, opts: CreateCaOptions = {}): { certPem: string; keyPem: string } {
  const names = normalizeHosts(hosts);
  if (names.length === 0) throw new Error('a router67 CA needs at least one intercepted host');
  const key = opts.key ?? generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const now = opts.now ?? new Date();
  const pub = forgePublicKey(key);
  const cert = F().pki.createCertificate();
  cert.publicKey = pub;
  cert.serialNumber = randomSerial();
  cert.validity.notBefore = new Date(now.getTime() - DAY);
  cert.validity.notAfter = new Date(now.getTime() + (opts.validityDays ?? CA_VALIDITY_DAYS) * DAY);
  const suffix = randomBytes(4).toString('hex');
  const subject = [
    { name: 'commonName', value: `${CA_CN_PREFIX} ${suffix}` },
    { name: 'organizationName', value: CA_ORG },
    { shortName: 'OU', value: 'local interception CA, constrained to intercepted hosts' },
  ];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  const keyId = keyIdOf(pub);
  cert.setExtensions([
    { name: 'basicConstraints', critical: true, cA: true, pathLenConstraint: 0 },
    { name: 'keyUsage', critical: true, keyCertSign: true, cRLSign: true },
    { name: 'subjectKeyIdentifier', subjectKeyIdentifier: keyId, value: F().asn1.create(F().asn1.Class.UNIVERSAL, F().asn1.Type.OCTETSTRING, false, F().util.hexToBytes(keyId)) },
    { id: OID_NAME_CONSTRAINTS, name: 'nameConstraints', critical: true, value: nameConstraintsAsn1(names) },
  ]);
  signWithNode(cert, key);
  return {
    certPem: F().pki.certificateToPem(cert),
    keyPem: key.export({ type: 'pkcs8', format: 'pem' }) as string,
  };
}

/** Parses PEM texts into a LoadedCa; throws when they do not belong together or are not a CA. */
export function parseCa(certPem: string, keyPem: string): LoadedCa {
  const cert = F().pki.certificateFromPem(certPem);
  const key = createPrivateKey(keyPem);
  const pubFromKey = createPublicKey(key).export({ type: 'spki', format: 'der' });
  const pubFromCert = createPublicKey(F().pki.publicKeyToPem(cert.publicKey as forgeNs.pki.rsa.PublicKey)).export({ type: 'spki', format: 'der' });
  if (!pubFromKey.equals(pubFromCert)) throw new Error('ca.key does not match ca.crt');
  return { ...describeCert(cert, certPem), keyPem, key };
}

export type CaCertFacts = Omit<LoadedCa, 'key' | 'keyPem'>;

function describeCert(cert: forgeNs.pki.Certificate, certPem: string): CaCertFacts {
  const nc = readNameConstraints(cert);
  const der = Buffer.from(F().asn1.toDer(F().pki.certificateToAsn1(cert)).getBytes(), 'binary');
  return {
    certPem,
    cert,
    permittedHosts: nc?.permitted ?? [],
    excludesAllIps: nc?.excludesAllIps ?? false,
    commonName: String(cert.subject.getField('CN')?.value ?? ''),
    serialHex: cert.serialNumber,
    sha1: createHash('sha1').update(der).digest('hex'),
    sha256: createHash('sha256').update(der).digest('hex'),
    notAfter: cert.validity.notAfter,
    keyId: keyIdOf(cert.publicKey as forgeNs.pki.rsa.PublicKey),
  };
}

/** Facts about a CA certificate alone (no key), e.g. for the privileged helper and doctor. */
export function inspectCaCert(certPem: string): CaCertFacts & { isCa: boolean } {
  const cert = F().pki.certificateFromPem(certPem);
  const bc = cert.getExtension('basicConstraints') as { cA?: boolean } | undefined;
  return { ...describeCert(cert, certPem), isCa: bc?.cA === true };
}

/** True when the CA's nameConstraints permit exactly these hosts (case and order ignored). */
export function caMatchesHosts(ca: Pick<LoadedCa, 'permittedHosts'> | string, hosts: Iterable<string>): boolean {
  const permitted = typeof ca === 'string' ? inspectCaCert(ca).permittedHosts : ca.permittedHosts;
  const want = normalizeHosts(hosts);
  return permitted.length === want.length && permitted.every((h, i) => h === want[i]);
}

/** Whether a host is within one of the permitted DNS subtrees (RFC 5280: the name or names below it). */
export function caPermits(ca: Pick<LoadedCa, 'permittedHosts'>, host: string): boolean {
  const h = normalizeHost(host);
  return ca.permittedHosts.some((p) => h === p || h.endsWith(`.${p}`));
}

// ---------------------------------------------------------------------------------------------
// Files

export interface KeyModeCheck {
  mode: number;
  ok: boolean;
}

/** The key file's permission bits; ok when only the owner can read it (always ok on Windows). */
export function checkKeyMode(home: string): KeyModeCheck | undefined {
  const { key } = caPaths(home);
  if (!existsSync(key)) return undefined;
  const mode = statSync(key).mode & 0o777;
  return { mode, ok: process.platform === 'win32' || (mode & 0o077) === 0 };
}

function writeFileAtomic(path: string, data: string, mode: number): void {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fd = openSync(tmp, 'wx', mode);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    chmodSync(tmp, mode);
    renameSync(tmp, path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      /* already gone */
    }
    throw e;
  }
}

/** Writes ca.key (0600) then ca.crt (0644), each atomically. */
export function saveCa(home: string, files: { certPem: string; keyPem: string }): void {
  const p = caPaths(home);
  ensureHome(home); // 0700 when new: ca/ is 0755 (ca.crt is public), its parent is not
  mkdirSync(p.dir, { recursive: true, mode: 0o755 });
  writeFileAtomic(p.key, files.keyPem, 0o600);
  writeFileAtomic(p.cert, files.certPem, 0o644);
}

export interface LoadResult {
  ca: LoadedCa;
  /** The key file had group/other permission bits and was set back to 0600. */
  repairedKeyMode: boolean;
}

/** Loads the CA from home/ca; undefined when either file is missing. Repairs a too-open key mode. */
export function loadCa(home: string): LoadResult | undefined {
  const p = caPaths(home);
  if (!existsSync(p.cert) || !existsSync(p.key)) return undefined;
  let repairedKeyMode = false;
  const m = checkKeyMode(home);
  if (m && !m.ok) {
    chmodSync(p.key, 0o600);
    repairedKeyMode = true;
  }
  return { ca: parseCa(readFileSync(p.cert, 'utf8'), readFileSync(p.key, 'utf8')), repairedKeyMode };
}

export interface EnsureResult extends LoadResult {
  created: boolean;
  /** Set when an existing CA was replaced (hosts changed, expiring, unreadable): its certificate PEM, to untrust. */
  replacedCertPem?: string;
}

/**
 * Loads the CA, creating it when missing and re-issuing it (new key, new serial) when its constraints do not
 * match `hosts`, it expires within 30 days, or the files are unusable.
 */
export function ensureCa(home: string, hosts: Iterable<string>, now = new Date()): EnsureResult {
  const list = [...hosts];
  let existing: LoadResult | undefined;
  let oldCertPem: string | undefined;
  try {
    existing = loadCa(home);
  } catch {
    existing = undefined;
  }
  const p = caPaths(home);
  if (existsSync(p.cert)) {
    try {
      oldCertPem = readFileSync(p.cert, 'utf8');
    } catch {
      oldCertPem = undefined;
    }
  }
  if (existing && caMatchesHosts(existing.ca, list) && existing.ca.notAfter.getTime() - now.getTime() > 30 * DAY) {
    return { ...existing, created: false };
  }
  const files = createCa(list, { now });
  // Keep the replaced certificate so it can still be untrusted (macOS and Windows find it by its hash).
  if (oldCertPem) writeFileAtomic(join(p.dir, 'previous.crt'), oldCertPem, 0o644);
  saveCa(home, files);
  return {
    ca: parseCa(files.certPem, files.keyPem),
    repairedKeyMode: false,
    created: true,
    ...(oldCertPem ? { replacedCertPem: oldCertPem } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// Leaf certificates

export interface LeafKey {
  key: KeyObject;
  keyPem: string;
  /** The leaf's SubjectPublicKeyInfo (DER) as forge ASN.1, spliced into each TBSCertificate. */
  spki: forgeNs.asn1.Asn1;
  keyId: string;
}

function leafKeyFrom(key: KeyObject): LeafKey {
  const pub = createPublicKey(key);
  const der = pub.export({ type: 'spki', format: 'der' });
  let keyId: string;
  if (pub.asymmetricKeyType === 'ec') {
    // RFC 5280 method 1: SHA-1 of the subjectPublicKey BIT STRING contents (the uncompressed EC point).
    const jwk = pub.export({ format: 'jwk' });
    const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
    keyId = createHash('sha1').update(point).digest('hex');
  } else keyId = keyIdOf(forgePublicKey(pub));
  return { key, keyPem: key.export({ type: 'pkcs8', format: 'pem' }) as string, spki: F().asn1.fromDer(der.toString('binary')), keyId };
}

/**
 * One ECDSA P-256 key shared by every leaf this process mints: the handshake's signature is far cheaper for
 * the listener than RSA-2048's. The CA (RSA, unchanged, so an already trusted CA stays valid) signs the leaves.
 */
export async function generateLeafKey(): Promise<LeafKey> {
  const key = await new Promise<KeyObject>((resolve, reject) =>
    generateKeyPair('ec', { namedCurve: 'P-256' }, (err, _pub, priv) => (err ? reject(err) : resolve(priv))),
  );
  return leafKeyFrom(key);
}

/** A leaf key made synchronously (ECDSA P-256 unless `key` is given; an RSA key still works). */
export function leafKeySync(key?: KeyObject): LeafKey {
  return leafKeyFrom(key ?? generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
}

/** Mints a leaf certificate for one host, signed by the CA. */
export function mintLeaf(ca: LoadedCa, leaf: LeafKey, host: string, now = new Date()): string {
  const h = normalizeHost(host);
  const ec = leaf.key.asymmetricKeyType === 'ec';
  const cert = F().pki.createCertificate();
  // forge only encodes RSA keys: it builds the TBSCertificate around the CA's key, then the leaf's SPKI replaces it
  cert.publicKey = ca.cert.publicKey;
  cert.serialNumber = randomSerial();
  cert.validity.notBefore = new Date(now.getTime() - LEAF_BACKDATE_MS);
  const notAfter = new Date(now.getTime() + LEAF_VALIDITY_DAYS * DAY);
  cert.validity.notAfter = notAfter < ca.notAfter ? notAfter : ca.notAfter;
  cert.setSubject([
    { name: 'commonName', value: h },
    { name: 'organizationName', value: CA_ORG },
  ]);
  cert.setIssuer(ca.cert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', critical: true, cA: false },
    // ECDSA keys only sign (RFC 8813); RSA keys may also encipher (TLS 1.2 RSA key exchange)
    ec ? { name: 'keyUsage', critical: true, digitalSignature: true } : { name: 'keyUsage', critical: true, digitalSignature: true, keyEncipherment: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: [{ type: 2, value: h }] },
    { name: 'subjectKeyIdentifier', value: F().asn1.create(F().asn1.Class.UNIVERSAL, F().asn1.Type.OCTETSTRING, false, F().util.hexToBytes(leaf.keyId)) },
    { name: 'authorityKeyIdentifier', keyIdentifier: F().util.hexToBytes(ca.keyId) },
  ]);
  signWithNode(cert, ca.key, leaf.spki);
  return F().pki.certificateToPem(cert);
}

export class UninterceptedHostError extends Error {
  constructor(readonly servername: string) {
    super(`router67 does not intercept ${JSON.stringify(servername)}`);
    this.name = 'UninterceptedHostError';
  }
}

interface CachedContext {
  context: SecureContext;
  certPem: string;
  expires: number;
}

/**
 * Mints and caches one SecureContext per intercepted host. `SNICallback` is meant for tls.createServer:
 * a handshake for any other name (or a name the CA's constraints do not permit) fails.
 */
export class LeafCertStore {
  private hosts = new Set<string>();
  private readonly cache = new Map<string, CachedContext>();

  constructor(
    readonly ca: LoadedCa,
    hosts: Iterable<string>,
    private readonly leaf: LeafKey,
    private readonly contextOptions: { ALPNProtocols?: string[] } = {},
  ) {
    this.setHosts(hosts);
  }

  static async create(ca: LoadedCa, hosts: Iterable<string>): Promise<LeafCertStore> {
    return new LeafCertStore(ca, hosts, await generateLeafKey());
  }

  /** Replaces the set of intercepted hosts (e.g. on config reload); contexts of removed hosts are dropped. */
  setHosts(hosts: Iterable<string>): void {
    const next = [...hosts].map(normalizeHost);
    const bad = next.find((h) => !isHostName(h));
    if (bad !== undefined) throw new Error(hostNameProblem(bad) ?? `not a host name: ${JSON.stringify(bad)}`);
    this.hosts = new Set(next);
    for (const h of this.cache.keys()) if (!this.hosts.has(h)) this.cache.delete(h);
  }

  /** Hosts configured for interception that the CA's constraints do not permit (install must re-issue). */
  unpermittedHosts(): string[] {
    return [...this.hosts].filter((h) => !caPermits(this.ca, h)).sort();
  }

  intercepts(servername: string): boolean {
    const h = normalizeHost(servername);
    return this.hosts.has(h) && isHostName(h) && caPermits(this.ca, h);
  }

  /** The PEM of the leaf this store serves for a host (minting it when needed). */
  certPemFor(host: string): string {
    return this.entry(host).certPem;
  }

  contextFor(host: string): SecureContext {
    return this.entry(host).context;
  }

  private entry(host: string): CachedContext {
    const now = Date.now();
    // A cached host was checked when its leaf was minted (setHosts drops the others): the name as the client
    // sent it (SNI is normally lower case already) finds it without normalizing or checking again.
    const fast = this.cache.get(host);
    if (fast && fast.expires > now) return fast;
    const h = normalizeHost(host);
    if (!this.intercepts(h)) throw new UninterceptedHostError(host);
    const hit = this.cache.get(h);
    if (hit && hit.expires > now) return hit;
    const certPem = mintLeaf(this.ca, this.leaf, h, new Date(now));
    const context = createSecureContext({
      key: this.leaf.keyPem,
      cert: certPem,
      ...this.contextOptions,
    });
    // Re-mint well before the leaf expires for long-running daemons.
    const e: CachedContext = { context, certPem, expires: now + (LEAF_VALIDITY_DAYS - 30) * DAY };
    this.cache.set(h, e);
    return e;
  }

  readonly SNICallback = (servername: string, cb: (err: Error | null, ctx?: SecureContext) => void): void => {
    let ctx: SecureContext;
    try {
      ctx = this.contextFor(servername);
    } catch (e) {
      cb(e as Error);
      return;
    }
    cb(null, ctx);
  };
}
