// PKCE (RFC 7636, S256 only) and the random values of a sign-in: verifier, state, nonce.
import { createHash, randomBytes } from 'node:crypto';

/** 32 random bytes as base64url (43 characters): a verifier, state or nonce. */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/** The S256 challenge of a verifier: base64url(sha256(verifier)). */
export function s256(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

export interface Pkce {
  verifier: string;
  challenge: string;
  method: 'S256';
}

export function pkcePair(): Pkce {
  const verifier = randomToken(32);
  return { verifier, challenge: s256(verifier), method: 'S256' };
}
