/**
 * Stale UDP conntrack entries in a real kernel: a pod keeps sending datagrams to a
 * ClusterIP from one source port, so every datagram belongs to one conntrack entry and
 * follows the NAT decision of the first. After the ruleset changes, the entry keeps the old
 * decision until staleConntrackFlows' entries are deleted with `conntrack -D`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalizeProxyConfig } from '../../src/compile/config.js';
import type { RulesetIntent } from '../../src/compile/intent.js';
import { clearConntrack, staleConntrackFlows } from '../../src/dataplane/conntrack.js';
import type { Exec } from '../../src/dataplane/exec.js';
import { compileObjects, renderIntent, type Backend } from '../../src/pipeline.js';
import { createTopology, probe, remoteIPv4, startEchoServers, type Topology } from '../support/netns/index.js';
import { MATRIX_CONFIG } from './matrix-cluster.js';
import { isRoot } from './service-matrix.js';

const VIP = '10.96.0.53';
const POD = '10.244.1.2';
const TARGET = 5353;
const [OLD, NEW] = [remoteIPv4(0), remoteIPv4(1)];
const CONNTRACK_USER = 'table ip ctuser { chain forward { type filter hook forward priority 0; ct state new counter; }; }\n';

function dnsIntent(endpoints: string[]): RulesetIntent {
  const objects = [
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { namespace: 'ct', name: 'dns' },
      spec: { type: 'ClusterIP', clusterIP: VIP, clusterIPs: [VIP], ports: [{ name: 'dns', port: 53, targetPort: TARGET, protocol: 'UDP' }] },
    },
    {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { namespace: 'ct', name: 'dns-1', labels: { 'kubernetes.io/service-name': 'dns' } },
      addressType: 'IPv4',
      ports: [{ name: 'dns', port: TARGET, protocol: 'UDP' }],
      endpoints: endpoints.map((ip) => ({ addresses: [ip], nodeName: 'node-b', conditions: { ready: true } })),
    },
  ];
  const normalized = normalizeProxyConfig(MATRIX_CONFIG);
  if ('error' in normalized) throw new Error(normalized.error);
  return compileObjects(objects, normalized.config, 4).intent;
}

/** Replaces whatever this backend had loaded in the node namespace with `intent`'s rules. */
async function load(topo: Topology, backend: Backend, intent: RulesetIntent): Promise<void> {
  if (backend === 'nftables') await topo.run(topo.node, ['nft', 'delete', 'table', 'ip', 'kpx']);
  const tool = backend === 'iptables' ? ['iptables-restore'] : ['nft', '-f', '-'];
  const result = await topo.run(topo.node, tool, renderIntent(intent, backend));
  if (result.code !== 0) throw new Error(`${tool[0]} refused the ruleset: ${result.stderr}`);
}

describe.skipIf(!isRoot).each([
  ['iptables', 'ctipt'],
  ['nftables', 'ctnft'],
] as const)('%s: stale UDP conntrack entries (needs root to create namespaces)', (backend, tag) => {
  let topo: Topology;
  let stopEcho: (() => Promise<void>) | undefined;
  /** `conntrack` in the node namespace, where the rules and the entries live. */
  const inNode: Exec = (argv) => topo.run(topo.node, argv);

  /** Sends `count` datagrams, one at a time, all from POD:srcPort; returns who answered. */
  async function answers(srcPort: number, count = 3): Promise<string[]> {
    const results = await probe(topo, topo.pods, { src: POD, srcPort, dst: VIP, port: 53, protocol: 'udp', count, concurrency: 1, timeoutMs: 800 });
    return [...new Set(results.map((r) => (r.ok ? r.local : r.error)))];
  }

  beforeAll(async () => {
    topo = await createTopology(tag, { podIPs: 2, remoteIPs: 2 });
    // On a real node something (the CNI's masquerade, a firewall) always uses conntrack; in a
    // fresh namespace the kernel tracks nothing until a rule needs it. This table, which
    // outlives kpx's rules, is that something.
    const keep = await topo.run(topo.node, ['nft', '-f', '-'], CONNTRACK_USER);
    if (keep.code !== 0) throw new Error(`nft refused the conntrack user table: ${keep.stderr}`);
    stopEcho = (await startEchoServers(topo, topo.remote, [OLD, NEW].map((ip) => ({ ip, port: TARGET, protocol: 'udp' as const })))).stop;
  });

  afterAll(async () => {
    await stopEcho?.().catch(() => {});
    await topo?.destroy();
  });

  it('after an endpoint is removed, its flow moves to the new endpoint only once the entries are cleared', async () => {
    const before = dnsIntent([OLD]);
    const after = dnsIntent([NEW]);
    await load(topo, backend, before);
    expect(await answers(41000)).toEqual([`${OLD}:${TARGET}`]);

    await load(topo, backend, after);
    // The entry still carries the DNAT to the removed endpoint; a fresh source port does not.
    expect(await answers(41000)).toEqual([`${OLD}:${TARGET}`]);
    expect(await answers(41001, 1)).toEqual([`${NEW}:${TARGET}`]);

    const flows = staleConntrackFlows(before, after);
    expect(await clearConntrack(inNode, flows, 4)).toBe(1);
    expect(await answers(41000)).toEqual([`${NEW}:${TARGET}`]);
  });

  it('a flow that started before any rule existed is served only once its entry is cleared', async () => {
    const served = dnsIntent([NEW]);
    const flows = staleConntrackFlows(null, served);
    expect(flows.map((f) => f.reason)).toEqual(['now-served']);
    await load(topo, backend, dnsIntent([])); // REJECT: no entry is confirmed for refused datagrams
    expect(await answers(42000, 1)).toEqual(['refused']);
    if (backend === 'nftables') await topo.run(topo.node, ['nft', 'delete', 'table', 'ip', 'kpx']);
    else await topo.run(topo.node, ['iptables-restore'], '*filter\nCOMMIT\n*nat\nCOMMIT\n');
    // No rules: the datagrams leave un-NATed towards the default route, which nobody answers.
    expect(await answers(42000, 2)).toEqual(['timeout']);

    await load(topo, backend, served);
    // Still un-NATed. nftables: cluster-ips-check (forward, `ct state new`, which an
    // unanswered UDP entry still is) rejects it as a ClusterIP port without a service.
    expect(await answers(42000, 2)).toEqual([backend === 'nftables' ? 'refused' : 'timeout']);
    expect(await clearConntrack(inNode, flows, 4)).toBe(1);
    expect(await answers(42000)).toEqual([`${NEW}:${TARGET}`]);
  });
});
