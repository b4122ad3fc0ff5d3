import type { BackoffOptions } from './types.js';

/**
 * Exponential backoff: the n-th consecutive delay is initialMs·2ⁿ capped at maxMs, jittered
 * into [d/2, d] so that many nodes losing the API server at once do not come back in lockstep.
 */
export class Backoff {
  private attempts = 0;

  constructor(
    private readonly opts: BackoffOptions,
    private readonly random: () => number = Math.random,
  ) {}

  next(): number {
    const base = Math.min(this.opts.maxMs, this.opts.initialMs * 2 ** Math.min(this.attempts, 30));
    this.attempts++;
    return Math.round(base / 2 + (this.random() * base) / 2);
  }

  reset(): void {
    this.attempts = 0;
  }
}
