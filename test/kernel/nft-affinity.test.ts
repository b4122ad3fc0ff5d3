/**
 * ClientIP session affinity in the nftables dataplane, with real connections (namespaces
 * `kpx-nftaff-…`, deleted afterwards). kpx keeps one affinity set, keyed `client . service
 * port . endpoint . port`; these check that it means what kube-proxy's per-endpoint sets
 * mean: a client stays on its endpoint, the kernel remembers exactly that pair, a
 * remembered client goes back to its endpoint, and when that endpoint is removed only its
 * clients are balanced again (and then stay on their new endpoint). The entry is recorded
 * after DNAT by the connection's original destination, so a NodePort client is
 * remembered under the service port too, and shares its endpoint with the ClusterIP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RulesetIntent } from '../../src/compile/intent.js';
import { exec, spawnTool, type Exec } from '../../src/dataplane/exec.js';
import { createNftablesDataplane } from '../../src/dataplane/nftables-dataplane.js';
import type { Dataplane } from '../../src/dataplane/types.js';
import { createTopology, probe, startEchoServers, type Topology } from '../support/netns/index.js';
import { ep, intent, svc } from '../unit/nft-fixtures.js';
import { isRoot } from './service-matrix.js';

const VIP = '172.30.0.50';
const PORT = 8080;
const remote = (n: number) => `10.244.2.${n}`;
const pod = (n: number) => `10.244.1.${n}`;
const NODE_IP = '192.168.50.10';
const NODE_PORT = 30080;
const client = (n: number) => `192.168.50.${20 + n}`;

function sticky(endpoints: number[]): RulesetIntent {
  const sticky = svc({ service: 'sticky', clusterIP: VIP, nodePort: NODE_PORT, affinity: 600, endpoints: endpoints.map((n) => ep(remote(n), PORT)) });
  return intent([sticky], { nodeIPs: [NODE_IP], nodePortCIDRs: [`${NODE_IP}/32`], podCIDRs: ['10.244.0.0/16'] });
}

describe.skipIf(!isRoot)('nftables session affinity (real kernel, needs root)', () => {
  let topo: Topology;
  let dp: Dataplane;
  let stopEcho: () => Promise<void>;
  let nodeExec: Exec;

  /** Which endpoints answered `count` connections from `src` (a pod; `client` ones to the NodePort). */
  async function answeredBy(src: string, count: number, to: 'clusterIP' | 'nodePort' = 'clusterIP'): Promise<string[]> {
    const target = to === 'clusterIP' ? { dst: VIP, port: 80 } : { dst: NODE_IP, port: NODE_PORT };
    const ns = src.startsWith('192.168.50.') ? topo.client : topo.pods;
    const results = await probe(topo, ns, { src, ...target, protocol: 'tcp', count, concurrency: 1 });
    expect(results.filter((r) => !r.ok)).toEqual([]);
    return results.flatMap((r) => (r.ok ? [r.local.replace(/:\d+$/, '')] : []));
  }

  async function listAffinity(): Promise<string> {
    return (await nodeExec(['nft', 'list', 'set', 'ip', 'kpx', 'affinity'])).stdout;
  }

  /** An entry's key as nft lists it: the service port slot is tcp (6) << 16 | 80. */
  const entry = (client: string, endpoint: string) => `${client} . ${VIP} . 0x00060050 . ${endpoint} . ${PORT}`;

  beforeAll(async () => {
    topo = await createTopology('nftaff', { podIPs: 4, remoteIPs: 4 });
    nodeExec = (argv, o) => exec(['ip', 'netns', 'exec', topo.node, ...argv], o);
    stopEcho = (await startEchoServers(topo, topo.remote, [2, 3, 4].map((n) => ({ ip: remote(n), port: PORT, protocol: 'tcp' as const })))).stop;
    // Partial syncs through the nft -i session, as the daemon runs them.
    dp = await createNftablesDataplane({ exec: nodeExec, spawn: (argv, o) => spawnTool(['ip', 'netns', 'exec', topo.node, ...argv], o), family: 4 });
    await dp.sync(sticky([2, 3, 4]), { full: true });
  });

  afterAll(async () => {
    dp?.close();
    await stopEcho?.().catch(() => {});
    await topo?.destroy();
  });

  it('keeps a client on one endpoint and remembers exactly that client and endpoint', async () => {
    const got = await answeredBy(pod(2), 20);
    expect(new Set(got).size).toBe(1);
    const entries = await listAffinity();
    expect(entries).toContain(entry(pod(2), got[0] as string));
    expect(entries.match(/ \. 0x00060050 \. /g)).toHaveLength(1);
  });

  it('sends a remembered client to its endpoint, and rebalances only the clients of a removed endpoint', async () => {
    // pod(3) remembered on remote(4), pod(4) on remote(3): kpx must follow the set.
    const seeded = await nodeExec(['nft', 'add', 'element', 'ip', 'kpx', 'affinity', `{ ${entry(pod(3), remote(4))} timeout 600s, ${entry(pod(4), remote(3))} timeout 600s }`]);
    expect(seeded.stderr).toBe('');
    expect(new Set(await answeredBy(pod(3), 10))).toEqual(new Set([remote(4)]));
    expect(new Set(await answeredBy(pod(4), 10))).toEqual(new Set([remote(3)]));

    // remote(4) goes away: pod(3) moves to one of the others and stays there; pod(4) keeps remote(3).
    await dp.sync(sticky([2, 3]), { full: false });
    const moved = await answeredBy(pod(3), 20);
    expect(new Set(moved).size).toBe(1);
    expect([remote(2), remote(3)]).toContain(moved[0]);
    expect(new Set(await answeredBy(pod(4), 10))).toEqual(new Set([remote(3)]));
  });

  it('remembers NodePort clients under the service port, shared with its ClusterIP', async () => {
    const got = await answeredBy(client(1), 20, 'nodePort');
    expect(new Set(got).size).toBe(1);
    expect(await listAffinity()).toContain(entry(client(1), got[0] as string));
    // pod(4) is remembered on remote(3) (ClusterIP, above): the NodePort sends it there too.
    expect(new Set(await answeredBy(pod(4), 10, 'nodePort'))).toEqual(new Set([remote(3)]));
  });
});
