import { describe, expect, it } from 'vitest';
import { ChangeTracker } from '../../src/sync/change-tracker.js';
import { BoundedFrequencyRunner } from '../../src/sync/runner.js';
import { FakeClock } from '../support/fake-clock.js';

function harness(results: boolean[] = []) {
  const clock = new FakeClock();
  const starts: number[] = [];
  const runner = new BoundedFrequencyRunner(
    async () => {
      starts.push(clock.now());
      return results.shift() ?? true;
    },
    { minIntervalMs: 1000, maxIntervalMs: 30_000, retry: { initialMs: 500, maxMs: 4000 }, clock },
  );
  return { clock, starts, runner };
}

describe('BoundedFrequencyRunner', () => {
  it('syncs at once on start, then coalesces a burst into one sync after the min interval', async () => {
    const { clock, starts, runner } = harness();
    runner.start();
    await clock.advance(0);
    expect(starts).toEqual([0]);
    for (let t = 0; t < 5; t++) {
      runner.request();
      await clock.advance(100);
    }
    expect(starts).toEqual([0]);
    await clock.advance(500);
    expect(starts).toEqual([0, 1000]);
    await runner.stop();
  });

  it('syncs at least every max interval without requests', async () => {
    const { clock, starts, runner } = harness();
    runner.start();
    await clock.advance(65_000);
    expect(starts).toEqual([0, 30_000, 60_000]);
    await runner.stop();
  });

  it('retries a failed sync with exponential backoff, then returns to normal', async () => {
    const { clock, starts, runner } = harness([false, false, false, true]);
    runner.start();
    await clock.advance(10_000);
    // 0 fails → retry after 500 (but min interval 1000 wins) → 1000 fails → +1000 → 2000 fails → +2000 → 4000 ok
    expect(starts.slice(0, 4)).toEqual([0, 1000, 2000, 4000]);
    expect(starts).toHaveLength(4);
    await runner.stop();
  });

  it('a throwing sync counts as a failure', async () => {
    const clock = new FakeClock();
    let calls = 0;
    const runner = new BoundedFrequencyRunner(
      async () => {
        calls++;
        if (calls === 1) throw new Error('boom');
        return true;
      },
      { minIntervalMs: 10, maxIntervalMs: 100_000, retry: { initialMs: 50, maxMs: 50 }, clock },
    );
    runner.start();
    await clock.advance(100);
    expect(calls).toBe(2);
    await runner.stop();
  });

  it('stops scheduling after stop()', async () => {
    const { clock, starts, runner } = harness();
    runner.start();
    await clock.advance(0);
    await runner.stop();
    runner.request();
    await clock.advance(100_000);
    expect(starts).toEqual([0]);
  });
});

describe('ChangeTracker', () => {
  it('keeps the first previous and the last current', () => {
    const t = new ChangeTracker<{ v: number }>();
    t.record('a', undefined, { v: 1 });
    t.record('a', { v: 1 }, { v: 2 });
    expect(t.drain().get('a')).toEqual({ previous: undefined, current: { v: 2 } });
    expect(t.size).toBe(0);
  });

  it('drops a key that returns to where it started', () => {
    const t = new ChangeTracker<{ v: number }>();
    t.record('a', { v: 1 }, { v: 2 });
    t.record('a', { v: 2 }, { v: 1 });
    t.record('b', undefined, { v: 1 });
    t.record('b', { v: 1 }, undefined);
    expect(t.size).toBe(0);
  });
});
