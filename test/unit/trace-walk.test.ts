/**
 * Kernel traversal details of the iptables tracer, on tiny rulesets. Node address
 * 192.168.0.2; client 10.0.1.1; service address 172.30.0.41.
 */
import { describe, expect, it } from 'vitest';
import { traceIptables } from '../../src/trace/iptables-trace.js';
import type { Packet, TraceOutcome } from '../../src/trace/types.js';

const NODE = { localAddresses: ['192.168.0.2'] };
const PACKET: Packet = { src: '10.0.1.1', dst: '172.30.0.41', dport: 80, protocol: 'tcp' };

function outcomes(lines: string[], packet: Packet = PACKET): TraceOutcome[] {
  const result = traceIptables(`${lines.join('\n')}\n`, packet, NODE);
  if ('error' in result) throw new Error(result.error);
  return result.outcomes;
}

function verdicts(lines: string[], packet: Packet = PACKET): string[] {
  return outcomes(lines, packet).map((o) => `${o.verdict} ${o.endpoint ?? '-'} masq=${o.masquerade ? 'yes' : 'no'} @${o.probability}`);
}

const MASQUERADE_MARKED = [
  '*nat',
  ':KUBE-POSTROUTING - [0:0]',
  '-A POSTROUTING -j KUBE-POSTROUTING',
  '-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN',
  '-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000',
  '-A KUBE-POSTROUTING -j MASQUERADE --random-fully',
];

describe('traceIptables: traversal', () => {
  it('treats an empty batch as built-in chains with policy ACCEPT', () => {
    expect(verdicts([])).toEqual(['ACCEPT - masq=no @1']);
  });

  it('applies a built-in chain policy DROP when the packet falls off the end, naming it in the path', () => {
    const [outcome] = outcomes(['*filter', ':FORWARD DROP [0:0]', '-A FORWARD -s 10.9.0.0/16 -j ACCEPT', 'COMMIT']);
    expect(outcome).toMatchObject({ verdict: 'DROP', path: ['filter/FORWARD: policy DROP'] });
  });

  it('applies the policy on RETURN from a built-in chain', () => {
    expect(verdicts(['*filter', ':FORWARD DROP [0:0]', '-A FORWARD -j RETURN', '-A FORWARD -j ACCEPT', 'COMMIT'])).toEqual([
      'DROP - masq=no @1',
    ]);
  });

  it('keeps DNAT without a port on the original port, and routes on the new destination', () => {
    const lines = ['*nat', '-A PREROUTING -j DNAT --to-destination 192.168.0.2', 'COMMIT', '*filter', ':INPUT DROP [0:0]', 'COMMIT'];
    const [outcome] = outcomes(lines);
    expect(outcome).toMatchObject({ verdict: 'DROP' });
    expect(outcome?.path.at(-1)).toBe('filter/INPUT: policy DROP');
    expect(verdicts(['*nat', '-A PREROUTING -j DNAT --to-destination 10.180.0.9', 'COMMIT'])).toEqual(['DNAT 10.180.0.9:80 masq=no @1']);
  });

  it('stops nat traversal at ACCEPT and at DNAT', () => {
    expect(verdicts(['*nat', '-A PREROUTING -j ACCEPT', '-A PREROUTING -p tcp -j DNAT --to-destination 10.180.0.1:80', 'COMMIT'])).toEqual([
      'ACCEPT - masq=no @1',
    ]);
    expect(
      verdicts([
        '*nat',
        '-A PREROUTING -p tcp -j DNAT --to-destination 10.180.0.1:80',
        '-A PREROUTING -p tcp -j DNAT --to-destination 10.180.0.2:80',
        'COMMIT',
      ]),
    ).toEqual(['DNAT 10.180.0.1:80 masq=no @1']);
  });

  it('continues after a rule without a target, and records it', () => {
    const [outcome] = outcomes(['*filter', '-A FORWARD -s 10.0.0.0/8', '-A FORWARD -j DROP', 'COMMIT']);
    expect(outcome?.path).toEqual(['filter/FORWARD: -A FORWARD -s 10.0.0.0/8', 'filter/FORWARD: -A FORWARD -j DROP']);
  });

  it('matches the protocol and the port range', () => {
    const lines = ['*filter', '-A FORWARD -p udp -j DROP', '-A FORWARD -m tcp -p tcp --dport 81:90 -j REJECT', 'COMMIT'];
    expect(verdicts(lines)).toEqual(['ACCEPT - masq=no @1']);
    expect(verdicts(lines, { ...PACKET, dport: 85 })).toEqual(['REJECT - masq=no @1']);
    expect(verdicts(lines, { ...PACKET, protocol: 'udp' })).toEqual(['DROP - masq=no @1']);
  });
});

describe('traceIptables: marks and masquerade', () => {
  it('masquerades in POSTROUTING only when the mark bit was set, clearing it on the way', () => {
    expect(verdicts([...MASQUERADE_MARKED, 'COMMIT'])).toEqual(['ACCEPT - masq=no @1']);
    const marked = ['*nat', ':KUBE-POSTROUTING - [0:0]', '-A PREROUTING -j MARK --set-xmark 0x4000/0x4000', ...MASQUERADE_MARKED.slice(2), 'COMMIT'];
    expect(verdicts(marked)).toEqual(['ACCEPT - masq=yes @1']);
  });

  it('sees the mark in filter too (skb->mark persists across tables)', () => {
    const lines = ['*nat', '-A PREROUTING -j MARK --or-mark 0x4000', 'COMMIT', '*filter', '-A FORWARD -m mark --mark 0x4000/0x4000 -j DROP', 'COMMIT'];
    expect(verdicts(lines)).toEqual(['DROP - masq=no @1']);
  });

  it('does not record masquerade for a packet delivered locally (POSTROUTING does not run on INPUT)', () => {
    const lines = [
      '*nat',
      ':KUBE-POSTROUTING - [0:0]',
      '-A PREROUTING -j MARK --or-mark 0x4000',
      '-A PREROUTING -p tcp -j DNAT --to-destination 192.168.0.2:8080',
      ...MASQUERADE_MARKED.slice(2),
      'COMMIT',
    ];
    expect(verdicts(lines)).toEqual(['DNAT 192.168.0.2:8080 masq=no @1']);
    expect(verdicts(lines.map((l) => l.replace('192.168.0.2:8080', '10.180.0.1:8080')))).toEqual(['DNAT 10.180.0.1:8080 masq=yes @1']);
  });
});

describe('traceIptables: state-dependent matches of a first packet', () => {
  it('matches NEW, and DNAT once nat rewrote the packet; never INVALID, RELATED or ESTABLISHED', () => {
    const filter = (states: string) => ['*filter', `-A FORWARD -m conntrack --ctstate ${states} -j DROP`, 'COMMIT'];
    expect(verdicts(filter('INVALID'))).toEqual(['ACCEPT - masq=no @1']);
    expect(verdicts(filter('RELATED,ESTABLISHED'))).toEqual(['ACCEPT - masq=no @1']);
    expect(verdicts(filter('ESTABLISHED,NEW'))).toEqual(['DROP - masq=no @1']);
    expect(verdicts(['*filter', '-A FORWARD -m conntrack ! --ctstate NEW -j DROP', 'COMMIT'])).toEqual(['ACCEPT - masq=no @1']);
    expect(verdicts(filter('DNAT'))).toEqual(['ACCEPT - masq=no @1']);
    expect(verdicts(['*nat', '-A PREROUTING -p tcp -j DNAT --to-destination 10.180.0.1:80', 'COMMIT', ...filter('DNAT')])).toEqual([
      'DROP - masq=no @1',
    ]);
  });

  it('never matches recent --rcheck (no history) and always matches recent --set', () => {
    const lines = [
      '*nat',
      ':KUBE-SEP-A - [0:0]',
      ':KUBE-SEP-B - [0:0]',
      '-A PREROUTING -m recent --name KUBE-SEP-A --rcheck --seconds 10800 --reap -j KUBE-SEP-A',
      '-A PREROUTING -j KUBE-SEP-B',
      '-A KUBE-SEP-A -p tcp -j DNAT --to-destination 10.180.0.1:80',
      '-A KUBE-SEP-B -m recent --name KUBE-SEP-B --set -p tcp -j DNAT --to-destination 10.180.0.2:80',
      'COMMIT',
    ];
    expect(verdicts(lines)).toEqual(['DNAT 10.180.0.2:80 masq=no @1']);
  });

  it('forks on a negated statistic match with the complementary probability', () => {
    const lines = [
      '*nat',
      '-A PREROUTING -m statistic --mode random ! --probability 0.2500000000 -p tcp -j DNAT --to-destination 10.180.0.1:80',
      '-A PREROUTING -p tcp -j DNAT --to-destination 10.180.0.2:80',
      'COMMIT',
    ];
    expect(verdicts(lines)).toEqual(['DNAT 10.180.0.1:80 masq=no @0.75', 'DNAT 10.180.0.2:80 masq=no @0.25']);
  });

  it('sorts DNAT outcomes by endpoint before the ones without an endpoint', () => {
    const lines = [
      '*nat',
      '-A PREROUTING -m statistic --mode random --probability 0.5000000000 -j ACCEPT',
      '-A PREROUTING -m statistic --mode random --probability 0.5000000000 -p tcp -j DNAT --to-destination 10.180.0.2:80',
      '-A PREROUTING -p tcp -j DNAT --to-destination 10.180.0.1:80',
      'COMMIT',
      '*filter',
      '-A FORWARD -d 10.180.0.1 -j REJECT',
      'COMMIT',
    ];
    expect(verdicts(lines)).toEqual(['DNAT 10.180.0.2:80 masq=no @0.25', 'ACCEPT - masq=no @0.5', 'REJECT - masq=no @0.25']);
  });
});

describe('traceIptables: refusals while walking', () => {
  it('refuses DNAT reached from POSTROUTING and rules in tables it does not trace', () => {
    const dnatInPostrouting = ['*nat', '-A POSTROUTING -p tcp -j DNAT --to-destination 10.180.0.1:80', 'COMMIT'];
    expect(traceIptables(dnatInPostrouting.join('\n'), PACKET, NODE)).toEqual({
      error: 'DNAT reached from POSTROUTING, where the kernel refuses it: -A POSTROUTING -p tcp -j DNAT --to-destination 10.180.0.1:80',
    });
    const mangle = ['*mangle', ':KUBE-PROXY-CANARY - [0:0]', 'COMMIT'];
    expect('error' in traceIptables(mangle.join('\n'), PACKET, NODE)).toBe(false);
    expect(traceIptables([...mangle.slice(0, 2), '-A PREROUTING -j ACCEPT', 'COMMIT'].join('\n'), PACKET, NODE)).toEqual({
      error: 'table mangle has rules (PREROUTING); only filter and nat are traced',
    });
  });

  it('refuses a packet with a bad address or port, and a bad local address', () => {
    expect(traceIptables('', { ...PACKET, dst: 'nope' }, NODE)).toEqual({ error: expect.stringContaining('must be IP addresses') });
    expect(traceIptables('', { ...PACKET, dport: 0 }, NODE)).toEqual({ error: expect.stringContaining('out of range') });
    expect(traceIptables('', PACKET, { localAddresses: ['x'] })).toEqual({ error: 'local address "x" is not an IP address' });
  });
});
