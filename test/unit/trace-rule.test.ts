import { describe, expect, it } from 'vitest';
import { tokenizeRestoreLine } from '../../src/trace/iptables-parse.js';
import { decodeRule, type RuleContext } from '../../src/trace/iptables-rule.js';

const NAT: RuleContext = { table: 'nat', chains: new Set(['KUBE-SVC-X', 'KUBE-MARK-MASQ']), family: 4 };
const FILTER: RuleContext = { table: 'filter', chains: new Set(['KUBE-SERVICES']), family: 4 };

function decode(line: string, context = NAT): ReturnType<typeof decodeRule> {
  const tokens = tokenizeRestoreLine(line);
  if ('error' in tokens) throw new Error(tokens.error);
  return decodeRule(tokens, context);
}

describe('decodeRule: matches', () => {
  it('decodes kube-proxy ClusterIP dispatch', () => {
    expect(decode('-m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 ! -s 10.0.0.0/8 -j KUBE-SVC-X')).toEqual({
      matches: [
        { kind: 'protocol', negate: false, protocol: 'tcp' },
        { kind: 'address', field: 'dst', negate: false, cidr: { cidr: '172.30.0.41/32', network: '172.30.0.41', prefix: 32, family: 4 } },
        { kind: 'address', field: 'src', negate: true, cidr: { cidr: '10.0.0.0/8', network: '10.0.0.0', prefix: 8, family: 4 } },
        { kind: 'dport', negate: false, from: 80, to: 80 },
      ],
      target: { kind: 'jump', chain: 'KUBE-SVC-X' },
    });
  });

  it('loads the port match implicitly for -p udp, and reads port ranges', () => {
    expect(decode('-p udp ! --dport 30000:32767')).toEqual({
      matches: [
        { kind: 'protocol', negate: false, protocol: 'udp' },
        { kind: 'dport', negate: true, from: 30000, to: 32767 },
      ],
      target: { kind: 'none' },
    });
  });

  it('decodes addrtype, conntrack, mark, statistic and recent', () => {
    const rule = decode(
      '-m addrtype ! --src-type LOCAL --dst-type LOCAL -m conntrack ! --ctstate RELATED,ESTABLISHED -m mark --mark 0x4000/0x4000 ' +
        '-m statistic --mode random --probability 0.2500000000 -m recent --name KUBE-SEP-X --rcheck --seconds 10800 --reap -j RETURN',
    );
    expect(rule).toEqual({
      matches: [
        { kind: 'local', field: 'src', negate: true },
        { kind: 'local', field: 'dst', negate: false },
        { kind: 'ctstate', negate: true, states: ['RELATED', 'ESTABLISHED'] },
        { kind: 'mark', negate: false, value: 0x4000, mask: 0x4000 },
        { kind: 'statistic', negate: false, probability: 0.25 },
        { kind: 'recent', negate: false, check: true },
      ],
      target: { kind: 'RETURN' },
    });
  });

  it('finds an option in an earlier module, as iptables does', () => {
    expect(decode('-m tcp -p tcp -m comment --comment x --dport 80')).toMatchObject({
      matches: [{ kind: 'protocol' }, { kind: 'dport', from: 80, to: 80 }],
    });
  });
});

describe('decodeRule: targets', () => {
  it.each([
    ['-j DNAT --to-destination 10.180.0.1', { kind: 'DNAT', ip: '10.180.0.1', port: null }],
    ['-j MASQUERADE --random-fully', { kind: 'MASQUERADE' }],
    ['-j MARK --or-mark 0x4000', { kind: 'MARK', clear: 0x4000, toggle: 0x4000 }],
    ['-j MARK --xor-mark 0x4000', { kind: 'MARK', clear: 0, toggle: 0x4000 }],
    ['-j MARK --set-xmark 0x4000/0xc000', { kind: 'MARK', clear: 0xc000, toggle: 0x4000 }],
    ['-j MARK --set-mark 0x1/0xff', { kind: 'MARK', clear: 0xff, toggle: 0x1 }],
    ['-j MARK --and-mark 0xff', { kind: 'MARK', clear: 0xffffff00, toggle: 0 }],
  ])('%s', (line, target) => {
    expect(decode(line)).toEqual({ matches: [], target });
  });

  it('decodes DNAT to an address and port, IPv4 and bracketed IPv6', () => {
    expect(decode('-m tcp -p tcp -j DNAT --to-destination 10.180.0.1:80')).toEqual({
      matches: [{ kind: 'protocol', negate: false, protocol: 'tcp' }],
      target: { kind: 'DNAT', ip: '10.180.0.1', port: 80 },
    });
    expect(decode('-p udp -j DNAT --to-destination [fd00:0::1]:8080', { ...NAT, family: 6 })).toEqual({
      matches: [{ kind: 'protocol', negate: false, protocol: 'udp' }],
      target: { kind: 'DNAT', ip: 'fd00::1', port: 8080 },
    });
  });

  it('decodes REJECT with its option in filter', () => {
    expect(decode('-j REJECT --reject-with icmp-port-unreachable', FILTER)).toEqual({ matches: [], target: { kind: 'REJECT' } });
  });
});

describe('decodeRule: refusals', () => {
  it.each([
    ['-i eth0 -j ACCEPT', NAT, 'unsupported option "-i"'],
    ['-m limit --limit 5/s', NAT, 'unsupported match module "limit"'],
    ['-m tcp --dport 80', NAT, '-m tcp needs -p tcp'],
    ['-m tcp -p udp --dport 80', NAT, '-m tcp needs -p tcp'],
    ['--dport 80', NAT, 'unsupported option "--dport"'],
    ['-m addrtype --dst-type UNICAST', NAT, 'addrtype --dst-type UNICAST is not supported (only LOCAL)'],
    ['-m conntrack --ctstate NEWISH', NAT, 'unknown conntrack state "NEWISH"'],
    ['-m statistic --mode nth --every 2', NAT, 'unsupported option "--every"'],
    ['-m statistic --mode random --probability 1.5', NAT, 'bad probability "1.5"'],
    ['-m mark --mark banana', NAT, 'bad mark match "banana"'],
    ['-m recent --name X', NAT, 'recent is supported only as --name N with one of --rcheck or --set'],
    ['-s 10.0.0.0/33', NAT, 'bad address "10.0.0.0/33"'],
    ['-d fd00::1', NAT, 'IPv6 address fd00::1 in an IPv4 ruleset'],
    ['-p tcp -p udp ! ', NAT, 'dangling "!"'],
    ['! -j ACCEPT', NAT, '"!" cannot precede -j'],
    ['-j ACCEPT -j DROP', NAT, 'more than one target'],
    ['-j LOG', NAT, 'unsupported target or undeclared chain LOG'],
    ['-j KUBE-SERVICES', NAT, 'unsupported target or undeclared chain KUBE-SERVICES'],
    ['-j REJECT', NAT, 'REJECT is valid only in the filter table'],
    ['-j DNAT --to-destination 10.0.0.1:80', FILTER, 'DNAT is valid only in the nat table'],
    ['-j DNAT --to-destination 10.180.0.1:80', NAT, 'DNAT to a port needs -p tcp, udp or sctp'],
    ['! -p tcp -j DNAT --to-destination 10.180.0.1:80', NAT, 'DNAT to a port needs -p tcp, udp or sctp'],
    ['-j DNAT --to-destination 10.0.0.1:99999', NAT, 'DNAT needs --to-destination IP[:PORT]'],
    ['-p tcp -j DNAT --to-destination [fd00::1]:80', NAT, 'DNAT to fd00::1 in an IPv4 ruleset'],
    ['-j MARK --or-mark 0x1 --xor-mark 0x2', NAT, 'MARK needs exactly one of its options'],
    ['-j MASQUERADE --to-ports 1000', NAT, 'unsupported option "--to-ports"'],
    ['-m comment --comment a --comment b', NAT, 'option --comment given twice'],
  ])('%s', (line, context, error) => {
    expect(decode(line, context)).toEqual({ error });
  });
});
