/**
 * Hand-built intents for the nftables backend tests (the compiler is tested on its own).
 *
 * Address conventions, IPv4 (IPv6 mirrors them under fd00::/8 prefixes):
 * - node:            192.168.0.2            (fd00:192:168::2)
 * - pods (cluster):  10.0.0.0/8             (fd00:10::/32); endpoints 10.180.0.x (fd00:10:180::x)
 * - ClusterIPs:      172.30.0.x             (fd00:172:30::x)
 * - externalIPs:     192.168.99.x
 * - LoadBalancer IPs 1.2.3.x
 * - outside client:  203.0.113.5; LB source range 203.0.113.0/25
 */
import { endpointAddress, type EndpointIntent, type RulesetIntent, type ServicePortIntent, type TrafficPath } from '../../src/compile/intent.js';
import type { TraceNode } from '../../src/trace/types.js';

export const NODE_IP = '192.168.0.2';
export const NODE_IP6 = 'fd00:192:168::2';
export const POD_CIDR = '10.0.0.0/8';
export const POD_CIDR6 = 'fd00:10::/32';
export const OUTSIDE = '203.0.113.5';
export const NODE: TraceNode = { localAddresses: [NODE_IP, '127.0.0.1'] };
export const NODE6: TraceNode = { localAddresses: [NODE_IP6, '::1'] };

export function ep(ip: string, port = 80, local = false): EndpointIntent {
  return { ip, port, local };
}

export interface ServiceSpec {
  namespace?: string;
  service?: string;
  portName?: string;
  protocol?: 'tcp' | 'udp' | 'sctp';
  clusterIP?: string;
  port?: number;
  nodePort?: number;
  externalIPs?: string[];
  loadBalancerIPs?: string[];
  sourceRanges?: string[];
  allowLoadBalancerIPs?: boolean;
  affinity?: number | null;
  /** Every usable endpoint in the cluster; `local` marks those on this node. */
  endpoints?: EndpointIntent[];
  internalLocal?: boolean;
  externalLocal?: boolean;
}

function path(local: boolean, list: readonly EndpointIntent[], any: boolean): TrafficPath {
  return { policy: local ? 'local' : 'cluster', noEndpoints: list.length > 0 ? null : any ? 'DROP' : 'REJECT' };
}

/** A service port intent with compile/'s endpoint semantics, built from a compact spec. */
export function svc(spec: ServiceSpec = {}): ServicePortIntent {
  const namespace = spec.namespace ?? 'ns1';
  const service = spec.service ?? 'svc1';
  const portName = spec.portName ?? 'p80';
  const all = spec.endpoints ?? [];
  const externalIPs = spec.externalIPs ?? [];
  const loadBalancerIPs = spec.loadBalancerIPs ?? [];
  const nodePort = spec.nodePort ?? 0;
  const external = nodePort !== 0 || externalIPs.length > 0 || loadBalancerIPs.length > 0;
  const internalLocal = spec.internalLocal ?? false;
  const externalLocal = external && (spec.externalLocal ?? false);
  const clusterEndpoints = !internalLocal || external ? all : [];
  const localEndpoints = internalLocal || externalLocal ? all.filter((e) => e.local) : [];
  const ranges = spec.sourceRanges ?? [];
  return {
    name: portName === '' ? `${namespace}/${service}` : `${namespace}/${service}:${portName}`,
    namespace,
    service,
    portName,
    protocol: spec.protocol ?? 'tcp',
    clusterIP: spec.clusterIP ?? '172.30.0.41',
    port: spec.port ?? 80,
    nodePort,
    externalIPs,
    loadBalancerIPs,
    healthCheckNodePort: 0,
    affinityTimeoutSeconds: spec.affinity ?? null,
    firewall:
      ranges.length > 0 && loadBalancerIPs.length > 0 && all.length > 0
        ? { sourceRanges: ranges, allowLoadBalancerIPs: spec.allowLoadBalancerIPs ?? false }
        : null,
    clusterEndpoints,
    localEndpoints,
    endpoints: [...new Map([...clusterEndpoints, ...localEndpoints].map((e) => [endpointAddress(e), e])).values()],
    internal: path(internalLocal, internalLocal ? localEndpoints : clusterEndpoints, all.length > 0),
    external: external ? path(externalLocal, externalLocal ? localEndpoints : clusterEndpoints, all.length > 0) : null,
  };
}

export function intent(services: ServicePortIntent[], overrides: Partial<RulesetIntent> = {}): RulesetIntent {
  const family = overrides.family ?? 4;
  return {
    family,
    masquerade: { mark: 0x4000, all: false },
    podCIDRs: [family === 4 ? POD_CIDR : POD_CIDR6],
    nodeIPs: [family === 4 ? NODE_IP : NODE_IP6],
    nodePortCIDRs: [family === 4 ? `${NODE_IP}/32` : `${NODE_IP6}/128`],
    serviceCIDRs: [family === 4 ? '172.30.0.0/16' : 'fd00:172:30::/112'],
    services,
    ...overrides,
  };
}

/** One of every feature, for load and schema tests. */
export function kitchenSink(family: 4 | 6 = 4): RulesetIntent {
  const v6 = family === 6;
  const a = (v4: string, v6addr: string) => (v6 ? v6addr : v4);
  const e = (i: number, local = false, port = 80) => ep(a(`10.180.0.${i}`, `fd00:10:180::${i}`), port, local);
  return intent(
    [
      svc({ service: 'plain', clusterIP: a('172.30.0.41', 'fd00:172:30::41'), endpoints: [e(1), e(2, true)] }),
      svc({ service: 'empty', clusterIP: a('172.30.0.42', 'fd00:172:30::42'), nodePort: 3001 }),
      svc({
        service: 'lb',
        clusterIP: a('172.30.0.43', 'fd00:172:30::43'),
        nodePort: 3002,
        externalIPs: [a('192.168.99.11', 'fd00:192:168:99::11')],
        loadBalancerIPs: [a('1.2.3.4', 'fd00:1:2:3::4')],
        sourceRanges: [a('203.0.113.0/25', '2001:db8::/64')],
        allowLoadBalancerIPs: true,
        endpoints: [e(3), e(4), e(5)],
      }),
      svc({
        service: 'local',
        clusterIP: a('172.30.0.44', 'fd00:172:30::44'),
        nodePort: 3003,
        loadBalancerIPs: [a('1.2.3.5', 'fd00:1:2:3::5')],
        externalLocal: true,
        endpoints: [e(6, true), e(7)],
      }),
      svc({
        service: 'local-none',
        protocol: 'udp',
        clusterIP: a('172.30.0.45', 'fd00:172:30::45'),
        nodePort: 3004,
        externalLocal: true,
        internalLocal: true,
        endpoints: [e(8)],
      }),
      svc({
        service: 'sticky',
        clusterIP: a('172.30.0.46', 'fd00:172:30::46'),
        nodePort: 3005,
        affinity: 10800,
        endpoints: [e(9), e(10, true)],
      }),
      svc({ service: 'mixed', protocol: 'sctp', clusterIP: a('172.30.0.47', 'fd00:172:30::47'), endpoints: [e(11, false, 81), e(12, false, 82)] }),
    ],
    { family },
  );
}

/** Every intent shape the unit tests render, so the kernel test can load each for real. */
export function loadCases(): Array<[string, RulesetIntent]> {
  const two = [ep('10.180.0.1'), ep('10.180.0.2', 80, true)];
  const many = Array.from({ length: 70 }, (_, i) => ep(`10.180.1.${i + 1}`));
  return [
    ['kitchen sink IPv4', kitchenSink(4)],
    ['kitchen sink IPv6', kitchenSink(6)],
    ['empty', intent([])],
    ['masquerade all', intent([svc({ endpoints: two })], { masquerade: { mark: 0x4000, all: true } })],
    ['no local detector', intent([svc({ endpoints: two, externalLocal: true, nodePort: 30080 })], { podCIDRs: null })],
    ['no NodePort addresses', intent([svc({ endpoints: two, nodePort: 30080 })], { nodePortCIDRs: [] })],
    ['many endpoints', intent([svc({ endpoints: many })])],
    [
      'duplicate destinations',
      intent([
        svc({ service: 'a', endpoints: [ep('10.180.0.1')], nodePort: 30001, externalIPs: ['192.168.99.1'] }),
        svc({ service: 'b', clusterIP: '172.30.0.41', endpoints: [ep('10.180.0.2')], nodePort: 30001, externalIPs: ['192.168.99.1'] }),
      ]),
    ],
    [
      'firewall',
      intent([
        svc({
          endpoints: two,
          nodePort: 30080,
          loadBalancerIPs: ['1.2.3.4', '1.2.3.5'],
          sourceRanges: ['203.0.113.0/25', '198.51.100.7/32'],
          allowLoadBalancerIPs: true,
        }),
      ]),
    ],
  ];
}
