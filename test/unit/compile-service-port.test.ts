import { describe, expect, it } from 'vitest';
import { compileService, type CompileContext } from '../../src/compile/compile.js';
import { endpointAddress } from '../../src/compile/intent.js';
import type { Service } from '../../src/model/types.js';
import { endpoint, NODE, port, service, slice, slicePort } from './compile-fixtures.js';

const ctx4: CompileContext = { family: 4, nodeName: NODE, nodeLabels: {}, nodeIPs: ['192.168.0.10'] };
const ctx6: CompileContext = { ...ctx4, family: 6, nodeIPs: ['fd00:192::10'] };

const dualStack = service({
  type: 'LoadBalancer',
  clusterIPs: ['fd00:30::1', '172.30.0.1'],
  externalIPs: ['198.51.100.1', '2001:db8:1::1'],
  loadBalancerIPs: ['2001:db8::7', '203.0.113.7'],
  loadBalancerSourceRanges: ['192.168.0.0/24', 'fd00:192::/64'],
  ports: [port({ nodePort: 30080 })],
});
const dualSlices = [
  slice([endpoint('10.180.0.1')], { name: 'v4' }),
  slice([endpoint('fd00:180::1')], { name: 'v6', family: 6 }),
];

describe('compileService: identity', () => {
  it.each([
    { portName: 'p80', protocol: 'TCP' as const, name: 'ns1/svc1:p80', l4: 'tcp' },
    { portName: '', protocol: 'UDP' as const, name: 'ns1/svc1', l4: 'udp' },
    { portName: 'assoc', protocol: 'SCTP' as const, name: 'ns1/svc1:assoc', l4: 'sctp' },
  ])('$name/$l4', ({ portName, protocol, name, l4 }) => {
    const [sp] = compileService(service({ ports: [port({ name: portName, protocol })] }), [], ctx4);
    expect(sp).toMatchObject({ name, namespace: 'ns1', service: 'svc1', portName, protocol: l4, port: 80 });
  });

  it('one intent per port, in spec order', () => {
    const svc = service({ ports: [port({ name: 'b', port: 81 }), port({ name: 'a', port: 80, protocol: 'UDP' })] });
    expect(compileService(svc, [], ctx4).map((sp) => `${sp.name}/${sp.protocol}`)).toEqual(['ns1/svc1:b/tcp', 'ns1/svc1:a/udp']);
  });

  it('endpoint addresses use the slice port, brackets for IPv6', () => {
    const [sp] = compileService(dualStack, dualSlices, ctx6);
    expect(sp?.endpoints).toEqual([{ ip: 'fd00:180::1', port: 8080, local: false }]);
    expect(sp?.endpoints.map(endpointAddress)).toEqual(['[fd00:180::1]:8080']);
  });
});

describe('compileService: family filter', () => {
  it('a service without a ClusterIP of the family is left out', () => {
    expect(compileService(service({ clusterIPs: ['172.30.0.1'] }), [], ctx6)).toEqual([]);
    expect(compileService(service({ clusterIPs: ['fd00:30::1'] }), [], ctx4)).toEqual([]);
  });

  it.each([
    { ctx: ctx4, clusterIP: '172.30.0.1', ext: ['198.51.100.1'], lb: ['203.0.113.7'], ranges: ['192.168.0.0/24'], ep: '10.180.0.1' },
    { ctx: ctx6, clusterIP: 'fd00:30::1', ext: ['2001:db8:1::1'], lb: ['2001:db8::7'], ranges: ['fd00:192::/64'], ep: 'fd00:180::1' },
  ])('IPv$ctx.family takes only its own addresses', ({ ctx, clusterIP, ext, lb, ranges, ep }) => {
    const [sp] = compileService(dualStack, dualSlices, ctx);
    expect(sp?.clusterIP).toBe(clusterIP);
    expect(sp?.externalIPs).toEqual(ext);
    expect(sp?.loadBalancerIPs).toEqual(lb);
    expect(sp?.firewall?.sourceRanges).toEqual(ranges);
    expect(sp?.endpoints.map((e) => e.ip)).toEqual([ep]);
  });
});

describe('compileService: NodePorts and health checks', () => {
  it.each([
    { type: 'ClusterIP' as const, nodePort: 0, external: false },
    { type: 'NodePort' as const, nodePort: 30080, external: true },
    { type: 'LoadBalancer' as const, nodePort: 30080, external: true },
  ])('$type: nodePort $nodePort', ({ type, nodePort, external }) => {
    const [sp] = compileService(service({ type, ports: [port({ nodePort: 30080 })] }), [], ctx4);
    expect(sp?.nodePort).toBe(nodePort);
    expect(sp?.external !== null).toBe(external);
  });

  it('a LoadBalancer without NodePorts is external once it has an IP of the family', () => {
    const noNodePorts = service({ type: 'LoadBalancer', ports: [port({ nodePort: 0 })] });
    expect(compileService(noNodePorts, [], ctx4)[0]?.external).toBeNull();
    const withIP = { ...noNodePorts, loadBalancerIPs: ['203.0.113.7'] };
    expect(compileService(withIP, [], ctx4)[0]?.external).toEqual({ policy: 'cluster', noEndpoints: 'REJECT' });
  });

  it.each([
    { etp: 'Local' as const, type: 'LoadBalancer' as const, want: 31000 },
    { etp: 'Cluster' as const, type: 'LoadBalancer' as const, want: 0 },
    { etp: 'Local' as const, type: 'ClusterIP' as const, want: 0 },
  ])('healthCheckNodePort with $type, ETP $etp: $want', ({ etp, type, want }) => {
    const svc = service({ type, externalTrafficPolicy: etp, healthCheckNodePort: 31000, ports: [port({ nodePort: 30080 })] });
    expect(compileService(svc, [], ctx4)[0]?.healthCheckNodePort).toBe(want);
  });

  it('affinity timeout comes from the service', () => {
    expect(compileService(service({ sessionAffinityTimeout: 10800 }), [], ctx4)[0]?.affinityTimeoutSeconds).toBe(10800);
    expect(compileService(service(), [], ctx4)[0]?.affinityTimeoutSeconds).toBeNull();
  });
});

describe('compileService: loadBalancerSourceRanges firewall', () => {
  const lb = (overrides: Partial<Service> = {}) =>
    service({
      type: 'LoadBalancer',
      ports: [port({ nodePort: 30080 })],
      loadBalancerIPs: ['203.0.113.7'],
      loadBalancerSourceRanges: ['198.51.100.0/24', '192.168.0.0/16'],
      ...overrides,
    });
  const withEndpoint = [slice([endpoint('10.180.0.1')])];

  it.each([
    {
      case: 'node IP inside a range: LB IPs allowed as sources',
      svc: lb(),
      nodeIPs: ['192.168.0.10'],
      want: { sourceRanges: ['198.51.100.0/24', '192.168.0.0/16'], allowLoadBalancerIPs: true },
    },
    {
      case: 'node IP outside every range',
      svc: lb(),
      nodeIPs: ['10.0.0.10'],
      want: { sourceRanges: ['198.51.100.0/24', '192.168.0.0/16'], allowLoadBalancerIPs: false },
    },
    { case: 'no node IP known', svc: lb(), nodeIPs: [], want: { sourceRanges: ['198.51.100.0/24', '192.168.0.0/16'], allowLoadBalancerIPs: false } },
    { case: 'no ranges', svc: lb({ loadBalancerSourceRanges: [] }), nodeIPs: ['192.168.0.10'], want: null },
    { case: 'ranges of the other family only', svc: lb({ loadBalancerSourceRanges: ['fd00::/8'] }), nodeIPs: ['192.168.0.10'], want: null },
    { case: 'no LoadBalancer IP', svc: lb({ loadBalancerIPs: [] }), nodeIPs: ['192.168.0.10'], want: null },
  ])('$case', ({ svc, nodeIPs, want }) => {
    expect(compileService(svc, withEndpoint, { ...ctx4, nodeIPs })[0]?.firewall).toEqual(want);
  });

  it('no firewall while the service has no endpoints', () => {
    expect(compileService(lb(), [], ctx4)[0]?.firewall).toBeNull();
    const otherPort = [slice([endpoint('10.180.0.1')], { ports: [slicePort({ name: 'metrics' })] })];
    expect(compileService(lb(), otherPort, ctx4)[0]?.firewall).toBeNull();
  });
});
