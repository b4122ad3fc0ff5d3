/**
 * The fake API server's storage: objects per resource type, one global resourceVersion that
 * every write bumps (as etcd's revision), a bounded history of change events for watches to
 * replay, and list snapshots for paginated lists. Compaction is modelled by `compactedRv`:
 * a watch or continue token from an RV below it can no longer be served (410 Expired).
 */
import type { FakeObject } from './selectors.js';
import { resourceTypeOfKind, type ResourceType } from './resources.js';

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoredEvent {
  rv: number;
  type: ChangeType;
  resource: ResourceType;
  object: FakeObject;
  /** The object before this change (MODIFIED only); selectors are matched against both. */
  previous?: FakeObject;
}

export interface ListSnapshot {
  rv: number;
  items: FakeObject[];
}

const clone = <T>(v: T): T => structuredClone(v);
const keyOf = (o: FakeObject) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;

export class ObjectStore {
  rv = 100;
  compactedRv = 100;
  private readonly objects = new Map<string, Map<string, FakeObject>>();
  private history: StoredEvent[] = [];
  private readonly snapshots = new Map<string, ListSnapshot>();
  private snapshotSeq = 0;
  private uidSeq = 0;

  constructor(private readonly historyLimit: number) {}

  /** Creates or replaces an object; returns the stored event. Throws on an unknown kind (test misuse). */
  apply(input: FakeObject): StoredEvent {
    const kind = input.kind ?? '';
    const resource = resourceTypeOfKind(kind);
    if (!resource) throw new Error(`fake apiserver: unknown kind ${JSON.stringify(kind)}`);
    const bucket = this.bucket(kind);
    const object = clone(input);
    object.apiVersion = resource.apiVersion;
    if (!resource.namespaced) delete object.metadata.namespace;
    else object.metadata.namespace ??= 'default';
    const previous = bucket.get(keyOf(object));
    this.rv++;
    object.metadata.uid = previous?.metadata.uid ?? `00000000-0000-4000-8000-${String(++this.uidSeq).padStart(12, '0')}`;
    object.metadata.creationTimestamp =
      previous?.metadata.creationTimestamp ?? new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    object.metadata.resourceVersion = String(this.rv);
    bucket.set(keyOf(object), object);
    const event: StoredEvent = previous
      ? { rv: this.rv, type: 'MODIFIED', resource, object: clone(object), previous: clone(previous) }
      : { rv: this.rv, type: 'ADDED', resource, object: clone(object) };
    return this.record(event);
  }

  remove(kind: string, namespace: string, name: string): StoredEvent | undefined {
    const resource = resourceTypeOfKind(kind);
    if (!resource) return undefined;
    const bucket = this.bucket(kind);
    const key = `${resource.namespaced ? namespace : ''}/${name}`;
    const existing = bucket.get(key);
    if (!existing) return undefined;
    bucket.delete(key);
    this.rv++;
    const object = clone(existing);
    object.metadata.resourceVersion = String(this.rv);
    return this.record({ rv: this.rv, type: 'DELETED', resource, object });
  }

  /** Current objects of a kind, sorted by namespace/name (etcd key order). */
  list(kind: string): FakeObject[] {
    return [...this.bucket(kind).entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, o]) => clone(o));
  }

  /** Events after `rv`, or 'expired' when some of them are compacted away. */
  eventsSince(rv: number): StoredEvent[] | 'expired' {
    if (rv < this.compactedRv) return 'expired';
    return this.history.filter((e) => e.rv > rv);
  }

  /** Forgets all history: any RV older than the current one is now too old. */
  expireHistory(): void {
    this.history = [];
    this.compactedRv = this.rv;
    this.snapshots.clear();
  }

  saveSnapshot(snapshot: ListSnapshot): string {
    const id = String(++this.snapshotSeq);
    this.snapshots.set(id, snapshot);
    if (this.snapshots.size > 100) this.snapshots.delete(this.snapshots.keys().next().value as string);
    return id;
  }

  /** The snapshot behind a continue token, or undefined when it has expired. */
  snapshot(id: string): ListSnapshot | undefined {
    const snap = this.snapshots.get(id);
    return snap && snap.rv >= this.compactedRv ? snap : undefined;
  }

  private record(event: StoredEvent): StoredEvent {
    this.history.push(event);
    while (this.history.length > this.historyLimit) {
      const dropped = this.history.shift() as StoredEvent;
      this.compactedRv = dropped.rv;
    }
    return event;
  }

  private bucket(kind: string): Map<string, FakeObject> {
    let bucket = this.objects.get(kind);
    if (!bucket) this.objects.set(kind, (bucket = new Map()));
    return bucket;
  }
}
