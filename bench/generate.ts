/**
 * Synthetic clusters for benchmarks: N services × E endpoints as raw Kubernetes objects,
 * seeded and reproducible. The mix follows what large clusters carry: mostly ClusterIP,
 * some NodePort and LoadBalancer (with source ranges, some externalTrafficPolicy Local),
 * some session affinity, a few multi-port, UDP, externalIPs and internalTrafficPolicy Local
 * services, and a few services whose endpoints are all unready (REJECT rules). A slice
 * lists its endpoints in shuffled order.
 *
 * Each service draws from its own random stream (`serviceRandom(seed, i)`), so one service
 * can be regenerated alone with other endpoints (`version`) for the churn scenarios.
 */

export interface GenerateOptions {
  services: number;
  endpoints: number;
  seed?: number;
  nodeName?: string;
  /** The Node object's InternalIP; default 192.168.0.10. */
  nodeIP?: string;
  /** How many nodes the endpoints are spread over (this node is `node-0`). */
  nodes?: number;
}

/** mulberry32: small, fast, good enough for reproducible shuffles. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The random stream of service `i`: the same for every call with the same seed. */
export function serviceRandom(seed: number, i: number): () => number {
  return seededRandom(Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(i + 1, 0xc2b2ae35));
}

function ipv4(base: number, index: number): string {
  const n = (base + index) >>> 0;
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

const SERVICE_BASE = (10 << 24) | (96 << 16); // 10.96.0.0/12 holds a million services
const POD_BASE = (10 << 24) | (128 << 16); // 10.128.0.0/9: pods (the cluster CIDR to configure)
const POD_VERSION_STRIDE = 1 << 19; // each endpoint version shifts pod addresses by 512k
const POD_RANGE = (1 << 23) - 2; // 10.128.0.1 … 10.255.255.254; versions wrap around inside it
const LB_BASE = (100 << 24) | (64 << 16); // 100.64.0.0/10: load balancer IPs
const EXTERNAL_BASE = (100 << 24) | (112 << 16); // 100.112.0.0/12: externalIPs

/** The address range of generated pod IPs (every version): configure it as the cluster CIDR. */
export const POD_CIDR = '10.128.0.0/9';

export const DEFAULT_NODE_NAME = 'node-0';

export function serviceName(i: number): string {
  return `svc-${i}`;
}

export function nodeObject(nodeName: string, nodeIP: string): unknown {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: nodeName, labels: { 'topology.kubernetes.io/zone': 'zone-0' } },
    status: { addresses: [{ type: 'InternalIP', address: nodeIP }] },
  };
}

export function generateCluster(opts: GenerateOptions): unknown[] {
  const seed = opts.seed ?? 1;
  const nodes = opts.nodes ?? 10;
  const objects: unknown[] = [nodeObject(opts.nodeName ?? DEFAULT_NODE_NAME, opts.nodeIP ?? '192.168.0.10')];
  for (let i = 0; i < opts.services; i++) objects.push(...generateService(i, opts.endpoints, nodes, serviceRandom(seed, i)));
  return objects;
}

/**
 * One service and its slice. Called with the same `random` stream (`serviceRandom`) and a
 * different `version`, it returns the same Service and a slice whose endpoints all have
 * new pod IPs (a rollout).
 */
export function generateService(
  i: number,
  endpointCount: number,
  nodes: number,
  random: () => number,
  version = 0,
): [unknown, unknown] {
  // Every fifth service is external (NodePort or LoadBalancer) while NodePorts last: the
  // default range 30000-32767 holds 2768, two per service are reserved for multi-port ones.
  const externalSlot = i % 5 === 0 ? i / 5 : -1;
  const external = externalSlot >= 0 && externalSlot * 2 + 1 <= 2767;
  const type = !external ? 'ClusterIP' : externalSlot % 2 === 0 ? 'NodePort' : 'LoadBalancer';
  const udp = random() < 0.05;
  const multiPort = random() < 0.03;
  const affinity = random() < 0.05;
  const local = type !== 'ClusterIP' && random() < 0.3;
  const ranges = type === 'LoadBalancer' && random() < 0.5;
  const externalIPs = random() < 0.02;
  const internalLocal = random() < 0.01;
  const unready = random() < 0.02;
  const protocol = udp ? 'UDP' : 'TCP';
  const ports = multiPort
    ? [
        { name: 'http', port: 80, targetPort: 8080, protocol },
        { name: 'https', port: 443, targetPort: 8443, protocol },
      ]
    : [{ name: 'p', port: 80, targetPort: 8080, protocol }];
  const nodePortBase = 30000 + externalSlot * 2;
  const spec: Record<string, unknown> = {
    type,
    clusterIP: ipv4(SERVICE_BASE, i + 1),
    ports: ports.map((p, k) => (type === 'ClusterIP' ? p : { ...p, nodePort: nodePortBase + k })),
  };
  if (affinity) spec.sessionAffinity = 'ClientIP';
  if (local) {
    spec.externalTrafficPolicy = 'Local';
    spec.healthCheckNodePort = 32000 + (i % 700);
  }
  if (ranges) spec.loadBalancerSourceRanges = ['192.0.2.0/24', '198.51.100.0/24'];
  if (externalIPs) spec.externalIPs = [ipv4(EXTERNAL_BASE, i)];
  if (internalLocal) spec.internalTrafficPolicy = 'Local';
  const status = type === 'LoadBalancer' ? { loadBalancer: { ingress: [{ ip: ipv4(LB_BASE, i) }] } } : {};
  const service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { namespace: `ns-${i % 50}`, name: serviceName(i) },
    spec,
    status,
  };
  const endpoints = [];
  for (let e = 0; e < endpointCount; e++) {
    endpoints.push({
      addresses: [ipv4(POD_BASE, 1 + ((i * endpointCount + e + version * POD_VERSION_STRIDE) % POD_RANGE))],
      conditions: { ready: !unready, serving: !unready, terminating: false },
      nodeName: `node-${Math.floor(random() * nodes)}`,
    });
  }
  // Listed out of address order (Fisher-Yates on the service's stream, after every other
  // draw): what a slice lists follows its pods, and a benchmark of lists already sorted by
  // address would skip the compiler's sorting.
  for (let e = endpoints.length - 1; e > 0; e--) {
    const j = Math.floor(random() * (e + 1));
    [endpoints[e], endpoints[j]] = [endpoints[j]!, endpoints[e]!];
  }
  const slice = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      namespace: `ns-${i % 50}`,
      name: `${serviceName(i)}-abcde`,
      labels: { 'kubernetes.io/service-name': serviceName(i) },
    },
    addressType: 'IPv4',
    ports: ports.map((p) => ({ name: p.name, port: p.targetPort, protocol })),
    endpoints,
  };
  return [service, slice];
}
