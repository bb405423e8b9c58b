// What counts as an interceptable host name: a DNS name of two or more labels whose last label (the TLD) is not
// all digits. An IP address such as 127.0.0.1 is not one: a hosts-file line for it would be meaningless at best,
// and a CA permitting it (or a leaf for it) would name an address, not a site.
const HOST_RE = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/i;
const NUMERIC_TLD = /\.[0-9]+$/;

/** Why `h` is not an interceptable host name, or undefined when it is one. */
export function hostNameProblem(h: string): string | undefined {
  if (h.includes(':') || NUMERIC_TLD.test(h)) {
    return `"${h}" is an IP address (or ends in an all-numeric label), not a host name: only host names can be intercepted`;
  }
  if (!HOST_RE.test(h)) return `"${h}" is not a host name (expected e.g. "api.anthropic.com")`;
  return undefined;
}

export function isHostName(h: string): boolean {
  return hostNameProblem(h) === undefined;
}
