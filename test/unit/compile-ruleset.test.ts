import { describe, expect, it } from 'vitest';
import { compileRuleset } from '../../src/compile/compile.js';
import { endpointAddress } from '../../src/compile/intent.js';
import type { IPFamily } from '../../src/model/types.js';
import { clusterState, config, endpoint, node, NODE, port, service, slice, slicePort } from './compile-fixtures.js';

const empty = clusterState([]);

describe('compileRuleset: node IPs and NodePort addresses', () => {
  it.each([
    {
      case: 'default: the Node primary IP as a host CIDR',
      family: 4 as IPFamily,
      cfg: config(),
      state: empty,
      nodeIPs: ['192.168.0.10'],
      nodePortCIDRs: ['192.168.0.10/32'],
    },
    {
      case: 'default, IPv6',
      family: 6 as IPFamily,
      cfg: config(),
      state: empty,
      nodeIPs: ['fd00:192::10'],
      nodePortCIDRs: ['fd00:192::10/128'],
    },
    {
      case: 'only the first Node address of the family is primary',
      family: 4 as IPFamily,
      cfg: config(),
      state: clusterState([], [], { node: node({ addresses: ['fd00:192::10', '192.168.0.10', '203.0.113.10'] }) }),
      nodeIPs: ['192.168.0.10'],
      nodePortCIDRs: ['192.168.0.10/32'],
    },
    {
      case: '--node-ip wins over the Node',
      family: 4 as IPFamily,
      cfg: config({ nodeIPs: ['192.168.0.99', 'fd00:192::99'] }),
      state: empty,
      nodeIPs: ['192.168.0.99'],
      nodePortCIDRs: ['192.168.0.99/32'],
    },
    {
      case: '--node-ip of the other family only: the Node address',
      family: 4 as IPFamily,
      cfg: config({ nodeIPs: ['fd00:192::99'] }),
      state: empty,
      nodeIPs: ['192.168.0.10'],
      nodePortCIDRs: ['192.168.0.10/32'],
    },
    {
      case: '--nodeport-addresses of the family, loopback-only ranges removed',
      family: 4 as IPFamily,
      cfg: config({ nodePortAddresses: ['127.0.0.0/8', '10.0.0.0/8', '127.0.0.1/32', 'fd00::/8', '0.0.0.0/0'] }),
      state: empty,
      nodeIPs: ['192.168.0.10'],
      nodePortCIDRs: ['10.0.0.0/8', '0.0.0.0/0'],
    },
    {
      case: '--nodeport-addresses IPv6, ::1/128 removed',
      family: 6 as IPFamily,
      cfg: config({ nodePortAddresses: ['::1/128', 'fd00::/8', '10.0.0.0/8'] }),
      state: empty,
      nodeIPs: ['fd00:192::10'],
      nodePortCIDRs: ['fd00::/8'],
    },
    {
      case: '--nodeport-addresses without a range of the family: NodePorts off',
      family: 6 as IPFamily,
      cfg: config({ nodePortAddresses: ['10.0.0.0/8'] }),
      state: empty,
      nodeIPs: ['fd00:192::10'],
      nodePortCIDRs: [],
    },
    {
      case: '--nodeport-addresses with loopback only: NodePorts off',
      family: 4 as IPFamily,
      cfg: config({ nodePortAddresses: ['127.0.0.0/8'] }),
      state: empty,
      nodeIPs: ['192.168.0.10'],
      nodePortCIDRs: [],
    },
    {
      case: 'no node IP but --nodeport-addresses given: no fallback',
      family: 4 as IPFamily,
      cfg: config({ nodePortAddresses: ['10.0.0.0/8'] }),
      state: clusterState([], [], { node: null }),
      nodeIPs: [],
      nodePortCIDRs: ['10.0.0.0/8'],
    },
  ])('$case', ({ family, cfg, state, nodeIPs, nodePortCIDRs }) => {
    const { intent, problems } = compileRuleset(state, cfg, family);
    expect(intent.nodeIPs).toEqual(nodeIPs);
    expect(intent.nodePortCIDRs).toEqual(nodePortCIDRs);
    expect(problems).toEqual([]);
  });

  it.each([
    { family: 4 as IPFamily, every: '0.0.0.0/0', node: null },
    { family: 6 as IPFamily, every: '::/0', node: node({ addresses: ['192.168.0.10'] }) },
  ])('no node IP known and no flag (IPv$family): every address, with a Node problem', ({ family, every, node: n }) => {
    const { intent, problems } = compileRuleset(clusterState([], [], { node: n }), config(), family);
    expect(intent.nodeIPs).toEqual([]);
    expect(intent.nodePortCIDRs).toEqual([every]);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ kind: 'Node', namespace: '', name: NODE });
    expect(problems[0]?.reason).toContain(`IPv${family}`);
  });
});

describe('compileRuleset: masquerade, pod and service CIDRs', () => {
  it.each([false, true])('masqueradeAll=%s, mark 0x4000', (all) => {
    expect(compileRuleset(empty, config({ masqueradeAll: all }), 4).intent.masquerade).toEqual({ mark: 0x4000, all });
  });

  it('uses the configured masquerade mark (--iptables-masquerade-bit) in both families', () => {
    for (const family of [4, 6] as const) {
      expect(compileRuleset(empty, config({ masqueradeMark: 0x8000 }), family).intent.masquerade.mark).toBe(0x8000);
    }
  });

  it.each([
    { cidrs: ['10.180.0.0/14', 'fd00:180::/64'], family: 4 as IPFamily, want: ['10.180.0.0/14'] },
    { cidrs: ['10.180.0.0/14', 'fd00:180::/64'], family: 6 as IPFamily, want: ['fd00:180::/64'] },
    { cidrs: ['10.180.0.0/14'], family: 6 as IPFamily, want: null },
    { cidrs: [], family: 4 as IPFamily, want: null },
  ])('podCIDRs from $cidrs for IPv$family: $want', ({ cidrs, family, want }) => {
    expect(compileRuleset(empty, config({ clusterCIDRs: cidrs }), family).intent.podCIDRs).toEqual(want);
  });

  it('serviceCIDRs of the family', () => {
    const state = clusterState([], [], { serviceCIDRs: ['172.30.0.0/16', 'fd00:30::/108'] });
    expect(compileRuleset(state, config(), 4).intent.serviceCIDRs).toEqual(['172.30.0.0/16']);
    expect(compileRuleset(state, config(), 6).intent.serviceCIDRs).toEqual(['fd00:30::/108']);
  });
});

describe('compileRuleset: services', () => {
  const services = [
    service({ name: 'web', clusterIPs: ['172.30.0.3'], ports: [port({ name: 'dns', protocol: 'UDP' }), port({ name: 'dns', protocol: 'TCP' })] }),
    service({ namespace: 'a', name: 'z', clusterIPs: ['172.30.0.2'] }),
    service({ name: 'v6only', clusterIPs: ['fd00:30::5'] }),
    service({ name: 'svc1', clusterIPs: ['172.30.0.1', 'fd00:30::1'], ports: [port({ name: '' })] }),
  ];
  const slices = [
    slice([endpoint('10.180.0.10'), endpoint('10.180.0.9'), endpoint('10.180.0.100', { nodeName: NODE })], {
      name: 'svc1-b',
      ports: [slicePort({ name: '' })],
    }),
    slice([endpoint('10.180.0.9'), endpoint('10.180.0.2')], { name: 'svc1-a', ports: [slicePort({ name: '', port: 7000 })] }),
    slice([endpoint('fd00:180::a'), endpoint('fd00:180::9')], { name: 'svc1-v6', family: 6, ports: [slicePort({ name: '' })] }),
  ];

  it('keeps services with a ClusterIP of the family, sorted by name then protocol', () => {
    const names = (family: IPFamily) =>
      compileRuleset(clusterState(services, slices), config(), family).intent.services.map((sp) => `${sp.name} ${sp.protocol}`);
    expect(names(4)).toEqual(['a/z:http tcp', 'ns1/svc1 tcp', 'ns1/web:dns tcp', 'ns1/web:dns udp']);
    expect(names(6)).toEqual(['ns1/svc1 tcp', 'ns1/v6only:http tcp']);
  });

  it('endpoints are sorted numerically by address, then port', () => {
    const svc1 = compileRuleset(clusterState(services, slices), config(), 4).intent.services.find((sp) => sp.name === 'ns1/svc1');
    expect(svc1?.endpoints.map((ep) => endpointAddress(ep))).toEqual([
      '10.180.0.2:7000',
      '10.180.0.9:7000',
      '10.180.0.9:8080',
      '10.180.0.10:8080',
      '10.180.0.100:8080',
    ]);
    expect(svc1?.endpoints.filter((ep) => ep.local).map((ep) => endpointAddress(ep))).toEqual(['10.180.0.100:8080']);
    const v6 = compileRuleset(clusterState(services, slices), config(), 6).intent.services.find((sp) => sp.name === 'ns1/svc1');
    expect(v6?.endpoints.map((ep) => endpointAddress(ep))).toEqual(['[fd00:180::9]:8080', '[fd00:180::a]:8080']);
  });

  it('is deterministic: input order does not change the output', () => {
    const forward = compileRuleset(clusterState(services, slices), config(), 4);
    const reversed = compileRuleset(
      clusterState([...services].reverse(), [...slices].reverse().map((s) => ({ ...s, endpoints: [...s.endpoints].reverse() }))),
      config(),
      4,
    );
    expect(JSON.stringify(reversed)).toBe(JSON.stringify(forward));
  });

  it('node labels come from the Node: zone hints honoured for its zone', () => {
    const hinted = [
      slice([endpoint('10.180.0.1', { zoneHints: ['zone-a'] }), endpoint('10.180.0.2', { zoneHints: ['zone-b'] })]),
    ];
    const state = (zone: string) =>
      clusterState([service()], hinted, { node: node({ labels: { 'topology.kubernetes.io/zone': zone } }) });
    const ips = (zone: string) => compileRuleset(state(zone), config(), 4).intent.services[0]?.clusterEndpoints.map((ep) => ep.ip);
    expect(ips('zone-a')).toEqual(['10.180.0.1']);
    expect(ips('zone-b')).toEqual(['10.180.0.2']);
  });
});
