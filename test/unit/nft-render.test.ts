/**
 * Lowering and rendering of the nftables backend. Address conventions: nft-fixtures.ts.
 */
import { readFileSync } from 'node:fs';
import Ajv from 'ajv';
import { describe, expect, it } from 'vitest';
import { lowerNftables } from '../../src/backend/nftables/lower.js';
import { dedicatedNames } from '../../src/backend/nftables/names.js';
import { hashPrefix } from '../../src/compile/names.js';
import { renderNftJson, renderNftText } from '../../src/backend/nftables/render.js';
import { ep, intent, kitchenSink, svc } from './nft-fixtures.js';

const schema = JSON.parse(readFileSync(new URL('../../rules/libnftables-json.schema.json', import.meta.url), 'utf8'));
const validate = new (Ajv as unknown as typeof Ajv.default)({ allErrors: true }).compile(schema);

/** The lines of `text` that mention `needle`, for focused inline expectations. */
function linesWith(text: string, needle: string): string {
  return text
    .split('\n')
    .filter((l) => l.includes(needle))
    .join('\n');
}

describe('names', () => {
  it('follow kube-proxy nftables vectors for dedicated chains', () => {
    const names = dedicatedNames({ namespace: 'ns1', service: 'svc1', protocol: 'tcp', portName: 'p80' });
    expect(names.cluster).toBe('service-ULMVA6XW-ns1/svc1/tcp/p80');
    expect(names.endpoint({ ip: '10.180.0.1', port: 80 })).toBe('endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80');
    expect(names.endpoint({ ip: 'fd00::1', port: 80 })).toMatch(/^endpoint-[A-Z2-7]{8}-ns1\/svc1\/tcp\/p80__fd00\.\.1\/80$/);
  });

  it('cut a name past 240 characters as kube-proxy does (IPv6 colons become dots first)', () => {
    const long = 'n'.repeat(63);
    const names = dedicatedNames({ namespace: long, service: long, protocol: 'tcp', portName: long });
    const ip = 'fd00:1234:5678:9abc:def0:1234:5678:9abc';
    const chain = names.endpoint({ ip, port: 65535 });
    const base = `${long}/${long}/tcp/${long}__${ip.replaceAll(':', '.')}/65535`;
    expect(chain).toBe(`endpoint-${hashPrefix(base, 8)}-${base}`.slice(0, 'endpoint-'.length + 237) + '...');
    expect(chain.length).toBe('endpoint-'.length + 240);
    expect(names.cluster.length).toBeLessThan(240); // 205 at most, as kube-proxy notes
  });
});

describe('renderNftText', () => {
  it('keeps a plain ClusterIP service to elements of shared maps', () => {
    const text = renderNftText(lowerNftables(intent([svc({ endpoints: [ep('10.180.0.1'), ep('10.180.0.2')] })])));
    expect(linesWith(text, '172.30.0.41')).toBe(
      [
        '\t172.30.0.41',
        '\t172.30.0.41 . tcp . 80 : 10.180.0.1',
        '\t172.30.0.41 . tcp . 80 : 10.180.0.2',
        '\t172.30.0.41 . tcp . 80 : 80',
        '\t172.30.0.41 . tcp . 80 : goto balance-2',
      ].join('\n'),
    );
    expect(linesWith(text, 'balance-2')).toBe(
      [
        'add chain ip kpx balance-2',
        '\t172.30.0.41 . tcp . 80 : goto balance-2',
        'add rule ip kpx balance-2 numgen random mod 2 vmap { 0 : goto endpoint-0, 1 : goto endpoint-1 }',
      ].join('\n'),
    );
    expect(text).not.toContain('service-ULMVA6XW');
  });

  it('declares base chains with kube-proxy priorities', () => {
    const text = renderNftText(lowerNftables(intent([])));
    expect(linesWith(text, 'hook')).toBe(
      [
        'add chain ip kpx filter-prerouting { type filter hook prerouting priority -110 ; policy accept ; }',
        'add chain ip kpx filter-input { type filter hook input priority -110 ; policy accept ; }',
        'add chain ip kpx filter-forward { type filter hook forward priority -110 ; policy accept ; }',
        'add chain ip kpx filter-output { type filter hook output priority -110 ; policy accept ; }',
        'add chain ip kpx filter-prerouting-post-dnat { type filter hook prerouting priority -90 ; policy accept ; }',
        'add chain ip kpx filter-output-post-dnat { type filter hook output priority -90 ; policy accept ; }',
        'add chain ip kpx nat-prerouting { type nat hook prerouting priority dstnat ; policy accept ; }',
        'add chain ip kpx nat-output { type nat hook output priority -100 ; policy accept ; }',
        'add chain ip kpx nat-postrouting { type nat hook postrouting priority srcnat ; policy accept ; }',
      ].join('\n'),
    );
  });

  it('writes the masquerade rules for the configured detector', () => {
    const withPods = renderNftText(lowerNftables(intent([])));
    expect(linesWith(withPods, 'add rule ip kpx services')).toBe(
      [
        'add rule ip kpx services ip daddr @cluster-ips ip saddr != @pod-cidrs jump mark-for-masquerade',
        'add rule ip kpx services ip daddr . meta l4proto . th dport vmap @affinity-service-ips',
        'add rule ip kpx services ip daddr . meta l4proto . th dport vmap @service-ips',
        'add rule ip kpx services fib daddr type local ip daddr != 127.0.0.0/8 ip daddr @nodeport-addresses meta l4proto . th dport vmap @affinity-nodeports',
        'add rule ip kpx services fib daddr type local ip daddr != 127.0.0.0/8 ip daddr @nodeport-addresses meta l4proto . th dport vmap @service-nodeports',
      ].join('\n'),
    );
    const all = renderNftText(lowerNftables(intent([], { masquerade: { mark: 0x4000, all: true } })));
    expect(linesWith(all, 'jump mark-for-masquerade')).toContain('add rule ip kpx services ip daddr @cluster-ips jump mark-for-masquerade');
    const none = renderNftText(lowerNftables(intent([], { podCIDRs: null })));
    expect(none).not.toContain('pod-cidrs');
    expect(linesWith(all, 'masquerading')).toBe(
      [
        'add chain ip kpx masquerading',
        'add rule ip kpx nat-postrouting jump masquerading',
        'add rule ip kpx masquerading ct status dnat ip saddr . ip daddr @hairpin-endpoints jump mark-for-masquerade',
        'add rule ip kpx masquerading meta mark & 0x00004000 == 0 return',
        'add rule ip kpx masquerading meta mark set meta mark ^ 0x00004000',
        'add rule ip kpx masquerading masquerade fully-random',
      ].join('\n'),
    );
  });

  it('gives affinity services a check chain in front of the pick and a recorder after DNAT, entries in one timeout set', () => {
    const text = renderNftText(lowerNftables(intent([svc({ endpoints: [ep('10.180.0.1'), ep('10.180.0.2', 8080)], affinity: 300 })])));
    // ClusterIP 172.30.0.41, tcp (6) port 80: 0x00060050.
    const key = (addr: string, port: number) =>
      `ip saddr . ip daddr & 0.0.0.0 ^ 172.30.0.41 . meta mark & 0x00000000 ^ 0x00060050 . ip daddr & 0.0.0.0 ^ ${addr} . th dport & 0 ^ ${port}`;
    const e1 = 'endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80';
    const e2 = dedicatedNames({ namespace: 'ns1', service: 'svc1', protocol: 'tcp', portName: 'p80' }).endpoint({ ip: '10.180.0.2', port: 8080 });
    const set = 'affinity';
    expect(text).toContain(
      `add set ip kpx ${set} { type ipv4_addr . ipv4_addr . mark . ipv4_addr . inet_service ; flags dynamic,timeout ; size 16777216 ; }`,
    );
    const check = 'affinity-ULMVA6XW-ns1/svc1/tcp/p80';
    const record = 'affinity-record-ULMVA6XW-ns1/svc1/tcp/p80';
    // Two endpoint ports: the pick is a dedicated chain; affinity sits in front of it either way.
    expect(linesWith(text, 'svc1/tcp/p80').split('\n')).toEqual([
      `add chain ip kpx ${check}`,
      `add chain ip kpx ${record}`,
      `add chain ip kpx ${e1}`,
      `add chain ip kpx ${e2}`,
      'add chain ip kpx service-ULMVA6XW-ns1/svc1/tcp/p80',
      `\t172.30.0.41 . tcp . 80 : goto ${record}`,
      `\t172.30.0.41 . tcp . 80 : jump ${check}`,
      '\t172.30.0.41 . tcp . 80 : goto service-ULMVA6XW-ns1/svc1/tcp/p80',
      `add rule ip kpx ${check} meta l4proto tcp ${key('10.180.0.1', 80)} @${set} dnat to 10.180.0.1:80`,
      `add rule ip kpx ${check} meta l4proto tcp ${key('10.180.0.2', 8080)} @${set} dnat to 10.180.0.2:8080`,
      `add rule ip kpx ${record} update @${set} { ip saddr . ip daddr & 0.0.0.0 ^ 172.30.0.41 . meta mark & 0x00000000 ^ 0x00060050 . ip daddr . th dport timeout 300s }`,
      `add rule ip kpx ${e1} meta l4proto tcp dnat to 10.180.0.1:80`,
      `add rule ip kpx ${e2} meta l4proto tcp dnat to 10.180.0.2:8080`,
      `add rule ip kpx service-ULMVA6XW-ns1/svc1/tcp/p80 numgen random mod 2 vmap { 0 : goto ${e1}, 1 : goto ${e2} }`,
    ]);
    expect(linesWith(text, 'add element ip kpx affinity-')).toBe(
      ['add element ip kpx affinity-record-ips {', 'add element ip kpx affinity-service-ips {'].join('\n'),
    );
  });

  it('writes reject and drop verdicts for services without endpoints', () => {
    const text = renderNftText(
      lowerNftables(
        intent([
          svc({ service: 'a', clusterIP: '172.30.0.1', nodePort: 30001 }),
          svc({ service: 'b', clusterIP: '172.30.0.2', endpoints: [ep('10.180.0.1')], internalLocal: true }),
        ]),
      ),
    );
    expect(linesWith(text, ': goto reject-chain').concat('\n', linesWith(text, ': drop'))).toBe(
      ['\ttcp . 30001 : goto reject-chain', '\t172.30.0.1 . tcp . 80 : goto reject-chain,', '\t172.30.0.2 . tcp . 80 : drop'].join('\n'),
    );
  });

  it('keeps the first claim on a duplicated destination', () => {
    const ruleset = lowerNftables(
      intent([
        svc({ service: 'a', endpoints: [ep('10.180.0.1')], nodePort: 30001 }),
        svc({ service: 'b', endpoints: [ep('10.180.0.2')], nodePort: 30001 }),
      ]),
    );
    const serviceIPs = ruleset.sets.find((s) => s.name === 'service-ips');
    const nodePorts = ruleset.sets.find((s) => s.name === 'service-nodeports');
    expect(serviceIPs?.elements).toHaveLength(1);
    expect(nodePorts?.elements).toHaveLength(1);
    expect(renderNftText(ruleset)).toContain('\ttcp . 30001 : 10.180.0.1');
  });

  it('is byte-stable whatever the input order', () => {
    const services = kitchenSink().services;
    const forward = renderNftText(lowerNftables(intent(services)));
    const backward = renderNftText(lowerNftables(intent([...services].reverse())));
    expect(backward).toBe(forward);
  });

  it('splits a large set into add element commands of 512 elements, each element once', () => {
    const services = Array.from({ length: 5000 }, (_, i) =>
      svc({ service: `s${i}`, clusterIP: `172.30.${i >> 8}.${i & 255}`, endpoints: [ep(`10.180.${i >> 8}.${i & 255}`)] }),
    );
    const text = renderNftText(lowerNftables(intent(services)));
    const commands = text.split('\n').filter((l) => l.startsWith('add element ip kpx cluster-ips {'));
    expect(commands).toHaveLength(10);
    const block = (start: number) => text.slice(start, text.indexOf('\n}\n', start)).split('\n').slice(1);
    const sizes = [...text.matchAll(/^add element ip kpx cluster-ips \{$/gm)].map((m) => block(m.index).length);
    expect(sizes).toEqual([...Array<number>(9).fill(512), 392]);
    const elements = [...text.matchAll(/^add element ip kpx cluster-ips \{$/gm)].flatMap((m) => block(m.index));
    expect(new Set(elements.map((l) => l.replace(/[\t,]/g, ''))).size).toBe(5000);
  });

  it('renders IPv6 with ip6 selectors and bracketed DNAT targets', () => {
    const text = renderNftText(lowerNftables(kitchenSink(6)));
    expect(text).toContain('add table ip6 kpx');
    expect(text).toContain('meta l4proto sctp dnat to [fd00:10:180::11]:81');
    expect(text).toContain('fib daddr type local ip6 daddr != ::1 ip6 daddr @nodeport-addresses');
    expect(text).not.toMatch(/ ip (saddr|daddr) /);
  });
});

describe('renderNftJson', () => {
  for (const family of [4, 6] as const) {
    it(`validates against the vendored schema (IPv${family})`, () => {
      const doc = JSON.parse(renderNftJson(lowerNftables(kitchenSink(family))));
      const ok = validate(doc);
      expect(validate.errors ?? []).toEqual([]);
      expect(ok).toBe(true);
    });
  }

  it('the schema rejects what nft 1.0.6 would refuse', () => {
    const mapWithConcatData = {
      nftables: [{ add: { map: { family: 'ip', table: 'kpx', name: 'm', type: 'mark', map: ['ipv4_addr', 'inet_service'] } } }],
    };
    expect(validate(mapWithConcatData)).toBe(false);
    const dynamicFlag = { nftables: [{ add: { set: { family: 'ip', table: 'kpx', name: 's', type: 'ipv4_addr', flags: ['dynamic'] } } }] };
    expect(validate(dynamicFlag)).toBe(false);
  });

  it('writes the same commands as the text, in the same order', () => {
    const ruleset = lowerNftables(kitchenSink());
    const commands = JSON.parse(renderNftJson(ruleset)).nftables.slice(1) as Array<{ add: Record<string, unknown> }>;
    const kinds = commands.map((c) => Object.keys(c.add)[0]);
    const textKinds = renderNftText(ruleset)
      .split('\n')
      .filter((l) => l.startsWith('add '))
      .map((l) => l.split(' ')[1]);
    expect(kinds).toEqual(textKinds);
  });
});
