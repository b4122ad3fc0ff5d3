/**
 * A bounded-frequency runner: `request()` asks for a sync; syncs start no sooner than
 * `minIntervalMs` after the previous one started (bursts coalesce into one), at least every
 * `maxIntervalMs`, and after a failure again after an exponential backoff. One sync runs at
 * a time. The sync function reports success; it must not throw (a throw counts as failure).
 */
import type { Clock } from './clock.js';

export interface RunnerOptions {
  minIntervalMs: number;
  maxIntervalMs: number;
  retry: { initialMs: number; maxMs: number };
  clock: Clock;
}

export class BoundedFrequencyRunner {
  private lastStart = Number.NEGATIVE_INFINITY;
  private pending = false;
  private running = false;
  private stopped = true;
  private failures = 0;
  private retryAt = 0;
  private timer: unknown = null;
  private idle: Promise<void> = Promise.resolve();

  constructor(
    private readonly sync: () => Promise<boolean>,
    private readonly opts: RunnerOptions,
  ) {}

  /** Starts with an immediate sync. */
  start(): void {
    this.stopped = false;
    this.request();
  }

  /** Stops scheduling; resolves once a sync in progress has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.clearTimer();
    await this.idle;
  }

  request(): void {
    this.pending = true;
    this.schedule();
  }

  private clearTimer(): void {
    if (this.timer !== null) this.opts.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    if (this.stopped || this.running) return;
    const { clock, minIntervalMs, maxIntervalMs } = this.opts;
    const due = this.pending
      ? Math.max(this.lastStart + minIntervalMs, this.retryAt)
      : this.lastStart + maxIntervalMs;
    this.clearTimer();
    this.timer = clock.setTimeout(() => this.fire(), Math.max(0, due - clock.now()));
  }

  private fire(): void {
    this.timer = null;
    if (this.stopped) return;
    this.running = true;
    this.pending = false;
    this.lastStart = this.opts.clock.now();
    this.idle = this.sync()
      .catch(() => false)
      .then((ok) => {
        const { initialMs, maxMs } = this.opts.retry;
        if (ok) {
          this.failures = 0;
          this.retryAt = 0;
        } else {
          this.failures++;
          this.retryAt = this.opts.clock.now() + Math.min(maxMs, initialMs * 2 ** (this.failures - 1));
          this.pending = true;
        }
        this.running = false;
        this.schedule();
      });
  }
}
