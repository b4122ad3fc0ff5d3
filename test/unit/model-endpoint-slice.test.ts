/**
 * normalizeEndpointSlice. Pods on node-a are 10.244.1.0/24 (fd00:244:0:1::/64), on node-b
 * 10.244.2.0/24 (fd00:244:0:2::/64), as in examples/cluster.yaml.
 */
import { describe, expect, it } from 'vitest';
import { normalizeEndpointSlice } from '../../src/model/endpoint-slice.js';

type Raw = Record<string, any>;

function rawSlice(patch: (s: Raw) => void = () => {}): Raw {
  const s: Raw = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { namespace: 'shop', name: 'catalog-abc12', labels: { 'kubernetes.io/service-name': 'catalog' } },
    addressType: 'IPv4',
    ports: [{ name: 'http', protocol: 'TCP', port: 8080 }],
    endpoints: [
      {
        addresses: ['10.244.1.11'],
        conditions: { ready: true, serving: true, terminating: false },
        nodeName: 'node-a',
        zone: 'zone-a',
      },
    ],
  };
  patch(s);
  return s;
}

function reasons(raw: unknown): string[] {
  const { slice, problems } = normalizeEndpointSlice(raw);
  expect(slice).toBeNull();
  return problems.map((p) => p.reason);
}

describe('normalizeEndpointSlice: valid slices', () => {
  it('normalizes a plain slice', () => {
    expect(normalizeEndpointSlice(rawSlice())).toEqual({
      slice: {
        namespace: 'shop',
        name: 'catalog-abc12',
        serviceName: 'catalog',
        family: 4,
        ports: [{ name: 'http', protocol: 'TCP', port: 8080 }],
        endpoints: [
          {
            ip: '10.244.1.11',
            ready: true,
            serving: true,
            terminating: false,
            nodeName: 'node-a',
            zone: 'zone-a',
            zoneHints: [],
            nodeHints: [],
          },
        ],
      },
      problems: [],
    });
  });

  it.each<[string, unknown, { ready: boolean; serving: boolean; terminating: boolean }]>([
    ['missing conditions mean ready', undefined, { ready: true, serving: true, terminating: false }],
    ['empty conditions mean ready', {}, { ready: true, serving: true, terminating: false }],
    ['null conditions mean ready', { ready: null, serving: null, terminating: null }, { ready: true, serving: true, terminating: false }],
    ['serving follows ready when absent', { ready: false }, { ready: false, serving: false, terminating: false }],
    ['terminating but serving', { ready: false, serving: true, terminating: true }, { ready: false, serving: true, terminating: true }],
    ['terminating, not serving', { ready: false, serving: false, terminating: true }, { ready: false, serving: false, terminating: true }],
  ])('%s', (_label, conditions, expected) => {
    const { slice } = normalizeEndpointSlice(rawSlice((s) => (s.endpoints[0].conditions = conditions)));
    expect(slice?.endpoints[0]).toMatchObject(expected);
  });

  it('reads topology hints, zone and node name; absent ones become empty', () => {
    const { slice } = normalizeEndpointSlice(
      rawSlice((s) => {
        s.endpoints[0].hints = { forZones: [{ name: 'zone-a' }, { name: 'zone-b' }], forNodes: [{ name: 'node-a' }] };
        s.endpoints.push({ addresses: ['10.244.2.11'] });
      }),
    );
    expect(slice?.endpoints[0]).toMatchObject({ zoneHints: ['zone-a', 'zone-b'], nodeHints: ['node-a'] });
    expect(slice?.endpoints[1]).toMatchObject({ nodeName: '', zone: '', zoneHints: [], nodeHints: [] });
  });

  it('uses only the first address and canonicalizes it (leading zeros allowed)', () => {
    const { slice } = normalizeEndpointSlice(rawSlice((s) => (s.endpoints[0].addresses = ['010.244.001.011', '10.244.1.99'])));
    expect(slice?.endpoints.map((e) => e.ip)).toEqual(['10.244.1.11']);
  });

  it('ignores endpoints without addresses', () => {
    const { slice, problems } = normalizeEndpointSlice(
      rawSlice((s) => s.endpoints.push({ addresses: [] }, { addresses: null, nodeName: 'node-b' })),
    );
    expect(problems).toEqual([]);
    expect(slice?.endpoints).toHaveLength(1);
  });

  it('ignores port entries without a port number; null name is "" and protocol defaults to TCP', () => {
    const { slice, problems } = normalizeEndpointSlice(
      rawSlice((s) => (s.ports = [{ name: 'metrics', port: null }, { name: null, protocol: null, port: 8080 }])),
    );
    expect(problems).toEqual([]);
    expect(slice?.ports).toEqual([{ name: '', protocol: 'TCP', port: 8080 }]);
  });

  it('accepts null ports and endpoints (a service scaled to zero)', () => {
    const { slice, problems } = normalizeEndpointSlice(rawSlice((s) => ((s.ports = null), (s.endpoints = null))));
    expect(problems).toEqual([]);
    expect(slice).toMatchObject({ ports: [], endpoints: [] });
  });

  it('reads IPv6 slices', () => {
    const { slice, problems } = normalizeEndpointSlice(
      rawSlice((s) => {
        s.addressType = 'IPv6';
        s.endpoints[0].addresses = ['FD00:244:0:1:0::11'];
      }),
    );
    expect(problems).toEqual([]);
    expect(slice?.family).toBe(6);
    expect(slice?.endpoints[0]?.ip).toBe('fd00:244:0:1::11');
  });

  it('skips FQDN slices silently', () => {
    expect(normalizeEndpointSlice(rawSlice((s) => ((s.addressType = 'FQDN'), (s.endpoints[0].addresses = ['db.example.com']))))).toEqual({
      slice: null,
      problems: [],
    });
  });
});

describe('normalizeEndpointSlice: problems (the whole slice is skipped)', () => {
  it.each<[string, (s: Raw) => void, unknown[]]>([
    [
      'missing service-name label',
      (s) => (s.metadata.labels = {}),
      ['metadata.labels["kubernetes.io/service-name"]: missing'],
    ],
    [
      'service-name label with an injection',
      (s) => (s.metadata.labels['kubernetes.io/service-name'] = 'web" -j ACCEPT'),
      [
        'metadata.labels["kubernetes.io/service-name"]: "web\\" -j ACCEPT" is not a DNS-1035 label (at most 63 of a-z, 0-9 and "-", starting with a letter, alphanumeric at the end)',
      ],
    ],
    ['invalid address', (s) => (s.endpoints[0].addresses = ['10.244.2.300']), ['endpoints[0].addresses[0]: "10.244.2.300" is not an IP address']],
    [
      'address of the wrong family',
      (s) => (s.endpoints[0].addresses = ['fd00:244:0:1::11']),
      ['endpoints[0].addresses[0]: fd00:244:0:1::11 is IPv6 but addressType is IPv4'],
    ],
    ['address with a newline', (s) => (s.endpoints[0].addresses = ['10.244.1.11\n']), ['endpoints[0].addresses[0]: "10.244.1.11\\n" is not an IP address']],
    ['unknown addressType', (s) => (s.addressType = 'IPv5'), ['addressType: "IPv5" is not one of IPv4, IPv6']],
    ['missing addressType', (s) => delete s.addressType, ['addressType: missing']],
    ['port out of range', (s) => (s.ports[0].port = 65536), ['ports[0].port: 65536 is out of range 1-65535']],
    ['unknown protocol', (s) => (s.ports[0].protocol = 'QUIC'), ['ports[0].protocol: "QUIC" is not one of TCP, UDP, SCTP']],
    [
      'port name injection',
      (s) => (s.ports[0].name = 'http" accept'),
      [expect.stringMatching(/^ports\[0\]\.name: "http\\" accept" is not a DNS-1123 label/)],
    ],
    [
      'duplicate port names',
      (s) => s.ports.push({ name: 'http', protocol: 'UDP', port: 8081 }),
      ['ports[1].name: duplicate of ports[0].name "http"'],
    ],
    ['ready not a boolean', (s) => (s.endpoints[0].conditions.ready = 'yes'), ['endpoints[0].conditions.ready: "yes" is not a boolean']],
    [
      'nodeName injection',
      (s) => (s.endpoints[0].nodeName = 'node-a; reboot'),
      [expect.stringMatching(/^endpoints\[0\]\.nodeName: "node-a; reboot" is not a DNS-1123 subdomain/)],
    ],
    [
      'zone injection',
      (s) => (s.endpoints[0].zone = 'zone a'),
      [expect.stringMatching(/^endpoints\[0\]\.zone: "zone a" is not a valid label value/)],
    ],
    [
      'zone hint injection',
      (s) => (s.endpoints[0].hints = { forZones: [{ name: 'zone-a\n' }] }),
      [expect.stringMatching(/^endpoints\[0\]\.hints\.forZones\[0\]\.name: "zone-a\\n" is not a valid label value/)],
    ],
    [
      'empty zone hint',
      (s) => (s.endpoints[0].hints = { forZones: [{ name: '' }] }),
      ['endpoints[0].hints.forZones[0].name: "" is empty'],
    ],
    [
      'slice name injection',
      (s) => (s.metadata.name = 'catalog-abc12"'),
      [expect.stringMatching(/^metadata\.name: "catalog-abc12\\"" is not a DNS-1123 subdomain/)],
    ],
    ['endpoints not a list', (s) => (s.endpoints = 'x'), ['endpoints: "x" is not a list']],
  ])('%s', (_label, patch, expected) => {
    expect(reasons(rawSlice(patch))).toEqual(expected);
  });

  it('a bad endpoint does not hide its valid siblings from validation, but skips the slice', () => {
    const { slice, problems } = normalizeEndpointSlice(
      rawSlice((s) => s.endpoints.push({ addresses: ['bad'] }, { addresses: ['10.244.2.12'] }, { addresses: ['worse'] })),
    );
    expect(slice).toBeNull();
    expect(problems.map((p) => p.reason)).toEqual([
      'endpoints[1].addresses[0]: "bad" is not an IP address',
      'endpoints[3].addresses[0]: "worse" is not an IP address',
    ]);
    expect(problems[0]).toMatchObject({ kind: 'EndpointSlice', namespace: 'shop', name: 'catalog-abc12' });
  });
});
