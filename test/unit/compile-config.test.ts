import { describe, expect, it } from 'vitest';
import { normalizeProxyConfig, type RawProxyConfig } from '../../src/compile/config.js';

const raw = (overrides: Partial<RawProxyConfig> = {}): RawProxyConfig => ({
  nodeName: 'node-a',
  nodeIPs: [],
  clusterCIDRs: [],
  masqueradeAll: false,
  nodePortAddresses: [],
  ...overrides,
});

describe('normalizeProxyConfig: accepted values', () => {
  it('trims and canonicalizes', () => {
    expect(
      normalizeProxyConfig(
        raw({
          nodeName: ' node-a ',
          nodeIPs: [' 192.168.000.010 ', 'FD00:192:0::10'],
          clusterCIDRs: ['10.180.1.2/14 ', ' fd00:180::1/64'],
          masqueradeAll: true,
          nodePortAddresses: [' 10.0.0.1/8', '10.0.0.0/8', 'fd00::/8'],
        }),
      ),
    ).toEqual({
      config: {
        nodeName: 'node-a',
        nodeIPs: ['192.168.0.10', 'fd00:192::10'],
        clusterCIDRs: ['10.180.0.0/14', 'fd00:180::/64'],
        masqueradeAll: true,
        nodePortAddresses: ['10.0.0.0/8', 'fd00::/8'],
      },
    });
  });

  it.each([
    { case: 'comma-separated entries', input: raw({ nodeIPs: ['192.168.0.10,fd00:192::10'] }), key: 'nodeIPs', want: ['192.168.0.10', 'fd00:192::10'] },
    { case: 'blank entries ignored', input: raw({ clusterCIDRs: ['', ' ', '10.0.0.0/8,'] }), key: 'clusterCIDRs', want: ['10.0.0.0/8'] },
    { case: 'primary is the default', input: raw({ nodePortAddresses: ['primary'] }), key: 'nodePortAddresses', want: [] },
    { case: 'the same node IP twice', input: raw({ nodeIPs: ['192.168.0.10', '192.168.0.010'] }), key: 'nodeIPs', want: ['192.168.0.10'] },
    { case: 'loopback nodeport addresses accepted', input: raw({ nodePortAddresses: ['127.0.0.0/8'] }), key: 'nodePortAddresses', want: ['127.0.0.0/8'] },
    { case: 'empty node name allowed', input: raw({ nodeName: '' }), key: 'nodeName', want: '' },
  ] as const)('$case', ({ input, key, want }) => {
    const result = normalizeProxyConfig(input);
    expect('config' in result && result.config[key]).toEqual(want);
  });
});

describe('normalizeProxyConfig: errors name the flag', () => {
  it.each([
    [raw({ clusterCIDRs: ['10.0.0.0/33'] }), '--cluster-cidr: "10.0.0.0/33" is not a CIDR'],
    [raw({ clusterCIDRs: ['10.0.0.1'] }), '--cluster-cidr: "10.0.0.1" is not a CIDR'],
    [raw({ clusterCIDRs: ['10.0.0.0/8', '10.1.0.0/16'] }), '--cluster-cidr: at most one IPv4 value is allowed, got "10.0.0.0/8" and "10.1.0.0/16"'],
    [raw({ nodeIPs: ['node-a'] }), '--node-ip: "node-a" is not an IP address'],
    [raw({ nodeIPs: ['10.0.0.0/8'] }), '--node-ip: "10.0.0.0/8" is not an IP address'],
    [raw({ nodeIPs: ['fd00::1', 'fd00::2'] }), '--node-ip: at most one IPv6 value is allowed, got "fd00::1" and "fd00::2"'],
    [raw({ nodeIPs: ['0.0.0.0'] }), '--node-ip: "0.0.0.0" cannot be a node\'s primary IP (unspecified or loopback)'],
    [raw({ nodeIPs: ['::1'] }), '--node-ip: "::1" cannot be a node\'s primary IP (unspecified or loopback)'],
    [raw({ nodePortAddresses: ['10.0.0.1'] }), '--nodeport-addresses: "10.0.0.1" is neither a CIDR nor "primary"'],
    [raw({ nodePortAddresses: ['primary', '10.0.0.0/8'] }), '--nodeport-addresses: "primary" cannot be combined with other values'],
    [raw({ nodePortAddresses: ['x"; -j ACCEPT'] }), '--nodeport-addresses: "x\\"; -j ACCEPT" is neither a CIDR nor "primary"'],
    [raw({ nodeName: 'node a' }), '--node-name: "node a" contains whitespace'],
  ])('%j', (input, error) => {
    expect(normalizeProxyConfig(input)).toEqual({ error });
  });
});
