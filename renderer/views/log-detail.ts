// Pieces of the log's detail pane: a body shown as a collapsible JSON tree (or as text when it is not JSON, e.g. an
// SSE stream), copy buttons, and "Copy as curl" (the request as the client sent it to router67, secrets redacted).
import type { LogDetail } from '../../main/ui/types.js';
import { append, h, toast } from '../dom.js';

/** Bodies longer than this are pretty-printed as text, not as a tree (the tree would be thousands of nodes). */
const TREE_MAX_CHARS = 200_000;
const TREE_MAX_NODES = 4000;

export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // the app's custom scheme may not offer the async clipboard: the old way still works in a user gesture
    const ta = h('textarea', { class: 'sr-only', 'aria-hidden': 'true' });
    ta.value = text;
    document.body.append(ta);
    ta.select();
    let ok = false;
    try {
      ok = document.execCommand('copy');
    } catch {
      ok = false;
    }
    ta.remove();
    return ok;
  }
}

export function copyButton(label: string, text: () => string, key: string): HTMLButtonElement {
  const b = h('button', { type: 'button', class: 'btn small', text: label, 'data-focus-key': `copy-${key}` });
  b.addEventListener('click', async () => {
    const t = text();
    (b as HTMLButtonElement & { lastCopied?: string }).lastCopied = t;
    document.documentElement.dataset.lastCopy = t.length > 100_000 ? '' : t;
    const ok = await copyText(t);
    toast(ok ? 'Copied.' : 'Could not copy to the clipboard.', ok ? 'ok' : 'error');
  });
  return b;
}

function tryJson(text: string): { ok: true; value: unknown } | { ok: false } {
  const t = text.trimStart();
  if (!t.startsWith('{') && !t.startsWith('[')) return { ok: false };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

function fmtSize(n: number): string {
  return n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KB` : `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** A JSON value as nested <details> (objects and arrays collapse), leaves coloured by type. */
function tree(value: unknown): HTMLElement | null {
  let nodes = 0;
  const node = (v: unknown, key: string | null, depth: number): HTMLElement => {
    nodes++;
    const keyEl = key === null ? null : h('span', { class: 'jt-key', text: `${key}: ` });
    if (v !== null && typeof v === 'object') {
      const entries: [string, unknown][] = Array.isArray(v) ? v.map((x, i) => [String(i), x]) : Object.entries(v as Record<string, unknown>);
      const [open, close] = Array.isArray(v) ? ['[', ']'] : ['{', '}'];
      if (!entries.length) return h('div', { class: 'jt-leaf' }, keyEl, h('span', { class: 'jt-punct', text: `${open}${close}` }));
      const det = h(
        'details',
        { class: 'jt-node', open: depth < 3 },
        h('summary', null, keyEl, h('span', { class: 'jt-punct', text: open }), h('span', { class: 'jt-count', text: ` ${entries.length} ${Array.isArray(v) ? (entries.length === 1 ? 'item' : 'items') : entries.length === 1 ? 'key' : 'keys'} ` }), h('span', { class: 'jt-punct jt-close-inline', text: close })),
      );
      const kids = h('div', { class: 'jt-kids' });
      for (const [k, x] of entries) {
        if (nodes > TREE_MAX_NODES) break;
        kids.append(node(x, Array.isArray(v) ? null : JSON.stringify(k), depth + 1));
      }
      det.append(kids, h('div', { class: 'jt-punct', text: close }));
      return det;
    }
    const cls = typeof v === 'string' ? 'jt-str' : typeof v === 'number' ? 'jt-num' : 'jt-lit';
    return h('div', { class: 'jt-leaf' }, keyEl, h('span', { class: cls, text: JSON.stringify(v) }));
  };
  const el = node(value, null, 0);
  return nodes > TREE_MAX_NODES ? null : el;
}

/**
 * A body section: a collapsible JSON tree with a copy button (the pretty text), or the text itself. `cut` says the
 * log kept only the first part. Sections remember being closed across live re-renders (`closed`, by key).
 */
export function bodyView(title: string, key: string, text: string, cut: boolean, closed: Set<string | undefined>, compact = false): HTMLElement {
  const parsed = tryJson(text);
  const pretty = parsed.ok ? JSON.stringify(parsed.value, null, 2) : text;
  const det = h('details', { class: 'section body-sec' + (compact ? ' compact' : ''), 'data-key': key });
  det.open = !closed.has(key);
  const tools = h('div', { class: 'body-tools' }, copyButton('Copy', () => pretty, key));
  let content: HTMLElement;
  if (parsed.ok && text.length <= TREE_MAX_CHARS) {
    const t = tree(parsed.value);
    content = t ? h('div', { class: 'json-tree mono' }, t) : h('pre', { class: 'body', text: pretty });
  } else content = h('pre', { class: 'body', text: pretty });
  append(
    det,
    h('summary', null, title, h('span', { class: 'dim', text: ` · ${parsed.ok ? 'JSON' : /^(event|data):/m.test(text) ? 'event stream' : 'text'} · ${fmtSize(text.length)}` })),
    tools,
    cut ? h('p', { class: 'hint warn', text: 'Only the first 1 MB was logged.' }) : null,
    content,
  );
  return det;
}

function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

const NOT_IN_CURL = /^(host|content-length|connection|keep-alive|transfer-encoding|accept-encoding|te|upgrade|expect)$/i;

/** The request as the client sent it to router67, as a curl command; redacted values stay redacted. */
export function curlFor(d: LogDetail, base: string): string {
  const url = d.host ? `https://${d.host}${d.path}` : `${base}${d.path}`;
  const lines = [`curl ${d.method === 'GET' ? '' : `-X ${d.method} `}${shq(url)}`];
  for (const [k, v] of Object.entries(d.requestHeaders ?? {})) {
    if (NOT_IN_CURL.test(k)) continue;
    lines.push(`  -H ${shq(`${k}: ${v}`)}`);
  }
  if (d.requestBody !== undefined) lines.push(`  --data-raw ${shq(d.requestBody)}`);
  else if (d.method === 'POST') lines.push(`  --data-raw '…' # the body was not logged (log_bodies under [daemon])`);
  return lines.join(' \\\n');
}
