/**
 * The cluster the kernel matrix runs against, in the topology's address plan
 * (test/support/netns): node-a is 192.168.50.10 / fd00:50::10; its pods are 10.244.1.x,
 * pods elsewhere 10.244.2.x; clients 192.168.50.20+; externalIPs 198.51.100.x; LB IPs
 * 203.0.113.x. Each service exercises one behaviour; the test names say which.
 */

type Ep = { ip: string; node?: string; ready?: boolean; serving?: boolean; terminating?: boolean };

interface Svc {
  name: string;
  clusterIP: string;
  port?: number;
  targetPort?: number;
  protocol?: 'TCP' | 'UDP';
  type?: 'ClusterIP' | 'NodePort' | 'LoadBalancer';
  nodePort?: number;
  externalIPs?: string[];
  lbIP?: string;
  sourceRanges?: string[];
  etpLocal?: boolean;
  itpLocal?: boolean;
  affinity?: boolean;
  endpoints: Ep[];
}

export const remote = (n: number) => `10.244.2.${n}`;
export const local = (n: number) => `10.244.1.${n}`;
const remoteEps = (...ns: number[]): Ep[] => ns.map((n) => ({ ip: remote(n), node: 'node-b' }));

export const SERVICES: Svc[] = [
  { name: 'bal2', clusterIP: '10.96.0.2', endpoints: remoteEps(2, 3) },
  { name: 'bal3', clusterIP: '10.96.0.3', endpoints: remoteEps(2, 3, 4) },
  { name: 'bal7', clusterIP: '10.96.0.7', endpoints: remoteEps(2, 3, 4, 5, 6, 7, 8) },
  { name: 'dns', clusterIP: '10.96.0.53', port: 53, targetPort: 5353, protocol: 'UDP', endpoints: remoteEps(2, 3) },
  { name: 'empty', clusterIP: '10.96.0.99', type: 'NodePort', nodePort: 30099, endpoints: [] },
  { name: 'empty-udp', clusterIP: '10.96.0.98', protocol: 'UDP', endpoints: [] },
  { name: 'itp-local-none', clusterIP: '10.96.0.97', itpLocal: true, endpoints: remoteEps(2) },
  { name: 'nodeport', clusterIP: '10.96.0.30', type: 'NodePort', nodePort: 30080, endpoints: remoteEps(2) },
  { name: 'eip', clusterIP: '10.96.0.31', externalIPs: ['198.51.100.10'], endpoints: remoteEps(3) },
  {
    name: 'lb-ranges',
    clusterIP: '10.96.0.32',
    type: 'LoadBalancer',
    nodePort: 30082,
    lbIP: '203.0.113.10',
    sourceRanges: ['192.168.50.20/32'],
    endpoints: remoteEps(4),
  },
  {
    name: 'etp-local',
    clusterIP: '10.96.0.33',
    type: 'LoadBalancer',
    nodePort: 30083,
    lbIP: '203.0.113.11',
    etpLocal: true,
    endpoints: [{ ip: local(2), node: 'node-a' }, ...remoteEps(5)],
  },
  {
    name: 'etp-local-none',
    clusterIP: '10.96.0.34',
    type: 'LoadBalancer',
    nodePort: 30084,
    lbIP: '203.0.113.12',
    etpLocal: true,
    endpoints: remoteEps(6),
  },
  { name: 'sticky', clusterIP: '10.96.0.40', affinity: true, endpoints: remoteEps(2, 3, 4) },
  { name: 'hairpin', clusterIP: '10.96.0.41', endpoints: [{ ip: local(3), node: 'node-a' }] },
  {
    name: 'terminating',
    clusterIP: '10.96.0.42',
    endpoints: [{ ip: remote(7), node: 'node-b', ready: false, serving: true, terminating: true }],
  },
  { name: 'web6', clusterIP: 'fd00:96::10', endpoints: [{ ip: 'fd00:244:0:2::2', node: 'node-b' }] },
  {
    name: 'nodeport6',
    clusterIP: 'fd00:96::11',
    type: 'NodePort',
    nodePort: 30086,
    endpoints: [{ ip: 'fd00:244:0:2::3', node: 'node-b' }],
  },
  { name: 'empty6', clusterIP: 'fd00:96::12', endpoints: [] },
  {
    name: 'sticky6',
    clusterIP: 'fd00:96::13',
    affinity: true,
    endpoints: ['fd00:244:0:2::2', 'fd00:244:0:2::3'].map((ip) => ({ ip, node: 'node-b' })),
  },
];

export const TARGET_PORT = 8080;

export function matrixObjects(): unknown[] {
  const objects: unknown[] = [
    {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'node-a', labels: { 'topology.kubernetes.io/zone': 'zone-a' } },
      status: {
        addresses: [
          { type: 'InternalIP', address: '192.168.50.10' },
          { type: 'InternalIP', address: 'fd00:50::10' },
        ],
      },
    },
  ];
  for (const s of SERVICES) {
    const protocol = s.protocol ?? 'TCP';
    const v6 = s.clusterIP.includes(':');
    objects.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { namespace: 'matrix', name: s.name },
      spec: {
        type: s.type ?? 'ClusterIP',
        clusterIP: s.clusterIP,
        clusterIPs: [s.clusterIP],
        ipFamilies: [v6 ? 'IPv6' : 'IPv4'],
        ports: [{ name: 'p', port: s.port ?? 80, targetPort: s.targetPort ?? TARGET_PORT, protocol, nodePort: s.nodePort }],
        externalIPs: s.externalIPs,
        loadBalancerSourceRanges: s.sourceRanges,
        externalTrafficPolicy: s.etpLocal ? 'Local' : 'Cluster',
        internalTrafficPolicy: s.itpLocal ? 'Local' : 'Cluster',
        sessionAffinity: s.affinity ? 'ClientIP' : 'None',
        ...(s.affinity ? { sessionAffinityConfig: { clientIP: { timeoutSeconds: 600 } } } : {}),
        ...(s.etpLocal ? { healthCheckNodePort: 32000 + SERVICES.indexOf(s) } : {}),
      },
      status: s.lbIP ? { loadBalancer: { ingress: [{ ip: s.lbIP }] } } : {},
    });
    objects.push({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { namespace: 'matrix', name: `${s.name}-x1`, labels: { 'kubernetes.io/service-name': s.name } },
      addressType: v6 ? 'IPv6' : 'IPv4',
      ports: [{ name: 'p', port: s.targetPort ?? TARGET_PORT, protocol }],
      endpoints: s.endpoints.map((e) => ({
        addresses: [e.ip],
        nodeName: e.node,
        conditions: { ready: e.ready ?? true, serving: e.serving ?? true, terminating: e.terminating ?? false },
      })),
    });
  }
  return objects;
}

export const MATRIX_CONFIG = {
  nodeName: 'node-a',
  nodeIPs: ['192.168.50.10', 'fd00:50::10'],
  clusterCIDRs: ['10.244.0.0/16', 'fd00:244::/48'],
  masqueradeAll: false,
  nodePortAddresses: [],
};
