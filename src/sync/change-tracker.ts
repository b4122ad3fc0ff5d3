/**
 * Pending changes per key, as kube-proxy's change trackers keep them: the first event for a
 * key fixes `previous`, later events only move `current`, and a key whose `current` is back
 * to `previous` is dropped (nothing to do). `drain()` hands the changes over and starts anew.
 */
import _ from 'lodash';

export interface Change<T> {
  /** undefined: the object did not exist before the pending changes. */
  previous: T | undefined;
  /** undefined: the object is gone now. */
  current: T | undefined;
}

export class ChangeTracker<T> {
  private changes = new Map<string, Change<T>>();

  constructor(private readonly equal: (a: T | undefined, b: T | undefined) => boolean = _.isEqual) {}

  record(key: string, previous: T | undefined, current: T | undefined): void {
    const pending = this.changes.get(key);
    const change = { previous: pending ? pending.previous : previous, current };
    if (this.equal(change.previous, change.current)) this.changes.delete(key);
    else this.changes.set(key, change);
  }

  get size(): number {
    return this.changes.size;
  }

  drain(): Map<string, Change<T>> {
    const drained = this.changes;
    this.changes = new Map();
    return drained;
  }
}
