/**
 * The backend-neutral intent: every decision about a service port is made once, here in
 * compile/, and each backend only lowers it. Backends must not re-derive policy from the
 * model (DESIGN.md, "Share intent, not syntax").
 */
import { joinHostPort } from '../model/ip.js';
import type { IPFamily, Problem } from '../model/types.js';

export type L4Protocol = 'tcp' | 'udp' | 'sctp';
export type NoEndpointVerdict = 'REJECT' | 'DROP';

export interface EndpointIntent {
  ip: string;
  port: number;
  /** The endpoint runs on this node. */
  local: boolean;
}

/**
 * `ip:port`, or `[ip]:port` for IPv6, as kube-proxy prints (and hashes) it. Derived where a
 * backend needs it rather than kept per endpoint: nftables never does, and 100k of them
 * were ~4 MiB of a 10k-service intent.
 */
export function endpointAddress(ep: Pick<EndpointIntent, 'ip' | 'port'>): string {
  return joinHostPort(ep.ip, ep.port);
}

/** How one kind of traffic (internal: to the ClusterIP; external: everything else) is served. */
export interface TrafficPath {
  /** Which endpoint list serves it: `clusterEndpoints` or `localEndpoints`. */
  policy: 'cluster' | 'local';
  /**
   * null when the path has usable endpoints. Otherwise REJECT when the service has no
   * usable endpoint at all, DROP when the policy is Local and none is on this node.
   */
  noEndpoints: NoEndpointVerdict | null;
}

export interface ServicePortIntent {
  /** kube-proxy's ServicePortName string: `ns/svc:port`, or `ns/svc` for an unnamed port. */
  name: string;
  namespace: string;
  service: string;
  portName: string;
  protocol: L4Protocol;
  clusterIP: string;
  port: number;
  /** 0 when none. */
  nodePort: number;
  externalIPs: string[];
  /** LoadBalancer ingress IPs in VIP mode, this family only. */
  loadBalancerIPs: string[];
  /** 0 when none. */
  healthCheckNodePort: number;
  /** ClientIP affinity timeout in seconds; null for none. */
  affinityTimeoutSeconds: number | null;
  /**
   * loadBalancerSourceRanges filtering the LoadBalancer IPs (never NodePorts); null when
   * the service has no ranges, no LoadBalancer IPs or no endpoints. `allowLoadBalancerIPs`:
   * a node IP falls inside a range, so packets sourced from the LB IPs themselves (a node
   * reaching its own VIP) are let through too.
   */
  firewall: { sourceRanges: string[]; allowLoadBalancerIPs: boolean } | null;
  /** Endpoints of the cluster-wide policy; empty when no path uses it. Sorted. */
  clusterEndpoints: EndpointIntent[];
  /** Endpoints on this node for the Local policy; empty when no path uses it. Sorted. */
  localEndpoints: EndpointIntent[];
  /** The union of both lists, sorted: every endpoint some path can reach. */
  endpoints: EndpointIntent[];
  internal: TrafficPath;
  /**
   * null when the service is not externally accessible (no NodePort, externalIPs or LB IPs).
   * With policy 'local' the fixed kube-proxy semantics apply: pod-originated traffic (per
   * the pod CIDRs) and node-originated traffic (masqueraded) use the cluster endpoints; the
   * rest only local ones. With policy 'cluster' all external traffic is masqueraded.
   */
  external: TrafficPath | null;
}

export interface MasqueradeIntent {
  /** The fwmark bit that asks for SNAT, `0x4000` as in kube-proxy. */
  mark: number;
  /** `--masquerade-all`: every packet to a ClusterIP is masqueraded. */
  all: boolean;
}

export interface RulesetIntent {
  family: IPFamily;
  masquerade: MasqueradeIntent;
  /**
   * Sources in these CIDRs are pods of this cluster (`--cluster-cidr`); traffic to a
   * ClusterIP from anywhere else is masqueraded. null: no local-traffic detector.
   */
  podCIDRs: string[] | null;
  /** The node's primary IPs of this family (`--node-ip`, else the Node's addresses). */
  nodeIPs: string[];
  /**
   * NodePorts answer on destinations that are local addresses of the node inside one of
   * these CIDRs. Loopback never answers (as in kube-proxy's nftables mode).
   */
  nodePortCIDRs: string[];
  /** ServiceCIDR ranges of this family (informational; used by backends that guard them). */
  serviceCIDRs: string[];
  /** Sorted by name, then protocol. */
  services: ServicePortIntent[];
}

export interface ProxyConfig {
  nodeName: string;
  /** `--node-ip`, at most one per family; empty means use the Node's own addresses. */
  nodeIPs: string[];
  /** `--cluster-cidr`, at most one per family; empty means no local-traffic detector. */
  clusterCIDRs: string[];
  masqueradeAll: boolean;
  /** `--nodeport-addresses` CIDRs, either family; empty means the node's primary IPs. */
  nodePortAddresses: string[];
  /** `1 << --iptables-masquerade-bit`; default MASQUERADE_MARK (0x4000, bit 14). Both modes use it. */
  masqueradeMark?: number;
}

export interface CompileResult {
  intent: RulesetIntent;
  problems: Problem[];
}
