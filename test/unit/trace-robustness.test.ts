/**
 * The tracer is part of the pure core: whatever text it is handed, it returns a result or
 * an error value and never throws; and every result's probabilities add up to 1.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { traceIptables } from '../../src/trace/iptables-trace.js';
import type { Packet } from '../../src/trace/types.js';

const NODE = { localAddresses: ['192.168.0.2'] };

const WORDS = [
  '-A', '-X', '-j', '-m', '-p', '-s', '-d', '!', '--dport', '--comment', '--mark', '--ctstate', '--probability',
  '--mode', 'random', '--to-destination', '--or-mark', '--xor-mark', '--set-xmark', '--src-type', '--dst-type',
  'LOCAL', 'NEW', 'INVALID', 'tcp', 'udp', 'sctp', 'comment', 'addrtype', 'conntrack', 'mark', 'statistic', 'recent',
  '--rcheck', '--set', '--name', 'ACCEPT', 'DROP', 'REJECT', 'RETURN', 'DNAT', 'MARK', 'MASQUERADE', 'KUBE-A', 'KUBE-B',
  'PREROUTING', 'OUTPUT', 'POSTROUTING', 'FORWARD', 'INPUT', '0x4000', '0x4000/0x4000', '0.5000000000', '80', '1:100',
  '10.0.0.0/8', '172.30.0.41', '10.180.0.1:80', '[fd00::1]:80', '"a b"', '"', '\\', 'constructor', '__proto__', 'toString',
];

const line = fc.oneof(
  fc.array(fc.constantFrom(...WORDS), { maxLength: 12 }).map((tokens) => tokens.join(' ')),
  fc.constantFrom('*nat', '*filter', '*mangle', '*constructor', 'COMMIT', ':KUBE-A - [0:0]', ':KUBE-B - [0:0]', ':FORWARD DROP [0:0]'),
  fc.string({ maxLength: 30 }),
);

const MATCHES = [
  '-s 10.0.0.0/8', '! -s 10.0.0.0/8', '-d 172.30.0.41', '! -d 10.180.0.1/32', '-m tcp -p tcp --dport 80', '-p udp',
  '-m addrtype --dst-type LOCAL', '-m addrtype ! --src-type LOCAL', '-m mark --mark 0x4000/0x4000', '-m mark ! --mark 0x4000/0x4000',
  '-m conntrack --ctstate NEW', '-m conntrack --ctstate INVALID', '-m statistic --mode random --probability 0.3333333333',
  '-m statistic --mode random --probability 0.5000000000', '-m recent --name KUBE-A --rcheck --seconds 10 --reap',
  '-m recent --name KUBE-A --set', '-m comment --comment "a \\"quoted\\" comment"',
];
const COMMON_TARGETS = ['', '-j ACCEPT', '-j DROP', '-j RETURN', '-j KUBE-A', '-j KUBE-B', '-j MARK --or-mark 0x4000', '-j MARK --xor-mark 0x4000'];
const NAT_TARGETS = [...COMMON_TARGETS, '-p tcp -j DNAT --to-destination 10.180.0.1:80', '-p tcp -j DNAT --to-destination 10.180.0.2', '-j MASQUERADE --random-fully'];
const FILTER_TARGETS = [...COMMON_TARGETS, '-j REJECT'];

function ruleLine(chains: readonly string[], targets: readonly string[]): fc.Arbitrary<string> {
  return fc
    .tuple(fc.constantFrom(...chains), fc.array(fc.constantFrom(...MATCHES), { maxLength: 3 }), fc.constantFrom(...targets))
    .map(([chain, matches, target]) => ['-A', chain, ...matches, target].filter((t) => t !== '').join(' '));
}

const natRule = ruleLine(['PREROUTING', 'OUTPUT', 'POSTROUTING', 'KUBE-A', 'KUBE-B'], NAT_TARGETS);
const filterRule = ruleLine(['INPUT', 'FORWARD', 'OUTPUT', 'KUBE-A', 'KUBE-B'], FILTER_TARGETS);

const packet: fc.Arbitrary<Packet> = fc.record({
  src: fc.constantFrom('10.0.1.1', '10.180.0.1', '192.168.0.2', '203.0.113.9'),
  dst: fc.constantFrom('172.30.0.41', '192.168.0.2', '10.180.0.1'),
  dport: fc.constantFrom(80, 3001),
  protocol: fc.constantFrom('tcp' as const, 'udp' as const, 'sctp' as const),
});

describe('traceIptables on arbitrary input', () => {
  it('never throws on arbitrary lines', () => {
    fc.assert(
      fc.property(fc.array(line, { maxLength: 15 }), packet, (lines, p) => {
        const result = traceIptables(lines.join('\n'), p, NODE);
        expect(typeof result).toBe('object');
      }),
      { numRuns: 500 },
    );
  });

  it('returns outcomes adding up to 1 (or an error) for structurally valid batches', () => {
    let traced = 0;
    fc.assert(
      fc.property(fc.array(natRule, { maxLength: 8 }), fc.array(filterRule, { maxLength: 6 }), packet, (nat, filter, p) => {
        const declarations = [':KUBE-A - [0:0]', ':KUBE-B - [0:0]'];
        const text = ['*nat', ...declarations, ...nat, 'COMMIT', '*filter', ...declarations, ...filter, 'COMMIT'].join('\n');
        const result = traceIptables(text, p, NODE);
        if ('error' in result) return;
        traced++;
        const total = result.outcomes.reduce((sum, o) => sum + o.probability, 0);
        expect(Math.abs(total - 1)).toBeLessThan(1e-9);
        for (const o of result.outcomes) expect(o.verdict === 'DNAT').toBe(o.endpoint !== null);
      }),
      { numRuns: 500 },
    );
    expect(traced).toBeGreaterThan(200);
  });
});
