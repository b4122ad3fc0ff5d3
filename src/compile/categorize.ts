/**
 * Which endpoints each traffic policy may use: kube-proxy's CategorizeEndpoints
 * (pkg/proxy/topology.go), shared by every backend.
 */
import type { CandidateEndpoint } from './endpoints.js';

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
  /** Empty when no path uses the Cluster policy. */
  clusterEndpoints: CandidateEndpoint[];
  /** Empty when no path uses the Local policy. */
  localEndpoints: CandidateEndpoint[];
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

type TopologyFilter = (ep: CandidateEndpoint) => boolean;

/**
 * Hints are honoured only when every ready endpoint carries them and at least one names
 * this node (PreferSameNode), else this zone (PreferSameZone); otherwise no filtering.
 */
function topologyFilter(endpoints: readonly CandidateEndpoint[], topology: NodeTopology): TopologyFilter | null {
  const { nodeName, zone } = topology;
  // One pass over the ready endpoints, no list of them: this runs for every service port.
  let anyReady = false;
  let allNodeHints = true;
  let nodeHinted = false;
  let allZoneHints = true;
  let zoneHinted = false;
  for (const { source } of endpoints) {
    if (!source.ready) continue;
    anyReady = true;
    if (source.nodeHints.length === 0) allNodeHints = false;
    else if (!nodeHinted && source.nodeHints.includes(nodeName)) nodeHinted = true;
    if (source.zoneHints.length === 0) allZoneHints = false;
    else if (!zoneHinted && source.zoneHints.includes(zone)) zoneHinted = true;
  }
  if (!anyReady) return null;
  if (nodeName !== '' && allNodeHints && nodeHinted) return (ep) => ep.source.nodeHints.includes(nodeName);
  if (zone !== '' && allZoneHints && zoneHinted) return (ep) => ep.source.zoneHints.includes(zone);
  return null;
}

function isServingTerminating(ep: CandidateEndpoint): boolean {
  return ep.source.serving && ep.source.terminating;
}

function clusterPolicyEndpoints(endpoints: readonly CandidateEndpoint[], topology: NodeTopology): CandidateEndpoint[] {
  const inTopology = topologyFilter(endpoints, topology) ?? (() => true);
  const ready = endpoints.filter((ep) => ep.source.ready && inTopology(ep));
  // Empty only when nothing is ready anywhere (a topology with no ready endpoint for us
  // is never chosen), so the terminating fallback ignores topology.
  return ready.length > 0 ? ready : endpoints.filter(isServingTerminating);
}

function localPolicyEndpoints(endpoints: readonly CandidateEndpoint[]): CandidateEndpoint[] {
  const ready = endpoints.filter((ep) => ep.intent.local && ep.source.ready);
  return ready.length > 0 ? ready : endpoints.filter((ep) => ep.intent.local && isServingTerminating(ep));
}

export function categorizeEndpoints(
  endpoints: readonly CandidateEndpoint[],
  policy: PortPolicy,
  topology: NodeTopology,
): CategorizedEndpoints {
  const clusterEndpoints = usesClusterEndpoints(policy) ? clusterPolicyEndpoints(endpoints, topology) : [];
  const localEndpoints = usesLocalEndpoints(policy) ? localPolicyEndpoints(endpoints) : [];
  const hasAnyEndpoints =
    clusterEndpoints.length > 0 ||
    (usesLocalEndpoints(policy) && endpoints.some((ep) => ep.source.ready || isServingTerminating(ep)));
  return { clusterEndpoints, localEndpoints, hasAnyEndpoints };
}
