import { describe, expect, it } from 'vitest';
import { resolveRunConfig, type RunConfig, type RunFlags } from '../../src/config/run-config.js';

const env = { hostname: 'Worker-1' };

function ok(flags: RunFlags, file: string | null = null, e: { hostname: string; NODE_NAME?: string } = env): RunConfig {
  const result = resolveRunConfig(flags, file, e);
  if ('error' in result) throw new Error(`unexpected error: ${result.error}`);
  return result.config;
}

function err(flags: RunFlags, file: string | null = null): string {
  const result = resolveRunConfig(flags, file, env);
  if (!('error' in result)) throw new Error('expected an error');
  return result.error;
}

const header = 'apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n';

/** The shape kubeadm writes into the kube-proxy ConfigMap: every field, mostly zero values. */
const KUBEADM_STYLE = `${header}bindAddress: 0.0.0.0
bindAddressHardFail: false
clientConnection:
  acceptContentTypes: ""
  burst: 0
  contentType: ""
  kubeconfig: /var/lib/kube-proxy/kubeconfig.conf
  qps: 0
clusterCIDR: 10.244.0.0/16,fd00:10:244::/56
configSyncPeriod: 0s
conntrack:
  maxPerCore: null
  min: null
  tcpBeLiberal: false
  tcpCloseWaitTimeout: null
  tcpEstablishedTimeout: null
  udpStreamTimeout: 0s
  udpTimeout: 0s
detectLocal:
  bridgeInterface: ""
  interfaceNamePrefix: ""
detectLocalMode: ""
enableProfiling: false
healthzBindAddress: ""
hostnameOverride: ""
iptables:
  localhostNodePorts: null
  masqueradeAll: false
  masqueradeBit: null
  minSyncPeriod: 0s
  syncPeriod: 0s
ipvs:
  excludeCIDRs: null
  minSyncPeriod: 0s
  scheduler: ""
  strictARP: false
  syncPeriod: 0s
  tcpFinTimeout: 0s
  tcpTimeout: 0s
  udpTimeout: 0s
logging:
  flushFrequency: 0
  options:
    json:
      infoBufferSize: "0"
    text:
      infoBufferSize: "0"
  verbosity: 0
metricsBindAddress: ""
mode: ""
nftables:
  masqueradeAll: false
  masqueradeBit: null
  minSyncPeriod: 0s
  syncPeriod: 0s
nodePortAddresses: null
oomScoreAdj: null
portRange: ""
showHiddenMetricsForVersion: ""
winkernel:
  enableDSR: false
  forwardHealthCheckVip: false
  networkName: ""
  rootHnsEndpointName: ""
  sourceVip: ""
`;

describe('resolveRunConfig defaults', () => {
  it("uses kube-proxy's defaults when nothing is given", () => {
    const c = ok({});
    expect(c).toMatchObject({
      mode: 'iptables',
      kubeconfig: '',
      nodeName: 'worker-1',
      minSyncPeriodMs: 1000,
      syncPeriodMs: 30_000,
      healthTimeoutMs: 60_000,
      masqueradeBit: 14,
      masqueradeMark: 0x4000,
      healthz: { host: '0.0.0.0', port: 10256 },
      metrics: { host: '127.0.0.1', port: 10249 },
      cleanup: false,
      verbosity: 0,
      logLevel: 'info',
      bindAddressHardFail: false,
    });
    expect(c.proxy).toEqual({
      nodeName: 'worker-1',
      nodeIPs: [],
      clusterCIDRs: [],
      masqueradeAll: false,
      nodePortAddresses: ['0.0.0.0/0', '::/0'],
      masqueradeMark: 0x4000,
    });
    expect(c.warnings.join('\n')).toMatch(/no cluster CIDR/);
  });

  it('defaults nodePortAddresses to the primary IPs in nftables mode, as kube-proxy', () => {
    expect(ok({ proxyMode: 'nftables' }).proxy.nodePortAddresses).toEqual([]);
  });

  it('loads a kubeadm-style file full of zero values with no warnings and the defaults', () => {
    const c = ok({}, KUBEADM_STYLE);
    expect(c.warnings).toEqual([]);
    expect(c).toMatchObject({
      mode: 'iptables',
      kubeconfig: '/var/lib/kube-proxy/kubeconfig.conf',
      minSyncPeriodMs: 1000,
      syncPeriodMs: 30_000,
      masqueradeBit: 14,
      healthz: { host: '0.0.0.0', port: 10256 },
      metrics: { host: '127.0.0.1', port: 10249 },
    });
    expect(c.proxy.clusterCIDRs).toEqual(['10.244.0.0/16', 'fd00:10:244::/56']);
  });
});

describe('resolveRunConfig precedence', () => {
  const file = `${header}mode: nftables
clusterCIDR: 10.244.0.0/16
hostnameOverride: From-File
metricsBindAddress: 0.0.0.0:9100
nodePortAddresses: [192.168.0.0/16]
iptables:
  syncPeriod: 5m
  masqueradeBit: 3
nftables:
  masqueradeAll: true
  masqueradeBit: 5
  syncPeriod: 10s
  minSyncPeriod: 2s
logging:
  verbosity: 4
`;

  it('takes the settings of the selected mode from the file', () => {
    const c = ok({}, file);
    expect(c).toMatchObject({
      mode: 'nftables',
      nodeName: 'from-file',
      syncPeriodMs: 10_000,
      minSyncPeriodMs: 2000,
      healthTimeoutMs: 20_000,
      masqueradeBit: 5,
      masqueradeMark: 0x20,
      metrics: { host: '0.0.0.0', port: 9100 },
      verbosity: 4,
      logLevel: 'debug',
    });
    expect(c.proxy).toMatchObject({ masqueradeAll: true, clusterCIDRs: ['10.244.0.0/16'], nodePortAddresses: ['192.168.0.0/16'] });
  });

  it('lets flags override the file', () => {
    const c = ok(
      {
        proxyMode: 'iptables',
        minSyncPeriod: '0s',
        clusterCidr: '10.0.0.0/8',
        hostnameOverride: 'Flag-Node',
        metricsBindAddress: '',
        nodeportAddresses: ['primary'],
        masqueradeAll: false,
        v: '6',
      },
      file,
    );
    expect(c).toMatchObject({
      mode: 'iptables',
      nodeName: 'flag-node',
      minSyncPeriodMs: 0,
      syncPeriodMs: 300_000,
      masqueradeBit: 3,
      metrics: null,
      logLevel: 'trace',
    });
    expect(c.proxy).toMatchObject({ masqueradeAll: false, clusterCIDRs: ['10.0.0.0/8'], nodePortAddresses: [] });
  });

  it('takes top-level syncPeriod/minSyncPeriod over the mode section', () => {
    const c = ok({}, `${header}syncPeriod: 45s\nminSyncPeriod: 3s\niptables:\n  syncPeriod: 5m\n`);
    expect([c.syncPeriodMs, c.minSyncPeriodMs]).toEqual([45_000, 3000]);
  });

  it('names the node: override flag, then file, then NODE_NAME, then hostname', () => {
    const withOverride = `${header}hostnameOverride: file-node\n`;
    const e = { hostname: 'Host', NODE_NAME: 'Env-Node' };
    expect(ok({ hostnameOverride: 'flag-node' }, withOverride, e).nodeName).toBe('flag-node');
    expect(ok({}, withOverride, e).nodeName).toBe('file-node');
    expect(ok({}, null, e).nodeName).toBe('env-node');
    expect(ok({}, null, { hostname: 'Host' }).nodeName).toBe('host');
  });

  it('uses IPv6 default listen hosts when bindAddress is an IPv6 node IP', () => {
    const c = ok({}, `${header}bindAddress: fd00::10\n`);
    expect(c.proxy.nodeIPs).toEqual(['fd00::10']);
    expect(c.healthz).toEqual({ host: '::', port: 10256 });
    expect(c.metrics).toEqual({ host: '::1', port: 10249 });
  });

  it('appends the default port to a bare IP and accepts bracketed IPv6', () => {
    expect(ok({ healthzBindAddress: '10.0.0.1' }).healthz).toEqual({ host: '10.0.0.1', port: 10256 });
    expect(ok({ metricsBindAddress: '[::1]:9999' }).metrics).toEqual({ host: '::1', port: 9999 });
  });
});

describe('resolveRunConfig errors', () => {
  it.each([
    [`${header}iptables:\n  masqueradeBits: 14\n`, /unknown field "iptables\.masqueradeBits"/],
    [`${header}udpIdleTimeout: 250ms\n`, /unknown field "udpIdleTimeout"/],
    [`${header}iptables:\n  syncPeriod: 30\n`, /iptables\.syncPeriod: must be a duration/],
    [`${header}nftables:\n  minSyncPeriod: 1 second\n`, /nftables\.minSyncPeriod: must be a duration/],
    [`${header}mode: ipvs\n`, /mode: kpx supports "iptables" and "nftables", not "ipvs"/],
    [`${header}detectLocalMode: NodeCIDR\n`, /detectLocalMode: .*ClusterCIDR.*not "NodeCIDR"/],
    [`${header}detectLocalMode: InterfaceNamePrefix\n`, /detectLocalMode/],
    [`${header}iptables:\n  masqueradeBit: 32\n`, /iptables\.masqueradeBit: must be an integer from 0 to 31/],
    [`${header}iptables:\n  masqueradeAll: yes\n`, /iptables\.masqueradeAll: must be true or false/],
    [`${header}iptables:\n  syncPeriod: 1s\n  minSyncPeriod: 5s\n`, /minSyncPeriod: 5s is longer than syncPeriod 1s/],
    [`${header}clusterCIDR: 10.0.0.0/8,10.1.0.0/16\n`, /clusterCIDR: at most one IPv4 value/],
    [`${header}clusterCIDR: 10.0.0.0/33\n`, /clusterCIDR: "10.0.0.0\/33" is not a CIDR/],
    [`${header}nodePortAddresses: [localhost]\n`, /nodePortAddresses: "localhost" is not supported/],
    [`${header}nodePortAddresses: [primary, 10.0.0.0/8]\n`, /"primary" cannot be combined/],
    [`${header}healthzBindAddress: "host.example:10256"\n`, /healthzBindAddress: .* is not an IP address/],
    [`${header}metricsBindAddress: "127.0.0.1:70000"\n`, /metricsBindAddress: port "70000"/],
    [`${header}serviceProxyName: other\n`, /serviceProxyName: not supported/],
    [`${header}iptables: [1, 2]\n`, /iptables: must be a mapping/],
    ['apiVersion: kubeproxy.config.k8s.io/v1alpha2\nkind: KubeProxyConfiguration\n', /apiVersion: must be "kubeproxy\.config\.k8s\.io\/v1alpha1"/],
    ['apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeletConfiguration\n', /kind: must be "KubeProxyConfiguration"/],
    [`${header}---\n${header}`, /one KubeProxyConfiguration document, found 2/],
    [`${header}mode: [unclosed\n`, /not valid YAML or JSON/],
    ['', /empty/],
  ])('refuses file %#', (file, message) => {
    const error = err({}, file);
    expect(error).toMatch(/^--config: |^[a-zA-Z]/);
    expect(error).toMatch(message);
  });

  it.each([
    [{ proxyMode: 'userspace' }, /--proxy-mode: kpx supports "iptables" and "nftables", not "userspace"/],
    [{ syncPeriod: '30' }, /--sync-period: "30" is not a duration/],
    [{ minSyncPeriod: 'soon' }, /--min-sync-period: "soon" is not a duration/],
    [{ iptablesSyncPeriod: '0s' }, /--iptables-sync-period: must be greater than 0/],
    [{ syncPeriod: '1s', minSyncPeriod: '2s' }, /--min-sync-period: 2s is longer than --sync-period 1s/],
    [{ minSyncPeriod: '-1s' }, /--min-sync-period: must not be negative/],
    [{ iptablesMasqueradeBit: '40' }, /--iptables-masquerade-bit: must be an integer from 0 to 31/],
    [{ clusterCidr: 'nope' }, /--cluster-cidr: "nope" is not a CIDR/],
    [{ nodeportAddresses: ['10.0.0.0/8', 'bogus'] }, /--nodeport-addresses: "bogus"/],
    [{ healthzBindAddress: 'localhost:10256' }, /--healthz-bind-address: .* is not an IP address/],
    [{ hostnameOverride: '  ' }, /--hostname-override: must not be empty/],
    [{ hostnameOverride: 'bad_name' }, /--hostname-override: "bad_name" is not a valid node name/],
    [{ v: 'loud' }, /--v: must be a non-negative integer/],
  ] as [RunFlags, RegExp][])('refuses flags %j', (flags, message) => {
    expect(err(flags)).toMatch(message);
  });

  it('reports the file error before looking at flags', () => {
    expect(err({ proxyMode: 'nftables' }, `${header}bogus: 1\n`)).toMatch(/^--config: unknown field "bogus"/);
  });
});

describe('resolveRunConfig warnings', () => {
  it('accepts and reports what kpx ignores', () => {
    const c = ok(
      {},
      `${header}clusterCIDR: 10.244.0.0/16
conntrack:
  maxPerCore: 32768
  tcpEstablishedTimeout: 24h
oomScoreAdj: -999
featureGates:
  SomeGate: true
iptables:
  localhostNodePorts: true
detectLocal:
  bridgeInterface: cbr0
`,
    );
    expect(c.featureGates).toEqual({ SomeGate: true });
    expect(c.warnings).toEqual([
      expect.stringMatching(/^conntrack\.maxPerCore is ignored: kpx does not tune conntrack/),
      expect.stringMatching(/^conntrack\.tcpEstablishedTimeout is ignored/),
      expect.stringMatching(/^detectLocal\.bridgeInterface is ignored/),
      expect.stringMatching(/^featureGates is ignored/),
      expect.stringMatching(/^iptables\.localhostNodePorts is ignored: kpx never accepts NodePort traffic on loopback/),
      expect.stringMatching(/^oomScoreAdj is ignored/),
    ]);
  });

  it('accepts the same configuration as JSON', () => {
    const json = JSON.stringify({
      apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
      kind: 'KubeProxyConfiguration',
      mode: 'nftables',
      clusterCIDR: '10.244.0.0/16',
      nftables: { syncPeriod: '1m30s' },
    });
    expect(ok({}, json)).toMatchObject({ mode: 'nftables', syncPeriodMs: 90_000, warnings: [] });
  });
});

describe('resolveRunConfig nodePortAddresses', () => {
  it('treats an empty list as unset, per mode', () => {
    expect(ok({}, `${header}nodePortAddresses: []\n`).proxy.nodePortAddresses).toEqual(['0.0.0.0/0', '::/0']);
    expect(ok({ proxyMode: 'nftables', nodeportAddresses: [] }).proxy.nodePortAddresses).toEqual([]);
  });

  it('expands "all" and canonicalizes CIDRs', () => {
    expect(ok({ nodeportAddresses: ['all'] }).proxy.nodePortAddresses).toEqual(['0.0.0.0/0', '::/0']);
    expect(ok({ nodeportAddresses: ['10.1.2.3/8', '10.0.0.0/8'] }).proxy.nodePortAddresses).toEqual(['10.0.0.0/8']);
    expect(ok({ proxyMode: 'iptables' }, `${header}nodePortAddresses: [primary]\n`).proxy.nodePortAddresses).toEqual([]);
  });
});
