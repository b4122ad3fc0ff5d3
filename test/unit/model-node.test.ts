/** normalizeNode and normalizeServiceCIDR. node-a is 192.168.50.10 / fd00:50::10 in zone-a. */
import { describe, expect, it } from 'vitest';
import { normalizeNode } from '../../src/model/node.js';
import { normalizeServiceCIDR } from '../../src/model/service-cidr.js';

type Raw = Record<string, any>;

function rawNode(patch: (n: Raw) => void = () => {}): Raw {
  const n: Raw = {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'node-a', labels: { 'topology.kubernetes.io/zone': 'zone-a', 'kubernetes.io/hostname': 'node-a' } },
    status: {
      addresses: [
        { type: 'Hostname', address: 'node-a' },
        { type: 'ExternalIP', address: '203.0.113.50' },
        { type: 'InternalIP', address: '192.168.50.10' },
        { type: 'InternalIP', address: 'FD00:50:0::10' },
      ],
    },
  };
  patch(n);
  return n;
}

describe('normalizeNode', () => {
  it('lists InternalIPs first, then ExternalIPs, canonical; ignores other types', () => {
    expect(normalizeNode(rawNode())).toEqual({
      node: {
        name: 'node-a',
        labels: { 'topology.kubernetes.io/zone': 'zone-a', 'kubernetes.io/hostname': 'node-a' },
        addresses: ['192.168.50.10', 'fd00:50::10', '203.0.113.50'],
      },
      problems: [],
    });
  });

  it('drops an invalid address with a problem and keeps the rest', () => {
    const { node, problems } = normalizeNode(
      rawNode((n) => n.status.addresses.push({ type: 'InternalIP', address: '192.168.50.300' }, { type: 'ExternalIP', address: '010.0.0.1' })),
    );
    expect(node?.addresses).toEqual(['192.168.50.10', 'fd00:50::10', '203.0.113.50', '10.0.0.1']);
    expect(problems).toEqual([
      { kind: 'Node', namespace: '', name: 'node-a', reason: 'status.addresses[4].address: "192.168.50.300" is not an IP address' },
    ]);
  });

  it('drops an invalid label with a problem and keeps the rest', () => {
    const { node, problems } = normalizeNode(
      rawNode((n) => {
        n.metadata.labels['bad key'] = 'x';
        n.metadata.labels.team = 'a"b';
      }),
    );
    expect(node?.labels).toEqual({ 'topology.kubernetes.io/zone': 'zone-a', 'kubernetes.io/hostname': 'node-a' });
    expect(problems.map((p) => p.reason)).toEqual([
      expect.stringMatching(/^metadata\.labels\["bad key"\]: key is not a valid label key/),
      expect.stringMatching(/^metadata\.labels\["team"\]: value "a\\"b" is not a valid label value/),
    ]);
  });

  it('has no addresses when status is absent', () => {
    expect(normalizeNode(rawNode((n) => delete n.status))).toMatchObject({ node: { addresses: [] }, problems: [] });
  });

  it.each(['node a', 'node-a\n', 'Node-A', ''])('refuses the node name %j', (name) => {
    const { node, problems } = normalizeNode(rawNode((n) => (n.metadata.name = name)));
    expect(node).toBeNull();
    expect(problems).toHaveLength(1);
    expect(problems[0]?.reason).toMatch(/^metadata\.name: /);
  });
});

describe('normalizeServiceCIDR', () => {
  const raw = (cidrs: unknown): Raw => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'ServiceCIDR',
    metadata: { name: 'kubernetes' },
    spec: { cidrs },
  });

  it('returns canonical CIDRs', () => {
    expect(normalizeServiceCIDR(raw(['10.96.0.0/16', 'fd00:96:0::/108', '10.96.1.1/16']))).toEqual({
      cidrs: ['10.96.0.0/16', 'fd00:96::/108'],
      problems: [],
    });
  });

  it('skips the object on an invalid CIDR', () => {
    expect(normalizeServiceCIDR(raw(['10.96.0.0/16', '10.96.0.0/40']))).toEqual({
      cidrs: [],
      problems: [{ kind: 'ServiceCIDR', namespace: '', name: 'kubernetes', reason: 'spec.cidrs[1]: "10.96.0.0/40" is not a CIDR' }],
    });
  });
});
