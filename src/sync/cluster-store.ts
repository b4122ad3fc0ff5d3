/**
 * The daemon's view of the cluster: watch events in, ClusterState snapshots out, with the
 * services that changed in between. Each object is normalized once, when its event arrives;
 * an invalid one is absent (as in `buildClusterState`) and its problems are kept until the
 * object is fixed or deleted.
 */
import _ from 'lodash';
import { rawIdentityKey } from '../model/metadata.js';
import { normalizeEndpointSlice, normalizeNode, normalizeService, recognisedKind } from '../model/snapshot.js';
import { NO_SLICES } from '../compile/compile.js';
import type { ClusterDelta, ServiceChange } from '../compile/incremental.js';
import type { ClusterState, EndpointSlice, NodeInfo, Problem, Service } from '../model/types.js';

export interface StoreEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: unknown;
}

/**
 * What changed since the previous take. Everything (the first take, a Node change) comes
 * as the whole `state`; otherwise `delta` holds just the services whose Service or slices
 * changed, so a partial sync costs nothing per unchanged service. Both are the store's
 * objects as of the take, never changed afterwards (a new event replaces, not mutates).
 */
export type StoreSnapshot = ({ state: ClusterState; delta: null } | { state: null; delta: ClusterDelta }) & {
  /** Services and EndpointSlices changed since the previous take (kube-proxy's change counters). */
  serviceChanges: number;
  endpointChanges: number;
};

export interface ApplyResult {
  /** The object's problems now (empty when it is valid or deleted). */
  problems: Problem[];
  /** The event changed what kpx programs. */
  relevant: boolean;
}

function compareNames(a: EndpointSlice, b: EndpointSlice): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

export class ClusterStore {
  private readonly services = new Map<string, Service>();
  /** `services`' keys in order, kept until a service is added or removed (10k keys: ~10 ms to sort). */
  private sortedKeys: string[] | null = null;
  /** slice `namespace/name` → slice */
  private readonly slices = new Map<string, EndpointSlice>();
  /** service `namespace/name` → its slices, sorted by name */
  private readonly slicesByService = new Map<string, EndpointSlice[]>();
  private node: NodeInfo | null = null;
  private readonly problems = new Map<string, Problem[]>();
  private changed: Set<string> | null = null;
  private serviceChanges = 0;
  private endpointChanges = 0;

  constructor(private readonly nodeName: string) {}

  apply(ev: StoreEvent): ApplyResult {
    const kind = recognisedKind(ev.object);
    if (kind === 'Service') return this.applyService(ev);
    if (kind === 'EndpointSlice') return this.applySlice(ev);
    if (kind === 'Node') return this.applyNode(ev);
    return { problems: [], relevant: false };
  }

  /** Problems of every object currently skipped. */
  currentProblems(): Problem[] {
    return [...this.problems.values()].flat();
  }

  /** A copy of everything the store holds now, services in key order. */
  state(): ClusterState {
    const sortedKeys = (this.sortedKeys ??= [...this.services.keys()].sort());
    return {
      services: new Map(sortedKeys.map((key) => [key, this.services.get(key) as Service])),
      slicesByService: new Map(this.slicesByService),
      node: this.node,
      serviceCIDRs: [],
    };
  }

  take(): StoreSnapshot {
    const counts = { serviceChanges: this.serviceChanges, endpointChanges: this.endpointChanges };
    const snapshot: StoreSnapshot = this.changed === null ? { state: this.state(), delta: null, ...counts } : { state: null, delta: this.delta(this.changed), ...counts };
    this.changed = new Set();
    this.serviceChanges = 0;
    this.endpointChanges = 0;
    return snapshot;
  }

  private delta(changed: ReadonlySet<string>): ClusterDelta {
    const services = new Map<string, ServiceChange>();
    for (const key of changed) services.set(key, { service: this.services.get(key), slices: this.slicesByService.get(key) ?? NO_SLICES });
    return { node: this.node, serviceCIDRs: [], services };
  }

  private markService(key: string): void {
    this.changed?.add(key);
  }

  private setProblems(key: string, problems: Problem[]): Problem[] {
    if (problems.length > 0) this.problems.set(key, problems);
    else this.problems.delete(key);
    return problems;
  }

  private applyService(ev: StoreEvent): ApplyResult {
    const identity = rawIdentityKey('Service', ev.object, true);
    const result = ev.type === 'DELETED' ? { service: null, problems: [] } : normalizeService(ev.object);
    const problems = this.setProblems(identity, result.problems);
    const key = identity.slice('Service '.length);
    const before = this.services.get(key);
    if ((before === undefined) !== (result.service === null)) this.sortedKeys = null;
    if (result.service) this.services.set(key, result.service);
    else this.services.delete(key);
    const relevant = !_.isEqual(before, result.service ?? undefined);
    if (relevant) {
      this.serviceChanges++;
      this.markService(key);
    }
    return { problems, relevant };
  }

  private applySlice(ev: StoreEvent): ApplyResult {
    const identity = rawIdentityKey('EndpointSlice', ev.object, true);
    const result = ev.type === 'DELETED' ? { slice: null, problems: [] } : normalizeEndpointSlice(ev.object);
    const problems = this.setProblems(identity, result.problems);
    const key = identity.slice('EndpointSlice '.length);
    const before = this.slices.get(key);
    const after = result.slice ?? undefined;
    if (_.isEqual(before, after)) return { problems, relevant: false };
    if (after) this.slices.set(key, after);
    else this.slices.delete(key);
    for (const serviceKey of new Set([before, after].flatMap((s) => (s ? [`${s.namespace}/${s.serviceName}`] : [])))) {
      this.regroup(serviceKey, key, after);
      this.markService(serviceKey);
    }
    this.endpointChanges++;
    return { problems, relevant: true };
  }

  private regroup(serviceKey: string, sliceKey: string, slice: EndpointSlice | undefined): void {
    const group = (this.slicesByService.get(serviceKey) ?? []).filter((s) => `${s.namespace}/${s.name}` !== sliceKey);
    if (slice && `${slice.namespace}/${slice.serviceName}` === serviceKey) group.push(slice);
    group.sort(compareNames);
    if (group.length > 0) this.slicesByService.set(serviceKey, group);
    else this.slicesByService.delete(serviceKey);
  }

  private applyNode(ev: StoreEvent): ApplyResult {
    const identity = rawIdentityKey('Node', ev.object, false);
    if (identity !== `Node /${this.nodeName}`) return { problems: [], relevant: false };
    const result = ev.type === 'DELETED' ? { node: null, problems: [] } : normalizeNode(ev.object);
    const problems = this.setProblems(identity, result.problems);
    const relevant = !_.isEqual(this.node, result.node);
    this.node = result.node;
    // Topology labels and node addresses shape every service: recompile all.
    if (relevant) this.changed = null;
    return { problems, relevant };
  }
}
