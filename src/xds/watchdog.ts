// Detects a proxy that stopped reading its xDS stream. A stream is stalled
// only when data has been waiting for it and the peer read nothing for the
// whole timeout. Reading shows as progress: a response flushed from the HTTP/2
// stream, an ACK or NACK, or bytes leaving the connection while this stream is
// the only one on it with data waiting (a trickling reader of one big response).

/** Less than this over one check is control frames (PING, WINDOW_UPDATE), not the peer reading. */
const MIN_PROGRESS_BYTES = 256;

interface Connection {
  socket?: { bytesWritten?: number } | null;
}

/** Watchdogs with data waiting, per HTTP/2 connection. */
const waitingOn = new WeakMap<Connection, Set<StallWatchdog>>();

export class StallWatchdog {
  private pending = 0;
  private lastProgress = 0;
  private dueAt = 0;
  private socketBytes = -1;
  private conn?: Connection;
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly timeoutMs: number,
    /** The HTTP/2 connection the stream runs on, if it can be seen. */
    private readonly connection: () => Connection | undefined,
    private readonly onStall: (idleMs: number) => void,
  ) {}

  /** A write is about to be handed to the stream; call the returned function once it is flushed. */
  writing(): () => void {
    if (this.pending++ === 0) this.startWaiting();
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.progress();
      if (--this.pending === 0) this.stopWaiting();
    };
  }

  /** The peer showed it reads (it answered a response). */
  progress(): void {
    this.lastProgress = performance.now();
    this.socketBytes = this.bytesWritten();
  }

  /** Whether data is waiting to be read. */
  get waiting(): boolean {
    return this.pending > 0;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending > 0) this.stopWaiting();
  }

  private startWaiting(): void {
    this.conn = this.connection();
    if (this.conn) {
      let set = waitingOn.get(this.conn);
      if (!set) waitingOn.set(this.conn, (set = new Set()));
      set.add(this);
    }
    this.progress(); // the clock starts when data starts waiting
    if (!this.timer && !this.stopped) this.arm(this.interval());
  }

  private stopWaiting(): void {
    if (this.conn) waitingOn.get(this.conn)?.delete(this);
    this.conn = undefined;
  }

  private interval(): number {
    return Math.max(25, this.timeoutMs / 4);
  }

  private arm(ms: number): void {
    this.dueAt = performance.now() + ms;
    this.timer = setTimeout(() => this.check(), ms);
  }

  private bytesWritten(): number {
    const n = this.conn?.socket?.bytesWritten;
    return typeof n === 'number' ? n : -1;
  }

  private check(): void {
    this.timer = undefined;
    if (this.stopped || this.pending === 0) return;
    const now = performance.now();
    // Time this process could not run (a long computation, GC, a busy host) is
    // time nothing could be sent either: it is not the peer's fault.
    const late = now - this.dueAt;
    if (late > 0) this.lastProgress = Math.min(now, this.lastProgress + late);
    const bytes = this.bytesWritten();
    const alone = this.conn !== undefined && waitingOn.get(this.conn)?.size === 1;
    if (alone && this.socketBytes >= 0 && bytes - this.socketBytes >= MIN_PROGRESS_BYTES) this.lastProgress = now;
    this.socketBytes = bytes;
    const idle = now - this.lastProgress;
    if (idle >= this.timeoutMs) {
      this.stop();
      this.onStall(idle);
      return;
    }
    this.arm(Math.min(this.interval(), this.timeoutMs - idle));
  }
}
