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
 * Lists a diff has found sorted and unique. An intent's list is not changed once it has been
 * diffed (the compiler hands each sync its own array), so the next sync's `before` is not
 * checked again: at 44k service ports one check costs 3–4 ms, string comparisons all of it.
 */
const sortedLists = new WeakSet<readonly ServicePortIntent[]>();

const differs = (a: ServicePortIntent, b: ServicePortIntent) => a !== b && !_.isEqual(a, b);

/** Service ports added or changed (new intent order), and keys removed. */
export interface ServiceDiff {
  changed: ServicePortIntent[];
  removed: Set<string>;
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
): ServiceDiff {
  if (sortedLists.has(before) || sortedUnique(before)) {
    sortedLists.add(before);
    const walked = lockstep(before, after);
    if (walked !== null) {
      sortedLists.add(after);
      return walked;
    }
  }
  return keyedScan(before, after, previous);
}

/**
 * The walk over two lists, `before` sorted and unique; null when `after` is not. Only the
 * ports of `after` that are not `before`'s objects are checked against their predecessor: a
 * shared port follows its predecessor in order already (after a shared one by `before`'s
 * order; after a new one because the walk took that one only once it sorted at or before
 * the shared port's place in `before`).
 */
function lockstep(before: readonly ServicePortIntent[], after: readonly ServicePortIntent[]): ServiceDiff | null {
  const changed: ServicePortIntent[] = [];
  const removed = new Set<string>();
  let i = 0;
  let j = 0;
  while (i < after.length || j < before.length) {
    const a = after[i];
    const b = before[j];
    const order = a === undefined ? 1 : a === b ? 0 : b === undefined ? -1 : byPortOrder(a, b);
    if (order > 0) {
      removed.add(servicePortKey(b as ServicePortIntent));
      j++;
      continue;
    }
    const port = a as ServicePortIntent;
    const shared = port === b;
    if (!shared && i > 0 && byPortOrder(after[i - 1] as ServicePortIntent, port) >= 0) return null;
    if (order === 0) {
      if (!shared && differs(b as ServicePortIntent, port)) changed.push(port);
      j++;
    } else changed.push(port);
    i++;
  }
  return { changed, removed };
}

/** Both lists keyed: for lists that are not sorted, or hold a service port twice (first wins). */
function keyedScan(
  before: readonly ServicePortIntent[],
  after: readonly ServicePortIntent[],
  previous: (key: string) => ServicePortIntent | undefined,
): ServiceDiff {
  const changed: ServicePortIntent[] = [];
  const seen = new Set<string>();
  for (const sp of after) {
    const key = servicePortKey(sp);
    if (seen.has(key)) continue;
    seen.add(key);
    const old = previous(key);
    if (!old || differs(old, sp)) changed.push(sp);
  }
  const removed = new Set<string>();
  for (const sp of before) if (!seen.has(servicePortKey(sp))) removed.add(servicePortKey(sp));
  return { changed, removed };
}
