/**
 * buildClusterState: kinds recognised, duplicates, grouping and ordering; then the example
 * cluster (examples/cluster.yaml) end to end, and a property over generated clusters.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseObjectsText } from '../../src/model/load.js';
import { buildClusterState } from '../../src/model/snapshot.js';
import { rawCluster } from '../property/cluster-arbitrary.js';

const service = (namespace: string, name: string, clusterIP: string, port = 80) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { namespace, name },
  spec: { clusterIP, ports: [{ name: 'http', port }] },
});

const slice = (namespace: string, name: string, serviceName: string, ip: string) => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { namespace, name, labels: { 'kubernetes.io/service-name': serviceName } },
  addressType: ip.includes(':') ? 'IPv6' : 'IPv4',
  ports: [{ name: 'http', port: 8080 }],
  endpoints: [{ addresses: [ip] }],
});

const node = (name: string, zone: string) => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name, labels: { 'topology.kubernetes.io/zone': zone } },
});

describe('buildClusterState', () => {
  it('keys services by namespace/name and groups slices by service, sorted by name', () => {
    const { state, problems } = buildClusterState(
      [
        service('shop', 'web', '10.96.0.20'),
        slice('shop', 'web-zz999', 'web', '10.244.2.1'),
        service('edge', 'gw', '10.96.0.21'),
        slice('shop', 'web-aa111', 'web', '10.244.1.1'),
        slice('shop', 'web-v6abc', 'web', 'fd00:244:0:1::1'),
        slice('edge', 'orphan-abc12', 'orphan', '10.244.1.2'),
      ],
      { nodeName: 'node-a' },
    );
    expect(problems).toEqual([]);
    expect([...state.services.keys()]).toEqual(['edge/gw', 'shop/web']);
    expect([...state.slicesByService.keys()]).toEqual(['edge/orphan', 'shop/web']);
    expect(state.slicesByService.get('shop/web')?.map((s) => s.name)).toEqual(['web-aa111', 'web-v6abc', 'web-zz999']);
    expect(state.node).toBeNull();
  });

  it('uses only the Node named nodeName', () => {
    const objects = [node('node-b', 'zone-b'), node('node-a', 'zone-a'), { ...node('node-c', 'zone c'), spec: 1 }];
    expect(buildClusterState(objects, { nodeName: 'node-a' }).state.node?.labels).toEqual({ 'topology.kubernetes.io/zone': 'zone-a' });
    expect(buildClusterState(objects, { nodeName: 'node-x' }).state.node).toBeNull();
    expect(buildClusterState(objects, { nodeName: '' })).toMatchObject({ state: { node: null }, problems: [] });
  });

  it('merges ServiceCIDRs, IPv4 first', () => {
    const cidr = (name: string, cidrs: string[]) => ({ apiVersion: 'networking.k8s.io/v1', kind: 'ServiceCIDR', metadata: { name }, spec: { cidrs } });
    const { state } = buildClusterState([cidr('kubernetes', ['fd00:96::/108', '10.96.0.0/16']), cidr('extra', ['10.97.0.0/16', '10.96.0.0/16'])], {
      nodeName: 'node-a',
    });
    expect(state.serviceCIDRs).toEqual(['10.96.0.0/16', '10.97.0.0/16', 'fd00:96::/108']);
  });

  it('ignores other kinds and API groups silently', () => {
    const { state, problems } = buildClusterState(
      [
        { ...service('shop', 'web', '10.96.0.20'), apiVersion: 'serving.knative.dev/v1' },
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } },
        { apiVersion: 'discovery.k8s.io/v1beta1', kind: 'EndpointSlice' },
        { kind: 'Service' },
        null,
        42,
        'text',
      ],
      { nodeName: 'node-a' },
    );
    expect(problems).toEqual([]);
    expect(state.services.size).toBe(0);
    expect(state.slicesByService.size).toBe(0);
  });

  it('lets the later of two same-named objects win and reports the earlier one', () => {
    const { state, problems } = buildClusterState(
      [service('shop', 'web', '10.96.0.20', 80), service('shop', 'other', '10.96.0.22'), service('shop', 'web', '10.96.0.21', 8080)],
      { nodeName: 'node-a' },
    );
    expect(state.services.get('shop/web')).toMatchObject({ clusterIPs: ['10.96.0.21'], ports: [{ port: 8080 }] });
    expect(problems).toEqual([
      { kind: 'Service', namespace: 'shop', name: 'web', reason: 'metadata.name: replaced by a later Service with the same namespace/name' },
    ]);
  });

  it('an invalid later duplicate removes the object (the last copy decides alone)', () => {
    const { state, problems } = buildClusterState([service('shop', 'web', '10.96.0.20'), service('shop', 'web', '10.96.0.300')], {
      nodeName: 'node-a',
    });
    expect(state.services.has('shop/web')).toBe(false);
    expect(problems.map((p) => p.reason)).toEqual([
      'metadata.name: replaced by a later Service with the same namespace/name',
      'spec.clusterIP: "10.96.0.300" is not an IP address',
    ]);
  });

  it('a missing namespace is "default" for duplicates too', () => {
    const noNamespace = { ...service('x', 'web', '10.96.0.20'), metadata: { name: 'web' } };
    const { state, problems } = buildClusterState([noNamespace, service('default', 'web', '10.96.0.21')], { nodeName: 'node-a' });
    expect([...state.services.keys()]).toEqual(['default/web']);
    expect(problems).toHaveLength(1);
  });

  it('a bad object does not affect its valid siblings', () => {
    const injected = service('shop', 'web" -j ACCEPT', '10.96.0.20');
    const { state, problems } = buildClusterState(
      [injected, service('shop', 'good', '10.96.0.21'), slice('shop', 'good-abc12', 'good', '10.244.1.1'), slice('shop', 'bad\nname', 'good', '10.244.1.2')],
      { nodeName: 'node-a' },
    );
    expect([...state.services.keys()]).toEqual(['shop/good']);
    expect(state.slicesByService.get('shop/good')?.map((s) => s.name)).toEqual(['good-abc12']);
    expect(problems.map((p) => `${p.kind} ${p.name}`)).toEqual(['Service "web\\" -j ACCEPT"', 'EndpointSlice "bad\\nname"']);
  });
});

describe('examples/cluster.yaml', () => {
  const text = readFileSync(new URL('../../examples/cluster.yaml', import.meta.url), 'utf8');
  const loaded = parseObjectsText(text, 'examples/cluster.yaml');
  const { state, problems } = buildClusterState(loaded.objects, { nodeName: 'node-a' });

  it('parses cleanly', () => {
    expect(loaded.problems).toEqual([]);
  });

  it('reports exactly the two planted problems', () => {
    expect([...loaded.problems, ...problems]).toEqual([
      { kind: 'Service', namespace: 'shop', name: 'broken-port', reason: 'spec.ports[0].port: 70000 is out of range 1-65535' },
      {
        kind: 'EndpointSlice',
        namespace: 'shop',
        name: 'inventory-x9c2v',
        reason: 'endpoints[0].addresses[0]: "10.244.2.300" is not an IP address',
      },
    ]);
  });

  it('holds the expected services, and none of the skipped ones', () => {
    expect([...state.services.keys()]).toEqual([
      'default/kubernetes',
      'edge/ingress-gateway',
      'kube-system/kube-dns',
      'logging/log-collector',
      'media/streaming',
      'shop/admin-console',
      'shop/cart',
      'shop/catalog',
      'shop/checkout',
      'shop/inventory',
      'shop/payments',
      'shop/public-api',
      'shop/recommendations',
      'shop/search',
      'shop/storefront',
      'shop/web',
      'telecom/diameter',
    ]);
  });

  it('has node-a with its zone and both addresses, and both service CIDRs', () => {
    expect(state.node).toMatchObject({ name: 'node-a', addresses: ['192.168.50.10', 'fd00:50::10'] });
    expect(state.node?.labels['topology.kubernetes.io/zone']).toBe('zone-a');
    expect(state.serviceCIDRs).toEqual(['10.96.0.0/16', 'fd00:96::/108']);
  });

  it('shows each feature on the service meant to show it', () => {
    const svc = (key: string) => state.services.get(key);
    expect(svc('kube-system/kube-dns')?.ports.map((p) => `${p.name}/${p.protocol}/${p.port}`)).toContain('dns/UDP/53');
    expect(svc('telecom/diameter')?.ports[0]?.protocol).toBe('SCTP');
    expect(svc('shop/storefront')?.ports.map((p) => p.name)).toEqual(['http', 'https']);
    expect(svc('shop/admin-console')).toMatchObject({ type: 'NodePort', ports: [{ nodePort: 30080 }] });
    expect(svc('shop/checkout')).toMatchObject({
      type: 'LoadBalancer',
      externalTrafficPolicy: 'Local',
      healthCheckNodePort: 32100,
      loadBalancerIPs: ['203.0.113.10'],
      loadBalancerSourceRanges: ['192.0.2.0/24', '192.168.50.0/24'],
    });
    expect(svc('shop/public-api')?.externalIPs).toEqual(['198.51.100.20']);
    expect(svc('logging/log-collector')?.internalTrafficPolicy).toBe('Local');
    expect(svc('shop/cart')?.sessionAffinityTimeout).toBe(600);
    expect(state.slicesByService.get('shop/recommendations')?.flatMap((s) => s.endpoints)).toEqual([]);
    expect(state.slicesByService.get('edge/ingress-gateway')?.flatMap((s) => s.endpoints.map((e) => e.nodeName))).toEqual(['node-b', 'node-b']);
    expect(state.slicesByService.get('shop/payments')?.[0]?.endpoints.every((e) => e.terminating && !e.ready)).toBe(true);
    expect(state.slicesByService.get('shop/search')?.[0]?.endpoints.map((e) => e.zoneHints)).toEqual([['zone-a'], ['zone-a'], ['zone-b']]);
    expect(svc('shop/web')).toMatchObject({ clusterIPs: ['10.96.130.130', 'fd00:96::130'], loadBalancerIPs: ['203.0.113.12', '2001:db8:113::12'] });
    expect(state.slicesByService.get('shop/web')?.map((s) => s.family)).toEqual([4, 6]);
    expect(svc('media/streaming')?.loadBalancerIPs).toEqual([]);
    expect(state.slicesByService.get('shop/inventory')?.map((s) => s.name)).toEqual(['inventory-b3m7q']);
  });

  it('puts node-a endpoints in 10.244.1.0/24 and node-b endpoints in 10.244.2.0/24', () => {
    const endpoints = [...state.slicesByService.values()].flat().flatMap((s) => s.endpoints);
    for (const e of endpoints.filter((e) => e.nodeName === 'node-a')) expect(e.ip).toMatch(/^(10\.244\.1\.|fd00:244:0:1::)/);
    for (const e of endpoints.filter((e) => e.nodeName === 'node-b')) expect(e.ip).toMatch(/^(10\.244\.2\.|fd00:244:0:2::)/);
  });
});

describe('generated clusters', () => {
  const SAFE = /^[A-Za-z0-9._:/-]*$/;

  it('never throw, and everything kept is safe to put in a rule', () => {
    let kept = 0;
    fc.assert(
      fc.property(rawCluster, (objects) => {
        const { state, problems } = buildClusterState(objects, { nodeName: 'node-a' });
        kept += state.services.size + state.slicesByService.size;
        const strings = JSON.stringify([...state.services.values(), ...state.slicesByService.values()]).match(/"(?:[^"\\]|\\.)*"/g) ?? [];
        for (const s of strings) expect(JSON.parse(s)).toMatch(SAFE);
        for (const p of problems) expect(`${p.namespace} ${p.name} ${p.reason}`).not.toMatch(/[\n\r]/);
      }),
      { numRuns: 300 },
    );
    expect(kept).toBeGreaterThan(20);
  });
});
