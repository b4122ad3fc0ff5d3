/**
 * Which endpoints serve each traffic path, and the verdict when none does
 * (kube-proxy's CategorizeEndpoints and its REJECT/DROP choice).
 */
import { describe, expect, it } from 'vitest';
import { compileService, type CompileContext } from '../../src/compile/compile.js';
import type { ServicePortIntent } from '../../src/compile/intent.js';
import type { Service, SliceEndpoint } from '../../src/model/types.js';
import { endpoint, local, NODE, notServing, port, service, slice, terminating, ZONE } from './compile-fixtures.js';

const ctx: CompileContext = {
  family: 4,
  nodeName: NODE,
  nodeLabels: { 'topology.kubernetes.io/zone': ZONE },
  nodeIPs: ['192.168.0.10'],
};

function compileOne(svc: Service, endpoints: SliceEndpoint[], context: CompileContext = ctx): ServicePortIntent {
  const [intent] = compileService(svc, [slice(endpoints)], context);
  if (!intent) throw new Error('service compiled to nothing');
  return intent;
}

const ips = (eps: { ip: string }[]) => eps.map((ep) => ep.ip);
const nodePortService = (overrides: Partial<Service> = {}) =>
  service({ type: 'NodePort', ports: [port({ nodePort: 30080 })], ...overrides });

describe('cluster endpoints: ready, else serving+terminating', () => {
  it.each([
    {
      case: 'ready endpoints only, terminating ones left out',
      eps: [endpoint('10.180.0.2'), endpoint('10.180.0.1', terminating), endpoint('10.180.0.3')],
      want: ['10.180.0.2', '10.180.0.3'],
    },
    {
      case: 'no ready endpoint: serving terminating ones',
      eps: [endpoint('10.180.0.1', terminating), endpoint('10.180.0.2', notServing), endpoint('10.180.0.3', terminating)],
      want: ['10.180.0.1', '10.180.0.3'],
    },
    {
      case: 'not ready, not terminating: never used',
      eps: [endpoint('10.180.0.1', { ready: false, serving: false, terminating: false })],
      want: [],
    },
  ])('$case', ({ eps, want }) => {
    const sp = compileOne(service(), eps);
    expect(ips(sp.clusterEndpoints)).toEqual(want);
    expect(sp.localEndpoints).toEqual([]);
    expect(ips(sp.endpoints)).toEqual(want);
  });
});

describe('topology hints', () => {
  const zoneHinted = (ip: string, zone: string, extra: Partial<SliceEndpoint> = {}) =>
    endpoint(ip, { zoneHints: [zone], ...extra });

  it.each([
    {
      case: 'every ready endpoint hinted, some for our zone: only those',
      eps: [zoneHinted('10.180.0.1', ZONE), zoneHinted('10.180.0.2', 'zone-b'), zoneHinted('10.180.0.3', ZONE)],
      want: ['10.180.0.1', '10.180.0.3'],
    },
    {
      case: 'one ready endpoint without a hint: ignored',
      eps: [zoneHinted('10.180.0.1', ZONE), endpoint('10.180.0.2')],
      want: ['10.180.0.1', '10.180.0.2'],
    },
    {
      case: 'a hintless endpoint that is not ready does not matter',
      eps: [zoneHinted('10.180.0.1', ZONE), zoneHinted('10.180.0.2', 'zone-b'), endpoint('10.180.0.3', terminating)],
      want: ['10.180.0.1'],
    },
    {
      case: 'no endpoint hinted for our zone: ignored',
      eps: [zoneHinted('10.180.0.1', 'zone-b'), zoneHinted('10.180.0.2', 'zone-c')],
      want: ['10.180.0.1', '10.180.0.2'],
    },
    {
      case: 'node hints on every endpoint, one for this node: only it',
      eps: [
        zoneHinted('10.180.0.1', ZONE, { nodeHints: ['node-b'] }),
        zoneHinted('10.180.0.2', 'zone-b', { nodeHints: [NODE] }),
      ],
      want: ['10.180.0.2'],
    },
    {
      case: 'node hints missing on one endpoint: zone hints apply',
      eps: [
        zoneHinted('10.180.0.1', ZONE, { nodeHints: [NODE] }),
        zoneHinted('10.180.0.2', 'zone-b'),
        zoneHinted('10.180.0.3', ZONE, { nodeHints: ['node-b'] }),
      ],
      want: ['10.180.0.1', '10.180.0.3'],
    },
    {
      case: 'node hints all for other nodes: zone hints apply',
      eps: [zoneHinted('10.180.0.1', 'zone-b', { nodeHints: ['node-b'] }), zoneHinted('10.180.0.2', ZONE, { nodeHints: ['node-c'] })],
      want: ['10.180.0.2'],
    },
  ])('$case', ({ eps, want }) => {
    expect(ips(compileOne(service(), eps).clusterEndpoints)).toEqual(want);
  });

  it('a node without a zone label ignores zone hints', () => {
    const eps = [zoneHinted('10.180.0.1', ZONE), zoneHinted('10.180.0.2', 'zone-b')];
    expect(ips(compileOne(service(), eps, { ...ctx, nodeLabels: {} }).clusterEndpoints)).toEqual(['10.180.0.1', '10.180.0.2']);
  });

  it('the terminating fallback ignores topology', () => {
    const eps = [zoneHinted('10.180.0.1', 'zone-b', terminating), zoneHinted('10.180.0.2', ZONE, terminating)];
    expect(ips(compileOne(service(), eps).clusterEndpoints)).toEqual(['10.180.0.1', '10.180.0.2']);
  });
});

describe('internalTrafficPolicy Local', () => {
  const itpLocal = service({ internalTrafficPolicy: 'Local' });

  it.each([
    {
      case: 'local ready endpoints',
      eps: [endpoint('10.180.0.1', local), endpoint('10.180.0.2'), endpoint('10.180.0.3', { ...local, ...terminating })],
      localWant: ['10.180.0.1'],
      noEndpoints: null,
    },
    {
      case: 'only a local terminating endpoint: used',
      eps: [endpoint('10.180.0.1', { ...local, ...terminating }), endpoint('10.180.0.2')],
      localWant: ['10.180.0.1'],
      noEndpoints: null,
    },
    {
      case: 'no local endpoint, remote ones exist: DROP',
      eps: [endpoint('10.180.0.2')],
      localWant: [],
      noEndpoints: 'DROP',
    },
    {
      case: 'no local endpoint, only remote terminating ones: DROP',
      eps: [endpoint('10.180.0.2', terminating)],
      localWant: [],
      noEndpoints: 'DROP',
    },
    {
      case: 'no usable endpoint anywhere: REJECT',
      eps: [endpoint('10.180.0.1', { ...local, ...notServing })],
      localWant: [],
      noEndpoints: 'REJECT',
    },
  ])('$case', ({ eps, localWant, noEndpoints }) => {
    const sp = compileOne(itpLocal, eps);
    expect(ips(sp.localEndpoints)).toEqual(localWant);
    expect(sp.clusterEndpoints).toEqual([]);
    expect(ips(sp.endpoints)).toEqual(localWant);
    expect(sp.internal).toEqual({ policy: 'local', noEndpoints });
    expect(sp.external).toBeNull();
  });

  it('an externally accessible port still keeps cluster endpoints, for external traffic', () => {
    const sp = compileOne(nodePortService({ internalTrafficPolicy: 'Local' }), [endpoint('10.180.0.2')]);
    expect(ips(sp.clusterEndpoints)).toEqual(['10.180.0.2']);
    expect(sp.internal).toEqual({ policy: 'local', noEndpoints: 'DROP' });
    expect(sp.external).toEqual({ policy: 'cluster', noEndpoints: null });
  });
});

describe('externalTrafficPolicy Local', () => {
  const etpLocal = service({
    type: 'LoadBalancer',
    ports: [port({ nodePort: 30080 })],
    loadBalancerIPs: ['203.0.113.1'],
    externalTrafficPolicy: 'Local',
    healthCheckNodePort: 31000,
  });

  it('local endpoints serve external traffic, cluster endpoints internal traffic', () => {
    const sp = compileOne(etpLocal, [endpoint('10.180.0.2'), endpoint('10.180.0.1', local)]);
    expect(ips(sp.clusterEndpoints)).toEqual(['10.180.0.1', '10.180.0.2']);
    expect(ips(sp.localEndpoints)).toEqual(['10.180.0.1']);
    expect(sp.internal).toEqual({ policy: 'cluster', noEndpoints: null });
    expect(sp.external).toEqual({ policy: 'local', noEndpoints: null });
    expect(sp.healthCheckNodePort).toBe(31000);
  });

  it('no local endpoint while remote ones exist: external DROP, internal served', () => {
    const sp = compileOne(etpLocal, [endpoint('10.180.0.2')]);
    expect(sp.localEndpoints).toEqual([]);
    expect(sp.internal).toEqual({ policy: 'cluster', noEndpoints: null });
    expect(sp.external).toEqual({ policy: 'local', noEndpoints: 'DROP' });
    expect(sp.healthCheckNodePort).toBe(31000);
  });

  it('the union holds a local terminating endpoint next to remote ready ones', () => {
    const sp = compileOne(etpLocal, [endpoint('10.180.0.2'), endpoint('10.180.0.1', { ...local, ...terminating })]);
    expect(ips(sp.clusterEndpoints)).toEqual(['10.180.0.2']);
    expect(ips(sp.localEndpoints)).toEqual(['10.180.0.1']);
    expect(ips(sp.endpoints)).toEqual(['10.180.0.1', '10.180.0.2']);
  });

  it('with internalTrafficPolicy Local too, cluster endpoints remain for short-circuited traffic', () => {
    const sp = compileOne({ ...etpLocal, internalTrafficPolicy: 'Local' }, [endpoint('10.180.0.2')]);
    expect(ips(sp.clusterEndpoints)).toEqual(['10.180.0.2']);
    expect(sp.internal).toEqual({ policy: 'local', noEndpoints: 'DROP' });
    expect(sp.external).toEqual({ policy: 'local', noEndpoints: 'DROP' });
  });

  it('on a ClusterIP service without external addresses it changes nothing', () => {
    const sp = compileOne(service({ externalTrafficPolicy: 'Local', healthCheckNodePort: 31000 }), [endpoint('10.180.0.2')]);
    expect(sp.localEndpoints).toEqual([]);
    expect(sp.external).toBeNull();
    expect(sp.healthCheckNodePort).toBe(0);
  });

  it('with externalIPs of this family only, a ClusterIP service is external', () => {
    const withV4 = compileOne(service({ externalIPs: ['198.51.100.1'], externalTrafficPolicy: 'Local' }), [endpoint('10.180.0.2')]);
    expect(withV4.external).toEqual({ policy: 'local', noEndpoints: 'DROP' });
    const withV6 = compileOne(service({ externalIPs: ['2001:db8::1'], externalTrafficPolicy: 'Local' }), [endpoint('10.180.0.2')]);
    expect(withV6.external).toBeNull();
    expect(withV6.externalIPs).toEqual([]);
  });
});

describe('no endpoints at all', () => {
  it.each([
    { case: 'Cluster policies', svc: nodePortService() },
    { case: 'Local policies', svc: nodePortService({ externalTrafficPolicy: 'Local', internalTrafficPolicy: 'Local' }) },
  ])('$case: REJECT on both paths', ({ svc }) => {
    for (const eps of [[], [endpoint('10.180.0.1', notServing)]]) {
      const sp = compileOne(svc, eps);
      expect(sp.endpoints).toEqual([]);
      expect(sp.internal.noEndpoints).toBe('REJECT');
      expect(sp.external?.noEndpoints).toBe('REJECT');
    }
  });

  it('a service without slices compiles with REJECT', () => {
    const [sp] = compileService(service(), [], ctx);
    expect(sp?.internal).toEqual({ policy: 'cluster', noEndpoints: 'REJECT' });
  });
});
