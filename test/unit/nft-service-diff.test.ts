/**
 * diffServices against a keyed reference: whatever order the lists come in (sorted, shuffled,
 * with a port twice, with deep-equal copies), it finds the same changed and removed ports.
 */
import fc from 'fast-check';
import _ from 'lodash';
import { describe, expect, it } from 'vitest';
import type { ServicePortIntent } from '../../src/compile/intent.js';
import { diffServices, servicePortKey } from '../../src/backend/nftables/service-diff.js';
import { svc } from './nft-fixtures.js';

/** Ports a1…c2 over tcp and udp, in intent order; `port` varies a port's content. */
const port = (service: string, protocol: 'tcp' | 'udp', content: number) => svc({ service, protocol, port: 80 + content });
const NAMES = ['a1', 'a2', 'b1', 'b2', 'c1', 'c2'];

/** What changed, keyed; `previous` is what the table holds for a key (the first port of `before`). */
function reference(before: readonly ServicePortIntent[], after: readonly ServicePortIntent[], previous: (key: string) => ServicePortIntent | undefined) {
  const firsts = _.uniqBy(after, servicePortKey);
  const keys = new Set(firsts.map(servicePortKey));
  return {
    changed: firsts.filter((sp) => !_.isEqual(previous(servicePortKey(sp)), sp)),
    removed: new Set(before.map(servicePortKey).filter((k) => !keys.has(k))),
  };
}

/** The next list: some of `from`'s objects kept, some replaced by copies or changed ports, some added. */
const nextList = (from: ServicePortIntent[]) =>
  fc
    .record({
      picks: fc.array(fc.record({ name: fc.constantFrom(...NAMES), protocol: fc.constantFrom<'tcp' | 'udp'>('tcp', 'udp'), how: fc.constantFrom('keep', 'copy', 'change') }), { maxLength: 14 }),
      order: fc.constantFrom('sorted', 'shuffled', 'reversed'),
      seed: fc.integer(),
    })
    .map(({ picks, order, seed }) => {
      const list = picks.map(({ name, protocol, how }) => {
        const kept = from.find((sp) => sp.service === name && sp.protocol === protocol);
        if (kept && how === 'keep') return kept;
        if (kept && how === 'copy') return _.cloneDeep(kept);
        return port(name, protocol, how === 'change' ? seed & 7 : 0);
      });
      if (order === 'reversed') return list.reverse();
      if (order === 'shuffled') return _.sortBy(list, (sp, i) => (i * 7919 + seed) % 13);
      return _.uniqBy(_.sortBy(list, (sp) => [sp.name, sp.protocol].join(' ')), servicePortKey);
    });

describe('diffServices', () => {
  it('finds what a keyed comparison finds, over a sequence of syncs', () => {
    fc.assert(
      fc.property(
        nextList([]).chain((first) => nextList(first).chain((second) => nextList(second).map((third) => [first, second, third]))),
        (lists) => {
          for (let k = 1; k < lists.length; k++) {
            const before = lists[k - 1]!;
            const after = lists[k]!;
            const previous = (key: string) => before.find((sp) => servicePortKey(sp) === key);
            const got = diffServices(before, after, previous);
            const want = reference(before, after, previous);
            expect(got.changed).toEqual(want.changed);
            expect(got.removed).toEqual(want.removed);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('notices a list whose shared ports changed places', () => {
    const [x, y] = [port('a1', 'tcp', 0), port('b1', 'tcp', 0)];
    expect(diffServices([x, y], [y, x], (key) => [x, y].find((sp) => servicePortKey(sp) === key))).toEqual({ changed: [], removed: new Set() });
  });
});
