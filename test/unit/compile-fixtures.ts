/**
 * Builders for normalized model values in compile tests.
 *
 * IP conventions: ClusterIPs 172.30.0.x / fd00:30::x, endpoints (pods) 10.180.x.y /
 * fd00:180::x, node IPs 192.168.0.x / fd00:192::x, LoadBalancer IPs 203.0.113.x /
 * 2001:db8::x, externalIPs 198.51.100.x. This node is `node-a` in zone `zone-a`.
 */
import type { ProxyConfig } from '../../src/compile/intent.js';
import type {
  ClusterState,
  EndpointSlice,
  NodeInfo,
  Service,
  ServicePortSpec,
  SliceEndpoint,
  SlicePort,
} from '../../src/model/types.js';

export const NODE = 'node-a';
export const ZONE = 'zone-a';

export function port(overrides: Partial<ServicePortSpec> = {}): ServicePortSpec {
  return { name: 'http', protocol: 'TCP', port: 80, nodePort: 0, ...overrides };
}

export function service(overrides: Partial<Service> = {}): Service {
  return {
    namespace: 'ns1',
    name: 'svc1',
    type: 'ClusterIP',
    clusterIPs: ['172.30.0.1'],
    externalIPs: [],
    loadBalancerIPs: [],
    loadBalancerSourceRanges: [],
    ports: [port()],
    sessionAffinityTimeout: null,
    externalTrafficPolicy: 'Cluster',
    internalTrafficPolicy: 'Cluster',
    healthCheckNodePort: 0,
    ...overrides,
  };
}

export function endpoint(ip: string, overrides: Partial<SliceEndpoint> = {}): SliceEndpoint {
  return {
    ip,
    ready: true,
    serving: true,
    terminating: false,
    nodeName: 'node-b',
    zone: 'zone-b',
    zoneHints: [],
    nodeHints: [],
    ...overrides,
  };
}

export const terminating = { ready: false, serving: true, terminating: true } as const;
export const notServing = { ready: false, serving: false, terminating: true } as const;
export const local = { nodeName: NODE } as const;

export function slicePort(overrides: Partial<SlicePort> = {}): SlicePort {
  return { name: 'http', protocol: 'TCP', port: 8080, ...overrides };
}

export function slice(endpoints: SliceEndpoint[], overrides: Partial<EndpointSlice> = {}): EndpointSlice {
  return {
    namespace: 'ns1',
    name: 'svc1-abcde',
    serviceName: 'svc1',
    family: 4,
    ports: [slicePort()],
    endpoints,
    ...overrides,
  };
}

export function node(overrides: Partial<NodeInfo> = {}): NodeInfo {
  return {
    name: NODE,
    labels: { 'topology.kubernetes.io/zone': ZONE },
    addresses: ['192.168.0.10', 'fd00:192::10'],
    ...overrides,
  };
}

export function config(overrides: Partial<ProxyConfig> = {}): ProxyConfig {
  return { nodeName: NODE, nodeIPs: [], clusterCIDRs: [], masqueradeAll: false, nodePortAddresses: [], ...overrides };
}

export function clusterState(
  services: Service[],
  slices: EndpointSlice[] = [],
  overrides: Partial<Omit<ClusterState, 'services' | 'slicesByService'>> = {},
): ClusterState {
  const slicesByService = new Map<string, EndpointSlice[]>();
  for (const s of slices) {
    const key = `${s.namespace}/${s.serviceName}`;
    slicesByService.set(key, [...(slicesByService.get(key) ?? []), s]);
  }
  for (const list of slicesByService.values()) list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return {
    services: new Map(services.map((s) => [`${s.namespace}/${s.name}`, s])),
    slicesByService,
    node: node(),
    serviceCIDRs: [],
    ...overrides,
  };
}
