/**
 * Behaviour of the nftables ruleset, traced over the IR. Address conventions: nft-fixtures.ts.
 */
import { describe, expect, it } from 'vitest';
import { lowerNftables } from '../../src/backend/nftables/lower.js';
import type { NftRuleset } from '../../src/backend/nftables/model.js';
import type { RulesetIntent } from '../../src/compile/intent.js';
import { traceNftables } from '../../src/trace/nftables-trace.js';
import type { Packet, TraceNode } from '../../src/trace/types.js';
import { ep, intent, NODE, NODE6, NODE_IP, NODE_IP6, OUTSIDE, svc } from './nft-fixtures.js';

const POD = '10.1.2.3';

/** `endpoint@probability` (or the verdict) per outcome, plus `+masq` when masqueraded. */
function flows(ruleset: RulesetIntent | NftRuleset, packet: Partial<Packet> & { src: string; dst: string }, node: TraceNode = NODE) {
  const lowered = 'services' in ruleset ? lowerNftables(ruleset) : ruleset;
  const result = traceNftables(lowered, { dport: 80, protocol: 'tcp', ...packet }, node);
  if ('error' in result) throw new Error(result.error);
  return result.outcomes.map(
    (o) => `${o.endpoint ?? o.verdict}@${Number(o.probability.toFixed(4))}${o.masquerade ? '+masq' : ''}`,
  );
}

const two = [ep('10.180.0.1'), ep('10.180.0.2', 80, true)];

describe('ClusterIP', () => {
  const rs = intent([svc({ endpoints: two })]);

  it('balances evenly and leaves pod traffic unmasqueraded', () => {
    expect(flows(rs, { src: POD, dst: '172.30.0.41' })).toEqual(['10.180.0.1:80@0.5', '10.180.0.2:80@0.5']);
  });

  it('masquerades sources outside the pod CIDRs', () => {
    expect(flows(rs, { src: OUTSIDE, dst: '172.30.0.41' })).toEqual(['10.180.0.1:80@0.5+masq', '10.180.0.2:80@0.5+masq']);
  });

  it('masquerades everything with masquerade-all, nothing without a detector', () => {
    const all = intent([svc({ endpoints: two })], { masquerade: { mark: 0x4000, all: true } });
    expect(flows(all, { src: POD, dst: '172.30.0.41' })).toEqual(['10.180.0.1:80@0.5+masq', '10.180.0.2:80@0.5+masq']);
    const none = intent([svc({ endpoints: two })], { podCIDRs: null });
    expect(flows(none, { src: OUTSIDE, dst: '172.30.0.41' })).toEqual(['10.180.0.1:80@0.5', '10.180.0.2:80@0.5']);
  });

  it('masquerades node-originated traffic (node IP is outside the pod CIDRs)', () => {
    expect(flows(rs, { src: NODE_IP, dst: '172.30.0.41' })).toEqual(['10.180.0.1:80@0.5+masq', '10.180.0.2:80@0.5+masq']);
  });

  it('gives three endpoints a third each', () => {
    const three = intent([svc({ endpoints: [ep('10.180.0.1'), ep('10.180.0.2'), ep('10.180.0.3')] })]);
    expect(flows(three, { src: POD, dst: '172.30.0.41' })).toEqual([
      '10.180.0.1:80@0.3333',
      '10.180.0.2:80@0.3333',
      '10.180.0.3:80@0.3333',
    ]);
  });

  it('masquerades hairpin traffic only when the pod lands on itself', () => {
    expect(flows(rs, { src: '10.180.0.1', dst: '172.30.0.41' })).toEqual(['10.180.0.1:80@0.5+masq', '10.180.0.2:80@0.5']);
  });

  it('rejects a ClusterIP port no service has, drops unallocated service IPs, passes the rest', () => {
    expect(flows(rs, { src: POD, dst: '172.30.0.41', dport: 81 })).toEqual(['REJECT@1']);
    expect(flows(rs, { src: POD, dst: '172.30.9.9' })).toEqual(['DROP@1']);
    expect(flows(rs, { src: POD, dst: '8.8.8.8' })).toEqual(['ACCEPT@1']);
  });

  it('rejects without endpoints, drops with internalTrafficPolicy Local and none here', () => {
    const empty = intent([svc({})]);
    expect(flows(empty, { src: POD, dst: '172.30.0.41' })).toEqual(['REJECT@1']);
    expect(flows(empty, { src: NODE_IP, dst: '172.30.0.41' })).toEqual(['REJECT@1']);
    const itpLocal = intent([svc({ endpoints: [ep('10.180.0.1')], internalLocal: true })]);
    expect(flows(itpLocal, { src: POD, dst: '172.30.0.41' })).toEqual(['DROP@1']);
    const itpLocalHere = intent([svc({ endpoints: two, internalLocal: true })]);
    expect(flows(itpLocalHere, { src: POD, dst: '172.30.0.41' })).toEqual(['10.180.0.2:80@1']);
  });

  it('keeps protocols apart', () => {
    const udp = intent([svc({ protocol: 'udp', endpoints: two })]);
    expect(flows(udp, { src: POD, dst: '172.30.0.41', protocol: 'udp' })).toEqual(['10.180.0.1:80@0.5', '10.180.0.2:80@0.5']);
    expect(flows(udp, { src: POD, dst: '172.30.0.41', protocol: 'tcp' })).toEqual(['REJECT@1']);
  });
});

describe('external traffic, Cluster policy', () => {
  const rs = intent([svc({ endpoints: two, nodePort: 30080, externalIPs: ['192.168.99.11'] })]);

  it('masquerades externalIP traffic, even from pods', () => {
    expect(flows(rs, { src: OUTSIDE, dst: '192.168.99.11' })).toEqual(['10.180.0.1:80@0.5+masq', '10.180.0.2:80@0.5+masq']);
    expect(flows(rs, { src: POD, dst: '192.168.99.11' })).toEqual(['10.180.0.1:80@0.5+masq', '10.180.0.2:80@0.5+masq']);
  });

  it('answers NodePorts on node addresses but never on loopback', () => {
    expect(flows(rs, { src: OUTSIDE, dst: NODE_IP, dport: 30080 })).toEqual(['10.180.0.1:80@0.5+masq', '10.180.0.2:80@0.5+masq']);
    expect(flows(rs, { src: NODE_IP, dst: NODE_IP, dport: 30080 })).toEqual(['10.180.0.1:80@0.5+masq', '10.180.0.2:80@0.5+masq']);
    expect(flows(rs, { src: '127.0.0.1', dst: '127.0.0.1', dport: 30080 })).toEqual(['ACCEPT@1']);
  });

  it('answers NodePorts only inside nodePortCIDRs', () => {
    const node = { localAddresses: [NODE_IP, '10.9.9.9'] };
    expect(flows(rs, { src: OUTSIDE, dst: '10.9.9.9', dport: 30080 }, node)).toEqual(['ACCEPT@1']);
  });

  it('rejects NodePorts and externalIPs of a service without endpoints', () => {
    const empty = intent([svc({ nodePort: 30080, externalIPs: ['192.168.99.11'] })]);
    expect(flows(empty, { src: OUTSIDE, dst: NODE_IP, dport: 30080 })).toEqual(['REJECT@1']);
    expect(flows(empty, { src: OUTSIDE, dst: '192.168.99.11' })).toEqual(['REJECT@1']);
  });
});

describe('external traffic, Local policy', () => {
  const rs = intent([svc({ endpoints: two, nodePort: 30080, loadBalancerIPs: ['1.2.3.4'], externalLocal: true })]);

  it('sends outside clients to local endpoints only, unmasqueraded', () => {
    expect(flows(rs, { src: OUTSIDE, dst: '1.2.3.4' })).toEqual(['10.180.0.2:80@1']);
    expect(flows(rs, { src: OUTSIDE, dst: NODE_IP, dport: 30080 })).toEqual(['10.180.0.2:80@1']);
  });

  it('short-circuits pods to all endpoints without masquerade', () => {
    expect(flows(rs, { src: POD, dst: '1.2.3.4' })).toEqual(['10.180.0.1:80@0.5', '10.180.0.2:80@0.5']);
  });

  it('masquerades the node itself to all endpoints', () => {
    expect(flows(rs, { src: NODE_IP, dst: NODE_IP, dport: 30080 })).toEqual(['10.180.0.1:80@0.5+masq', '10.180.0.2:80@0.5+masq']);
  });

  it('drops outside clients when no endpoint is local, still serving pods', () => {
    const remote = intent([svc({ endpoints: [ep('10.180.0.1')], nodePort: 30080, loadBalancerIPs: ['1.2.3.4'], externalLocal: true })]);
    expect(flows(remote, { src: OUTSIDE, dst: '1.2.3.4' })).toEqual(['DROP@1']);
    expect(flows(remote, { src: OUTSIDE, dst: NODE_IP, dport: 30080 })).toEqual(['DROP@1']);
    expect(flows(remote, { src: POD, dst: '1.2.3.4' })).toEqual(['10.180.0.1:80@1']);
  });
});

describe('loadBalancerSourceRanges', () => {
  const spec = { endpoints: two, nodePort: 30080, loadBalancerIPs: ['1.2.3.4'], sourceRanges: ['203.0.113.0/25'] };

  it('lets listed sources reach the LB IP and drops the rest', () => {
    const rs = intent([svc(spec)]);
    expect(flows(rs, { src: OUTSIDE, dst: '1.2.3.4' })).toEqual(['10.180.0.1:80@0.5+masq', '10.180.0.2:80@0.5+masq']);
    expect(flows(rs, { src: '198.51.100.7', dst: '1.2.3.4' })).toEqual(['DROP@1']);
  });

  it('never filters NodePorts', () => {
    const rs = intent([svc(spec)]);
    expect(flows(rs, { src: '198.51.100.7', dst: NODE_IP, dport: 30080 })).toEqual([
      '10.180.0.1:80@0.5+masq',
      '10.180.0.2:80@0.5+masq',
    ]);
  });

  it('lets the LB IPs themselves through when allowLoadBalancerIPs', () => {
    const allowed = intent([svc({ ...spec, allowLoadBalancerIPs: true })]);
    expect(flows(allowed, { src: '1.2.3.4', dst: '1.2.3.4' })).toEqual(['10.180.0.1:80@0.5+masq', '10.180.0.2:80@0.5+masq']);
    const denied = intent([svc(spec)]);
    expect(flows(denied, { src: '1.2.3.4', dst: '1.2.3.4' })).toEqual(['DROP@1']);
  });
});

describe('dedicated chains', () => {
  it('balances affinity services like the rest (empty affinity sets)', () => {
    const rs = intent([svc({ endpoints: two, affinity: 10800, nodePort: 30080, externalLocal: true })]);
    expect(flows(rs, { src: POD, dst: '172.30.0.41' })).toEqual(['10.180.0.1:80@0.5', '10.180.0.2:80@0.5']);
    expect(flows(rs, { src: OUTSIDE, dst: NODE_IP, dport: 30080 })).toEqual(['10.180.0.2:80@1']);
    expect(flows(rs, { src: NODE_IP, dst: NODE_IP, dport: 30080 })).toEqual(['10.180.0.1:80@0.5+masq', '10.180.0.2:80@0.5+masq']);
  });

  it('DNATs endpoints on different ports to their own port', () => {
    const rs = intent([svc({ endpoints: [ep('10.180.0.1', 8080), ep('10.180.0.2', 9090)], externalIPs: ['192.168.99.11'] })]);
    expect(flows(rs, { src: POD, dst: '172.30.0.41' })).toEqual(['10.180.0.1:8080@0.5', '10.180.0.2:9090@0.5']);
    expect(flows(rs, { src: POD, dst: '192.168.99.11' })).toEqual(['10.180.0.1:8080@0.5+masq', '10.180.0.2:9090@0.5+masq']);
  });

  it('handles more endpoints than the shared maps take', () => {
    const many = Array.from({ length: 70 }, (_, i) => ep(`10.180.1.${i + 1}`));
    const result = flows(intent([svc({ endpoints: many })]), { src: POD, dst: '172.30.0.41' });
    expect(result).toHaveLength(70);
    expect(result).toContain('10.180.1.70:80@0.0143');
  });
});

describe('IPv6', () => {
  const v6 = (ip: string, local = false) => ep(ip, 80, local);
  const rs = intent(
    [
      svc({
        clusterIP: 'fd00:172:30::41',
        nodePort: 30080,
        externalLocal: true,
        endpoints: [v6('fd00:10:180::1'), v6('fd00:10:180::2', true)],
      }),
    ],
    { family: 6 },
  );

  it('dispatches ClusterIP and NodePort traffic in the ip6 table', () => {
    expect(flows(rs, { src: 'fd00:10::5', dst: 'fd00:172:30::41' }, NODE6)).toEqual([
      '[fd00:10:180::1]:80@0.5',
      '[fd00:10:180::2]:80@0.5',
    ]);
    expect(flows(rs, { src: '2001:db8::9', dst: NODE_IP6, dport: 30080 }, NODE6)).toEqual(['[fd00:10:180::2]:80@1']);
    expect(flows(rs, { src: '2001:db8::9', dst: '::1', dport: 30080 }, { localAddresses: ['::1'] })).toEqual(['ACCEPT@1']);
  });
});

describe('tracer contract', () => {
  it('records the rules a flow matched', () => {
    const result = traceNftables(lowerNftables(intent([svc({ endpoints: [ep('10.180.0.1')] })])), {
      src: POD,
      dst: '172.30.0.41',
      dport: 80,
      protocol: 'tcp',
    }, NODE);
    expect('outcomes' in result && result.outcomes[0]?.path).toEqual([
      'kpx/filter-prerouting: ct state new jump firewall-check',
      'kpx/nat-prerouting: jump services',
      'kpx/services: ip daddr . meta l4proto . th dport vmap @service-ips',
      'kpx/balance-1: numgen random mod 1 vmap { 0 : goto endpoint-0 }',
      'kpx/endpoint-0: dnat ip to ip daddr . meta l4proto . th dport map @endpoint-ips-0 : ip daddr . meta l4proto . th dport map @endpoint-ports',
      'kpx/filter-prerouting-post-dnat: ct state new ct status dnat jump affinity-recording',
      'kpx/filter-forward: ct state new jump service-endpoints-check',
      'kpx/filter-forward: ct state new jump cluster-ips-check',
      'kpx/nat-postrouting: jump masquerading',
      'kpx/masquerading: meta mark & 0x00004000 == 0 return',
    ]);
  });

  it('refuses references it cannot resolve instead of passing the packet', () => {
    const ruleset = lowerNftables(intent([svc({ endpoints: [ep('10.180.0.1')] })]));
    const broken: NftRuleset = {
      ...ruleset,
      chains: ruleset.chains.map((c) =>
        c.name === 'services' ? { ...c, rules: [{ statements: [{ kind: 'verdict', verdict: { kind: 'jump', target: 'nowhere' } }] }] } : c,
      ),
    };
    expect(traceNftables(broken, { src: POD, dst: '172.30.0.41', dport: 80, protocol: 'tcp' }, NODE)).toEqual({
      error: 'jump to unknown chain nowhere',
    });
  });

  it('refuses statements it does not model', () => {
    const ruleset = lowerNftables(intent([]));
    const odd = { kind: 'counter' } as unknown as NftRuleset['chains'][number]['rules'][number]['statements'][number];
    const broken: NftRuleset = {
      ...ruleset,
      chains: ruleset.chains.map((c) => (c.name === 'services' ? { ...c, rules: [{ statements: [odd] }] } : c)),
    };
    const result = traceNftables(broken, { src: POD, dst: '172.30.0.41', dport: 80, protocol: 'tcp' }, NODE);
    expect(result).toEqual({ error: 'unknown statement {"kind":"counter"}' });
  });
});
