// The part of a ServerResponse the relays use, for answers that go somewhere other than an HTTP socket: a
// WebSocket message (ws/sink.ts) or the window's "Resend to…" (ui/capture.ts). Header names are kept lower-cased,
// list values joined with ", ".
import { EventEmitter } from 'node:events';

export type OutgoingHeaders = Record<string, string | number | readonly string[] | undefined>;

export abstract class ResponseStandIn extends EventEmitter {
  statusCode = 200;
  headersSent = false;
  writableEnded = false;
  writableFinished = false;
  destroyed = false;
  headers: Record<string, string> = {};
  /**
   * The secrets the attempt being relayed sent (set by the proxy before it relays): what the stand-in decodes
   * and re-sends itself (a WebSocket error message parsed from the body) is scrubbed of them.
   */
  secrets: readonly string[] = [];

  setHeader(name: string, value: string | number | readonly string[]): this {
    this.headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
    return this;
  }
  getHeader(name: string): string | undefined {
    return this.headers[name.toLowerCase()];
  }
  hasHeader(name: string): boolean {
    return name.toLowerCase() in this.headers;
  }
  removeHeader(name: string): void {
    delete this.headers[name.toLowerCase()];
  }
  flushHeaders(): void {
    if (!this.headersSent) this.writeHead(this.statusCode);
  }

  abstract writeHead(status: number, a?: string | OutgoingHeaders, b?: OutgoingHeaders): this;

  /** writeHead's common part: the status and the headers given (in either argument form); headers are then sent. */
  protected takeHead(status: number, a?: string | OutgoingHeaders, b?: OutgoingHeaders): void {
    const h = typeof a === 'object' ? a : b;
    for (const k in h ?? {}) {
      const v = h![k];
      if (v !== undefined) this.setHeader(k, v);
    }
    this.statusCode = status;
    this.headersSent = true;
  }
}
