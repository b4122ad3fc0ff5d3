/**
 * Which service ports an intent changed against the last one, by identity: a service
 * port's key, and the walk that finds the added, changed and removed ones.
 */
import _ from 'lodash';
import type { ServicePortIntent } from '../../compile/intent.js';
import { compareStrings } from '../../compile/order.js';

/** A service port's identity across syncs: kube-proxy's ServicePortName plus protocol. */
export function servicePortKey(sp: Pick<ServicePortIntent, 'name' | 'protocol'>): string {
  return `${sp.name} ${sp.protocol}`;
}

const byPortOrder = (a: ServicePortIntent, b: ServicePortIntent) => compareStrings(a.name, b.name) || compareStrings(a.protocol, b.protocol);

function sortedUnique(services: readonly ServicePortIntent[]): boolean {
  for (let i = 1; i < services.length; i++) if (byPortOrder(services[i - 1] as ServicePortIntent, services[i] as ServicePortIntent) >= 0) return false;
  return true;
}

/**
 * Service ports added or changed (new intent order) and keys removed. Both lists are
 * sorted by name and protocol (the intent's contract), so one lockstep walk finds them
 * without keying 10k unchanged objects; an unsorted list falls back to a keyed scan.
 * Unchanged means the same object (the incremental compiler keeps it) or deep-equal.
 */
export function diffServices(
  before: readonly ServicePortIntent[],
  after: readonly ServicePortIntent[],
  previous: (key: string) => ServicePortIntent | undefined,
): { changed: ServicePortIntent[]; removed: Set<string> } {
  const changed: ServicePortIntent[] = [];
  const removed = new Set<string>();
  const differs = (a: ServicePortIntent, b: ServicePortIntent) => a !== b && !_.isEqual(a, b);
  if (!sortedUnique(before) || !sortedUnique(after)) {
    const seen = new Set<string>();
    for (const sp of after) {
      const key = servicePortKey(sp);
      if (seen.has(key)) continue;
      seen.add(key);
      const old = previous(key);
      if (!old || differs(old, sp)) changed.push(sp);
    }
    for (const sp of before) if (!seen.has(servicePortKey(sp))) removed.add(servicePortKey(sp));
    return { changed, removed };
  }
  let i = 0;
  let j = 0;
  while (i < after.length || j < before.length) {
    const a = after[i];
    const b = before[j];
    if (a !== undefined && a === b) {
      i++;
      j++;
      continue;
    }
    const order = a === undefined ? 1 : b === undefined ? -1 : byPortOrder(a, b);
    if (order === 0) {
      if (differs(b as ServicePortIntent, a as ServicePortIntent)) changed.push(a as ServicePortIntent);
      i++;
      j++;
    } else if (order < 0) {
      changed.push(a as ServicePortIntent);
      i++;
    } else {
      removed.add(servicePortKey(b as ServicePortIntent));
      j++;
    }
  }
  return { changed, removed };
}
