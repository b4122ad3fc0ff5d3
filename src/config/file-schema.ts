/**
 * The fields of kube-proxy's `KubeProxyConfiguration` (`kubeproxy.config.k8s.io/v1alpha1`,
 * k8s.io/kube-proxy/config/v1alpha1/types.go) that kpx knows, and what it does with each.
 * A field missing here is an error, so a typo cannot silently fall back to a default.
 *
 * - `use`: read by `resolveRunConfig`.
 * - `silent`: accepted and ignored; it has no meaning for kpx (ipvs, winkernel, client
 *   tuning) or kpx does the same thing anyway.
 * - `warn`: accepted; when set to anything but its zero value, kpx says it ignores it.
 */

export type LeafType = 'string' | 'boolean' | 'int' | 'number' | 'duration' | 'stringList' | 'boolMap' | 'any';

export interface Leaf {
  type: LeafType;
  handling: 'use' | 'silent' | 'warn';
  /** Why kpx ignores a `warn` field. */
  reason?: string;
}

export interface Section {
  [field: string]: Leaf | Section;
}

export function isLeaf(node: Leaf | Section): node is Leaf {
  return typeof (node as Leaf).type === 'string' && typeof (node as Leaf).handling === 'string';
}

const use = (type: LeafType): Leaf => ({ type, handling: 'use' });
const silent = (type: LeafType): Leaf => ({ type, handling: 'silent' });
const warn = (type: LeafType, reason: string): Leaf => ({ type, handling: 'warn', reason });

const NO_CONNTRACK = 'kpx does not tune conntrack sysctls; set them on the node if needed';

const syncSection = (): Section => ({
  masqueradeBit: use('int'),
  masqueradeAll: use('boolean'),
  syncPeriod: use('duration'),
  minSyncPeriod: use('duration'),
});

export const KUBE_PROXY_CONFIGURATION: Section = {
  apiVersion: use('string'),
  kind: use('string'),
  featureGates: warn('boolMap', 'kpx has no feature gates; they are accepted and have no effect'),
  clientConnection: {
    kubeconfig: use('string'),
    acceptContentTypes: silent('string'),
    contentType: silent('string'),
    qps: silent('number'),
    burst: silent('int'),
  },
  logging: {
    verbosity: use('int'),
    format: silent('string'),
    flushFrequency: silent('any'),
    vmodule: silent('any'),
    options: silent('any'),
  },
  hostnameOverride: use('string'),
  bindAddress: use('string'),
  healthzBindAddress: use('string'),
  metricsBindAddress: use('string'),
  bindAddressHardFail: use('boolean'),
  enableProfiling: warn('boolean', 'kpx serves no /debug/pprof handlers'),
  showHiddenMetricsForVersion: warn('string', 'kpx has no hidden metrics'),
  mode: use('string'),
  // Not part of v1alpha1: the internal config's names, accepted for files written for them.
  syncPeriod: use('duration'),
  minSyncPeriod: use('duration'),
  iptables: {
    ...syncSection(),
    localhostNodePorts: warn('boolean', 'kpx never accepts NodePort traffic on loopback addresses'),
    snatNodeInternalIP: warn('boolean', 'kpx masquerades to the egress interface address'),
  },
  nftables: {
    ...syncSection(),
    tableName: warn('string', 'kpx always owns the tables "ip kpx" and "ip6 kpx"'),
  },
  ipvs: {
    syncPeriod: silent('duration'),
    minSyncPeriod: silent('duration'),
    scheduler: silent('string'),
    excludeCIDRs: silent('stringList'),
    strictARP: silent('boolean'),
    tcpTimeout: silent('duration'),
    tcpFinTimeout: silent('duration'),
    udpTimeout: silent('duration'),
  },
  winkernel: {
    networkName: silent('string'),
    sourceVip: silent('string'),
    enableDSR: silent('boolean'),
    rootHnsEndpointName: silent('string'),
    forwardHealthCheckVip: silent('boolean'),
  },
  detectLocalMode: use('string'),
  detectLocal: {
    bridgeInterface: warn('string', 'only detectLocalMode BridgeInterface uses it, which kpx does not support'),
    interfaceNamePrefix: warn('string', 'only detectLocalMode InterfaceNamePrefix uses it, which kpx does not support'),
  },
  clusterCIDR: use('string'),
  nodePortAddresses: use('stringList'),
  oomScoreAdj: warn('int', "kpx does not adjust its OOM score; set it through the pod's priority and resources"),
  conntrack: {
    maxPerCore: warn('int', NO_CONNTRACK),
    min: warn('int', NO_CONNTRACK),
    tcpEstablishedTimeout: warn('duration', NO_CONNTRACK),
    tcpCloseWaitTimeout: warn('duration', NO_CONNTRACK),
    tcpBeLiberal: warn('boolean', NO_CONNTRACK),
    udpTimeout: warn('duration', NO_CONNTRACK),
    udpStreamTimeout: warn('duration', NO_CONNTRACK),
  },
  configSyncPeriod: silent('duration'),
  portRange: silent('string'),
  serviceProxyName: use('string'),
  windowsRunAsService: silent('boolean'),
};
