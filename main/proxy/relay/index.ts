// Picks the relay for each attempt: passthrough when the provider speaks the client's dialect (or the dialect is
// unknown, or the provider names no format), translated otherwise. Built once per request: the body is parsed,
// and Responses state resolved, at most once whichever attempts need them.
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { Provider } from '../../config/schema.js';
import type { Dialect, LogEntry } from '../../log/request-log.js';
import type { ResponseStore, UnknownReferenceError } from '../../formats/state-store.js';
import { jsonOnce, type ModelField } from '../body.js';
import { sendTokenEstimate } from '../local.js';
import { passthroughRelay, type PassthroughRequest } from './passthrough.js';
import type { Format, ResponsesState, TranslatedRequest } from './translated.js';
import type { AttemptRelay, SkipAttempt } from './relay.js';

export type { AttemptRelay, Outcome, RelayContext, SkipAttempt } from './relay.js';

/**
 * The translated relay and the codecs under it (formats/index.ts), loaded when a request first needs them (a
 * provider of another format, Responses state, a local estimate): an idle daemon, and one that only passes
 * requests through, never loads them.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const translated = () => require('./translated.js') as typeof import('./translated.js');

export interface ClientRequest {
  /** The request path (and query) as routed (an intercepted host's API prefix removed). */
  url: string;
  dialect: Dialect;
  headers: IncomingHttpHeaders;
  body: Buffer;
  field: ModelField;
  /** The body's one JSON.parse, shared with routing (`jsonOnce`); made here when not given. */
  parse?: () => unknown;
}

/** The relays of one request: one per attempt, from relayFor(). */
export class RequestRelays implements PassthroughRequest, TranslatedRequest {
  readonly url: string;
  readonly dialect: Dialect;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly field: ModelField;
  readonly requestedModel: string;
  /** Set when a provider was skipped because the body refers to Responses state router67 does not hold. */
  clientError?: UnknownReferenceError;
  readonly parse: () => unknown;
  private resolved: ResponsesState | undefined;
  private stateDone = false;

  constructor(
    r: ClientRequest,
    readonly responses: ResponseStore,
    private readonly strictTools: boolean,
  ) {
    this.url = r.url;
    this.dialect = r.dialect;
    this.headers = r.headers;
    this.body = r.body;
    this.field = r.field;
    this.requestedModel = r.field.model;
    this.parse = r.parse ?? jsonOnce(r.body);
  }

  state(): ResponsesState | undefined {
    if (!this.stateDone) {
      this.stateDone = true;
      this.resolved = this.dialect === 'responses' ? translated().responsesState(this.dialect as Format, this.parse, this.responses) : undefined;
    }
    return this.resolved;
  }

  /**
   * Why the request cannot go to this chain at all (the client's error, 400), or undefined: a body some
   * provider would have to translate must be a valid request of the client's dialect, whatever the providers say.
   */
  invalid(chain: readonly Provider[]): string | undefined {
    const d = this.dialect;
    if (d === 'unknown' || !chain.some((p) => p.format && p.format !== d)) return undefined;
    return translated().invalidForTranslation(this.url, d, this.parse);
  }

  /** The relay for one attempt at `p` (as `upstreamModel`), or why `p` is skipped. */
  relayFor(p: Provider, upstreamModel: string): AttemptRelay | SkipAttempt {
    const d = this.dialect;
    if (!p.format || d === 'unknown' || p.format === d) return passthroughRelay(this, p.base_url, upstreamModel);
    const r = translated().translatedRelay(this, d, p.format, p.base_url, upstreamModel, p.strict_tools ?? this.strictTools);
    if ('skip' in r && r.clientError) this.clientError = r.clientError;
    return r;
  }

  /** Every provider failed: an answer router67 can give itself (a marked count_tokens estimate); true when sent. */
  answerLocally(res: ServerResponse, entry: LogEntry): boolean {
    return this.dialect === 'anthropic' && translated().isCountTokens(this.url) && sendTokenEstimate(res, this.body, entry);
  }
}
