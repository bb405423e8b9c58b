// The window's ready link on the daemon's admin endpoint (UiServer turns the token into a session cookie).
// Apart from server.ts so the daemon can print it without loading the window's backend.
export function uiLink(base: string, token: string): string {
  return `${base}/?token=${encodeURIComponent(token)}`;
}
