/**
 * Raw objects → ClusterState, the immutable snapshot the compiler works on.
 *
 * Recognised by apiVersion and kind: v1 Service, discovery.k8s.io/v1 EndpointSlice, v1 Node
 * (only the one named `nodeName`), networking.k8s.io/v1 (or v1beta1) ServiceCIDR. Anything
 * else is ignored silently (a Knative `serving.knative.dev/v1` Service is not a Service).
 *
 * Duplicates (same kind and namespace/name): the last one wins, as a later `kubectl apply`
 * or an informer update would; each earlier copy is reported as replaced. The winner
 * decides alone: if it is invalid, the object is absent even when an earlier copy was valid.
 */
import { familyOf } from './ip.js';
import { normalizeEndpointSlice } from './endpoint-slice.js';
import { field } from './fields.js';
import { findingsFor, rawIdentityKey, rawName } from './metadata.js';
import { normalizeNode } from './node.js';
import { normalizeService } from './service.js';
import { normalizeServiceCIDR } from './service-cidr.js';
import type { ClusterState, EndpointSlice, NodeInfo, Problem, Service } from './types.js';

export { normalizeEndpointSlice } from './endpoint-slice.js';
export { normalizeNode } from './node.js';
export { normalizeService } from './service.js';
export { normalizeServiceCIDR } from './service-cidr.js';

export type RecognisedKind = 'Service' | 'EndpointSlice' | 'Node' | 'ServiceCIDR';

/** By apiVersion, then kind. */
const KINDS: ReadonlyMap<string, ReadonlyMap<string, RecognisedKind>> = new Map([
  ['v1', new Map<string, RecognisedKind>([['Service', 'Service'], ['Node', 'Node']])],
  ['discovery.k8s.io/v1', new Map<string, RecognisedKind>([['EndpointSlice', 'EndpointSlice']])],
  ['networking.k8s.io/v1', new Map<string, RecognisedKind>([['ServiceCIDR', 'ServiceCIDR']])],
  ['networking.k8s.io/v1beta1', new Map<string, RecognisedKind>([['ServiceCIDR', 'ServiceCIDR']])],
]);

export function recognisedKind(raw: unknown): RecognisedKind | null {
  const apiVersion = field(raw, 'apiVersion');
  const kind = field(raw, 'kind');
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') return null;
  return KINDS.get(apiVersion)?.get(kind) ?? null;
}

function isNamespaced(kind: RecognisedKind): boolean {
  return kind === 'Service' || kind === 'EndpointSlice';
}

function byKey<T>(entries: Iterable<[string, T]>): Map<string, T> {
  return new Map([...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export function buildClusterState(
  objects: unknown[],
  opts: { nodeName: string },
): { state: ClusterState; problems: Problem[] } {
  const relevant: { raw: unknown; index: number; kind: RecognisedKind; key: string }[] = [];
  objects.forEach((raw, index) => {
    const kind = recognisedKind(raw);
    if (!kind || (kind === 'Node' && (opts.nodeName === '' || rawName(raw) !== opts.nodeName))) return;
    relevant.push({ raw, index, kind, key: rawIdentityKey(kind, raw, isNamespaced(kind)) });
  });
  const lastIndex = new Map(relevant.map((o) => [o.key, o.index]));

  const problems: Problem[] = [];
  const services = new Map<string, Service>();
  const slices: EndpointSlice[] = [];
  const serviceCIDRs = new Set<string>();
  let node: NodeInfo | null = null;

  for (const { raw, index, kind, key } of relevant) {
    if (lastIndex.get(key) !== index) {
      const f = findingsFor(kind, raw, isNamespaced(kind));
      f.add('metadata.name', `replaced by a later ${kind} with the same ${isNamespaced(kind) ? 'namespace/name' : 'name'}`);
      problems.push(...f.problems);
      continue;
    }
    if (kind === 'Service') {
      const result = normalizeService(raw);
      problems.push(...result.problems);
      if (result.service) services.set(`${result.service.namespace}/${result.service.name}`, result.service);
    } else if (kind === 'EndpointSlice') {
      const result = normalizeEndpointSlice(raw);
      problems.push(...result.problems);
      if (result.slice) slices.push(result.slice);
    } else if (kind === 'Node') {
      const result = normalizeNode(raw);
      problems.push(...result.problems);
      node = result.node;
    } else {
      const result = normalizeServiceCIDR(raw);
      problems.push(...result.problems);
      result.cidrs.forEach((cidr) => serviceCIDRs.add(cidr));
    }
  }

  const grouped = new Map<string, EndpointSlice[]>();
  for (const slice of slices) {
    const key = `${slice.namespace}/${slice.serviceName}`;
    const group = grouped.get(key);
    if (group) group.push(slice);
    else grouped.set(key, [slice]);
  }
  for (const group of grouped.values()) group.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  return {
    state: {
      services: byKey(services),
      slicesByService: byKey(grouped),
      node,
      serviceCIDRs: [...serviceCIDRs].sort((a, b) => familyOf(a) - familyOf(b) || (a < b ? -1 : a > b ? 1 : 0)),
    },
    problems,
  };
}
