/**
 * The iptables tracer against hand-written rulesets in kube-proxy's iptables layout.
 *
 * Address conventions: node IP 192.168.0.2 (the only local address), pod CIDR 10.0.0.0/8,
 * endpoints 10.180.x.x (10.180.1.x run on this node), ClusterIPs 172.30.0.4x, external
 * client 203.0.113.9, LoadBalancer IP 198.51.100.5, external IP 192.0.2.22.
 *
 *   ns1/svc1:p80  ClusterIP 172.30.0.41:80, endpoints 10.180.0.1-3:80
 *   ns2/svc2:p80  NodePort 3001 + external IP, cluster policy, endpoint 10.180.0.4:8080
 *   ns3/svc3:p80  NodePort 3003, externalTrafficPolicy Local, endpoints 10.180.0.5:80 and
 *                 10.180.1.1:80 (local)
 *   ns4/svc4:p80  ClusterIP 172.30.0.44:80 + NodePort 3004, no endpoints
 *   ns5/svc5:p80  LoadBalancer 198.51.100.5:80, source range 203.0.113.0/25, endpoint 10.180.0.6:80
 */
import { describe, expect, it } from 'vitest';
import { traceIptables } from '../../src/trace/iptables-trace.js';
import type { Packet, TraceNode, TraceOutcome, TraceResult } from '../../src/trace/types.js';

const NODE: TraceNode = { localAddresses: ['192.168.0.2'] };

const FILTER = `*filter
:KUBE-EXTERNAL-SERVICES - [0:0]
:KUBE-FORWARD - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-PROXY-FIREWALL - [0:0]
:KUBE-SERVICES - [0:0]
-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
-A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS
-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES
-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES
-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A KUBE-EXTERNAL-SERVICES -m comment --comment "ns4/svc4:p80 has no endpoints" -m addrtype --dst-type LOCAL -m tcp -p tcp --dport 3004 -j REJECT
-A KUBE-FORWARD -m conntrack --ctstate INVALID -m comment --comment "block incoming invalid packets" -j DROP
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A KUBE-PROXY-FIREWALL -m comment --comment "ns5/svc5:p80 traffic not accepted by KUBE-FW-SVC5" -m tcp -p tcp -d 198.51.100.5 --dport 80 -j DROP
-A KUBE-SERVICES -m comment --comment "ns4/svc4:p80 has no endpoints" -m tcp -p tcp -d 172.30.0.44 --dport 80 -j REJECT --reject-with icmp-port-unreachable
COMMIT
`;

const NAT = `*nat
:KUBE-EXT-SVC2 - [0:0]
:KUBE-EXT-SVC3 - [0:0]
:KUBE-EXT-SVC5 - [0:0]
:KUBE-FW-SVC5 - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-SEP-1 - [0:0]
:KUBE-SEP-2 - [0:0]
:KUBE-SEP-3 - [0:0]
:KUBE-SEP-4 - [0:0]
:KUBE-SEP-5 - [0:0]
:KUBE-SEP-6 - [0:0]
:KUBE-SEP-L1 - [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-SVC-SVC1 - [0:0]
:KUBE-SVC-SVC2 - [0:0]
:KUBE-SVC-SVC3 - [0:0]
:KUBE-SVC-SVC5 - [0:0]
:KUBE-SVL-SVC3 - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j KUBE-SVC-SVC1
-A KUBE-SERVICES -m comment --comment "ns2/svc2:p80 cluster IP" -m tcp -p tcp -d 172.30.0.42 --dport 80 -j KUBE-SVC-SVC2
-A KUBE-SERVICES -m comment --comment "ns2/svc2:p80 external IP" -m tcp -p tcp -d 192.0.2.22 --dport 80 -j KUBE-EXT-SVC2
-A KUBE-SERVICES -m comment --comment "ns3/svc3:p80 cluster IP" -m tcp -p tcp -d 172.30.0.43 --dport 80 -j KUBE-SVC-SVC3
-A KUBE-SERVICES -m comment --comment "ns5/svc5:p80 cluster IP" -m tcp -p tcp -d 172.30.0.45 --dport 80 -j KUBE-SVC-SVC5
-A KUBE-SERVICES -m comment --comment "ns5/svc5:p80 loadbalancer IP" -m tcp -p tcp -d 198.51.100.5 --dport 80 -j KUBE-FW-SVC5
-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
-A KUBE-NODEPORTS -m comment --comment ns2/svc2:p80 -m tcp -p tcp --dport 3001 -j KUBE-EXT-SVC2
-A KUBE-NODEPORTS -m comment --comment ns3/svc3:p80 -m tcp -p tcp --dport 3003 -j KUBE-EXT-SVC3
-A KUBE-SVC-SVC1 -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ
-A KUBE-SVC-SVC1 -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -m statistic --mode random --probability 0.3333333333 -j KUBE-SEP-1
-A KUBE-SVC-SVC1 -m comment --comment "ns1/svc1:p80 -> 10.180.0.2:80" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-2
-A KUBE-SVC-SVC1 -m comment --comment "ns1/svc1:p80 -> 10.180.0.3:80" -j KUBE-SEP-3
-A KUBE-SEP-1 -m comment --comment ns1/svc1:p80 -s 10.180.0.1 -j KUBE-MARK-MASQ
-A KUBE-SEP-1 -m comment --comment ns1/svc1:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.0.1:80
-A KUBE-SEP-2 -m comment --comment ns1/svc1:p80 -s 10.180.0.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-2 -m comment --comment ns1/svc1:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.0.2:80
-A KUBE-SEP-3 -m comment --comment ns1/svc1:p80 -s 10.180.0.3 -j KUBE-MARK-MASQ
-A KUBE-SEP-3 -m comment --comment ns1/svc1:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.0.3:80
-A KUBE-EXT-SVC2 -m comment --comment "masquerade traffic for ns2/svc2:p80 external destinations" -j KUBE-MARK-MASQ
-A KUBE-EXT-SVC2 -j KUBE-SVC-SVC2
-A KUBE-SVC-SVC2 -m comment --comment "ns2/svc2:p80 cluster IP" -m tcp -p tcp -d 172.30.0.42 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ
-A KUBE-SVC-SVC2 -m comment --comment "ns2/svc2:p80 -> 10.180.0.4:8080" -j KUBE-SEP-4
-A KUBE-SEP-4 -m comment --comment ns2/svc2:p80 -s 10.180.0.4 -j KUBE-MARK-MASQ
-A KUBE-SEP-4 -m comment --comment ns2/svc2:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.0.4:8080
-A KUBE-EXT-SVC3 -m comment --comment "pod traffic for ns3/svc3:p80 external destinations" -s 10.0.0.0/8 -j KUBE-SVC-SVC3
-A KUBE-EXT-SVC3 -m comment --comment "masquerade LOCAL traffic for ns3/svc3:p80 external destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ
-A KUBE-EXT-SVC3 -m comment --comment "route LOCAL traffic for ns3/svc3:p80 external destinations" -m addrtype --src-type LOCAL -j KUBE-SVC-SVC3
-A KUBE-EXT-SVC3 -j KUBE-SVL-SVC3
-A KUBE-SVC-SVC3 -m comment --comment "ns3/svc3:p80 cluster IP" -m tcp -p tcp -d 172.30.0.43 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ
-A KUBE-SVC-SVC3 -m comment --comment "ns3/svc3:p80 -> 10.180.0.5:80" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-5
-A KUBE-SVC-SVC3 -m comment --comment "ns3/svc3:p80 -> 10.180.1.1:80" -j KUBE-SEP-L1
-A KUBE-SVL-SVC3 -m comment --comment "ns3/svc3:p80 -> 10.180.1.1:80" -j KUBE-SEP-L1
-A KUBE-SEP-5 -m comment --comment ns3/svc3:p80 -s 10.180.0.5 -j KUBE-MARK-MASQ
-A KUBE-SEP-5 -m comment --comment ns3/svc3:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.0.5:80
-A KUBE-SEP-L1 -m comment --comment ns3/svc3:p80 -s 10.180.1.1 -j KUBE-MARK-MASQ
-A KUBE-SEP-L1 -m comment --comment ns3/svc3:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.1.1:80
-A KUBE-FW-SVC5 -m comment --comment "ns5/svc5:p80 loadbalancer IP" -s 203.0.113.0/25 -j KUBE-EXT-SVC5
-A KUBE-FW-SVC5 -m comment --comment "other traffic to ns5/svc5:p80 will be dropped by KUBE-PROXY-FIREWALL"
-A KUBE-EXT-SVC5 -m comment --comment "masquerade traffic for ns5/svc5:p80 external destinations" -j KUBE-MARK-MASQ
-A KUBE-EXT-SVC5 -j KUBE-SVC-SVC5
-A KUBE-SVC-SVC5 -m comment --comment "ns5/svc5:p80 -> 10.180.0.6:80" -j KUBE-SEP-6
-A KUBE-SEP-6 -m comment --comment ns5/svc5:p80 -s 10.180.0.6 -j KUBE-MARK-MASQ
-A KUBE-SEP-6 -m comment --comment ns5/svc5:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.0.6:80
COMMIT
`;

const RULESET = FILTER + NAT;

function tcp(src: string, dst: string, dport: number): Packet {
  return { src, dst, dport, protocol: 'tcp' };
}

function trace(packet: Packet, text = RULESET, node = NODE): TraceResult {
  const result = traceIptables(text, packet, node);
  if ('error' in result) throw new Error(result.error);
  return result;
}

/** `verdict endpoint masq=yes|no @probability` per outcome, probability to 6 decimals. */
function summary(result: TraceResult): string[] {
  return result.outcomes.map(
    (o) => `${o.verdict} ${o.endpoint ?? '-'} masq=${o.masquerade ? 'yes' : 'no'} @${o.probability.toFixed(6)}`,
  );
}

function only(result: TraceResult): TraceOutcome {
  expect(result.outcomes).toHaveLength(1);
  return result.outcomes[0] as TraceOutcome;
}

function totalProbability(result: TraceResult): number {
  return result.outcomes.reduce((sum, o) => sum + o.probability, 0);
}

describe('traceIptables: ClusterIP', () => {
  it('spreads a pod-sourced flow over 3 endpoints, 1/3 each, without masquerade', () => {
    const result = trace(tcp('10.0.1.1', '172.30.0.41', 80));
    expect(summary(result)).toEqual([
      'DNAT 10.180.0.1:80 masq=no @0.333333',
      'DNAT 10.180.0.2:80 masq=no @0.333333',
      'DNAT 10.180.0.3:80 masq=no @0.333333',
    ]);
    expect(Math.abs(totalProbability(result) - 1)).toBeLessThan(1e-9);
    expect(result.outcomes[0]?.path).toEqual([
      'nat/PREROUTING: -A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
      'nat/KUBE-SERVICES: -A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j KUBE-SVC-SVC1',
      'nat/KUBE-SVC-SVC1: -A KUBE-SVC-SVC1 -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -m statistic --mode random --probability 0.3333333333 -j KUBE-SEP-1',
      'nat/KUBE-SEP-1: -A KUBE-SEP-1 -m comment --comment ns1/svc1:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.0.1:80',
      'filter/FORWARD: -A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
      'filter/FORWARD: -A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD',
      'filter/FORWARD: -A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
      'filter/FORWARD: -A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
      'nat/POSTROUTING: -A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
      'nat/KUBE-POSTROUTING: -A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN',
    ]);
  });

  it('masquerades a flow from outside the pod CIDR (! -s 10.0.0.0/8)', () => {
    const result = trace(tcp('203.0.113.9', '172.30.0.41', 80));
    expect(summary(result)).toEqual([
      'DNAT 10.180.0.1:80 masq=yes @0.333333',
      'DNAT 10.180.0.2:80 masq=yes @0.333333',
      'DNAT 10.180.0.3:80 masq=yes @0.333333',
    ]);
    const path = result.outcomes[1]?.path ?? [];
    expect(path).toContain(
      'nat/KUBE-MARK-MASQ: -A KUBE-MARK-MASQ -j MARK --or-mark 0x4000',
    );
    expect(path).toContain(
      'filter/KUBE-FORWARD: -A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT',
    );
    expect(path.at(-1)).toBe(
      'nat/KUBE-POSTROUTING: -A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
    );
  });

  it('masquerades a hairpin flow only on the branch that lands on the source itself', () => {
    const result = trace(tcp('10.180.0.2', '172.30.0.41', 80));
    expect(summary(result)).toEqual([
      'DNAT 10.180.0.1:80 masq=no @0.333333',
      'DNAT 10.180.0.2:80 masq=yes @0.333333',
      'DNAT 10.180.0.3:80 masq=no @0.333333',
    ]);
    expect(result.outcomes[1]?.path).toContain(
      'nat/KUBE-SEP-2: -A KUBE-SEP-2 -m comment --comment ns1/svc1:p80 -s 10.180.0.2 -j KUBE-MARK-MASQ',
    );
  });

  it('leaves a flow to another port of the ClusterIP untouched', () => {
    const outcome = only(trace(tcp('10.0.1.1', '172.30.0.41', 443)));
    expect(outcome).toMatchObject({ verdict: 'ACCEPT', endpoint: null, masquerade: false, probability: 1 });
  });

  it('sends node-originated traffic through nat OUTPUT and filter OUTPUT, masqueraded', () => {
    const result = trace(tcp('192.168.0.2', '172.30.0.41', 80));
    expect(summary(result)).toEqual([
      'DNAT 10.180.0.1:80 masq=yes @0.333333',
      'DNAT 10.180.0.2:80 masq=yes @0.333333',
      'DNAT 10.180.0.3:80 masq=yes @0.333333',
    ]);
    const path = result.outcomes[0]?.path ?? [];
    expect(path[0]).toBe('nat/OUTPUT: -A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES');
    expect(path.some((step) => step.startsWith('nat/PREROUTING'))).toBe(false);
    expect(path.some((step) => step.startsWith('filter/OUTPUT'))).toBe(true);
    expect(path.some((step) => step.startsWith('filter/FORWARD'))).toBe(false);
  });
});

describe('traceIptables: no endpoints', () => {
  it('REJECTs a ClusterIP flow in filter KUBE-SERVICES, since nat did not DNAT it', () => {
    const outcome = only(trace(tcp('10.0.1.1', '172.30.0.44', 80)));
    expect(outcome).toMatchObject({ verdict: 'REJECT', endpoint: null, masquerade: false, probability: 1 });
    expect(outcome.path.at(-1)).toBe(
      'filter/KUBE-SERVICES: -A KUBE-SERVICES -m comment --comment "ns4/svc4:p80 has no endpoints" -m tcp -p tcp -d 172.30.0.44 --dport 80 -j REJECT --reject-with icmp-port-unreachable',
    );
  });

  it('REJECTs a NodePort flow in filter KUBE-EXTERNAL-SERVICES on INPUT', () => {
    const outcome = only(trace(tcp('203.0.113.9', '192.168.0.2', 3004)));
    expect(outcome.verdict).toBe('REJECT');
    expect(outcome.path.at(-2)).toMatch(/^filter\/INPUT: .*-j KUBE-EXTERNAL-SERVICES$/);
    expect(outcome.path.at(-1)).toMatch(/^filter\/KUBE-EXTERNAL-SERVICES: .*--dport 3004 -j REJECT$/);
  });
});

describe('traceIptables: external traffic', () => {
  it('reaches a NodePort through the --dst-type LOCAL tail rule, masqueraded (cluster policy)', () => {
    const outcome = only(trace(tcp('203.0.113.9', '192.168.0.2', 3001)));
    expect(outcome).toMatchObject({ verdict: 'DNAT', endpoint: '10.180.0.4:8080', masquerade: true });
    expect(outcome.path).toContain(
      'nat/KUBE-SERVICES: -A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS',
    );
    expect(outcome.path).toContain(
      'nat/KUBE-NODEPORTS: -A KUBE-NODEPORTS -m comment --comment ns2/svc2:p80 -m tcp -p tcp --dport 3001 -j KUBE-EXT-SVC2',
    );
  });

  it('does not treat the NodePort on a non-local address as a service', () => {
    const outcome = only(trace(tcp('203.0.113.9', '192.168.0.99', 3001)));
    expect(outcome).toMatchObject({ verdict: 'ACCEPT', endpoint: null, masquerade: false });
  });

  it('reaches an external IP through KUBE-EXT, masqueraded', () => {
    const outcome = only(trace(tcp('203.0.113.9', '192.0.2.22', 80)));
    expect(outcome).toMatchObject({ verdict: 'DNAT', endpoint: '10.180.0.4:8080', masquerade: true });
  });

  it('DROPs a LoadBalancer flow from outside the source ranges in KUBE-PROXY-FIREWALL', () => {
    const outcome = only(trace(tcp('203.0.113.200', '198.51.100.5', 80)));
    expect(outcome).toMatchObject({ verdict: 'DROP', endpoint: null, masquerade: false, probability: 1 });
    expect(outcome.path).toContain(
      'nat/KUBE-FW-SVC5: -A KUBE-FW-SVC5 -m comment --comment "other traffic to ns5/svc5:p80 will be dropped by KUBE-PROXY-FIREWALL"',
    );
    expect(outcome.path.at(-1)).toBe(
      'filter/KUBE-PROXY-FIREWALL: -A KUBE-PROXY-FIREWALL -m comment --comment "ns5/svc5:p80 traffic not accepted by KUBE-FW-SVC5" -m tcp -p tcp -d 198.51.100.5 --dport 80 -j DROP',
    );
  });

  it('lets a LoadBalancer flow from inside the source ranges through, masqueraded', () => {
    const outcome = only(trace(tcp('203.0.113.9', '198.51.100.5', 80)));
    expect(outcome).toMatchObject({ verdict: 'DNAT', endpoint: '10.180.0.6:80', masquerade: true });
    expect(outcome.path.some((step) => step.startsWith('filter/KUBE-PROXY-FIREWALL'))).toBe(false);
  });
});

describe('traceIptables: externalTrafficPolicy Local (--src-type LOCAL rules)', () => {
  it('sends an external client to the local endpoint only, keeping its source', () => {
    const outcome = only(trace(tcp('203.0.113.9', '192.168.0.2', 3003)));
    expect(outcome).toMatchObject({ verdict: 'DNAT', endpoint: '10.180.1.1:80', masquerade: false });
    expect(outcome.path).toContain('nat/KUBE-EXT-SVC3: -A KUBE-EXT-SVC3 -j KUBE-SVL-SVC3');
  });

  it('sends node-originated traffic to every endpoint, masqueraded', () => {
    const result = trace(tcp('192.168.0.2', '192.168.0.2', 3003));
    expect(summary(result)).toEqual([
      'DNAT 10.180.0.5:80 masq=yes @0.500000',
      'DNAT 10.180.1.1:80 masq=yes @0.500000',
    ]);
    expect(result.outcomes[0]?.path).toContain(
      'nat/KUBE-EXT-SVC3: -A KUBE-EXT-SVC3 -m comment --comment "masquerade LOCAL traffic for ns3/svc3:p80 external destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ',
    );
  });

  it('short-circuits pod traffic to the cluster-wide chain without masquerade', () => {
    const result = trace(tcp('10.0.5.5', '192.168.0.2', 3003));
    expect(summary(result)).toEqual([
      'DNAT 10.180.0.5:80 masq=no @0.500000',
      'DNAT 10.180.1.1:80 masq=no @0.500000',
    ]);
  });
});

describe('traceIptables: probabilities', () => {
  function sevenEndpoints(): string {
    const lines = ['*nat', ':KUBE-SERVICES - [0:0]', ':KUBE-SVC-SEVEN - [0:0]'];
    for (let i = 0; i < 7; i++) lines.push(`:KUBE-SEP-${i} - [0:0]`);
    lines.push('-A PREROUTING -j KUBE-SERVICES');
    lines.push('-A KUBE-SERVICES -m tcp -p tcp -d 172.30.0.47 --dport 80 -j KUBE-SVC-SEVEN');
    for (let i = 0; i < 7; i++) {
      const statistic = i < 6 ? `-m statistic --mode random --probability ${(1 / (7 - i)).toFixed(10)} ` : '';
      lines.push(`-A KUBE-SVC-SEVEN ${statistic}-j KUBE-SEP-${i}`);
      lines.push(`-A KUBE-SEP-${i} -m tcp -p tcp -j DNAT --to-destination 10.180.0.${10 + i}:80`);
    }
    lines.push('COMMIT', '');
    return lines.join('\n');
  }

  it('gives each of 7 endpoints 1/7, summing to 1', () => {
    const result = trace(tcp('10.0.1.1', '172.30.0.47', 80), sevenEndpoints());
    expect(result.outcomes.map((o) => o.endpoint)).toEqual([10, 11, 12, 13, 14, 15, 16].map((n) => `10.180.0.${n}:80`));
    expect(Math.abs(totalProbability(result) - 1)).toBeLessThan(1e-9);
    for (const outcome of result.outcomes) expect(Math.abs(outcome.probability - 1 / 7)).toBeLessThan(1e-9);
  });

  it('merges branches that end alike, keeping the first path', () => {
    const text = [
      '*nat',
      ':KUBE-SVC-X - [0:0]',
      '-A PREROUTING -j KUBE-SVC-X',
      '-A KUBE-SVC-X -m statistic --mode random --probability 0.2500000000 -p tcp -j DNAT --to-destination 10.180.0.1:80',
      '-A KUBE-SVC-X -m statistic --mode random --probability 0.5000000000 -p tcp -j DNAT --to-destination 10.180.0.2:80',
      '-A KUBE-SVC-X -p tcp -j DNAT --to-destination 10.180.0.1:80',
      'COMMIT',
    ].join('\n');
    const result = trace(tcp('10.0.1.1', '172.30.0.41', 80), text);
    expect(summary(result)).toEqual(['DNAT 10.180.0.1:80 masq=no @0.625000', 'DNAT 10.180.0.2:80 masq=no @0.375000']);
    expect(result.outcomes[0]?.path.at(-1)).toContain('--probability 0.2500000000');
  });
});

describe('traceIptables: IPv6', () => {
  const text = [
    '*nat',
    ':KUBE-SERVICES - [0:0]',
    ':KUBE-SVC-V6 - [0:0]',
    ':KUBE-SEP-V6 - [0:0]',
    '-A PREROUTING -j KUBE-SERVICES',
    '-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d fd00:30::41 --dport 80 -j KUBE-SVC-V6',
    '-A KUBE-SVC-V6 -m tcp -p tcp -d fd00:30::41 --dport 80 ! -s fd00:10::/64 -j MARK --or-mark 0x4000',
    '-A KUBE-SVC-V6 -j KUBE-SEP-V6',
    '-A KUBE-SEP-V6 -m tcp -p tcp -j DNAT --to-destination [fd00::1]:80',
    'COMMIT',
  ].join('\n');

  it('DNATs to a bracketed IPv6 endpoint', () => {
    const outcome = only(trace(tcp('fd00:10::5', 'fd00:30::41', 80), text, { localAddresses: ['fd00:1::2'] }));
    expect(outcome).toMatchObject({ verdict: 'DNAT', endpoint: '[fd00::1]:80', masquerade: false, probability: 1 });
  });

  it('refuses IPv4 addresses in a ruleset traced with an IPv6 packet', () => {
    const result = traceIptables(RULESET, tcp('fd00:10::5', 'fd00:30::41', 80), NODE);
    expect(result).toEqual({ error: expect.stringContaining('IPv4 address') });
  });
});

describe('traceIptables: errors as values', () => {
  it('names the rule with an unsupported match', () => {
    const text = RULESET.replace(
      'COMMIT\n*nat',
      '-A KUBE-FORWARD -i eth0 -j ACCEPT\nCOMMIT\n*nat',
    );
    const result = traceIptables(text, tcp('10.0.1.1', '172.30.0.41', 80), NODE);
    expect(result).toEqual({ error: expect.stringContaining('filter/KUBE-FORWARD line') });
    expect(result).toEqual({ error: expect.stringContaining('unsupported option "-i"') });
    expect(result).toEqual({ error: expect.stringContaining('-A KUBE-FORWARD -i eth0 -j ACCEPT') });
  });

  it('names an unsupported match module', () => {
    const text = '*filter\n-A INPUT -m limit --limit 5/s -j ACCEPT\nCOMMIT\n';
    expect(traceIptables(text, tcp('10.0.1.1', '192.168.0.2', 80), NODE)).toEqual({
      error: 'filter/INPUT line 2: unsupported match module "limit": -A INPUT -m limit --limit 5/s -j ACCEPT',
    });
  });

  it('refuses a jump to a chain the table does not declare', () => {
    const text = '*nat\n-A PREROUTING -j KUBE-NOWHERE\nCOMMIT\n';
    expect(traceIptables(text, tcp('10.0.1.1', '172.30.0.41', 80), NODE)).toEqual({
      error: expect.stringContaining('undeclared chain KUBE-NOWHERE'),
    });
  });

  it('refuses a jump loop', () => {
    const text = '*nat\n:KUBE-A - [0:0]\n:KUBE-B - [0:0]\n-A PREROUTING -j KUBE-A\n-A KUBE-A -j KUBE-B\n-A KUBE-B -j KUBE-A\nCOMMIT\n';
    expect(traceIptables(text, tcp('10.0.1.1', '172.30.0.41', 80), NODE)).toEqual({
      error: 'nat: jump loop PREROUTING -> KUBE-A -> KUBE-B -> KUBE-A',
    });
  });

  it('refuses a nat target reached from a hook the kernel refuses it on', () => {
    const text = '*nat\n-A PREROUTING -j MASQUERADE\nCOMMIT\n';
    expect(traceIptables(text, tcp('10.0.1.1', '172.30.0.41', 80), NODE)).toEqual({
      error: expect.stringContaining('MASQUERADE reached from PREROUTING'),
    });
  });

  it('refuses a packet that mixes address families', () => {
    expect(traceIptables(RULESET, tcp('10.0.1.1', 'fd00::1', 80), NODE)).toEqual({
      error: expect.stringContaining('mixes IP families'),
    });
  });
});
