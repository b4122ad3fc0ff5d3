import fc from 'fast-check';
import _ from 'lodash';
import { describe, expect, it } from 'vitest';
import { buildClusterState } from '../../src/model/snapshot.js';
import type { ClusterState } from '../../src/model/types.js';
import { ClusterStore } from '../../src/sync/cluster-store.js';
import { PROPERTY_CONFIG as config, rawCluster } from './cluster-arbitrary.js';

/** What the store promises to equal: everything but ServiceCIDRs (not watched), order-free for slices. */
function comparable(state: ClusterState) {
  return {
    services: [...state.services],
    slices: _.sortBy([...state.slicesByService], ([key]) => key),
    node: state.node,
  };
}

function serviceView(state: ClusterState, key: string) {
  return { service: state.services.get(key), slices: state.slicesByService.get(key) ?? [] };
}

describe('ClusterStore', () => {
  it('fed the objects as watch events, holds what buildClusterState makes of them', () => {
    fc.assert(
      fc.property(rawCluster, (objects) => {
        const store = new ClusterStore(config.nodeName);
        for (const object of objects) store.apply({ type: 'ADDED', object });
        expect(comparable(store.take().state!)).toEqual(comparable(buildClusterState(objects, { nodeName: config.nodeName }).state));
      }),
      { numRuns: 200 },
    );
  });

  it('reports every service whose Service or slices changed between two takes (and deletions), as it is now', () => {
    fc.assert(
      fc.property(rawCluster, rawCluster, rawCluster, fc.integer({ min: 0, max: 100 }), (first, second, third, dropPercent) => {
        const store = new ClusterStore(config.nodeName);
        for (const object of first) store.apply({ type: 'ADDED', object });
        store.take();
        const before = store.state();
        const dropped = first.slice(0, Math.floor((first.length * dropPercent) / 100));
        for (const object of dropped) store.apply({ type: 'DELETED', object });
        for (const object of second) store.apply({ type: 'MODIFIED', object });
        const { delta } = store.take();
        if (delta === null) return; // the Node changed: the snapshot is everything
        const after = store.state();
        const reported = structuredClone([...delta.services]);
        const keys = new Set([...before.services.keys(), ...after.services.keys(), ...before.slicesByService.keys(), ...after.slicesByService.keys()]);
        for (const key of keys) {
          if (!_.isEqual(serviceView(before, key), serviceView(after, key))) expect(delta.services.has(key), key).toBe(true);
        }
        for (const [key, change] of delta.services) expect(change).toEqual(serviceView(after, key));
        expect(delta.node).toEqual(after.node);
        // Later events replace the store's objects; they never change a snapshot already taken.
        for (const object of third) store.apply({ type: 'MODIFIED', object });
        for (const object of first) store.apply({ type: 'DELETED', object });
        expect([...delta.services]).toEqual(reported);
      }),
      { numRuns: 200 },
    );
  });
});
