/**
 * The normalized cluster objects kpx works on. Everything here has been validated by
 * `model/`: IPs and CIDRs are in canonical text form (ipaddr.js `toString()` for IPv6,
 * dotted quad without leading zeros for IPv4), ports are in range, names are DNS labels.
 * A value of these types is safe to put into a rule.
 */

export type IPFamily = 4 | 6;
/** Kubernetes protocol names, as in the API. */
export type Protocol = 'TCP' | 'UDP' | 'SCTP';
export type TrafficPolicy = 'Cluster' | 'Local';
export type ServiceType = 'ClusterIP' | 'NodePort' | 'LoadBalancer';

/** A problem found in an input object. The object is skipped (or the part named in `reason`). */
export interface Problem {
  kind: string;
  namespace: string;
  name: string;
  reason: string;
}

export interface ServicePortSpec {
  /** Port name; '' for the single unnamed port a service may have. */
  name: string;
  protocol: Protocol;
  port: number;
  /** 0 when the service has no NodePort for this port. */
  nodePort: number;
}

export interface Service {
  namespace: string;
  name: string;
  type: ServiceType;
  /** At most one per family. Services without any are not proxied (headless) and never get here. */
  clusterIPs: string[];
  externalIPs: string[];
  /** status.loadBalancer.ingress[].ip whose ipMode is VIP (or unset). `Proxy` ones are left out. */
  loadBalancerIPs: string[];
  /** Canonical CIDRs (network address, prefix length), both families mixed. */
  loadBalancerSourceRanges: string[];
  ports: ServicePortSpec[];
  /** ClientIP session affinity timeout in seconds, or null for no affinity. */
  sessionAffinityTimeout: number | null;
  externalTrafficPolicy: TrafficPolicy;
  internalTrafficPolicy: TrafficPolicy;
  /** 0 when none. */
  healthCheckNodePort: number;
}

export interface SlicePort {
  /** '' when unnamed. */
  name: string;
  protocol: Protocol;
  port: number;
}

export interface SliceEndpoint {
  /** The first of the endpoint's addresses (kube-proxy uses only that one). */
  ip: string;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  /** '' when not set. */
  nodeName: string;
  zone: string;
  zoneHints: readonly string[];
  nodeHints: readonly string[];
}

export interface EndpointSlice {
  namespace: string;
  name: string;
  /** From the `kubernetes.io/service-name` label. */
  serviceName: string;
  family: IPFamily;
  ports: SlicePort[];
  /** Each address canonical and of `family`: normalizeEndpointSlice refuses the slice otherwise. */
  endpoints: SliceEndpoint[];
}

export interface NodeInfo {
  name: string;
  labels: Record<string, string>;
  /** status.addresses of type InternalIP, then ExternalIP, canonical. */
  addresses: string[];
}

/** An immutable snapshot of everything the compiler needs, keyed by `namespace/name`. */
export interface ClusterState {
  services: ReadonlyMap<string, Service>;
  /** Slices grouped by the service they belong to (`namespace/serviceName`), sorted by slice name. */
  slicesByService: ReadonlyMap<string, readonly EndpointSlice[]>;
  node: NodeInfo | null;
  /** networking.k8s.io/v1 ServiceCIDR ranges, canonical. */
  serviceCIDRs: string[];
}
