import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareEndpoints, endpointOrder, sortEndpoints } from '../../src/compile/order.js';

type Ep = { ip: string; port: number; tag: number };

// Few distinct values, so lists repeat addresses and ports (stability is tested too).
const ipv4 = fc.constantFrom('10.0.0.2', '10.0.0.3', '10.0.0.10', '10.0.1.1', '9.255.255.255', '192.168.0.1', '255.255.255.255', '0.0.0.0');
const ipv6 = fc.constantFrom('fd00::1', 'fd00::a', '::1');
const port = fc.constantFrom(0, 80, 8080, 65535);
const list = (ip: fc.Arbitrary<string>) =>
  fc.array(fc.record({ ip, port }), { maxLength: 45, size: 'max' }).map((eps) => eps.map((ep, tag): Ep => ({ ...ep, tag })));

/** The reference: a stable sort by compareEndpoints. */
const reference = (eps: Ep[]) => [...eps].sort(compareEndpoints).map((ep) => ep.tag);

describe('endpointOrder', () => {
  it.each([
    ['IPv4 only (short lists by insertion, longer by comparator)', list(ipv4)],
    ['IPv4 and IPv6 mixed', list(fc.oneof(ipv4, ipv6))],
  ])('orders %s as a stable sort by compareEndpoints does', (_name, lists) => {
    fc.assert(
      fc.property(lists, (eps) => {
        const order = endpointOrder(eps);
        const tags = order === null ? eps.map((ep) => ep.tag) : order.map((i) => eps[i]!.tag);
        expect(tags).toEqual(reference(eps));
        if (order !== null) expect(order).not.toEqual(eps.map((_, i) => i));
      }),
      { numRuns: 400 },
    );
  });

  it('is null for a list in order, and sortEndpoints then returns the list itself', () => {
    const eps = [
      { ip: '10.0.0.2', port: 80 },
      { ip: '10.0.0.10', port: 80 },
      { ip: '10.0.0.10', port: 8080 },
    ];
    expect(endpointOrder(eps)).toBeNull();
    expect(sortEndpoints(eps)).toBe(eps);
  });

  it('sorts numerically, not as text', () => {
    const eps = [
      { ip: '10.0.0.10', port: 80 },
      { ip: '10.0.0.9', port: 80 },
    ];
    expect(sortEndpoints(eps).map((ep) => ep.ip)).toEqual(['10.0.0.9', '10.0.0.10']);
  });
});
