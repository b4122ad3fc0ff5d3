/**
 * The kernel-test harness against a hand-written ruleset, so later backend tests can trust
 * what it reports. Address plan: test/support/netns/addresses.ts. Here:
 *   VIP 10.96.0.10:80 tcp+udp → DNAT, 50/50, to remote pods 10.244.2.2:8080 and 10.244.2.3:8080
 *   clients (192.168.50.16/28) are masqueraded; pods and the node are not
 *   10.96.0.11:80 → REJECT (icmp-port-unreachable), 10.96.0.12:80 → DROP,
 *   10.96.0.13:80 tcp → REJECT --reject-with tcp-reset          (filter FORWARD and OUTPUT)
 * Root only: the tests create network namespaces (tag `h`).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { spawnSync } from 'node:child_process';
import {
  NODE_IPV4,
  NODE_IPV6,
  clientIPv6,
  countByEndpoint,
  createTopology,
  listNamespaces,
  outcomes,
  podIPv4,
  probe,
  remoteIPv4,
  remoteIPv6,
  startEchoServers,
  type Topology,
} from '../support/netns/index.js';

const VIP = '10.96.0.10';
const VIP_REJECT = '10.96.0.11';
const VIP_DROP = '10.96.0.12';
const VIP_RESET = '10.96.0.13';
const EP1 = `${remoteIPv4(0)}:8080`;
const EP2 = `${remoteIPv4(1)}:8080`;

const RULES = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:HARNESS-VIP - [0:0]
-A PREROUTING -d ${VIP}/32 -j HARNESS-VIP
-A OUTPUT -d ${VIP}/32 -j HARNESS-VIP
-A HARNESS-VIP -p tcp --dport 80 -m statistic --mode random --probability 0.5000000000 -j DNAT --to-destination ${EP1}
-A HARNESS-VIP -p tcp --dport 80 -j DNAT --to-destination ${EP2}
-A HARNESS-VIP -p udp --dport 80 -m statistic --mode random --probability 0.5000000000 -j DNAT --to-destination ${EP1}
-A HARNESS-VIP -p udp --dport 80 -j DNAT --to-destination ${EP2}
-A POSTROUTING -s 192.168.50.16/28 -j MASQUERADE
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:HARNESS-VERDICTS - [0:0]
-A FORWARD -j HARNESS-VERDICTS
-A OUTPUT -j HARNESS-VERDICTS
-A HARNESS-VERDICTS -d ${VIP_REJECT}/32 -p tcp --dport 80 -j REJECT
-A HARNESS-VERDICTS -d ${VIP_REJECT}/32 -p udp --dport 80 -j REJECT
-A HARNESS-VERDICTS -d ${VIP_DROP}/32 -p tcp --dport 80 -j DROP
-A HARNESS-VERDICTS -d ${VIP_DROP}/32 -p udp --dport 80 -j DROP
-A HARNESS-VERDICTS -d ${VIP_RESET}/32 -p tcp --dport 80 -j REJECT --reject-with tcp-reset
COMMIT
`;

function isRoot(): boolean {
  return process.getuid?.() === 0;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Packets counted by the DROP rules, read back from the node's filter table. */
async function dropRulePackets(topo: Topology): Promise<number> {
  const { stdout } = await topo.run(topo.node, ['iptables', '-t', 'filter', '-L', 'HARNESS-VERDICTS', '-n', '-v', '-x']);
  return stdout
    .split('\n')
    .filter((line) => line.includes('DROP') && line.includes(VIP_DROP))
    .reduce((sum, line) => sum + Number(line.trim().split(/\s+/)[0]), 0);
}

describe.runIf(isRoot())('kernel harness with a hand-written iptables ruleset', () => {
  let topo: Topology;

  beforeAll(async () => {
    topo = await createTopology('h', { podIPs: 2, remoteIPs: 2 });
    const restored = await topo.run(topo.node, ['iptables-restore'], RULES);
    expect(restored.stderr).toBe('');
    expect(restored.code).toBe(0);
    await startEchoServers(
      topo,
      topo.remote,
      [remoteIPv4(0), remoteIPv4(1), remoteIPv6(0)].flatMap((ip) => [
        { ip, port: 8080, protocol: 'tcp' as const },
        { ip, port: 8080, protocol: 'udp' as const },
      ]),
    );
  });

  afterAll(async () => {
    await topo?.destroy();
  });

  test.each(['tcp', 'udp'] as const)('client → VIP (%s) balances over both endpoints, masqueraded to the node IP', async (protocol) => {
    const results = await probe(topo, topo.client, { dst: VIP, port: 80, protocol, count: 300 });
    expect(outcomes(results)).toEqual([EP1, EP2]);
    const counts = countByEndpoint(results);
    // Binomial(300, 0.5): 150 ± 60 is about seven standard deviations.
    for (const endpoint of [EP1, EP2]) expect(counts.get(endpoint)).toBeGreaterThan(90);
    const peers = new Set(results.map((r) => (r.ok ? r.peer.replace(/:\d+$/, '') : r.error)));
    expect([...peers]).toEqual([NODE_IPV4]);
  });

  test.each(['tcp', 'udp'] as const)('pods → remote endpoint directly (%s) sees the pod IP', async (protocol) => {
    const results = await probe(topo, topo.pods, { dst: remoteIPv4(1), port: 8080, protocol, src: podIPv4(1), count: 5 });
    expect(outcomes(results)).toEqual([EP2]);
    for (const r of results) expect(r.ok && r.peer.startsWith(`${podIPv4(1)}:`)).toBe(true);
  });

  test('pods → VIP is DNATed but not masqueraded', async () => {
    const results = await probe(topo, topo.pods, { dst: VIP, port: 80, protocol: 'tcp', count: 40 });
    expect(outcomes(results)).toEqual([EP1, EP2]);
    for (const r of results) expect(r.ok && r.peer.startsWith(`${podIPv4(0)}:`)).toBe(true);
  });

  test.each(['tcp', 'udp'] as const)('REJECT → refused, quickly (%s)', async (protocol) => {
    const started = Date.now();
    const opts = { dst: VIP_REJECT, port: 80, protocol, count: 100, timeoutMs: 2000 };
    const results = await probe(topo, topo.client, opts);
    expect(outcomes(results)).toEqual(['refused']);
    expect(Date.now() - started).toBeLessThan(1500);
  });

  test('REJECT --reject-with tcp-reset → refused', async () => {
    const results = await probe(topo, topo.client, { dst: VIP_RESET, port: 80, protocol: 'tcp', count: 10 });
    expect(outcomes(results)).toEqual(['refused']);
  });

  test.each(['tcp', 'udp'] as const)('DROP → timeout (%s), and the DROP rule saw the packets', async (protocol) => {
    const before = await dropRulePackets(topo);
    const started = Date.now();
    const results = await probe(topo, topo.client, { dst: VIP_DROP, port: 80, protocol, count: 10, timeoutMs: 400 });
    expect(outcomes(results)).toEqual(['timeout']);
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    expect((await dropRulePackets(topo)) - before).toBeGreaterThanOrEqual(10);
  });

  test('a closed UDP port on an endpoint → refused (ICMP port unreachable on a connected socket)', async () => {
    const results = await probe(topo, topo.client, { dst: remoteIPv4(0), port: 9, protocol: 'udp', count: 20 });
    expect(outcomes(results)).toEqual(['refused']);
  });

  test.each(['tcp', 'udp'] as const)('IPv6: client → remote endpoint directly (%s)', async (protocol) => {
    const results = await probe(topo, topo.client, { dst: remoteIPv6(0), port: 8080, protocol, src: clientIPv6(3), count: 20 });
    expect(outcomes(results)).toEqual([`[${remoteIPv6(0)}]:8080`]);
    for (const r of results) expect(r.ok && r.peer.startsWith(`[${clientIPv6(3)}]:`)).toBe(true);
  });

  test('IPv6: a closed port on an endpoint → refused', async () => {
    const results = await probe(topo, topo.client, { dst: remoteIPv6(0), port: 9, protocol: 'tcp', count: 5 });
    expect(outcomes(results)).toEqual(['refused']);
  });

  test('node-originated: VIP via nat OUTPUT from the node IP, REJECT via filter OUTPUT', async () => {
    const results = await probe(topo, topo.node, { dst: VIP, port: 80, protocol: 'tcp', count: 60 });
    expect(outcomes(results)).toEqual([EP1, EP2]);
    for (const r of results) expect(r.ok && r.peer.startsWith(`${NODE_IPV4}:`)).toBe(true);
    const rejected = await probe(topo, topo.node, { dst: VIP_REJECT, port: 80, protocol: 'udp', count: 5 });
    expect(outcomes(rejected)).toEqual(['refused']);
  });

  test('node-originated IPv6 leaves from the node primary IP', async () => {
    const results = await probe(topo, topo.node, { dst: remoteIPv6(0), port: 8080, protocol: 'udp', count: 5 });
    for (const r of results) expect(r.ok && r.peer.startsWith(`[${NODE_IPV6}]:`)).toBe(true);
  });

  test('300 probes take well under a few seconds', async () => {
    const started = Date.now();
    const results = await probe(topo, topo.client, { dst: VIP, port: 80, protocol: 'tcp', count: 300 });
    expect(results.filter((r) => r.ok)).toHaveLength(300);
    expect(Date.now() - started).toBeLessThan(3000);
  });
});

describe.runIf(isRoot())('topology lifecycle', () => {
  test('creation is fast, and destroy() kills its processes and leaves no namespace behind', async () => {
    const started = Date.now();
    const topo = await createTopology('h');
    try {
      expect(Date.now() - started).toBeLessThan(2000);
      const names = [topo.node, topo.pods, topo.remote, topo.client];
      expect(await listNamespaces()).toEqual(expect.arrayContaining(names));
      const server = topo.spawn(topo.remote, ['sleep', '600']);
      const pid = server.pid ?? -1;
      expect(pidAlive(pid)).toBe(true);

      await topo.destroy();
      expect(pidAlive(pid)).toBe(false);
      const left = await listNamespaces();
      for (const name of names) expect(left).not.toContain(name);
      await topo.destroy();
    } finally {
      await topo.destroy();
    }
  });

  test('stale namespaces of a dead run are swept; live runs and foreign names are kept', async () => {
    const exited = spawnSync('true');
    const deadPid = exited.pid;
    const stale = `kpx-h-${deadPid}-0bad-node`;
    const live = `kpx-h-${process.pid}-0b0b-node`;
    const foreign = `kpx-hkeep-${deadPid}-node`;
    const made: string[] = [];
    let topo: Topology | undefined;
    try {
      for (const name of [stale, live, foreign]) {
        expect(spawnSync('ip', ['netns', 'add', name]).status).toBe(0);
        made.push(name);
      }
      topo = await createTopology('h');
      const left = await listNamespaces();
      expect(left).not.toContain(stale);
      expect(left).toEqual(expect.arrayContaining([live, foreign]));
    } finally {
      await topo?.destroy();
      for (const name of made) spawnSync('ip', ['netns', 'del', name]);
    }
  });

  test('a bad tag or count is refused before anything is created', async () => {
    await expect(createTopology('Bad-Tag')).rejects.toThrow(/tag/);
    await expect(createTopology('h', { podIPs: 0 })).rejects.toThrow(/podIPs/);
    const ours = (await listNamespaces()).filter((name) => name.startsWith(`kpx-h-${process.pid}-`));
    expect(ours).toEqual([]);
  });

  test('an echo server that cannot bind fails loudly instead of hanging', async () => {
    const topo = await createTopology('h');
    try {
      await expect(
        startEchoServers(topo, topo.client, [{ ip: remoteIPv4(0), port: 8080, protocol: 'tcp' }]),
      ).rejects.toThrow(/EADDRNOTAVAIL/);
    } finally {
      await topo.destroy();
    }
  });
});
