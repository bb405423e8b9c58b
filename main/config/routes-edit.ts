// The Routes view's model of `[[routes]]` and the way back to TOML, like save.ts does for providers: a draft is
// applied to the file's raw TOML as it is now (unknown keys of each route, and everything else in the file, kept),
// validated with the ConfigSchema the core uses (nothing written when it fails), and written atomically. Only the
// `[[routes]]` blocks that changed are re-emitted; untouched ones (comments included) and every other table are
// copied byte for byte. If the splice does not reproduce the intended document exactly, smol-toml writes it whole.
import { parse } from 'smol-toml';
import type { Issue, RouteDraft, RoutesDraft, RoutesState } from '../ui/types.js';
import { formatPath } from './load.js';
import {
  arrayBlocks,
  canon,
  ConflictError,
  deepClone,
  holdsInlineSecret,
  inlineValue,
  InvalidEditError,
  joinBlocks,
  parseToml,
  readConfigText,
  renderSpliced,
  revisionOf,
  sectionsToSplice,
  tomlKey,
  writeFileAtomic,
} from './save.js';
import { ConfigSchema, STRATEGIES } from './schema.js';

type Raw = Record<string, unknown>;
const isObj = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);

export function routeToDraft(r: Raw, origin: number): RouteDraft {
  const strategy = typeof r.strategy === 'string' && (STRATEGIES as readonly string[]).includes(r.strategy) ? (r.strategy as RouteDraft['strategy']) : '';
  return {
    origin,
    name: typeof r.name === 'string' ? r.name : '',
    match: r.match === undefined ? '' : inlineValue(r.match),
    to: r.to === undefined ? '[]' : inlineValue(r.to),
    strategy,
  };
}

export function loadRoutesState(file: string): RoutesState {
  const text = readConfigText(file);
  const revision = revisionOf(text);
  const parsed = parseToml(text, file);
  if ('error' in parsed) return { path: file, revision, routes: [], providers: [], blocked: `${parsed.error} (fix the file by hand first)` };
  const raw = parsed.raw;
  const routes = Array.isArray(raw.routes) ? raw.routes.map((r, i) => routeToDraft(isObj(r) ? r : {}, i)) : [];
  const providers = Array.isArray(raw.providers) ? raw.providers.flatMap((p) => (isObj(p) && typeof p.name === 'string' ? [p.name] : [])) : [];
  return { path: file, revision, routes, providers };
}

function inline(text: string): { value: unknown } | { error: string } {
  try {
    return { value: (parse(`v = ${text}`) as Raw).v };
  } catch (e) {
    const first = (e as Error).message.split('\n')[0]?.replace(/^Invalid TOML document: /, '') ?? 'not TOML';
    return { error: `not a TOML value: ${first}` };
  }
}

/** Applies the draft's routes to the raw document; issues name the draft field. */
export function applyRoutes(raw: Raw, draft: RoutesDraft): { target: Raw; origins: (number | undefined)[]; issues: Issue[] } {
  const rawRoutes = Array.isArray(raw.routes) ? raw.routes : [];
  const issues: Issue[] = [];
  const routes = draft.routes.map((d, i) => {
    const base = d.origin !== undefined && isObj(rawRoutes[d.origin]) ? deepClone(rawRoutes[d.origin] as Raw) : {};
    const r: Raw = {};
    // known keys first, in the README's order; unknown keys after, as they were
    const name = d.name.trim();
    if (name) r.name = name;
    if (d.match.trim()) {
      const m = inline(d.match.trim());
      if ('error' in m) issues.push({ path: ['routes', i, 'match'], message: m.error });
      else if (!isObj(m.value)) issues.push({ path: ['routes', i, 'match'], message: 'expected an inline table, e.g. { model = "claude-*-haiku-*" }' });
      else r.match = m.value;
    }
    const t = inline(d.to.trim() || '[]');
    if ('error' in t) issues.push({ path: ['routes', i, 'to'], message: t.error });
    else if (!Array.isArray(t.value)) issues.push({ path: ['routes', i, 'to'], message: 'expected an array, e.g. ["cheap", { provider = "deepseek", model = "deepseek-chat" }]' });
    else r.to = t.value;
    if (d.strategy) r.strategy = d.strategy;
    for (const [k, v] of Object.entries(base)) if (!['name', 'match', 'to', 'strategy'].includes(k)) r[k] = v;
    return r;
  });
  const target: Raw = { ...raw };
  if (routes.length) target.routes = routes;
  else delete target.routes;
  return { target, origins: draft.routes.map((d) => d.origin), issues };
}

function schemaIssues(target: Raw): Issue[] {
  const r = ConfigSchema.safeParse(target);
  if (r.success) return [];
  return r.error.issues.map((iss) => {
    const p = iss.path as PropertyKey[];
    if (p[0] === 'routes' && typeof p[1] === 'number') {
      const field = typeof p[2] === 'string' && ['name', 'match', 'to', 'strategy'].includes(p[2]) ? p[2] : undefined;
      const rest = p.slice(3);
      const where = rest.length ? `${formatPath([p[2]!, ...rest])}: ` : '';
      return { path: field ? ['routes', p[1], field] : ['routes', p[1]], message: `${where}${iss.message}` };
    }
    return { path: [], message: `${formatPath(p) || 'config'}: ${iss.message} (elsewhere in the file)` };
  });
}

function renderRoute(r: Raw, lead: string[]): string[] {
  const lines = [...lead, '[[routes]]'];
  const order = ['name', 'match', 'to', 'strategy'];
  for (const k of [...order.filter((k) => r[k] !== undefined), ...Object.keys(r).filter((k) => !order.includes(k))]) {
    lines.push(`${tomlKey(k)} = ${inlineValue(r[k])}`);
  }
  return lines;
}

function splice(text: string, raw: Raw, target: Raw, origins: (number | undefined)[], eol: string): string | undefined {
  const sections = sectionsToSplice(text, raw, target, ['routes']);
  if (!sections) return undefined;
  const rawRoutes = Array.isArray(raw.routes) ? (raw.routes as Raw[]) : [];
  const blocks = arrayBlocks(sections, 'routes', rawRoutes.length);
  if (!blocks) return undefined;
  const { groups } = blocks;
  const next = Array.isArray(target.routes) ? (target.routes as Raw[]) : [];
  const rendered = next.map((r, i) => {
    const from = origins[i];
    if (from !== undefined && groups[from] && canon(rawRoutes[from]) === canon(r)) return groups[from]!;
    const old = from !== undefined ? groups[from] : undefined;
    const lead: string[] = [];
    if (old) for (const l of old) if (/^\s*#/.test(l)) lead.push(l);
    else break;
    return renderRoute(r, lead);
  });
  return joinBlocks(blocks.chunks, rendered, eol);
}

export function renderRoutesToml(text: string, raw: Raw, target: Raw, origins: (number | undefined)[]): string {
  return renderSpliced(text, target, (eol) => splice(text, raw, target, origins, eol));
}

/** Applies and validates; the text only when there is no issue. `target` is the raw document (for explaining a draft). */
export function planRoutesEdit(currentText: string, file: string, draft: RoutesDraft): { ok: true; text: string; target: Raw } | { ok: false; issues: Issue[] } {
  const parsed = parseToml(currentText, file);
  if ('error' in parsed) return { ok: false, issues: [{ path: [], message: `${parsed.error} (fix the file by hand first)` }] };
  const applied = applyRoutes(parsed.raw, draft);
  if (applied.issues.length) return { ok: false, issues: applied.issues };
  const issues = schemaIssues(applied.target);
  if (issues.length) return { ok: false, issues };
  try {
    return { ok: true, text: renderRoutesToml(currentText, parsed.raw, applied.target, applied.origins), target: applied.target };
  } catch (e) {
    return { ok: false, issues: [{ path: [], message: `cannot write this as TOML: ${(e as Error).message}` }] };
  }
}

/** Validates the draft against the file as it is now and writes it atomically; ConflictError / InvalidEditError as save.ts. */
export function saveRoutes(file: string, draft: RoutesDraft): { revision: string; text: string } {
  const current = readConfigText(file);
  if (revisionOf(current) !== draft.revision) throw new ConflictError(file);
  const plan = planRoutesEdit(current, file, draft);
  if (!plan.ok) throw new InvalidEditError(plan.issues);
  writeFileAtomic(file, plan.text, { secret: holdsInlineSecret(plan.target) });
  return { revision: revisionOf(plan.text), text: plan.text };
}
