/** Lowering intents to kube-proxy's iptables layout. Fixture conventions: iptables-fixtures.ts. */
import { describe, expect, it } from 'vitest';
import { lowerIptables } from '../../src/backend/iptables/lower.js';
import { renderIptablesRestore } from '../../src/backend/iptables/render.js';
import type { RulesetIntent } from '../../src/compile/intent.js';
import { chainLines, ep, kubeProxyOverallScenario, rulesetIntent, scenarios, servicePort, tableRules } from './iptables-fixtures.js';

const render = (intent: RulesetIntent) => renderIptablesRestore(lowerIptables(intent));
const lines = (text: string) => text.trim().split('\n').map((line) => line.trim());

const SVC1 = 'KUBE-SVC-XPGD46QRK7WJZT7O';
const SVL1 = 'KUBE-SVL-XPGD46QRK7WJZT7O';
const EXT1 = 'KUBE-EXT-XPGD46QRK7WJZT7O';
const FW1 = 'KUBE-FW-XPGD46QRK7WJZT7O';
const SEP1 = 'KUBE-SEP-SXIVWICOYRO3J4NJ'; // ns1/svc1:p80 tcp 10.180.0.1:80
const SEP2 = 'KUBE-SEP-LXVODXWDISEETFEF'; // ns1/svc1:p80 tcp 10.180.0.2:80

describe('lowerIptables + renderIptablesRestore', () => {
  it('renders a ClusterIP service with one endpoint as complete restore input', () => {
    const text = render(scenarios()['ClusterIP, one endpoint']!);
    expect(text).toBe(
      lines(`
      *filter
      :INPUT ACCEPT [0:0]
      :FORWARD ACCEPT [0:0]
      :OUTPUT ACCEPT [0:0]
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
      -A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
      -A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT
      -A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
      COMMIT
      *nat
      :PREROUTING ACCEPT [0:0]
      :OUTPUT ACCEPT [0:0]
      :POSTROUTING ACCEPT [0:0]
      :KUBE-MARK-MASQ - [0:0]
      :KUBE-NODEPORTS - [0:0]
      :KUBE-POSTROUTING - [0:0]
      :${SEP1} - [0:0]
      :KUBE-SERVICES - [0:0]
      :${SVC1} - [0:0]
      -A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
      -A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
      -A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
      -A KUBE-MARK-MASQ -j MARK --or-mark 0x4000
      -A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
      -A KUBE-POSTROUTING -j MARK --xor-mark 0x4000
      -A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
      -A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j ${SVC1}
      -A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL ! -d 127.0.0.0/8 -j KUBE-NODEPORTS
      -A ${SVC1} -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ
      -A ${SVC1} -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -j ${SEP1}
      -A ${SEP1} -m comment --comment ns1/svc1:p80 -s 10.180.0.1 -j KUBE-MARK-MASQ
      -A ${SEP1} -m comment --comment ns1/svc1:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.0.1:80
      COMMIT
      `).join('\n') + '\n',
    );
  });

  it('balances three endpoints with probabilities 1/3, 1/2, then the rest', () => {
    const text = render(scenarios()['three endpoints']!);
    expect(chainLines(text, 'nat', SVC1).slice(1)).toEqual([
      `-A ${SVC1} -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -m statistic --mode random --probability 0.3333333333 -j ${SEP1}`,
      `-A ${SVC1} -m comment --comment "ns1/svc1:p80 -> 10.180.0.2:80" -m statistic --mode random --probability 0.5000000000 -j ${SEP2}`,
      `-A ${SVC1} -m comment --comment "ns1/svc1:p80 -> 10.180.0.3:80" -j KUBE-SEP-ICDUIKC33SFI6ZPR`,
    ]);
  });

  it('checks affinity before balancing and records it in the endpoint chain', () => {
    const text = render(scenarios()['session affinity']!);
    expect(chainLines(text, 'nat', SVC1).slice(1)).toEqual([
      `-A ${SVC1} -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -m recent --name ${SEP1} --rcheck --seconds 10800 --reap -j ${SEP1}`,
      `-A ${SVC1} -m comment --comment "ns1/svc1:p80 -> 10.180.0.2:80" -m recent --name ${SEP2} --rcheck --seconds 10800 --reap -j ${SEP2}`,
      `-A ${SVC1} -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -m statistic --mode random --probability 0.5000000000 -j ${SEP1}`,
      `-A ${SVC1} -m comment --comment "ns1/svc1:p80 -> 10.180.0.2:80" -j ${SEP2}`,
    ]);
    expect(chainLines(text, 'nat', SEP1)).toEqual([
      `-A ${SEP1} -m comment --comment ns1/svc1:p80 -s 10.180.0.1 -j KUBE-MARK-MASQ`,
      `-A ${SEP1} -m comment --comment ns1/svc1:p80 -m recent --name ${SEP1} --set -m tcp -p tcp -j DNAT --to-destination 10.180.0.1:80`,
    ]);
  });

  it('keeps external traffic on local endpoints with externalTrafficPolicy Local', () => {
    const text = render(scenarios()['externalTrafficPolicy Local']!);
    expect(chainLines(text, 'nat', EXT1)).toEqual([
      `-A ${EXT1} -m comment --comment "pod traffic for ns1/svc1:p80 external destinations" -s 10.0.0.0/8 -j ${SVC1}`,
      `-A ${EXT1} -m comment --comment "masquerade LOCAL traffic for ns1/svc1:p80 external destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ`,
      `-A ${EXT1} -m comment --comment "route LOCAL traffic for ns1/svc1:p80 external destinations" -m addrtype --src-type LOCAL -j ${SVC1}`,
      `-A ${EXT1} -j ${SVL1}`,
    ]);
    expect(chainLines(text, 'nat', SVL1)).toEqual([`-A ${SVL1} -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -j ${SEP1}`]);
    // The masquerade rule sits only in the internal policy's chain.
    expect(chainLines(text, 'nat', SVC1)[0]).toContain('! -s 10.0.0.0/8 -j KUBE-MARK-MASQ');
    expect(chainLines(text, 'nat', 'KUBE-SERVICES')).toContain(
      `-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 external IP" -m tcp -p tcp -d 192.168.99.11 --dport 80 -j ${EXT1}`,
    );
    expect(chainLines(text, 'nat', 'KUBE-NODEPORTS')).toEqual([
      `-A KUBE-NODEPORTS -m comment --comment ns1/svc1:p80 -m tcp -p tcp --dport 3001 -j ${EXT1}`,
    ]);
    expect(chainLines(text, 'filter', 'KUBE-NODEPORTS')).toEqual([
      '-A KUBE-NODEPORTS -m comment --comment "ns1/svc1:p80 health check node port" -m tcp -p tcp --dport 30000 -j ACCEPT',
    ]);
    expect(chainLines(text, 'filter', 'KUBE-EXTERNAL-SERVICES')).toEqual([]);
  });

  it('sends LoadBalancer traffic through the firewall chain and drops the rest in filter', () => {
    const text = render(scenarios()['LoadBalancer with source ranges']!);
    expect(chainLines(text, 'nat', 'KUBE-SERVICES')).toContain(
      `-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 loadbalancer IP" -m tcp -p tcp -d 5.6.7.8 --dport 80 -j ${FW1}`,
    );
    expect(chainLines(text, 'nat', FW1)).toEqual([
      `-A ${FW1} -m comment --comment "ns1/svc1:p80 loadbalancer IP" -s 203.0.113.0/25 -j ${EXT1}`,
      `-A ${FW1} -m comment --comment "ns1/svc1:p80 loadbalancer IP" -s 192.168.0.0/24 -j ${EXT1}`,
      `-A ${FW1} -m comment --comment "ns1/svc1:p80 loadbalancer IP" -s 5.6.7.8 -j ${EXT1}`,
    ]);
    expect(chainLines(text, 'filter', 'KUBE-PROXY-FIREWALL')).toEqual([
      `-A KUBE-PROXY-FIREWALL -m comment --comment "ns1/svc1:p80 traffic not accepted by ${FW1}" -m tcp -p tcp -d 5.6.7.8 --dport 80 -j DROP`,
    ]);
    // Source ranges never filter NodePorts.
    expect(chainLines(text, 'nat', 'KUBE-NODEPORTS')).toEqual([
      `-A KUBE-NODEPORTS -m comment --comment ns1/svc1:p80 -m tcp -p tcp --dport 3002 -j ${EXT1}`,
    ]);
  });

  it('rejects every entry point of a service without endpoints, in filter', () => {
    const text = render(scenarios()['no endpoints']!);
    expect(tableRules(text, 'nat').filter((l) => l.includes('ns1/svc1'))).toEqual([]);
    expect(chainLines(text, 'filter', 'KUBE-SERVICES')).toEqual([
      '-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 has no endpoints" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j REJECT',
    ]);
    expect(chainLines(text, 'filter', 'KUBE-EXTERNAL-SERVICES')).toEqual([
      '-A KUBE-EXTERNAL-SERVICES -m comment --comment "ns1/svc1:p80 has no endpoints" -m tcp -p tcp -d 192.168.99.11 --dport 80 -j REJECT',
      '-A KUBE-EXTERNAL-SERVICES -m comment --comment "ns1/svc1:p80 has no endpoints" -m tcp -p tcp -d 1.2.3.4 --dport 80 -j REJECT',
      '-A KUBE-EXTERNAL-SERVICES -m comment --comment "ns1/svc1:p80 has no endpoints" -m addrtype --dst-type LOCAL ! -d 127.0.0.0/8 -m tcp -p tcp --dport 3001 -j REJECT',
    ]);
    const lowered = lowerIptables(scenarios()['no endpoints']!);
    expect(lowered.serviceChains.get('ns1/svc1:p80')).toEqual([]);
  });

  it('drops ClusterIP traffic when internalTrafficPolicy Local has no local endpoint', () => {
    const text = render(scenarios()['internalTrafficPolicy Local without local endpoints']!);
    expect(chainLines(text, 'filter', 'KUBE-SERVICES')).toEqual([
      '-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 has no local endpoints" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j DROP',
    ]);
  });

  it('honours masquerade-all, the mark, the protocol and each node port CIDR', () => {
    const ruleset = lowerIptables(scenarios()['masquerade-all, UDP and SCTP, several node port CIDRs']!);
    const text = renderIptablesRestore(ruleset);
    const dnsSvc = ruleset.serviceChains.get('ns1/svc1:dns')![0]!.name;
    expect(dnsSvc).toMatch(/^KUBE-SVC-/);
    expect(chainLines(text, 'nat', dnsSvc)[0]).toBe(
      `-A ${dnsSvc} -m comment --comment "ns1/svc1:dns cluster IP" -m udp -p udp -d 172.30.0.41 --dport 53 -j KUBE-MARK-MASQ`,
    );
    expect(chainLines(text, 'nat', 'KUBE-MARK-MASQ')).toEqual(['-A KUBE-MARK-MASQ -j MARK --or-mark 0x10000']);
    expect(chainLines(text, 'nat', 'KUBE-POSTROUTING')[0]).toBe('-A KUBE-POSTROUTING -m mark ! --mark 0x10000/0x10000 -j RETURN');
    expect(tableRules(text, 'nat').filter((l) => l.includes('DNAT'))).toEqual([
      expect.stringMatching(/ -m udp -p udp -j DNAT --to-destination 10\.180\.0\.1:5353$/),
      expect.stringMatching(/ -m sctp -p sctp -j DNAT --to-destination 10\.180\.0\.2:80$/),
    ]);
    const tail = chainLines(text, 'nat', 'KUBE-SERVICES').slice(-2);
    expect(tail).toEqual([
      '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -d 192.168.0.2 -j KUBE-NODEPORTS',
      '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -d 10.1.0.0/16 -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS',
    ]);
    // The unnamed port's name has no ":port" suffix.
    expect(chainLines(text, 'nat', 'KUBE-NODEPORTS')).toEqual([
      expect.stringMatching(/^-A KUBE-NODEPORTS -m comment --comment ns1\/svc2 -m sctp -p sctp --dport 3005 -j KUBE-EXT-/),
    ]);
  });

  it('leaves NodePorts unreachable and unrefused when no node port CIDR is given', () => {
    const intent = rulesetIntent([servicePort({ nodePort: 3001, external: { policy: 'cluster', noEndpoints: 'REJECT' } })], {
      nodePortCIDRs: [],
    });
    const text = render(intent);
    expect(text).not.toContain('this must be the last rule');
    expect(chainLines(text, 'filter', 'KUBE-EXTERNAL-SERVICES')).toEqual([]);
  });

  it('writes IPv6 rules with bracketed DNAT targets and ::1 excluded from NodePorts', () => {
    const text = render(scenarios().IPv6!);
    const dnat = tableRules(text, 'nat').filter((l) => l.includes('DNAT'));
    expect(dnat).toEqual([
      expect.stringMatching(/-m recent --name KUBE-SEP-\w{16} --set -m tcp -p tcp -j DNAT --to-destination \[fd00:10:180::1\]:80$/),
      expect.stringMatching(/-m recent --name KUBE-SEP-\w{16} --set -m tcp -p tcp -j DNAT --to-destination \[fd00:10:180::2\]:80$/),
    ]);
    expect(chainLines(text, 'nat', 'KUBE-SERVICES').at(-1)).toBe(
      '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL ! -d ::1/128 -j KUBE-NODEPORTS',
    );
    expect(chainLines(text, 'nat', EXT1)[0]).toBe(
      `-A ${EXT1} -m comment --comment "pod traffic for ns1/svc1:p80 external destinations" -s fd00:10::/64 -j ${SVC1}`,
    );
    expect(chainLines(text, 'filter', 'KUBE-EXTERNAL-SERVICES')).toEqual([
      '-A KUBE-EXTERNAL-SERVICES -m comment --comment "ns1/svc2:p80 has no endpoints" -m addrtype --dst-type LOCAL ! -d ::1/128 -m tcp -p tcp --dport 3002 -j REJECT',
    ]);
  });

  it('quotes comments with quotes and backslashes', () => {
    const text = render(scenarios()['comments that need quoting']!);
    expect(text).toContain('--comment "odd\\"ns/back\\\\slash:p80 cluster IP"');
    expect(text).toContain('--comment "odd\\"ns/back\\\\slash:p80" -s 10.180.0.1 -j KUBE-MARK-MASQ');
  });
});

describe("kube-proxy's own expected rules", () => {
  // kube-proxy's TestOverallIPTablesRules output for the same services (its proxier_test.go
  // and cleanup_test.go), with kpx's deliberate differences applied: MASQUERADE
  // --random-fully, no no-op comment rule at the end of KUBE-FW, and NodePorts (hence the
  // DROP for ns2's node port) never answer on 127.0.0.0/8.
  const kubeProxy = `
    -A KUBE-NODEPORTS -m comment --comment ns2/svc2:p80 -m tcp -p tcp --dport 3001 -j KUBE-EXT-GNZBNJ2PO5MGZ6GT
    -A KUBE-NODEPORTS -m comment --comment ns3/svc3:p80 -m tcp -p tcp --dport 3003 -j KUBE-EXT-X27LE4BHSL4DOUIK
    -A KUBE-NODEPORTS -m comment --comment ns5/svc5:p80 -m tcp -p tcp --dport 3002 -j KUBE-EXT-NUKIZ6OKUXPJNT4C
    -A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j KUBE-SVC-XPGD46QRK7WJZT7O
    -A KUBE-SERVICES -m comment --comment "ns2/svc2:p80 cluster IP" -m tcp -p tcp -d 172.30.0.42 --dport 80 -j KUBE-SVC-GNZBNJ2PO5MGZ6GT
    -A KUBE-SERVICES -m comment --comment "ns2/svc2:p80 external IP" -m tcp -p tcp -d 192.168.99.22 --dport 80 -j KUBE-EXT-GNZBNJ2PO5MGZ6GT
    -A KUBE-SERVICES -m comment --comment "ns2/svc2:p80 loadbalancer IP" -m tcp -p tcp -d 1.2.3.4 --dport 80 -j KUBE-EXT-GNZBNJ2PO5MGZ6GT
    -A KUBE-SERVICES -m comment --comment "ns3/svc3:p80 cluster IP" -m tcp -p tcp -d 172.30.0.43 --dport 80 -j KUBE-SVC-X27LE4BHSL4DOUIK
    -A KUBE-SERVICES -m comment --comment "ns4/svc4:p80 cluster IP" -m tcp -p tcp -d 172.30.0.44 --dport 80 -j KUBE-SVC-4SW47YFZTEDKD3PK
    -A KUBE-SERVICES -m comment --comment "ns4/svc4:p80 external IP" -m tcp -p tcp -d 192.168.99.33 --dport 80 -j KUBE-EXT-4SW47YFZTEDKD3PK
    -A KUBE-SERVICES -m comment --comment "ns5/svc5:p80 cluster IP" -m tcp -p tcp -d 172.30.0.45 --dport 80 -j KUBE-SVC-NUKIZ6OKUXPJNT4C
    -A KUBE-SERVICES -m comment --comment "ns5/svc5:p80 loadbalancer IP" -m tcp -p tcp -d 5.6.7.8 --dport 80 -j KUBE-FW-NUKIZ6OKUXPJNT4C
    -A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL ! -d 127.0.0.0/8 -j KUBE-NODEPORTS
    -A KUBE-EXT-4SW47YFZTEDKD3PK -m comment --comment "masquerade traffic for ns4/svc4:p80 external destinations" -j KUBE-MARK-MASQ
    -A KUBE-EXT-4SW47YFZTEDKD3PK -j KUBE-SVC-4SW47YFZTEDKD3PK
    -A KUBE-EXT-GNZBNJ2PO5MGZ6GT -m comment --comment "pod traffic for ns2/svc2:p80 external destinations" -s 10.0.0.0/8 -j KUBE-SVC-GNZBNJ2PO5MGZ6GT
    -A KUBE-EXT-GNZBNJ2PO5MGZ6GT -m comment --comment "masquerade LOCAL traffic for ns2/svc2:p80 external destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ
    -A KUBE-EXT-GNZBNJ2PO5MGZ6GT -m comment --comment "route LOCAL traffic for ns2/svc2:p80 external destinations" -m addrtype --src-type LOCAL -j KUBE-SVC-GNZBNJ2PO5MGZ6GT
    -A KUBE-EXT-NUKIZ6OKUXPJNT4C -m comment --comment "masquerade traffic for ns5/svc5:p80 external destinations" -j KUBE-MARK-MASQ
    -A KUBE-EXT-NUKIZ6OKUXPJNT4C -j KUBE-SVC-NUKIZ6OKUXPJNT4C
    -A KUBE-EXT-X27LE4BHSL4DOUIK -m comment --comment "masquerade traffic for ns3/svc3:p80 external destinations" -j KUBE-MARK-MASQ
    -A KUBE-EXT-X27LE4BHSL4DOUIK -j KUBE-SVC-X27LE4BHSL4DOUIK
    -A KUBE-FW-NUKIZ6OKUXPJNT4C -m comment --comment "ns5/svc5:p80 loadbalancer IP" -s 203.0.113.0/25 -j KUBE-EXT-NUKIZ6OKUXPJNT4C
    -A KUBE-SEP-C6EBXVWJJZMIWKLZ -m comment --comment ns4/svc4:p80 -s 10.180.0.5 -j KUBE-MARK-MASQ
    -A KUBE-SEP-C6EBXVWJJZMIWKLZ -m comment --comment ns4/svc4:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.0.5:80
    -A KUBE-SEP-I77PXRDZVX7PMWMN -m comment --comment ns5/svc5:p80 -s 10.180.0.3 -j KUBE-MARK-MASQ
    -A KUBE-SEP-I77PXRDZVX7PMWMN -m comment --comment ns5/svc5:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.0.3:80
    -A KUBE-SEP-OYPFS5VJICHGATKP -m comment --comment ns3/svc3:p80 -s 10.180.0.3 -j KUBE-MARK-MASQ
    -A KUBE-SEP-OYPFS5VJICHGATKP -m comment --comment ns3/svc3:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.0.3:80
    -A KUBE-SEP-RS4RBKLTHTF2IUXJ -m comment --comment ns2/svc2:p80 -s 10.180.0.2 -j KUBE-MARK-MASQ
    -A KUBE-SEP-RS4RBKLTHTF2IUXJ -m comment --comment ns2/svc2:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.0.2:80
    -A KUBE-SEP-SXIVWICOYRO3J4NJ -m comment --comment ns1/svc1:p80 -s 10.180.0.1 -j KUBE-MARK-MASQ
    -A KUBE-SEP-SXIVWICOYRO3J4NJ -m comment --comment ns1/svc1:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.0.1:80
    -A KUBE-SEP-UKSFD7AGPMPPLUHC -m comment --comment ns4/svc4:p80 -s 10.180.0.4 -j KUBE-MARK-MASQ
    -A KUBE-SEP-UKSFD7AGPMPPLUHC -m comment --comment ns4/svc4:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.0.4:80
    -A KUBE-SVC-4SW47YFZTEDKD3PK -m comment --comment "ns4/svc4:p80 cluster IP" -m tcp -p tcp -d 172.30.0.44 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ
    -A KUBE-SVC-4SW47YFZTEDKD3PK -m comment --comment "ns4/svc4:p80 -> 10.180.0.4:80" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-UKSFD7AGPMPPLUHC
    -A KUBE-SVC-4SW47YFZTEDKD3PK -m comment --comment "ns4/svc4:p80 -> 10.180.0.5:80" -j KUBE-SEP-C6EBXVWJJZMIWKLZ
    -A KUBE-SVC-GNZBNJ2PO5MGZ6GT -m comment --comment "ns2/svc2:p80 cluster IP" -m tcp -p tcp -d 172.30.0.42 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ
    -A KUBE-SVC-GNZBNJ2PO5MGZ6GT -m comment --comment "ns2/svc2:p80 -> 10.180.0.2:80" -j KUBE-SEP-RS4RBKLTHTF2IUXJ
    -A KUBE-SVC-NUKIZ6OKUXPJNT4C -m comment --comment "ns5/svc5:p80 cluster IP" -m tcp -p tcp -d 172.30.0.45 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ
    -A KUBE-SVC-NUKIZ6OKUXPJNT4C -m comment --comment "ns5/svc5:p80 -> 10.180.0.3:80" -j KUBE-SEP-I77PXRDZVX7PMWMN
    -A KUBE-SVC-X27LE4BHSL4DOUIK -m comment --comment "ns3/svc3:p80 cluster IP" -m tcp -p tcp -d 172.30.0.43 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ
    -A KUBE-SVC-X27LE4BHSL4DOUIK -m comment --comment "ns3/svc3:p80 -> 10.180.0.3:80" -j KUBE-SEP-OYPFS5VJICHGATKP
    -A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ
    -A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -j KUBE-SEP-SXIVWICOYRO3J4NJ
  `;
  const kubeProxyFilter = `
    -A KUBE-NODEPORTS -m comment --comment "ns2/svc2:p80 health check node port" -m tcp -p tcp --dport 30000 -j ACCEPT
    -A KUBE-SERVICES -m comment --comment "ns6/svc6:p80 has no endpoints" -m tcp -p tcp -d 172.30.0.46 --dport 80 -j REJECT
    -A KUBE-EXTERNAL-SERVICES -m comment --comment "ns2/svc2:p80 has no local endpoints" -m tcp -p tcp -d 192.168.99.22 --dport 80 -j DROP
    -A KUBE-EXTERNAL-SERVICES -m comment --comment "ns2/svc2:p80 has no local endpoints" -m tcp -p tcp -d 1.2.3.4 --dport 80 -j DROP
    -A KUBE-EXTERNAL-SERVICES -m comment --comment "ns2/svc2:p80 has no local endpoints" -m addrtype --dst-type LOCAL ! -d 127.0.0.0/8 -m tcp -p tcp --dport 3001 -j DROP
    -A KUBE-PROXY-FIREWALL -m comment --comment "ns5/svc5:p80 traffic not accepted by KUBE-FW-NUKIZ6OKUXPJNT4C" -m tcp -p tcp -d 5.6.7.8 --dport 80 -j DROP
  `;
  /** Groups `-A` lines by chain, keeping each chain's order (kube-proxy's test sorts chains). */
  const byChain = (ruleLines: string[]) => {
    const chains = new Map<string, string[]>();
    for (const line of ruleLines) {
      const chain = line.split(' ')[1]!;
      chains.set(chain, [...(chains.get(chain) ?? []), line]);
    }
    return Object.fromEntries([...chains].sort(([a], [b]) => (a < b ? -1 : 1)));
  };
  const serviceRules = (rules: string[]) => rules.filter((l) => !/^-A (PREROUTING|INPUT|FORWARD|OUTPUT|POSTROUTING|KUBE-MARK-MASQ|KUBE-POSTROUTING|KUBE-FORWARD) /.test(l));

  it('produces the same nat rules, chain by chain', () => {
    const text = render(kubeProxyOverallScenario());
    expect(byChain(serviceRules(tableRules(text, 'nat')))).toEqual(byChain(lines(kubeProxy)));
  });

  it('produces the same filter rules, chain by chain', () => {
    const text = render(kubeProxyOverallScenario());
    expect(byChain(serviceRules(tableRules(text, 'filter')))).toEqual(byChain(lines(kubeProxyFilter)));
  });
});

describe('defensive lowering', () => {
  it('skips a service port whose addresses would be misread, and reports it', () => {
    const good = servicePort({ clusterEndpoints: [ep('10.180.0.1')] });
    const octal = servicePort({ service: 'svc2', clusterIP: '172.030.0.42', clusterEndpoints: [ep('10.180.0.2')] });
    const wrongFamily = servicePort({ service: 'svc3', clusterIP: '172.30.0.43', clusterEndpoints: [ep('fd00::1')] });
    const badPort = servicePort({ service: 'svc4', clusterIP: '172.30.0.44', clusterEndpoints: [{ ...ep('10.180.0.4'), port: 0 }] });
    const ruleset = lowerIptables(rulesetIntent([good, octal, wrongFamily, badPort]));
    expect([...ruleset.serviceChains.keys()]).toEqual(['ns1/svc1:p80']);
    expect(ruleset.problems.map((p) => `${p.kind} ${p.namespace}/${p.name}`)).toEqual([
      'Service ns1/svc2',
      'Service ns1/svc3',
      'Service ns1/svc4',
    ]);
    expect(ruleset.problems[0]!.reason).toContain('172.030.0.42');
    expect(render(rulesetIntent([good, octal, wrongFamily, badPort]))).not.toMatch(/svc[234]/);
  });

  it('ignores bad global CIDRs and a bad mark, and says so', () => {
    const ruleset = lowerIptables(
      rulesetIntent([servicePort({ clusterEndpoints: [ep('10.180.0.1')] })], {
        masquerade: { mark: 0, all: false },
        podCIDRs: ['10.0.0.1/8'],
        nodePortCIDRs: ['::/0', '192.168.0.2/32'],
      }),
    );
    expect(ruleset.problems.map((p) => p.name)).toEqual(['masquerade.mark', 'podCIDRs', 'nodePortCIDRs']);
    const text = renderIptablesRestore(ruleset);
    expect(text).toContain('-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000');
    expect(text).not.toContain('! -s');
    expect(chainLines(text, 'nat', 'KUBE-SERVICES').at(-1)).toContain('-d 192.168.0.2 -j KUBE-NODEPORTS');
  });

  it('never jumps to a chain it did not declare, even for an inconsistent intent', () => {
    // Claims endpoints on both paths but lists none for the local policy.
    const inconsistent = servicePort({
      clusterEndpoints: [ep('10.180.0.1')],
      internal: { policy: 'local', noEndpoints: null },
      nodePort: 3001,
      external: { policy: 'local', noEndpoints: null },
    });
    const text = render(rulesetIntent([inconsistent]));
    const declared = new Set(text.split('\n').filter((l) => l.startsWith(':')).map((l) => l.slice(1).split(' ')[0]));
    const targets = text.split('\n').flatMap((l) => /-j (KUBE-[\w-]+)/.exec(l)?.[1] ?? []);
    for (const target of targets) expect(declared).toContain(target);
    expect(chainLines(text, 'filter', 'KUBE-SERVICES')).toEqual([
      '-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 has no endpoints" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j REJECT',
    ]);
  });

  it('is byte-stable whatever the order of the services in the intent', () => {
    const intent = kubeProxyOverallScenario();
    const shuffled = { ...intent, services: [...intent.services].reverse() };
    expect(render(shuffled)).toBe(render(intent));
    expect([...lowerIptables(shuffled).serviceChains.keys()]).toEqual([
      'ns1/svc1:p80',
      'ns2/svc2:p80',
      'ns3/svc3:p80',
      'ns4/svc4:p80',
      'ns5/svc5:p80',
      'ns6/svc6:p80',
    ]);
  });
});
