/**
 * Flows the node itself opens, through both backends: kube-proxy's iptables semantics
 * (nftables README, "The node's own flows"). Address conventions: nft-fixtures.ts.
 */
import { describe, expect, it } from 'vitest';
import type { RulesetIntent } from '../../src/compile/intent.js';
import { traceIntent, type Backend } from '../../src/pipeline.js';
import { ep, intent, NODE_IP, OUTSIDE, svc } from './nft-fixtures.js';

const BACKENDS: Backend[] = ['iptables', 'nftables'];

/** `endpoint@probability` (or the verdict) per outcome, plus `+masq` when masqueraded. */
function outcomes(rs: RulesetIntent, backend: Backend, src: string, dst: string, dport = 80): string[] {
  const result = traceIntent(rs, backend, { src, dst, dport, protocol: 'tcp' });
  if ('error' in result) throw new Error(`${backend}: ${result.error}`);
  return result.outcomes.map((o) => `${o.endpoint ?? o.verdict}@${Number(o.probability.toFixed(4))}${o.masquerade ? '+masq' : ''}`);
}

const rs = intent([
  svc({
    service: 'local-none',
    clusterIP: '172.30.0.41',
    nodePort: 30001,
    externalIPs: ['192.168.99.1'],
    loadBalancerIPs: ['1.2.3.1'],
    externalLocal: true,
    endpoints: [ep('10.180.0.1'), ep('10.180.0.2')],
  }),
  svc({ service: 'empty', clusterIP: '172.30.0.42', nodePort: 30002, externalIPs: ['192.168.99.2', NODE_IP], loadBalancerIPs: ['1.2.3.2'] }),
  svc({ service: 'itp-none', clusterIP: '172.30.0.43', internalLocal: true, endpoints: [ep('10.180.0.3')] }),
]);

describe.each(BACKENDS)('%s: the node as a client', (backend) => {
  const fromNode = (dst: string, dport = 80) => outcomes(rs, backend, NODE_IP, dst, dport);
  const cluster = ['10.180.0.1:80@0.5+masq', '10.180.0.2:80@0.5+masq'];

  it('reaches an ETP=Local address without local endpoints through the cluster endpoints, masqueraded', () => {
    expect(fromNode('1.2.3.1')).toEqual(cluster);
    expect(fromNode('192.168.99.1')).toEqual(cluster);
    expect(fromNode(NODE_IP, 30001)).toEqual(cluster);
    // An outside client is still dropped there.
    expect(outcomes(rs, backend, OUTSIDE, '1.2.3.1')).toEqual(['DROP@1']);
  });

  it('leaves a flow to an external address of a service without endpoints untouched', () => {
    expect(fromNode('1.2.3.2')).toEqual(['ACCEPT@1']);
    expect(fromNode('192.168.99.2')).toEqual(['ACCEPT@1']);
    expect(outcomes(rs, backend, OUTSIDE, '1.2.3.2')).toEqual(['REJECT@1']);
  });

  it('is refused on the way back in: its own NodePort, or an externalIP it owns, without endpoints', () => {
    expect(fromNode(NODE_IP, 30002)).toEqual(['REJECT@1']);
    expect(fromNode(NODE_IP)).toEqual(['REJECT@1']);
  });

  it('is refused or dropped at a ClusterIP without (local) endpoints', () => {
    expect(fromNode('172.30.0.42')).toEqual(['REJECT@1']);
    expect(fromNode('172.30.0.43')).toEqual(['DROP@1']);
  });
});
