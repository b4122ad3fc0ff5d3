import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileObjects, renderIntent, traceIntent } from '../../src/pipeline.js';
import { loadIptablesRestore } from '../support/restore-check.js';
import { PROPERTY_CONFIG as config, rawCluster } from './cluster-arbitrary.js';


describe('random, partly malformed clusters', () => {
  it('never make the pipeline throw, for either backend and family, and every trace sums to 1', () => {
    fc.assert(
      fc.property(rawCluster, (objects) => {
        for (const family of [4, 6] as const) {
          const { intent } = compileObjects(objects, config, family);
          for (const backend of ['iptables', 'nftables'] as const) {
            expect(typeof renderIntent(intent, backend)).toBe('string');
            for (const sp of intent.services.slice(0, 2)) {
              const src = family === 4 ? '10.244.1.2' : 'fd00:244:0:1::2';
              const trace = traceIntent(intent, backend, { src, dst: sp.clusterIP, dport: sp.port, protocol: sp.protocol });
              if ('error' in trace) throw new Error(trace.error);
              expect(trace.outcomes.reduce((sum, o) => sum + o.probability, 0)).toBeCloseTo(1, 9);
            }
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it.skipIf(process.getuid?.() !== 0)('render iptables rulesets the kernel accepts (needs root for a scratch namespace)', async () => {
    await fc.assert(
      fc.asyncProperty(rawCluster, async (objects) => {
        for (const family of [4, 6] as const) {
          const { intent } = compileObjects(objects, config, family);
          const loaded = await loadIptablesRestore(renderIntent(intent, 'iptables'), family);
          expect(loaded.stderr).toBe('');
          expect(loaded.ok).toBe(true);
        }
      }),
      { numRuns: 25 },
    );
  }, 120_000);
});
