/**
 * IncrementalCompiler against compileRuleset: fed the daemon's way (watch events into a
 * ClusterStore, a snapshot with its changed keys per sync), every sync's result equals a
 * fresh full compile, and unchanged services keep their port objects.
 */
import fc from 'fast-check';
import _ from 'lodash';
import { describe, expect, it } from 'vitest';
import { compileRuleset } from '../../src/compile/compile.js';
import { normalizeProxyConfig } from '../../src/compile/config.js';
import { IncrementalCompiler } from '../../src/compile/incremental.js';
import type { ProxyConfig, ServicePortIntent } from '../../src/compile/intent.js';
import { ClusterStore } from '../../src/sync/cluster-store.js';
import { PROPERTY_CONFIG, rawCluster } from './cluster-arbitrary.js';

/** PROPERTY_CONFIG without --node-ip, so that the Node's addresses are the node IPs. */
function nodeAddressConfig(): ProxyConfig {
  const normalized = normalizeProxyConfig({ ...PROPERTY_CONFIG, nodeIPs: [], nodePortAddresses: [] });
  if ('error' in normalized) throw new Error(normalized.error);
  return normalized.config;
}

// A small, mostly valid universe, so that services collide (conflicts), slices find
// their services, and the same keys come back modified across syncs.
const NAMESPACES = ['default', 'ns-a'];
const NAMES = ['a', 'b', 'c'];
const pick = <T>(values: readonly T[]) => fc.constantFrom(...values);
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });

const service = fc.record({
  apiVersion: fc.constant('v1'),
  kind: fc.constant('Service'),
  metadata: fc.record({ namespace: pick(NAMESPACES), name: pick(NAMES) }),
  spec: fc.record({
    type: pick(['ClusterIP', 'NodePort', 'LoadBalancer']),
    clusterIPs: pick([['10.96.0.1'], ['10.96.0.2'], ['10.96.0.1', 'fd00:96::1'], ['fd00:96::2']]),
    ports: fc.uniqueArray(
      fc.record({ name: pick(['http', 'dns']), port: pick([80, 53]), protocol: pick(['TCP', 'UDP']), nodePort: pick([30000, 30001]) }),
      { minLength: 1, maxLength: 2, selector: (p) => p.name },
    ),
    externalIPs: fc.subarray(['198.51.100.1', '198.51.100.2', '2001:db8::1']),
    loadBalancerSourceRanges: fc.subarray(['192.168.50.0/24', '10.0.0.0/8', 'fd00::/8']),
    externalTrafficPolicy: pick(['Cluster', 'Local']),
    internalTrafficPolicy: pick(['Cluster', 'Local']),
    sessionAffinity: pick(['None', 'ClientIP']),
    healthCheckNodePort: pick([0, 32000]),
  }),
  status: fc.record({
    loadBalancer: fc.record({
      ingress: fc.subarray([{ ip: '203.0.113.1' }, { ip: '203.0.113.2', ipMode: 'Proxy' }, { ip: '2001:db8:113::1' }]),
    }),
  }),
});

const endpoint = fc.record({
  addresses: pick([['10.244.1.1'], ['10.244.1.2'], ['10.244.2.1'], ['fd00:244::1'], ['fd00:244::2']]),
  conditions: fc.record({ ready: fc.boolean(), serving: fc.boolean(), terminating: fc.boolean() }),
  nodeName: pick(['node-a', 'node-b']),
  zone: pick(['zone-a', 'zone-b']),
  hints: maybe(fc.record({ forZones: pick([[{ name: 'zone-a' }], [{ name: 'zone-b' }]]), forNodes: maybe(pick([[{ name: 'node-a' }]])) })),
});

const slice = fc.record({
  apiVersion: fc.constant('discovery.k8s.io/v1'),
  kind: fc.constant('EndpointSlice'),
  metadata: fc.record({
    namespace: pick(NAMESPACES),
    name: pick(['s1', 's2', 's3', 's4']),
    labels: fc.record({ 'kubernetes.io/service-name': pick(NAMES) }),
  }),
  addressType: pick(['IPv4', 'IPv6']),
  ports: fc.uniqueArray(fc.record({ name: pick(['http', 'dns']), port: pick([8080, 5353]), protocol: pick(['TCP', 'UDP']) }), {
    maxLength: 2,
    selector: (p) => p.name,
  }),
  endpoints: fc.array(endpoint, { maxLength: 4 }),
});

const node = fc
  .record({
    zone: pick(['zone-a', 'zone-b', undefined]),
    address: pick(['192.168.50.10', '192.168.50.11', 'fd00:50::10']),
  })
  .map(({ zone, address }) => ({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: PROPERTY_CONFIG.nodeName, labels: zone ? { 'topology.kubernetes.io/zone': zone } : {} },
    status: { addresses: [{ type: 'InternalIP', address }] },
  }));

/** Well-formed objects plus, now and then, one of rawCluster's (mostly malformed) ones. */
const objects = fc
  .tuple(fc.array(fc.oneof(service, slice), { maxLength: 8 }), fc.oneof({ arbitrary: rawCluster, weight: 1 }, { arbitrary: fc.constant([]), weight: 3 }))
  .map(([wellFormed, raw]) => [...wellFormed, ...raw]);

/** One sync's worth of watch events: some objects deleted, some added or modified, maybe the Node. */
const step = fc.record({
  deletePercent: fc.integer({ min: 0, max: 100 }),
  modified: objects,
  node: maybe(node),
});

const portKey = (sp: ServicePortIntent) => `${sp.name} ${sp.protocol}`;
const serviceKey = (sp: ServicePortIntent) => `${sp.namespace}/${sp.service}`;

describe('IncrementalCompiler', () => {
  for (const [label, config] of [
    ['with --node-ip', PROPERTY_CONFIG],
    ['with the Node addresses', nodeAddressConfig()],
  ] as const) {
    it(`equals compileRuleset after every sync of random changes (${label})`, () => {
      fc.assert(
        fc.property(objects, node, fc.array(step, { minLength: 1, maxLength: 6 }), (initial, firstNode, steps) => {
          const store = new ClusterStore(config.nodeName);
          const compilers = { 4: new IncrementalCompiler(config, 4), 6: new IncrementalCompiler(config, 6) };
          const previous = new Map<4 | 6, Map<string, ServicePortIntent>>();
          let live = [...initial];
          for (const object of [firstNode, ...initial]) store.apply({ type: 'ADDED', object });

          for (const s of [{ deletePercent: 0, modified: [], node: undefined }, ...steps]) {
            const deleted = live.slice(0, Math.floor((live.length * s.deletePercent) / 100));
            for (const object of deleted) store.apply({ type: 'DELETED', object });
            for (const object of s.modified) store.apply({ type: 'MODIFIED', object });
            if (s.node) store.apply({ type: 'MODIFIED', object: s.node });
            live = [...live.slice(deleted.length), ...s.modified];

            // As the sync engine does it: everything when the snapshot is the whole state, else the delta.
            const snapshot = store.take();
            const state = store.state();
            const changed = snapshot.delta === null ? null : new Set(snapshot.delta.services.keys());
            for (const family of [4, 6] as const) {
              const compiler = compilers[family];
              const incremental = snapshot.state !== null ? compiler.rebuild(snapshot.state) : compiler.update(snapshot.delta);
              expect(incremental).toEqual(compileRuleset(state, config, family));

              // Unchanged services' ports that compile alike are the previous objects.
              const before = previous.get(family);
              if (before && changed !== null) {
                for (const sp of incremental.intent.services) {
                  const earlier = before.get(portKey(sp));
                  if (earlier && !changed.has(serviceKey(sp)) && _.isEqual(earlier, sp)) expect(sp).toBe(earlier);
                }
              }
              previous.set(family, new Map(incremental.intent.services.map((sp) => [portKey(sp), sp])));
            }
          }
        }),
        { numRuns: 300 },
      );
    });
  }
});
