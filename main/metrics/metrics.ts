// Prometheus metrics for /metrics on the admin endpoint, with prom-client on a Registry of router67's own (never
// the global one). Nothing is loaded or counted until metrics are first scraped or switched on ([metrics] enabled):
// an idle daemon that nobody scrapes pays nothing. Counters are fed by the request log's finish events only (no work
// on the request path); gauges (in flight, breakers, limiter queues) are read when scraped, from the core and from
// the sources given to addGauges (the resilience layer's Health.snapshot()).
import type { EventEmitter } from 'node:events';
import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Attempt, LogEntry } from '../ui/types.js';

export type BreakerState = 'closed' | 'open' | 'half-open';

/**
 * What the gauges read of the resilience layer's health (a structural subset of main/health/types.ts
 * HealthSnapshot, so `metrics.addGauges(() => health.snapshot())` fits as is).
 */
export interface HealthGauges {
  providers: {
    name: string;
    breaker: { state: BreakerState };
    inFlight: number;
    /** Requests waiting in this provider's limiter queue. */
    queued: number;
    maxInFlight: number | null;
    /** Per provider + upstream model. */
    targets: { key: string; model: string; breaker: { state: BreakerState } }[];
  }[];
}

export type GaugeSource = () => HealthGauges | undefined;

export interface MetricsDeps {
  /** The request log: 'finish' is emitted once per finished entry. */
  log: EventEmitter;
  /** Requests in flight now. */
  inFlight(): number;
  /** App lookups done so far (main/procinfo), if any. */
  appLookups?(): { lookups: number; found: number; totalMs: number };
}

const BREAKER_VALUE: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2 };
const SECONDS = [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300];

/** The request's outcome label: ok, rate_limited, client_error, error (5xx, all failed, cut mid-stream), aborted. */
export function requestOutcome(e: Pick<LogEntry, 'status' | 'state'>): string {
  const s = e.status ?? 0;
  if (!s) return 'aborted';
  if (s === 429) return 'rate_limited';
  if (s >= 500) return 'error';
  if (s >= 400) return 'client_error';
  return e.state === 'error' ? 'error' : 'ok';
}

/** An attempt's outcome label: ok, skipped, transport_error, rate_limited, client_error, error. */
export function attemptOutcome(a: Pick<Attempt, 'status' | 'error'>): string {
  if (a.status === null) return a.error?.startsWith('skipped: ') ? 'skipped' : 'transport_error';
  if (a.status === 429) return 'rate_limited';
  if (a.status >= 500) return 'error';
  if (a.status >= 400) return 'client_error';
  return a.error ? 'error' : 'ok';
}

/**
 * An attempt's kind label, from Attempt.why as the walker writes it (main/proxy/proxy.ts): 'retry' ("retry N after
 * X ms", also when that retry was then skipped: "retry N after X ms; saturated …"), 'hedge' ("hedge after N ms"),
 * else 'first' (the first try at a target in the chain's order). Three values: the label stays bounded.
 */
export function attemptKind(a: Pick<Attempt, 'why'>): 'first' | 'retry' | 'hedge' {
  const w = a.why ?? '';
  if (/^retry \d+ after /.test(w)) return 'retry';
  if (/^hedge after /.test(w)) return 'hedge';
  return 'first';
}

interface Instruments {
  registry: Registry;
  requests: Counter<string>;
  attempts: Counter<string>;
  duration: Histogram<string>;
  ttfb: Histogram<string>;
  tokens: Counter<string>;
}

export class Metrics {
  private m?: Instruments;
  private readonly sources = new Set<GaugeSource>();
  private readonly onFinish = (e: LogEntry) => this.observe(e);

  constructor(private readonly deps: MetricsDeps) {}

  get enabled(): boolean {
    return this.m !== undefined;
  }

  /**
   * Adds a source for the breaker and limiter gauges, read at each scrape; returns its removal. A source that
   * throws or returns undefined is left out of that scrape.
   */
  addGauges(source: GaugeSource): () => void {
    this.sources.add(source);
    return () => this.sources.delete(source);
  }

  /** Loads prom-client, builds the registry and starts counting finished requests (idempotent). */
  enable(): void {
    if (this.m) return;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const prom = require('prom-client') as typeof import('prom-client');
    const registry = new prom.Registry();
    prom.collectDefaultMetrics({ register: registry });
    const labels = ['provider', 'model', 'dialect', 'outcome', 'app'];
    const m: Instruments = {
      registry,
      requests: new prom.Counter({ name: 'router67_requests_total', help: 'Requests routed, by answering provider ("none" when none answered), requested model, client dialect, outcome and app.', labelNames: labels, registers: [registry] }),
      attempts: new prom.Counter({ name: 'router67_attempts_total', help: 'Attempts at a provider (one request may make several), by provider, upstream model, client dialect, outcome, app and kind (first: a target tried in the chain\'s order; retry: the same target again; hedge: the next target started because the first byte was late).', labelNames: [...labels, 'kind'], registers: [registry] }),
      duration: new prom.Histogram({ name: 'router67_request_duration_seconds', help: 'Total time of a request, from its body in hand to its last byte.', labelNames: ['provider', 'model', 'dialect', 'outcome'], buckets: SECONDS, registers: [registry] }),
      ttfb: new prom.Histogram({ name: 'router67_ttfb_seconds', help: 'Time to the first byte sent to the client.', labelNames: ['provider', 'model', 'dialect'], buckets: SECONDS, registers: [registry] }),
      tokens: new prom.Counter({ name: 'router67_tokens_total', help: 'Tokens by kind: input, output, and the cache_read, cache_write (subsets of input) and reasoning (subset of output) counts.', labelNames: ['provider', 'model', 'app', 'kind'], registers: [registry] }),
    };
    const deps = this.deps;
    new prom.Gauge({
      name: 'router67_in_flight',
      help: 'Requests in flight.',
      registers: [registry],
      collect() {
        this.set(deps.inFlight());
      },
    });
    if (deps.appLookups) {
      const read = deps.appLookups;
      new prom.Gauge({
        name: 'router67_app_lookups',
        help: 'Connections whose app was looked up (result="all") and found (result="found").',
        labelNames: ['result'],
        registers: [registry],
        collect() {
          const s = read();
          this.set({ result: 'all' }, s.lookups);
          this.set({ result: 'found' }, s.found);
        },
      });
    }
    const sources = this.sources;
    const snapshots = (): HealthGauges[] => {
      const out: HealthGauges[] = [];
      for (const s of sources) {
        try {
          const v = s();
          if (v) out.push(v);
        } catch {
          /* a broken source leaves its gauges out of this scrape */
        }
      }
      return out;
    };
    // breakers, in flight and queues: one snapshot per scrape, shared by the gauges below
    let cached: { at: number; snaps: HealthGauges[] } | undefined;
    const snap = () => {
      const now = Date.now();
      if (!cached || now - cached.at > 50) cached = { at: now, snaps: snapshots() };
      return cached.snaps;
    };
    new prom.Gauge({
      name: 'router67_breaker_state',
      help: 'Circuit breaker per provider (model="") and per provider + upstream model: 0 closed, 1 half-open, 2 open.',
      labelNames: ['provider', 'model'],
      registers: [registry],
      collect() {
        this.reset();
        for (const s of snap())
          for (const p of s.providers) {
            this.set({ provider: p.name, model: '' }, BREAKER_VALUE[p.breaker.state] ?? 0);
            for (const t of p.targets) this.set({ provider: p.name, model: t.model }, BREAKER_VALUE[t.breaker.state] ?? 0);
          }
      },
    });
    new prom.Gauge({
      name: 'router67_limiter_queue_depth',
      help: 'Requests waiting in a provider\'s limiter queue.',
      labelNames: ['provider'],
      registers: [registry],
      collect() {
        this.reset();
        for (const s of snap()) for (const p of s.providers) this.set({ provider: p.name }, p.queued);
      },
    });
    new prom.Gauge({
      name: 'router67_provider_in_flight',
      help: 'Requests in flight at a provider (as its limiter counts them).',
      labelNames: ['provider'],
      registers: [registry],
      collect() {
        this.reset();
        for (const s of snap()) for (const p of s.providers) this.set({ provider: p.name }, p.inFlight);
      },
    });
    this.m = m;
    deps.log.on('finish', this.onFinish);
  }

  /** Counts one finished entry (the log's finish event calls it). */
  observe(e: LogEntry): void {
    const m = this.m;
    if (!m) return;
    const app = e.app ?? '';
    const provider = e.provider ?? (e.passthrough ? 'passthrough' : 'none');
    const model = e.model ?? '';
    const dialect = e.dialect;
    const outcome = requestOutcome(e);
    m.requests.inc({ provider, model, dialect, outcome, app });
    for (const a of e.attempts) m.attempts.inc({ provider: a.provider, model: a.model, dialect, outcome: attemptOutcome(a), app, kind: attemptKind(a) });
    if (e.durationMs !== undefined) m.duration.observe({ provider, model, dialect, outcome }, e.durationMs / 1000);
    if (e.ttfbMs !== undefined) m.ttfb.observe({ provider, model, dialect }, e.ttfbMs / 1000);
    const tk = (kind: string, n: number | undefined) => n && m.tokens.inc({ provider, model, app, kind }, n);
    tk('input', e.inputTokens);
    tk('output', e.outputTokens);
    tk('cache_read', e.cacheReadTokens);
    tk('cache_write', e.cacheWriteTokens);
    tk('reasoning', e.reasoningTokens);
  }

  /** The exposition (Prometheus text format 0.0.4); switches metrics on at the first call. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    this.enable();
    const r = this.m!.registry;
    return { contentType: r.contentType, body: await r.metrics() };
  }

  /** Stops counting (the core's stop). */
  close(): void {
    this.deps.log.off('finish', this.onFinish);
  }
}
