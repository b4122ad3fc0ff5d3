import { describe, expect, it } from 'vitest';
import { joinEndpoints } from '../../src/compile/endpoints.js';
import { endpointAddress } from '../../src/compile/intent.js';
import type { EndpointSlice } from '../../src/model/types.js';
import { endpoint, local, NODE, port, service, slice, slicePort, terminating } from './compile-fixtures.js';

const svc = service();
/** The candidates as (intent, slice entry) pairs. */
const join = (...args: Parameters<typeof joinEndpoints>) => {
  const { intents, sources } = joinEndpoints(...args);
  expect(sources).toHaveLength(intents.length);
  return intents.map((intent, i) => ({ intent, source: sources[i]! }));
};
const addresses = (slices: EndpointSlice[], p = port(), family: 4 | 6 = 4, nodeName = NODE) =>
  join(svc, p, slices, family, nodeName).map((ep) => endpointAddress(ep.intent));

describe('joinEndpoints: slice ports', () => {
  it.each([
    { case: 'same name and protocol', sp: slicePort(), want: ['10.180.0.1:8080'] },
    { case: 'name differs', sp: slicePort({ name: 'metrics' }), want: [] },
    { case: 'protocol differs', sp: slicePort({ protocol: 'UDP' }), want: [] },
    { case: 'unnamed slice port for a named service port', sp: slicePort({ name: '' }), want: [] },
  ])('$case', ({ sp, want }) => {
    expect(addresses([slice([endpoint('10.180.0.1')], { ports: [sp] })])).toEqual(want);
  });

  it('takes the port number from the slice port and matches unnamed ports', () => {
    const s = slice([endpoint('10.180.0.1')], {
      ports: [slicePort({ name: '', protocol: 'UDP', port: 5353 }), slicePort({ name: '', port: 9000 })],
    });
    expect(addresses([s], port({ name: '', protocol: 'UDP', port: 53 }))).toEqual(['10.180.0.1:5353']);
    expect(addresses([s], port({ name: '', protocol: 'TCP', port: 53 }))).toEqual(['10.180.0.1:9000']);
  });

  it('keeps only slices of the family, of this service', () => {
    const slices = [
      slice([endpoint('10.180.0.1')]),
      slice([endpoint('fd00:180::1')], { name: 'svc1-v6', family: 6 }),
      slice([endpoint('10.180.0.2')], { name: 'other', serviceName: 'svc2' }),
      slice([endpoint('10.180.0.3')], { name: 'other-ns', namespace: 'ns2' }),
    ];
    expect(addresses(slices)).toEqual(['10.180.0.1:8080']);
    expect(addresses(slices, port(), 6)).toEqual(['[fd00:180::1]:8080']);
  });
});

describe('joinEndpoints: duplicates across slices', () => {
  it('lists an address once, preferring a ready copy over a terminating one', () => {
    const slices = [
      slice([endpoint('10.180.0.1', terminating)], { name: 'a' }),
      slice([endpoint('10.180.0.1'), endpoint('10.180.0.2')], { name: 'b' }),
    ];
    const joined = join(svc, port(), slices, 4, NODE);
    expect(joined.map((ep) => [endpointAddress(ep.intent), ep.source.ready])).toEqual([
      ['10.180.0.1:8080', true],
      ['10.180.0.2:8080', true],
    ]);
  });

  it('keeps the first copy when both are equally usable', () => {
    const slices = [
      slice([endpoint('10.180.0.1', { nodeName: 'node-x' })], { name: 'a' }),
      slice([endpoint('10.180.0.1', { nodeName: 'node-y' })], { name: 'b' }),
    ];
    expect(join(svc, port(), slices, 4, 'node-y')[0]?.intent.local).toBe(false);
  });

  it('finds repeats in long lists', () => {
    const ip = (i: number) => `10.180.${i >> 8}.${i & 255}`;
    const slices = [
      slice(Array.from({ length: 40 }, (_, i) => endpoint(ip(i), i < 20 ? terminating : {})), { name: 'a' }),
      slice(Array.from({ length: 40 }, (_, i) => endpoint(ip(i + 20))), { name: 'b' }),
    ];
    const joined = join(svc, port(), slices, 4, NODE);
    expect(joined.map((ep) => ep.intent.ip)).toEqual(Array.from({ length: 60 }, (_, i) => ip(i)));
    expect(joined.filter((ep) => !ep.source.ready).map((ep) => ep.intent.ip)).toEqual(Array.from({ length: 20 }, (_, i) => ip(i)));
    expect(join(svc, port(), [...slices, slice([endpoint(ip(5))], { name: 'c' })], 4, NODE)[5]?.source.ready).toBe(true);
  });

  it('sorts by address, then port, finding repeats wherever they are listed', () => {
    const slices = [
      slice([endpoint('10.180.0.10'), endpoint('10.180.0.9', terminating), endpoint('10.180.0.2')], { name: 'a' }),
      slice([endpoint('10.180.0.9'), endpoint('10.180.0.10', terminating)], { name: 'b' }),
    ];
    expect(join(svc, port(), slices, 4, NODE).map((ep) => [ep.intent.ip, ep.source.ready])).toEqual([
      ['10.180.0.2', true],
      ['10.180.0.9', true],
      ['10.180.0.10', true],
    ]);
  });

  it('keeps the first listed of equal copies out of order, IPv6 too', () => {
    const slices = [
      slice([endpoint('fd00::10', { nodeName: 'node-x' }), endpoint('fd00::9')], { name: 'a', family: 6 }),
      slice([endpoint('fd00::10', { nodeName: 'node-y' })], { name: 'b', family: 6 }),
    ];
    const joined = join(svc, port(), slices, 6, 'node-y');
    expect(joined.map((ep) => [ep.intent.ip, ep.intent.local])).toEqual([
      ['fd00::9', false],
      ['fd00::10', false],
    ]);
  });

  it('the same IP on two ports is two endpoints', () => {
    const s = slice([endpoint('10.180.0.1')], { ports: [slicePort(), slicePort({ port: 8081 })] });
    expect(addresses([s])).toEqual(['10.180.0.1:8080', '10.180.0.1:8081']);
  });
});

describe('joinEndpoints: locality', () => {
  it.each([
    { case: 'on this node', ep: endpoint('10.180.0.1', local), nodeName: NODE, want: true },
    { case: 'elsewhere', ep: endpoint('10.180.0.1'), nodeName: NODE, want: false },
    { case: 'unset nodeName while ours is unknown', ep: endpoint('10.180.0.1', { nodeName: '' }), nodeName: '', want: false },
  ])('$case → local=$want', ({ ep, nodeName, want }) => {
    expect(join(svc, port(), [slice([ep])], 4, nodeName)[0]?.intent.local).toBe(want);
  });
});
