// Incremental line framing for upstream streams: SSE (text/event-stream) and NDJSON.
// Each byte is scanned once: partial lines are kept as pieces and only joined when their newline arrives.

/** Splits text into lines (LF or CRLF), across chunk boundaries. */
export class LineSplitter {
  private parts: string[] = [];
  constructor(private readonly onLine: (line: string) => void) {}

  push(text: string): void {
    let nl = text.indexOf('\n');
    if (nl < 0) {
      if (text) this.parts.push(text);
      return;
    }
    let buf = text;
    if (this.parts.length) {
      const head = this.parts.join('');
      this.parts.length = 0;
      buf = head + text;
      nl += head.length;
    }
    let start = 0;
    while (nl >= 0) {
      const end = nl > start && buf.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      this.onLine(buf.slice(start, end));
      start = nl + 1;
      nl = buf.indexOf('\n', start);
    }
    if (start < buf.length) this.parts.push(buf.slice(start));
  }

  /** The body ended: a last line without a newline still counts. */
  end(): void {
    if (!this.parts.length) return;
    let last = this.parts.join('');
    this.parts.length = 0;
    if (last.endsWith('\r')) last = last.slice(0, -1);
    if (last) this.onLine(last);
  }
}

/**
 * Server-sent events. Every `data:` line is dispatched at once with the current `event:` name (LLM APIs
 * never split JSON over several data lines, and some hosts forget the blank line between events).
 */
export class SseParser {
  private event: string | null = null;
  private readonly lines: LineSplitter;
  constructor(onEvent: (event: string | null, data: string) => void) {
    this.lines = new LineSplitter((line) => {
      if (line.length === 0) {
        this.event = null;
        return;
      }
      const c = line.charCodeAt(0);
      if (c === 100 /* d */ && line.startsWith('data:')) {
        onEvent(this.event, line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5));
      } else if (c === 101 /* e */ && line.startsWith('event:')) {
        this.event = (line.charCodeAt(6) === 32 ? line.slice(7) : line.slice(6)).trim();
      }
      // comments (":"), id:, retry: and anything else are ignored
    });
  }
  push(text: string): void {
    this.lines.push(text);
  }
  end(): void {
    this.lines.end();
  }
}

/** Newline-delimited JSON: one parsed value per non-blank line; unparseable lines are skipped. */
export class NdjsonParser {
  private readonly lines: LineSplitter;
  constructor(onValue: (v: unknown) => void) {
    this.lines = new LineSplitter((line) => {
      const t = line.trim();
      if (!t) return;
      let v: unknown;
      try {
        v = JSON.parse(t);
      } catch {
        return;
      }
      onValue(v);
    });
  }
  push(text: string): void {
    this.lines.push(text);
  }
  end(): void {
    this.lines.end();
  }
}

export function sseEvent(event: string, data: string): string {
  return `event: ${event}\ndata: ${data}\n\n`;
}
export function sseData(data: string): string {
  return `data: ${data}\n\n`;
}
