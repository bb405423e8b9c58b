// Deadlines for requests in flight (request_timeout_ms) without a timer each. A node timer per request costs a
// Timeout object, its insertion into the timer list and its removal at the end (about 0.9 µs here, a request that
// is otherwise a few hundred µs of work); every request has one and nearly every one ends long before it fires.
// Here a deadline is a node in a list kept in deadline order, and one timer waits for the earliest. A request that
// ends unlinks its node (nothing else); a timer that fires for a deadline whose request has ended finds the next
// deadline and waits for it: with one timeout for every request (the config's), that is at most once per timeout.

const MAX_TIMER_MS = 2 ** 31 - 1;

/** One request's deadline; cancel() when the request is over (idempotent). */
export class Deadline {
  prev: Deadline | undefined = undefined;
  next: Deadline | undefined = undefined;
  linked = true;
  constructor(
    private readonly owner: Deadlines,
    readonly at: number,
    readonly fire: () => void,
  ) {}

  cancel(): void {
    if (this.linked) this.owner.unlink(this);
  }
}

export class Deadlines {
  private head: Deadline | undefined = undefined;
  private tail: Deadline | undefined = undefined;
  private timer: NodeJS.Timeout | undefined = undefined;
  /** The time the timer is set for (Infinity: none). */
  private timerAt = Infinity;
  private count = 0;

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Calls `fire` in `ms` milliseconds unless the returned deadline is cancelled first. */
  add(ms: number, fire: () => void): Deadline {
    const d = new Deadline(this, this.now() + ms, fire);
    // in deadline order, searched from the end: with one timeout for all, a new deadline is the latest
    let p = this.tail;
    while (p !== undefined && p.at > d.at) p = p.prev;
    d.prev = p;
    d.next = p === undefined ? this.head : p.next;
    if (d.next !== undefined) d.next.prev = d;
    else this.tail = d;
    if (p !== undefined) p.next = d;
    else this.head = d;
    this.count++;
    if (d.at < this.timerAt) this.arm(d.at);
    return d;
  }

  /** Deadlines pending (tests). */
  get size(): number {
    return this.count;
  }

  /** @internal Deadline.cancel */
  unlink(d: Deadline): void {
    d.linked = false;
    if (d.prev !== undefined) d.prev.next = d.next;
    else this.head = d.next;
    if (d.next !== undefined) d.next.prev = d.prev;
    else this.tail = d.prev;
    d.prev = d.next = undefined;
    this.count--;
    // the timer stays when the list empties: the next request's deadline is later than it, and a timer that fires
    // with nothing due just stops (it is unref'd: it never holds the process open)
  }

  private arm(at: number): void {
    clearTimeout(this.timer);
    this.timerAt = at;
    // node's longest timer is 2^31-1 ms (a longer one fires at once): one that long fires early, finds nothing due and
    // waits for the rest
    this.timer = setTimeout(this.expire, Math.min(MAX_TIMER_MS, Math.max(1, Math.ceil(at - this.now()))));
    this.timer.unref();
  }

  private readonly expire = (): void => {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = this.now();
    try {
      // one at a time, from the list as it is after each fire (a fire may cancel another due one, or add)
      for (let d = this.head; d !== undefined && d.at <= now; d = this.head) {
        this.unlink(d);
        d.fire();
      }
    } finally {
      if (this.head !== undefined && this.head.at < this.timerAt) this.arm(this.head.at);
    }
  };
}
