/**
 * fast-check arbitraries for raw clusters: mostly well-formed objects with a share of
 * malformed fields (bad IPs, out-of-range ports, unknown protocols, injection attempts),
 * so properties exercise both the happy path and the reporting of bad input.
 */
import fc from 'fast-check';
import { normalizeProxyConfig } from '../../src/compile/config.js';
import type { ProxyConfig } from '../../src/compile/intent.js';

const NAMES = ['svc-a', 'svc-b', 'svc-c', 'web', 'dns'];
const injection = fc.constantFrom('x" -j ACCEPT', 'a\nb', "'; rm -rf /", 'UPPER', 'sp ace', '-j DROP', 'a'.repeat(70));

const v4 = (prefix: string) => fc.integer({ min: 1, max: 30 }).map((n) => `${prefix}.${n}`);
const v6 = (prefix: string) => fc.integer({ min: 1, max: 30 }).map((n) => `${prefix}::${n.toString(16)}`);
const badIP = fc.constantFrom('300.1.1.1', '10.0.0', 'fe80::1%eth0', 'not-an-ip', '', '010.096.000.010');

function sometimes<T>(good: fc.Arbitrary<T>, bad: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  return fc.oneof({ arbitrary: good, weight: 6 }, { arbitrary: bad, weight: 1 });
}

const port = sometimes(fc.integer({ min: 1, max: 65535 }), fc.constantFrom(0, 70000, -1, '80', null));
const protocol = sometimes(fc.constantFrom('TCP', 'UDP', 'SCTP', undefined), fc.constantFrom('ICMP', 'tcp', 42));
const portName = sometimes(fc.constantFrom('', 'http', 'dns', 'metrics'), injection);
const cidr = sometimes(
  fc.constantFrom('192.168.50.0/24', ' 10.0.0.0/8 ', '0.0.0.0/0', 'fd00::/8', '203.0.113.7/32'),
  fc.constantFrom('10.0.0.0/33', '10.0.0.1', 'x/8'),
);

const servicePort = fc.record(
  {
    name: portName,
    port,
    protocol,
    targetPort: fc.constant(8080),
    nodePort: sometimes(fc.integer({ min: 30000, max: 30010 }), fc.constantFrom(99999, 'x')),
  },
  { requiredKeys: ['port'] },
);

const service = fc.record({
  apiVersion: fc.constant('v1'),
  kind: fc.constant('Service'),
  metadata: fc.record(
    {
      namespace: sometimes(fc.constantFrom('default', 'ns-a'), injection),
      name: sometimes(fc.constantFrom(...NAMES), injection),
      labels: fc.option(fc.constantFrom({ 'service.kubernetes.io/service-proxy-name': 'other' }, { app: 'x' }), {
        nil: undefined,
      }),
    },
    { requiredKeys: ['namespace', 'name'] },
  ),
  spec: fc.record(
    {
      type: sometimes(fc.constantFrom('ClusterIP', 'NodePort', 'LoadBalancer'), fc.constantFrom('ExternalName', 'Weird')),
      clusterIPs: fc.oneof(
        fc.tuple(v4('10.96.0')).map((a) => a),
        fc.tuple(v4('10.96.0'), v6('fd00:96')),
        fc.tuple(v6('fd00:96')),
        fc.constant(['None']),
        fc.tuple(badIP),
      ),
      ports: fc.array(servicePort, { minLength: 0, maxLength: 3 }),
      externalIPs: fc.array(sometimes(fc.oneof(v4('198.51.100'), v6('2001:db8:100')), badIP), { maxLength: 2 }),
      loadBalancerSourceRanges: fc.array(cidr, { maxLength: 2 }),
      externalTrafficPolicy: fc.constantFrom('Cluster', 'Local', undefined),
      internalTrafficPolicy: fc.constantFrom('Cluster', 'Local', undefined),
      sessionAffinity: fc.constantFrom('None', 'ClientIP', undefined),
      sessionAffinityConfig: fc.option(
        fc.record({ clientIP: fc.record({ timeoutSeconds: sometimes(fc.integer({ min: 1, max: 86400 }), fc.constantFrom(0, 100000)) }) }),
        { nil: undefined },
      ),
      healthCheckNodePort: fc.option(fc.integer({ min: 32000, max: 32010 }), { nil: undefined }),
    },
    { requiredKeys: ['clusterIPs', 'ports'] },
  ),
  status: fc.record({
    loadBalancer: fc.record({
      ingress: fc.array(
        fc.record(
          {
            ip: sometimes(fc.oneof(v4('203.0.113'), v6('2001:db8:113')), badIP),
            ipMode: fc.constantFrom('VIP', 'Proxy', undefined),
          },
          { requiredKeys: ['ip'] },
        ),
        { maxLength: 2 },
      ),
    }),
  }),
});

const endpoint = fc.record(
  {
    addresses: fc.oneof(
      fc.tuple(sometimes(fc.oneof(v4('10.244.1'), v4('10.244.2')), badIP)),
      fc.tuple(v6('fd00:244:0:1')),
      fc.constant([]),
    ),
    conditions: fc.option(
      fc.record(
        { ready: fc.boolean(), serving: fc.boolean(), terminating: fc.boolean() },
        { requiredKeys: [] },
      ),
      { nil: undefined },
    ),
    nodeName: fc.constantFrom('node-a', 'node-b', undefined),
    zone: fc.constantFrom('zone-a', 'zone-b', undefined),
    hints: fc.option(fc.record({ forZones: fc.constant([{ name: 'zone-a' }]) }), { nil: undefined }),
  },
  { requiredKeys: ['addresses'] },
);

const slice = fc.record({
  apiVersion: fc.constant('discovery.k8s.io/v1'),
  kind: fc.constant('EndpointSlice'),
  metadata: fc.record({
    namespace: fc.constantFrom('default', 'ns-a'),
    name: fc.string({ minLength: 1, maxLength: 8 }).map((s) => `slice-${s}`),
    labels: fc.record({ 'kubernetes.io/service-name': sometimes(fc.constantFrom(...NAMES), injection) }),
  }),
  addressType: sometimes(fc.constantFrom('IPv4', 'IPv6'), fc.constant('FQDN')),
  ports: fc.array(fc.record({ name: portName, port, protocol }, { requiredKeys: ['port'] }), { maxLength: 3 }),
  endpoints: fc.array(endpoint, { maxLength: 5 }),
});

const node = fc.constant({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name: 'node-a', labels: { 'topology.kubernetes.io/zone': 'zone-a' } },
  status: { addresses: [{ type: 'InternalIP', address: '192.168.50.10' }] },
});

export const rawCluster: fc.Arbitrary<unknown[]> = fc
  .tuple(fc.array(service, { maxLength: 6 }), fc.array(slice, { maxLength: 8 }), node, fc.array(fc.anything(), { maxLength: 2 }))
  .map(([services, slices, n, junk]) => [...services, ...slices, n, ...junk]);

function propertyConfig(): ProxyConfig {
  const normalized = normalizeProxyConfig({
    nodeName: 'node-a',
    nodeIPs: ['192.168.50.10', 'fd00:50::10'],
    clusterCIDRs: ['10.244.0.0/16', 'fd00:244::/48'],
    masqueradeAll: false,
    nodePortAddresses: [],
  });
  if ('error' in normalized) throw new Error(normalized.error);
  return normalized.config;
}

/** The node the random clusters are rendered for: node-a, dual-stack, with pod CIDRs. */
export const PROPERTY_CONFIG = propertyConfig();
