// Where the router67 CA lives in router67's home. Apart from ca.ts so that asking where the CA is (the
// composition root's "is interception set up?") loads neither node:tls nor the CA code.
import { join } from 'node:path';

export interface CaPaths {
  dir: string;
  cert: string;
  key: string;
}

export function caPaths(home: string): CaPaths {
  const dir = join(home, 'ca');
  return { dir, cert: join(dir, 'ca.crt'), key: join(dir, 'ca.key') };
}
