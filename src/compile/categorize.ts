/**
 * Which endpoints each traffic policy may use: kube-proxy's CategorizeEndpoints
 * (pkg/proxy/topology.go), shared by every backend.
 */
import type { SliceEndpoint } from '../model/types.js';
import type { CandidateEndpoints } from './endpoints.js';
import type { EndpointIntent } from './intent.js';

/** The node label holding this node's zone. */
export const ZONE_LABEL = 'topology.kubernetes.io/zone';

export interface PortPolicy {
  /** Reachable other than by ClusterIP: a NodePort, externalIPs or LoadBalancer IPs. */
  externallyAccessible: boolean;
  /** externalTrafficPolicy Local on an externally accessible port. */
  externalPolicyLocal: boolean;
  internalPolicyLocal: boolean;
}

export interface NodeTopology {
  nodeName: string;
  /** '' when the node has no zone label. */
  zone: string;
}

export interface CategorizedEndpoints {
  /** Empty when no path uses the Cluster policy. In candidate order (sorted: joinEndpoints). */
  clusterEndpoints: EndpointIntent[];
  /** Empty when no path uses the Local policy. In candidate order (sorted: joinEndpoints). */
  localEndpoints: EndpointIntent[];
  /** Some endpoint anywhere in the cluster can serve (ready, or serving while terminating). */
  hasAnyEndpoints: boolean;
}

/**
 * Cluster endpoints are needed for internal Cluster traffic and, whenever the port is
 * externally accessible, for external traffic too: even with externalTrafficPolicy Local,
 * pod- and node-originated external traffic short-circuits to them.
 */
export function usesClusterEndpoints(policy: PortPolicy): boolean {
  return !policy.internalPolicyLocal || policy.externallyAccessible;
}

export function usesLocalEndpoints(policy: PortPolicy): boolean {
  return policy.internalPolicyLocal || policy.externalPolicyLocal;
}

/** Whether a slice entry may be used, by its hints. */
type TopologyFilter = (source: SliceEndpoint) => boolean;

/**
 * Hints are honoured only when every ready endpoint carries them and at least one names
 * this node (PreferSameNode), else this zone (PreferSameZone); otherwise no filtering.
 */
function topologyFilter(sources: readonly SliceEndpoint[], topology: NodeTopology): TopologyFilter | null {
  const { nodeName, zone } = topology;
  // One pass over the ready endpoints, no list of them: this runs for every service port.
  let anyReady = false;
  let allNodeHints = true;
  let nodeHinted = false;
  let allZoneHints = true;
  let zoneHinted = false;
  for (const source of sources) {
    if (!source.ready) continue;
    anyReady = true;
    if (source.nodeHints.length === 0) allNodeHints = false;
    else if (!nodeHinted && source.nodeHints.includes(nodeName)) nodeHinted = true;
    if (source.zoneHints.length === 0) allZoneHints = false;
    else if (!zoneHinted && source.zoneHints.includes(zone)) zoneHinted = true;
  }
  if (!anyReady) return null;
  if (nodeName !== '' && allNodeHints && nodeHinted) return (source) => source.nodeHints.includes(nodeName);
  if (zone !== '' && allZoneHints && zoneHinted) return (source) => source.zoneHints.includes(zone);
  return null;
}

function isReady(source: SliceEndpoint): boolean {
  return source.ready;
}

function isServingTerminating(source: SliceEndpoint): boolean {
  return source.serving && source.terminating;
}

/** The intents of the candidates whose slice entry passes `keep` (with `localOnly`: on this node only). */
function pick({ intents, sources }: CandidateEndpoints, localOnly: boolean, keep: (source: SliceEndpoint) => boolean): EndpointIntent[] {
  const picked: EndpointIntent[] = [];
  for (let i = 0; i < intents.length; i++) {
    if ((!localOnly || intents[i]!.local) && keep(sources[i]!)) picked.push(intents[i]!);
  }
  return picked;
}

function clusterPolicyEndpoints(candidates: CandidateEndpoints, topology: NodeTopology): EndpointIntent[] {
  const inTopology = topologyFilter(candidates.sources, topology);
  const ready = pick(candidates, false, inTopology === null ? isReady : (source) => source.ready && inTopology(source));
  // Empty only when nothing is ready anywhere (a topology with no ready endpoint for us
  // is never chosen), so the terminating fallback ignores topology.
  return ready.length > 0 ? ready : pick(candidates, false, isServingTerminating);
}

function localPolicyEndpoints(candidates: CandidateEndpoints): EndpointIntent[] {
  const ready = pick(candidates, true, isReady);
  return ready.length > 0 ? ready : pick(candidates, true, isServingTerminating);
}

export function categorizeEndpoints(candidates: CandidateEndpoints, policy: PortPolicy, topology: NodeTopology): CategorizedEndpoints {
  const clusterEndpoints = usesClusterEndpoints(policy) ? clusterPolicyEndpoints(candidates, topology) : [];
  const localEndpoints = usesLocalEndpoints(policy) ? localPolicyEndpoints(candidates) : [];
  const hasAnyEndpoints =
    clusterEndpoints.length > 0 ||
    (usesLocalEndpoints(policy) && candidates.sources.some((source) => source.ready || isServingTerminating(source)));
  return { clusterEndpoints, localEndpoints, hasAnyEndpoints };
}
