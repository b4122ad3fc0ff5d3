/**
 * v1 Service → Service. Services kube-proxy does not proxy are skipped silently (no
 * problem): type ExternalName, no cluster IP ("" or "None", i.e. headless), and those
 * labelled `service.kubernetes.io/service-proxy-name` or `service.kubernetes.io/headless`
 * (kube-proxy's informer selects them away). Any invalid field skips the whole Service,
 * with one problem per reason: a half-programmed service is harder to diagnose than a
 * missing one, and the operator is told.
 */
import { readCIDRList, readIP, readIPList } from './addresses.js';
import {
  type Findings,
  type RawRecord,
  field,
  isAbsent,
  isRecord,
  readEnum,
  readInt,
  readList,
  readRecord,
  show,
} from './fields.js';
import { checkDNS1035Label } from './k8s-names.js';
import { findingsFor, hasLabel, readIdentity } from './metadata.js';
import { readServicePorts } from './service-ports.js';
import type { Problem, Service, ServiceType, TrafficPolicy } from './types.js';

export const SERVICE_PROXY_NAME_LABEL = 'service.kubernetes.io/service-proxy-name';
export const HEADLESS_LABEL = 'service.kubernetes.io/headless';
/** `spec.sessionAffinityConfig.clientIP.timeoutSeconds` default and maximum (3 h and 1 day). */
export const DEFAULT_AFFINITY_TIMEOUT_SECONDS = 10800;
export const MAX_AFFINITY_TIMEOUT_SECONDS = 86400;

const SERVICE_TYPES: readonly ServiceType[] = ['ClusterIP', 'NodePort', 'LoadBalancer'];
const TRAFFIC_POLICIES: readonly TrafficPolicy[] = ['Cluster', 'Local'];

/** spec.clusterIPs when set (the API server keeps clusterIPs[0] == clusterIP), else [spec.clusterIP]. */
function clusterIPSource(spec: unknown): { path: string; list: boolean; value: unknown } {
  const list = field(spec, 'clusterIPs');
  const useList = !isAbsent(list) && !(Array.isArray(list) && list.length === 0);
  return useList
    ? { path: 'spec.clusterIPs', list: true, value: list }
    : { path: 'spec.clusterIP', list: false, value: field(spec, 'clusterIP') };
}

/** kube-proxy's `ShouldSkipService` plus its informer's label selector. */
function isSkippedOnPurpose(raw: RawRecord): boolean {
  if (hasLabel(raw, SERVICE_PROXY_NAME_LABEL) || hasLabel(raw, HEADLESS_LABEL)) return true;
  const spec = field(raw, 'spec');
  if (field(spec, 'type') === 'ExternalName') return true;
  const source = clusterIPSource(spec);
  if (source.list && !Array.isArray(source.value)) return false;
  const primary: unknown = source.list ? (source.value as unknown[])[0] : source.value;
  return isAbsent(primary) || primary === '' || primary === 'None';
}

/** spec.clusterIPs (else spec.clusterIP): canonical, at most one per family. */
function readClusterIPs(f: Findings, spec: RawRecord): string[] {
  const source = clusterIPSource(spec);
  const items = source.list ? readList(f, source.path, source.value) : [source.value];
  const ips: string[] = [];
  const families = new Set<number>();
  items.forEach((item, i) => {
    const path = source.list ? `${source.path}[${i}]` : source.path;
    const parsed = readIP(f, path, item);
    if (!parsed) return;
    if (families.has(parsed.family)) f.add(path, `a second IPv${parsed.family} cluster IP (${parsed.ip})`);
    families.add(parsed.family);
    ips.push(parsed.ip);
  });
  return ips;
}

/**
 * status.loadBalancer.ingress[].ip. Entries with only a hostname carry no IP to program;
 * entries with `ipMode: Proxy` are reached through the load balancer's own proxy, so
 * kube-proxy programs nothing for them (and neither does kpx).
 */
function readLoadBalancerIPs(f: Findings, status: unknown): string[] {
  const loadBalancer = readRecord(f, 'status.loadBalancer', field(readRecord(f, 'status', status), 'loadBalancer'));
  const ips: string[] = [];
  readList(f, 'status.loadBalancer.ingress', field(loadBalancer, 'ingress')).forEach((item, i) => {
    const path = `status.loadBalancer.ingress[${i}]`;
    const ingress = readRecord(f, path, item);
    const ipMode = readEnum(f, `${path}.ipMode`, field(ingress, 'ipMode'), ['VIP', 'Proxy'], 'VIP');
    const ip = field(ingress, 'ip');
    if (ipMode === 'Proxy' || isAbsent(ip) || ip === '') return;
    const parsed = readIP(f, `${path}.ip`, ip);
    if (parsed && !ips.includes(parsed.ip)) ips.push(parsed.ip);
  });
  return ips;
}

/** null for no affinity; else the ClientIP timeout in seconds. */
function readAffinity(f: Findings, spec: RawRecord): number | null {
  const affinity = readEnum(f, 'spec.sessionAffinity', field(spec, 'sessionAffinity'), ['None', 'ClientIP'], 'None');
  if (affinity === 'None') return null;
  const config = readRecord(f, 'spec.sessionAffinityConfig', field(spec, 'sessionAffinityConfig'));
  const clientIP = readRecord(f, 'spec.sessionAffinityConfig.clientIP', field(config, 'clientIP'));
  return readInt(
    f,
    'spec.sessionAffinityConfig.clientIP.timeoutSeconds',
    field(clientIP, 'timeoutSeconds'),
    1,
    MAX_AFFINITY_TIMEOUT_SECONDS,
    DEFAULT_AFFINITY_TIMEOUT_SECONDS,
  );
}

/** "Global" is the pre-1.14 spelling of Cluster, still accepted by kube-proxy. */
function readExternalTrafficPolicy(f: Findings, spec: RawRecord): TrafficPolicy {
  const value = field(spec, 'externalTrafficPolicy');
  if (value === 'Global') return 'Cluster';
  return readEnum(f, 'spec.externalTrafficPolicy', value, TRAFFIC_POLICIES, 'Cluster');
}

export function normalizeService(raw: unknown): { service: Service | null; problems: Problem[] } {
  const f = findingsFor('Service', raw, true);
  if (!isRecord(raw)) {
    f.add('object', `${show(raw)} is not an object`);
    return { service: null, problems: f.problems };
  }
  if (isSkippedOnPurpose(raw)) return { service: null, problems: [] };

  const identity = readIdentity(f, raw, true, checkDNS1035Label);
  const spec = readRecord(f, 'spec', field(raw, 'spec'));
  const type = readEnum(f, 'spec.type', field(spec, 'type'), SERVICE_TYPES, 'ClusterIP');
  const clusterIPs = readClusterIPs(f, spec);
  const externalIPs = readIPList(f, 'spec.externalIPs', field(spec, 'externalIPs'));
  const loadBalancerIPs = readLoadBalancerIPs(f, field(raw, 'status'));
  const loadBalancerSourceRanges = readCIDRList(f, 'spec.loadBalancerSourceRanges', field(spec, 'loadBalancerSourceRanges'));
  const ports = readServicePorts(f, field(spec, 'ports'));
  const sessionAffinityTimeout = readAffinity(f, spec);
  const externalTrafficPolicy = readExternalTrafficPolicy(f, spec);
  const internalTrafficPolicy = readEnum(
    f,
    'spec.internalTrafficPolicy',
    field(spec, 'internalTrafficPolicy'),
    TRAFFIC_POLICIES,
    'Cluster',
  );
  const healthCheckNodePort = readInt(f, 'spec.healthCheckNodePort', field(spec, 'healthCheckNodePort'), 0, 65535, 0);
  if (!identity || !f.clean) return { service: null, problems: f.problems };

  return {
    service: {
      namespace: identity.namespace,
      name: identity.name,
      type,
      clusterIPs,
      externalIPs,
      loadBalancerIPs,
      loadBalancerSourceRanges,
      ports,
      sessionAffinityTimeout,
      externalTrafficPolicy,
      internalTrafficPolicy,
      // kube-proxy's NeedsHealthCheck: the port is served only for LoadBalancer + Local.
      healthCheckNodePort: type === 'LoadBalancer' && externalTrafficPolicy === 'Local' ? healthCheckNodePort : 0,
    },
    problems: [],
  };
}
