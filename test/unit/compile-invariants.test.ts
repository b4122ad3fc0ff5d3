/**
 * Properties every compiled service port keeps, over random endpoint conditions, hints
 * and traffic policies.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileService, type CompileContext } from '../../src/compile/compile.js';
import { endpointAddress } from '../../src/compile/intent.js';
import { compareEndpoints } from '../../src/compile/order.js';
import type { SliceEndpoint } from '../../src/model/types.js';
import { endpoint, NODE, port, service, slice, ZONE } from './compile-fixtures.js';

const ctx: CompileContext = { family: 4, nodeName: NODE, nodeLabels: { 'topology.kubernetes.io/zone': ZONE }, nodeIPs: ['192.168.0.10'] };

const arbEndpoint: fc.Arbitrary<SliceEndpoint> = fc
  .record({
    host: fc.integer({ min: 1, max: 12 }),
    ready: fc.boolean(),
    serving: fc.boolean(),
    terminating: fc.boolean(),
    nodeName: fc.constantFrom(NODE, 'node-b', ''),
    zoneHints: fc.subarray([ZONE, 'zone-b']),
    nodeHints: fc.subarray([NODE, 'node-b']),
  })
  .map(({ host, ...rest }) => endpoint(`10.180.0.${host}`, rest));

const arbCase = fc.record({
  endpoints: fc.array(arbEndpoint, { maxLength: 8 }),
  type: fc.constantFrom('ClusterIP' as const, 'NodePort' as const),
  etp: fc.constantFrom('Cluster' as const, 'Local' as const),
  itp: fc.constantFrom('Cluster' as const, 'Local' as const),
});

describe('compiled service port invariants', () => {
  it('lists are sorted, local lists local, the union complete, verdicts consistent', () => {
    fc.assert(
      fc.property(arbCase, ({ endpoints, type, etp, itp }) => {
        const svc = service({ type, externalTrafficPolicy: etp, internalTrafficPolicy: itp, ports: [port({ nodePort: 30080 })] });
        const [sp] = compileService(svc, [slice(endpoints)], ctx);
        if (!sp) return false;
        const sorted = (list: typeof sp.endpoints) => [...list].sort(compareEndpoints);
        expect(sp.clusterEndpoints).toEqual(sorted(sp.clusterEndpoints));
        expect(sp.localEndpoints).toEqual(sorted(sp.localEndpoints));
        expect(sp.localEndpoints.every((ep) => ep.local)).toBe(true);
        const union = new Set([...sp.clusterEndpoints, ...sp.localEndpoints].map((ep) => endpointAddress(ep)));
        expect(sp.endpoints.map((ep) => endpointAddress(ep))).toEqual(sorted(sp.endpoints).map((ep) => endpointAddress(ep)));
        expect(new Set(sp.endpoints.map((ep) => endpointAddress(ep)))).toEqual(union);
        expect(sp.endpoints).toHaveLength(union.size);
        for (const path of [sp.internal, sp.external]) {
          if (!path) continue;
          const list = path.policy === 'local' ? sp.localEndpoints : sp.clusterEndpoints;
          expect(path.noEndpoints === null).toBe(list.length > 0);
        }
        const usable = endpoints.some((ep) => ep.ready || (ep.serving && ep.terminating));
        expect(sp.internal.noEndpoints === 'REJECT').toBe(!usable);
        return true;
      }),
      { numRuns: 500 },
    );
  });
});
