// Loaders for what an idle daemon, and one that only passes requests through, never needs: called where the
// work starts, so the module is loaded on first use (require caches it after).
/* eslint-disable @typescript-eslint/no-require-imports */

/** The codecs (formats/index.ts): the first translation, Responses state, a local estimate or models list. */
export const codecs = (): typeof import('./index.js') => require('./index.js') as typeof import('./index.js');

/** node:zlib: the first compressed body. */
export const zlib = (): typeof import('node:zlib') => require('node:zlib') as typeof import('node:zlib');
