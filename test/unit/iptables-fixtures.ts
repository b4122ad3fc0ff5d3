/**
 * Hand-built intents for the iptables backend tests, in kube-proxy's test conventions:
 * ClusterIPs 172.30.0.4x, endpoints 10.180.x.y (port 80), pod CIDR 10.0.0.0/8, node IP
 * 192.168.0.2, externalIPs 192.168.99.x, LoadBalancer IPs 1.2.3.4 / 5.6.7.8; IPv6 uses
 * fd00:172:30::4x, fd00:10:180::x, fd00:10::/64 and 2001:db8::2.
 */
import { endpointAddress, type EndpointIntent, type RulesetIntent, type ServicePortIntent, type TrafficPath } from '../../src/compile/intent.js';

export function ep(ip: string, options: { port?: number; local?: boolean } = {}): EndpointIntent {
  const port = options.port ?? 80;
  return { ip, port, local: options.local ?? false };
}

const byAddress = (a: EndpointIntent, b: EndpointIntent) => {
  const [x, y] = [endpointAddress(a), endpointAddress(b)];
  return x < y ? -1 : x > y ? 1 : 0;
};

export interface ServicePortOptions extends Partial<Omit<ServicePortIntent, 'name' | 'endpoints'>> {
  namespace?: string;
  service?: string;
  portName?: string;
}

/**
 * A service port `ns/svc:port`. `endpoints` is derived as the union of the two lists;
 * `internal` defaults to the cluster policy, REJECT when there are no cluster endpoints.
 */
export function servicePort(options: ServicePortOptions = {}): ServicePortIntent {
  const namespace = options.namespace ?? 'ns1';
  const service = options.service ?? 'svc1';
  const portName = options.portName ?? 'p80';
  const clusterEndpoints = options.clusterEndpoints ?? [];
  const localEndpoints = options.localEndpoints ?? [];
  const union = new Map([...clusterEndpoints, ...localEndpoints].map((e) => [endpointAddress(e), e]));
  const internal: TrafficPath = options.internal ?? {
    policy: 'cluster',
    noEndpoints: clusterEndpoints.length > 0 ? null : 'REJECT',
  };
  return {
    name: portName === '' ? `${namespace}/${service}` : `${namespace}/${service}:${portName}`,
    namespace,
    service,
    portName,
    protocol: options.protocol ?? 'tcp',
    clusterIP: options.clusterIP ?? '172.30.0.41',
    port: options.port ?? 80,
    nodePort: options.nodePort ?? 0,
    externalIPs: options.externalIPs ?? [],
    loadBalancerIPs: options.loadBalancerIPs ?? [],
    healthCheckNodePort: options.healthCheckNodePort ?? 0,
    affinityTimeoutSeconds: options.affinityTimeoutSeconds ?? null,
    firewall: options.firewall ?? null,
    clusterEndpoints,
    localEndpoints,
    endpoints: [...union.values()].sort(byAddress),
    internal,
    external: options.external ?? null,
  };
}

export function rulesetIntent(services: ServicePortIntent[], options: Partial<RulesetIntent> = {}): RulesetIntent {
  const family = options.family ?? 4;
  return {
    family,
    masquerade: options.masquerade ?? { mark: 0x4000, all: false },
    podCIDRs: options.podCIDRs === undefined ? [family === 4 ? '10.0.0.0/8' : 'fd00:10::/64'] : options.podCIDRs,
    nodeIPs: options.nodeIPs ?? [family === 4 ? '192.168.0.2' : '2001:db8::2'],
    nodePortCIDRs: options.nodePortCIDRs ?? [family === 4 ? '0.0.0.0/0' : '::/0'],
    serviceCIDRs: options.serviceCIDRs ?? [],
    services: [...services].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
  };
}

/** The rules of one chain in rendered restore text, as `-A …` lines in order. */
export function chainLines(text: string, table: 'filter' | 'nat', chain: string): string[] {
  const section = text.split(/^\*/m).find((part) => part.startsWith(`${table}\n`)) ?? '';
  return section.split('\n').filter((line) => line.startsWith(`-A ${chain} `));
}

/** Every `-A` line of a table, in order. */
export function tableRules(text: string, table: 'filter' | 'nat'): string[] {
  const section = text.split(/^\*/m).find((part) => part.startsWith(`${table}\n`)) ?? '';
  return section.split('\n').filter((line) => line.startsWith('-A '));
}

/** kube-proxy's TestOverallIPTablesRules services (pkg/proxy/iptables), as intents. */
export function kubeProxyOverallScenario(): RulesetIntent {
  const cluster = (ip: string) => ({ clusterEndpoints: [ep(ip)] });
  const externalCluster: TrafficPath = { policy: 'cluster', noEndpoints: null };
  return rulesetIntent([
    servicePort({ ...cluster('10.180.0.1') }),
    servicePort({
      namespace: 'ns2',
      service: 'svc2',
      clusterIP: '172.30.0.42',
      ...cluster('10.180.0.2'),
      externalIPs: ['192.168.99.22'],
      loadBalancerIPs: ['1.2.3.4'],
      nodePort: 3001,
      healthCheckNodePort: 30000,
      external: { policy: 'local', noEndpoints: 'DROP' },
    }),
    servicePort({ namespace: 'ns3', service: 'svc3', clusterIP: '172.30.0.43', ...cluster('10.180.0.3'), nodePort: 3003, external: externalCluster }),
    servicePort({
      namespace: 'ns4',
      service: 'svc4',
      clusterIP: '172.30.0.44',
      clusterEndpoints: [ep('10.180.0.4'), ep('10.180.0.5')],
      externalIPs: ['192.168.99.33'],
      external: externalCluster,
    }),
    servicePort({
      namespace: 'ns5',
      service: 'svc5',
      clusterIP: '172.30.0.45',
      ...cluster('10.180.0.3'),
      loadBalancerIPs: ['5.6.7.8'],
      nodePort: 3002,
      firewall: { sourceRanges: ['203.0.113.0/25'], allowLoadBalancerIPs: false },
      external: externalCluster,
    }),
    servicePort({ namespace: 'ns6', service: 'svc6', clusterIP: '172.30.0.46' }),
  ]);
}

/** Every shape the backend emits; the kernel test loads each of these. */
export function scenarios(): Record<string, RulesetIntent> {
  const v6ep = (n: number, local = false) => ep(`fd00:10:180::${n}`, { local });
  return {
    'ClusterIP, one endpoint': rulesetIntent([servicePort({ clusterEndpoints: [ep('10.180.0.1')] })]),
    'three endpoints': rulesetIntent([
      servicePort({ clusterEndpoints: [ep('10.180.0.1'), ep('10.180.0.2'), ep('10.180.0.3')] }),
    ]),
    'session affinity': rulesetIntent([
      servicePort({ clusterEndpoints: [ep('10.180.0.1'), ep('10.180.0.2')], affinityTimeoutSeconds: 10800 }),
    ]),
    'externalTrafficPolicy Local': rulesetIntent([
      servicePort({
        clusterEndpoints: [ep('10.180.0.1', { local: true }), ep('10.180.2.1')],
        localEndpoints: [ep('10.180.0.1', { local: true })],
        externalIPs: ['192.168.99.11'],
        nodePort: 3001,
        healthCheckNodePort: 30000,
        external: { policy: 'local', noEndpoints: null },
      }),
    ]),
    'LoadBalancer with source ranges': rulesetIntent([
      servicePort({
        clusterEndpoints: [ep('10.180.0.1')],
        loadBalancerIPs: ['5.6.7.8'],
        nodePort: 3002,
        firewall: { sourceRanges: ['203.0.113.0/25', '192.168.0.0/24'], allowLoadBalancerIPs: true },
        external: { policy: 'cluster', noEndpoints: null },
      }),
    ]),
    'no endpoints': rulesetIntent([
      servicePort({
        externalIPs: ['192.168.99.11'],
        loadBalancerIPs: ['1.2.3.4'],
        nodePort: 3001,
        external: { policy: 'cluster', noEndpoints: 'REJECT' },
      }),
    ]),
    'internalTrafficPolicy Local without local endpoints': rulesetIntent([
      servicePort({ internal: { policy: 'local', noEndpoints: 'DROP' } }),
    ]),
    'masquerade-all, UDP and SCTP, several node port CIDRs': rulesetIntent(
      [
        servicePort({ portName: 'dns', protocol: 'udp', port: 53, clusterEndpoints: [ep('10.180.0.1', { port: 5353 })] }),
        servicePort({
          service: 'svc2',
          portName: '',
          protocol: 'sctp',
          clusterIP: '172.30.0.42',
          clusterEndpoints: [ep('10.180.0.2')],
          nodePort: 3005,
          external: { policy: 'cluster', noEndpoints: null },
        }),
      ],
      { masquerade: { mark: 0x10000, all: true }, podCIDRs: null, nodePortCIDRs: ['192.168.0.2/32', '10.1.0.0/16'] },
    ),
    IPv6: rulesetIntent(
      [
        servicePort({
          clusterIP: 'fd00:172:30::41',
          clusterEndpoints: [v6ep(1, true), v6ep(2)],
          localEndpoints: [v6ep(1, true)],
          externalIPs: ['2001:db8:99::11'],
          loadBalancerIPs: ['2001:db8:5::8'],
          firewall: { sourceRanges: ['2001:db8:203::/64'], allowLoadBalancerIPs: false },
          nodePort: 3001,
          affinityTimeoutSeconds: 60,
          external: { policy: 'local', noEndpoints: null },
        }),
        servicePort({ service: 'svc2', clusterIP: 'fd00:172:30::42', nodePort: 3002, external: { policy: 'cluster', noEndpoints: 'REJECT' } }),
      ],
      { family: 6 },
    ),
    'comments that need quoting': rulesetIntent([
      servicePort({ namespace: 'odd"ns', service: 'back\\slash', clusterEndpoints: [ep('10.180.0.1')] }),
    ]),
    "kube-proxy's overall test": kubeProxyOverallScenario(),
  };
}
