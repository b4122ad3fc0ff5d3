/**
 * normalizeService: kube-proxy's skips, defaults and the validation of every field.
 * Fixtures follow examples/cluster.yaml's address plan: ClusterIPs 10.96.0.0/16 and
 * fd00:96::/108, externalIPs 198.51.100.0/24, LB IPs 203.0.113.0/24 and 2001:db8:113::/64.
 */
import { describe, expect, it } from 'vitest';
import { normalizeService } from '../../src/model/service.js';

type Raw = Record<string, any>;

function rawService(patch: (s: Raw) => void = () => {}): Raw {
  const s: Raw = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { namespace: 'shop', name: 'catalog' },
    spec: {
      clusterIP: '10.96.10.10',
      clusterIPs: ['10.96.10.10'],
      ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 }],
    },
  };
  patch(s);
  return s;
}

function reasons(raw: unknown): string[] {
  const { service, problems } = normalizeService(raw);
  expect(service).toBeNull();
  return problems.map((p) => p.reason);
}

describe('normalizeService: defaults', () => {
  it('fills kube-proxy defaults for a minimal service', () => {
    const { service, problems } = normalizeService(rawService());
    expect(problems).toEqual([]);
    expect(service).toEqual({
      namespace: 'shop',
      name: 'catalog',
      type: 'ClusterIP',
      clusterIPs: ['10.96.10.10'],
      externalIPs: [],
      loadBalancerIPs: [],
      loadBalancerSourceRanges: [],
      ports: [{ name: 'http', protocol: 'TCP', port: 80, nodePort: 0 }],
      sessionAffinityTimeout: null,
      externalTrafficPolicy: 'Cluster',
      internalTrafficPolicy: 'Cluster',
      healthCheckNodePort: 0,
    });
  });

  it('defaults a missing namespace to "default" and a missing protocol to TCP', () => {
    const { service } = normalizeService(
      rawService((s) => {
        delete s.metadata.namespace;
        delete s.spec.ports[0].protocol;
      }),
    );
    expect(service?.namespace).toBe('default');
    expect(service?.ports[0]?.protocol).toBe('TCP');
  });

  it('uses spec.clusterIP when spec.clusterIPs is absent', () => {
    const { service } = normalizeService(rawService((s) => delete s.spec.clusterIPs));
    expect(service?.clusterIPs).toEqual(['10.96.10.10']);
  });

  it('accepts IPv4 leading zeros and returns canonical addresses', () => {
    const { service, problems } = normalizeService(
      rawService((s) => {
        s.spec.clusterIPs = ['010.096.010.010', 'FD00:96:0::0130'];
        s.spec.externalIPs = ['198.051.100.020'];
      }),
    );
    expect(problems).toEqual([]);
    expect(service?.clusterIPs).toEqual(['10.96.10.10', 'fd00:96::130']);
    expect(service?.externalIPs).toEqual(['198.51.100.20']);
  });

  it('trims and canonicalizes loadBalancerSourceRanges', () => {
    const { service, problems } = normalizeService(
      rawService((s) => (s.spec.loadBalancerSourceRanges = [' 10.0.0.0/8 ', '192.168.050.7/24', 'fd00::1/64', '10.0.0.0/8'])),
    );
    expect(problems).toEqual([]);
    expect(service?.loadBalancerSourceRanges).toEqual(['10.0.0.0/8', '192.168.50.0/24', 'fd00::/64']);
  });

  it.each([
    [undefined, 'Cluster'],
    ['Cluster', 'Cluster'],
    ['Global', 'Cluster'],
    ['Local', 'Local'],
  ])('externalTrafficPolicy %j → %s', (value, expected) => {
    const { service } = normalizeService(rawService((s) => (s.spec.externalTrafficPolicy = value)));
    expect(service?.externalTrafficPolicy).toBe(expected);
  });

  it.each([
    [undefined, 'Cluster'],
    ['Local', 'Local'],
  ])('internalTrafficPolicy %j → %s', (value, expected) => {
    const { service } = normalizeService(rawService((s) => (s.spec.internalTrafficPolicy = value)));
    expect(service?.internalTrafficPolicy).toBe(expected);
  });

  it.each([
    ['None', undefined, null],
    [undefined, undefined, null],
    ['ClientIP', undefined, 10800],
    ['ClientIP', { clientIP: {} }, 10800],
    ['ClientIP', { clientIP: { timeoutSeconds: 600 } }, 600],
    ['ClientIP', { clientIP: { timeoutSeconds: 86400 } }, 86400],
  ])('sessionAffinity %j with config %j → timeout %j', (affinity, config, expected) => {
    const { service, problems } = normalizeService(
      rawService((s) => {
        s.spec.sessionAffinity = affinity;
        s.spec.sessionAffinityConfig = config;
      }),
    );
    expect(problems).toEqual([]);
    expect(service?.sessionAffinityTimeout).toBe(expected);
  });

  it('keeps NodePort and healthCheckNodePort of a LoadBalancer with externalTrafficPolicy Local', () => {
    const { service } = normalizeService(
      rawService((s) => {
        s.spec.type = 'LoadBalancer';
        s.spec.externalTrafficPolicy = 'Local';
        s.spec.healthCheckNodePort = 32100;
        s.spec.ports[0].nodePort = 30443;
      }),
    );
    expect(service?.type).toBe('LoadBalancer');
    expect(service?.healthCheckNodePort).toBe(32100);
    expect(service?.ports[0]?.nodePort).toBe(30443);
  });

  it('ignores healthCheckNodePort unless LoadBalancer + Local (kube-proxy NeedsHealthCheck)', () => {
    const { service } = normalizeService(
      rawService((s) => {
        s.spec.type = 'NodePort';
        s.spec.externalTrafficPolicy = 'Local';
        s.spec.healthCheckNodePort = 32100;
      }),
    );
    expect(service?.healthCheckNodePort).toBe(0);
  });
});

describe('normalizeService: load balancer ingress', () => {
  it('takes VIP-mode IPs, skips hostname-only and Proxy-mode entries', () => {
    const { service, problems } = normalizeService(
      rawService((s) => {
        s.spec.type = 'LoadBalancer';
        s.status = {
          loadBalancer: {
            ingress: [
              { ip: '203.0.113.10' },
              { ip: '203.0.113.11', ipMode: 'VIP' },
              { ip: '203.0.113.13', ipMode: 'Proxy' },
              { hostname: 'lb.example.com' },
              { ip: '2001:db8:113:0::12' },
            ],
          },
        };
      }),
    );
    expect(problems).toEqual([]);
    expect(service?.loadBalancerIPs).toEqual(['203.0.113.10', '203.0.113.11', '2001:db8:113::12']);
  });
});

describe('normalizeService: skipped silently', () => {
  it.each<[string, (s: Raw) => void]>([
    ['ExternalName', (s) => (s.spec = { type: 'ExternalName', externalName: 'db.example.com' })],
    ['clusterIP None', (s) => (s.spec.clusterIPs = ['None'])],
    ['clusterIP None (clusterIP only)', (s) => ((s.spec.clusterIP = 'None'), delete s.spec.clusterIPs)],
    ['clusterIP empty', (s) => ((s.spec.clusterIP = ''), delete s.spec.clusterIPs)],
    ['no spec', (s) => delete s.spec],
    ['service-proxy-name label', (s) => (s.metadata.labels = { 'service.kubernetes.io/service-proxy-name': 'other' })],
    ['service-proxy-name label, empty value', (s) => (s.metadata.labels = { 'service.kubernetes.io/service-proxy-name': '' })],
    ['headless label', (s) => (s.metadata.labels = { 'service.kubernetes.io/headless': '' })],
    // Skipped services are not validated: kube-proxy never looks at them.
    ['ExternalName with a bad port', (s) => ((s.spec.type = 'ExternalName'), (s.spec.ports[0].port = 70000))],
  ])('%s', (_label, patch) => {
    expect(normalizeService(rawService(patch))).toEqual({ service: null, problems: [] });
  });
});

describe('normalizeService: problems (the whole service is skipped)', () => {
  it.each<[string, (s: Raw) => void, string[]]>([
    ['port out of range', (s) => (s.spec.ports[0].port = 70000), ['spec.ports[0].port: 70000 is out of range 1-65535']],
    ['port zero', (s) => (s.spec.ports[0].port = 0), ['spec.ports[0].port: 0 is out of range 1-65535']],
    ['port missing', (s) => delete s.spec.ports[0].port, ['spec.ports[0].port: missing']],
    ['port as a string', (s) => (s.spec.ports[0].port = '80'), ['spec.ports[0].port: "80" is not an integer']],
    ['port fractional', (s) => (s.spec.ports[0].port = 80.5), ['spec.ports[0].port: 80.5 is not an integer']],
    ['nodePort out of range', (s) => (s.spec.ports[0].nodePort = 99999), ['spec.ports[0].nodePort: 99999 is out of range 0-65535']],
    [
      'unknown protocol',
      (s) => (s.spec.ports[0].protocol = 'ICMP'),
      ['spec.ports[0].protocol: "ICMP" is not one of TCP, UDP, SCTP'],
    ],
    [
      'lowercase protocol',
      (s) => (s.spec.ports[0].protocol = 'tcp'),
      ['spec.ports[0].protocol: "tcp" is not one of TCP, UDP, SCTP'],
    ],
    [
      'unnamed port among several',
      (s) => s.spec.ports.push({ protocol: 'TCP', port: 443 }),
      ['spec.ports[1].name: must be set when the service has more than one port'],
    ],
    [
      'duplicate port name',
      (s) => s.spec.ports.push({ name: 'http', protocol: 'TCP', port: 443 }),
      ['spec.ports[1].name: duplicate of spec.ports[0].name "http"'],
    ],
    [
      'duplicate port and protocol',
      (s) => s.spec.ports.push({ name: 'alt', protocol: 'TCP', port: 80 }),
      ['spec.ports[1].port: 80/TCP duplicates spec.ports[0]'],
    ],
    [
      'duplicate nodePort and protocol',
      (s) => {
        s.spec.ports[0].nodePort = 30080;
        s.spec.ports.push({ name: 'alt', port: 81, nodePort: 30080 });
      },
      ['spec.ports[1].nodePort: 30080/TCP duplicates spec.ports[0]'],
    ],
    [
      'invalid cluster IP',
      (s) => (s.spec.clusterIPs = ['10.96.0.300']),
      ['spec.clusterIPs[0]: "10.96.0.300" is not an IP address'],
    ],
    [
      'invalid spec.clusterIP',
      (s) => ((s.spec.clusterIP = 'fe80::1%eth0'), delete s.spec.clusterIPs),
      ['spec.clusterIP: "fe80::1%eth0" is not an IP address'],
    ],
    [
      'two IPv4 cluster IPs',
      (s) => (s.spec.clusterIPs = ['10.96.10.10', '10.96.10.11']),
      ['spec.clusterIPs[1]: a second IPv4 cluster IP (10.96.10.11)'],
    ],
    ['clusterIPs not a list', (s) => (s.spec.clusterIPs = '10.96.10.10'), ['spec.clusterIPs: "10.96.10.10" is not a list']],
    [
      'invalid externalIP',
      (s) => (s.spec.externalIPs = ['198.51.100.20', 'not-an-ip']),
      ['spec.externalIPs[1]: "not-an-ip" is not an IP address'],
    ],
    [
      'invalid LB ingress IP',
      (s) => (s.status = { loadBalancer: { ingress: [{ ip: '203.0.113.256' }] } }),
      ['status.loadBalancer.ingress[0].ip: "203.0.113.256" is not an IP address'],
    ],
    [
      'unknown ipMode',
      (s) => (s.status = { loadBalancer: { ingress: [{ ip: '203.0.113.10', ipMode: 'Magic' }] } }),
      ['status.loadBalancer.ingress[0].ipMode: "Magic" is not one of VIP, Proxy'],
    ],
    [
      'invalid source range',
      (s) => (s.spec.loadBalancerSourceRanges = ['10.0.0.0/33']),
      ['spec.loadBalancerSourceRanges[0]: "10.0.0.0/33" is not a CIDR'],
    ],
    [
      'source range without prefix',
      (s) => (s.spec.loadBalancerSourceRanges = ['10.0.0.1']),
      ['spec.loadBalancerSourceRanges[0]: "10.0.0.1" is not a CIDR'],
    ],
    ['unknown type', (s) => (s.spec.type = 'Weird'), ['spec.type: "Weird" is not one of ClusterIP, NodePort, LoadBalancer']],
    [
      'unknown externalTrafficPolicy',
      (s) => (s.spec.externalTrafficPolicy = 'Nearest'),
      ['spec.externalTrafficPolicy: "Nearest" is not one of Cluster, Local'],
    ],
    [
      'Global is not an internalTrafficPolicy',
      (s) => (s.spec.internalTrafficPolicy = 'Global'),
      ['spec.internalTrafficPolicy: "Global" is not one of Cluster, Local'],
    ],
    [
      'unknown sessionAffinity',
      (s) => (s.spec.sessionAffinity = 'Cookie'),
      ['spec.sessionAffinity: "Cookie" is not one of None, ClientIP'],
    ],
    [
      'affinity timeout 0',
      (s) => ((s.spec.sessionAffinity = 'ClientIP'), (s.spec.sessionAffinityConfig = { clientIP: { timeoutSeconds: 0 } })),
      ['spec.sessionAffinityConfig.clientIP.timeoutSeconds: 0 is out of range 1-86400'],
    ],
    [
      'affinity timeout above a day',
      (s) => ((s.spec.sessionAffinity = 'ClientIP'), (s.spec.sessionAffinityConfig = { clientIP: { timeoutSeconds: 86401 } })),
      ['spec.sessionAffinityConfig.clientIP.timeoutSeconds: 86401 is out of range 1-86400'],
    ],
    ['spec.ports not a list', (s) => (s.spec.ports = { port: 80 }), ['spec.ports: an object is not a list']],
    ['metadata missing', (s) => delete s.metadata, ['metadata: missing']],
    ['name missing', (s) => delete s.metadata.name, ['metadata.name: missing']],
  ])('%s', (_label, patch, expected) => {
    expect(reasons(rawService(patch))).toEqual(expected);
  });

  it('reports every reason, not only the first', () => {
    const got = reasons(
      rawService((s) => {
        s.spec.ports[0].port = 70000;
        s.spec.externalIPs = ['bad'];
      }),
    );
    expect(got).toEqual(['spec.externalIPs[0]: "bad" is not an IP address', 'spec.ports[0].port: 70000 is out of range 1-65535']);
  });

  it('names the object in each problem', () => {
    const { problems } = normalizeService(rawService((s) => (s.spec.ports[0].port = 70000)));
    expect(problems).toEqual([
      { kind: 'Service', namespace: 'shop', name: 'catalog', reason: 'spec.ports[0].port: 70000 is out of range 1-65535' },
    ]);
  });

  it.each([null, 42, 'Service', [], true])('refuses a non-object (%j) without throwing', (raw) => {
    const { service, problems } = normalizeService(raw);
    expect(service).toBeNull();
    expect(problems).toHaveLength(1);
    expect(problems[0]?.kind).toBe('Service');
  });
});

describe('normalizeService: injection attempts are rejected', () => {
  const attempts = ['foo" -j ACCEPT', 'a\nb', "x'; rm -rf /", 'web $(reboot)', 'UPPER', '-j', 'a'.repeat(64), 'web;', 'we b'];

  it.each(attempts)('service name %j', (name) => {
    const { service, problems } = normalizeService(rawService((s) => (s.metadata.name = name)));
    expect(service).toBeNull();
    expect(problems).toHaveLength(1);
    expect(problems[0]?.reason).toMatch(/^metadata\.name: ".*" is not a DNS-1035 label/);
  });

  it.each(attempts)('namespace %j', (namespace) => {
    const { service, problems } = normalizeService(rawService((s) => (s.metadata.namespace = namespace)));
    expect(service).toBeNull();
    expect(problems.map((p) => p.reason)).toEqual([expect.stringMatching(/^metadata\.namespace: .* is not a DNS-1123 label/)]);
  });

  it.each(attempts)('port name %j', (name) => {
    const { service, problems } = normalizeService(rawService((s) => (s.spec.ports[0].name = name)));
    expect(service).toBeNull();
    expect(problems.map((p) => p.reason)).toEqual([expect.stringMatching(/^spec\.ports\[0\]\.name: .* is not a DNS-1123 label/)]);
  });

  it.each(['10.96.0.1" -j ACCEPT', '10.96.0.1\n-A INPUT -j ACCEPT', '10.96.0.1 ', '10.96.0.1/32', '10.96.0.1,10.96.0.2'])(
    'cluster IP %j',
    (ip) => {
      expect(reasons(rawService((s) => (s.spec.clusterIPs = [ip])))).toEqual([
        expect.stringMatching(/^spec\.clusterIPs\[0\]: ".*" is not an IP address$/),
      ]);
    },
  );

  it('a service name starting with a digit is not a DNS-1035 label', () => {
    expect(reasons(rawService((s) => (s.metadata.name = '1web')))[0]).toMatch(/DNS-1035/);
  });

  it('problems carry escaped names and single-line reasons', () => {
    const { problems } = normalizeService(rawService((s) => (s.metadata.name = 'x"\n-j ACCEPT')));
    expect(problems[0]?.name).toBe('"x\\"\\n-j ACCEPT"');
    for (const p of problems) {
      expect(p.reason).not.toMatch(/[\n\r]/);
      expect(p.name).not.toMatch(/[\n\r]/);
    }
  });

  it('shows long values cut short', () => {
    const { problems } = normalizeService(rawService((s) => (s.spec.externalIPs = ['x'.repeat(500)])));
    expect(problems[0]?.reason.length).toBeLessThan(150);
  });
});
