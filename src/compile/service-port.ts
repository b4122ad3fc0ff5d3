/**
 * One service port's intent: its addresses, endpoint lists and the verdict for each
 * traffic path. Every policy decision a backend lowers is made here.
 */
import { cidrContains, familyOf } from '../model/ip.js';
import type { EndpointSlice, IPFamily, Service, ServicePortSpec } from '../model/types.js';
import { categorizeEndpoints, ZONE_LABEL, type PortPolicy } from './categorize.js';
import type { CompileContext } from './context.js';
import { joinEndpoints } from './endpoints.js';
import { type EndpointIntent, type L4Protocol, type ServicePortIntent, type TrafficPath } from './intent.js';
import { sortEndpoints, uniqueStrings } from './order.js';

/** A service's addresses of one family, shared by all its ports. */
export interface FamilyAddresses {
  clusterIP: string;
  externalIPs: string[];
  loadBalancerIPs: string[];
  loadBalancerSourceRanges: string[];
}

/** The values of `family`, each once; most lists are empty (checked first: this runs per service). */
function ofFamily(values: readonly string[], family: IPFamily): string[] {
  return values.length === 0 ? [] : uniqueStrings(values.filter((v) => familyOf(v) === family));
}

/** null when the service has no ClusterIP of `family`: it is not proxied in that family. */
export function familyAddresses(service: Service, family: IPFamily): FamilyAddresses | null {
  const clusterIP = service.clusterIPs.find((ip) => familyOf(ip) === family);
  if (clusterIP === undefined) return null;
  return {
    clusterIP,
    externalIPs: ofFamily(service.externalIPs, family),
    loadBalancerIPs: ofFamily(service.loadBalancerIPs, family),
    loadBalancerSourceRanges: ofFamily(service.loadBalancerSourceRanges, family),
  };
}

/** kube-proxy's ServicePortName string. */
export function servicePortName(namespace: string, service: string, portName: string): string {
  return portName === '' ? `${namespace}/${service}` : `${namespace}/${service}:${portName}`;
}

function hasNodePorts(service: Service): boolean {
  return service.type === 'NodePort' || service.type === 'LoadBalancer';
}

/**
 * Per port, as kube-proxy's ServicePort.ExternallyAccessible: a NodePort, or externalIPs or
 * VIP-mode LoadBalancer IPs of this family (kube-proxy filters spec.externalIPs to the
 * proxier's family first). A LoadBalancer without allocated NodePorts is thus external
 * only once it has an ingress IP of this family.
 */
function portPolicy(service: Service, addresses: FamilyAddresses, nodePort: number): PortPolicy {
  const externallyAccessible =
    nodePort !== 0 || addresses.externalIPs.length > 0 || addresses.loadBalancerIPs.length > 0;
  return {
    externallyAccessible,
    externalPolicyLocal: externallyAccessible && service.externalTrafficPolicy === 'Local',
    internalPolicyLocal: service.internalTrafficPolicy === 'Local',
  };
}

/**
 * The health check port belongs to the service, not to a port: kept whenever the service
 * is external by type (or by externalIPs of this family) with externalTrafficPolicy Local,
 * so the health check server answers while a load balancer is still being provisioned.
 */
function healthCheckNodePort(service: Service, addresses: FamilyAddresses): number {
  const external = hasNodePorts(service) || addresses.externalIPs.length > 0;
  return external && service.externalTrafficPolicy === 'Local' ? service.healthCheckNodePort : 0;
}

/**
 * `a` and `b` are sorted picks from one candidate list (categorize.ts), so an endpoint in
 * both is the same object.
 */
function union(a: EndpointIntent[], b: EndpointIntent[]): EndpointIntent[] {
  // Intents are never changed once compiled, so a list may be shared: the local endpoints
  // are nearly always among the cluster ones, and 10k copies add up.
  const extra = b.filter((ep) => !a.includes(ep));
  if (extra.length === 0) return a;
  return a.length === 0 ? b : sortEndpoints([...a, ...extra]);
}

/**
 * No usable endpoint anywhere: REJECT (the client learns at once). Usable endpoints exist,
 * but none for this path (a Local policy with nothing on this node): DROP.
 */
function trafficPath(local: boolean, pathEndpoints: readonly EndpointIntent[], hasAnyEndpoints: boolean): TrafficPath {
  const noEndpoints = pathEndpoints.length > 0 ? null : hasAnyEndpoints ? 'DROP' : 'REJECT';
  return { policy: local ? 'local' : 'cluster', noEndpoints };
}

export function compileServicePort(
  service: Service,
  addresses: FamilyAddresses,
  port: ServicePortSpec,
  slices: readonly EndpointSlice[],
  ctx: CompileContext,
): ServicePortIntent {
  const nodePort = hasNodePorts(service) ? port.nodePort : 0;
  const policy = portPolicy(service, addresses, nodePort);
  const candidates = joinEndpoints(service, port, slices, ctx.family, ctx.nodeName);
  const topology = { nodeName: ctx.nodeName, zone: ctx.nodeLabels[ZONE_LABEL] ?? '' };
  const categorized = categorizeEndpoints(candidates, policy, topology);

  const { clusterEndpoints, localEndpoints } = categorized;
  const endpoints = union(clusterEndpoints, localEndpoints);
  const internalEndpoints = policy.internalPolicyLocal ? localEndpoints : clusterEndpoints;
  const externalEndpoints = policy.externalPolicyLocal ? localEndpoints : clusterEndpoints;

  const ranges = addresses.loadBalancerSourceRanges;
  const firewall =
    ranges.length > 0 && addresses.loadBalancerIPs.length > 0 && endpoints.length > 0
      ? {
          sourceRanges: [...ranges],
          allowLoadBalancerIPs: ctx.nodeIPs.some((ip) => ranges.some((cidr) => cidrContains(cidr, ip))),
        }
      : null;

  return {
    name: servicePortName(service.namespace, service.name, port.name),
    namespace: service.namespace,
    service: service.name,
    portName: port.name,
    protocol: port.protocol.toLowerCase() as L4Protocol,
    clusterIP: addresses.clusterIP,
    port: port.port,
    nodePort,
    // The service's lists, shared by its ports (nothing changes a compiled intent).
    externalIPs: addresses.externalIPs,
    loadBalancerIPs: addresses.loadBalancerIPs,
    healthCheckNodePort: healthCheckNodePort(service, addresses),
    affinityTimeoutSeconds: service.sessionAffinityTimeout,
    firewall,
    clusterEndpoints,
    localEndpoints,
    endpoints,
    internal: trafficPath(policy.internalPolicyLocal, internalEndpoints, categorized.hasAnyEndpoints),
    external: policy.externallyAccessible
      ? trafficPath(policy.externalPolicyLocal, externalEndpoints, categorized.hasAnyEndpoints)
      : null,
  };
}
