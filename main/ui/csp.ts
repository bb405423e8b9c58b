// The window's Content Security Policy: the same for the Electron app (router67://app) and the daemon's page
// (http://127.0.0.1:PORT). No inline script or style, nothing remote; the page talks only to its own origin.
export const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'; object-src 'none'";
