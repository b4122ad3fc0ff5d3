/**
 * `kpx run` end to end, for one proxy mode: the built daemon runs in the node namespace of a
 * test topology, watching a fake API server that speaks the list/watch protocol, and real
 * connections from a pod namespace check what the kernel does after each change.
 */
import { mkdtemp, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeApiServer } from '../support/fake-apiserver/index.js';
import { bridgeIntoNamespace, type Bridge } from '../support/daemon/bridge.js';
import { httpGet, kpxBuilt, startKpx, waitFor, writeToolStubs, type KpxProcess } from '../support/daemon/kpx-process.js';
import { createTopology, probe, remoteIPv4, startEchoServers, type ProbeResult, type Topology } from '../support/netns/index.js';
import { endpointSlice, node, service } from './objects.js';

const isRoot = process.getuid?.() === 0;
const CLUSTER_IP = '10.96.0.10';
const PORT = 80;
const TARGET = 8080;
const MIN_SYNC = '300ms';
/** The time a change may take to reach the kernel: min-sync-period plus a margin for a loaded 2-core machine. */
const PROPAGATION_MS = 5000;
/** --sync-period: how often an idle daemon probes for rules removed behind its back. */
const SYNC_PERIOD = '3s';
const SYNC_PERIOD_MS = 3000;

function answeredBy(results: ProbeResult[]): string[] {
  return [...new Set(results.map((r) => (r.ok ? r.local.replace(/:\d+$/, '') : r.error)))].sort();
}

/** PIDs of running processes whose environment has an entry starting with `prefix`. */
async function processesWithEnv(prefix: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const environ = await readFile(`/proc/${entry}/environ`, 'utf8').catch(() => '');
    if (environ.split('\0').some((kv) => kv.startsWith(prefix))) pids.push(Number(entry));
  }
  return pids;
}

export function describeDaemonSuite(mode: 'iptables' | 'nftables', tag: string): void {
  describe.skipIf(!isRoot || !kpxBuilt())(`kpx run --proxy-mode ${mode} (needs root and npm run build)`, () => {
    let topo: Topology;
    let api: FakeApiServer;
    let bridge: Bridge;
    let dir: string;
    let kpx: KpxProcess | null = null;
    const stops: Array<() => Promise<void>> = [];
    const marker = () => join(dir, 'tools-broken');

    const connect = (count = 20) => probe(topo, topo.pods, { dst: CLUSTER_IP, port: PORT, protocol: 'tcp', count, timeoutMs: 1000 });
    const setEndpoints = (...hosts: number[]) =>
      api.apply(endpointSlice('web', 'web-1', hosts.map((h) => ({ ip: remoteIPv4(h), nodeName: 'node-b' })), TARGET));
    const waitForEndpoints = (expected: string[]) =>
      waitFor(`traffic to reach ${expected.join(', ')}`, async () => {
        const got = answeredBy(await connect());
        return JSON.stringify(got) === JSON.stringify(expected) ? got : null;
      }, PROPAGATION_MS);

    const launch = async (): Promise<KpxProcess> => {
      const proc = startKpx(
        topo,
        topo.node,
        [
          '--proxy-mode', mode,
          '--kubeconfig', join(dir, 'kubeconfig'),
          '--hostname-override', 'node-a',
          '--cluster-cidr', '10.244.0.0/16',
          '--min-sync-period', MIN_SYNC,
          '--sync-period', SYNC_PERIOD,
          '--healthz-bind-address', '127.0.0.1:10256',
          '--metrics-bind-address', '127.0.0.1:10249',
        ],
        { PATH: `${dir}:${process.env.PATH ?? ''}` },
      );
      await waitFor(
        'the daemon to report healthy',
        async () => {
          if (proc.child.exitCode !== null) throw new Error(`kpx exited ${proc.child.exitCode}:\n${proc.output()}`);
          return (await httpGet(topo, topo.node, 'http://127.0.0.1:10256/healthz')).status === 200;
        },
        20_000,
      );
      return proc;
    };

    const metric = async (name: string): Promise<number> => {
      const { body } = await httpGet(topo, topo.node, 'http://127.0.0.1:10249/metrics');
      const line = body.split('\n').find((l) => l.startsWith(name));
      return line ? Number(line.split(' ').at(-1)) : Number.NaN;
    };

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), `kpx-e2e-${tag}-`));
      await writeToolStubs(dir, marker(), (tool) => `/usr/sbin/${tool}`);
      topo = await createTopology(tag, { podIPs: 2, remoteIPs: 5 });
      const echo = await startEchoServers(topo, topo.remote, [2, 3, 4].map((h) => ({ ip: remoteIPv4(h), port: TARGET, protocol: 'tcp' as const })));
      stops.push(() => echo.stop());
      api = new FakeApiServer();
      await api.start();
      bridge = await bridgeIntoNamespace(topo, topo.node, join(dir, 'api.sock'), () => Number(new URL(api.url).port));
      await writeFile(
        join(dir, 'kubeconfig'),
        [
          'apiVersion: v1',
          'kind: Config',
          'clusters: [{name: fake, cluster: {server: "' + bridge.url + '", insecure-skip-tls-verify: true}}]',
          'users: [{name: fake, user: {}}]',
          'contexts: [{name: fake, context: {cluster: fake, user: fake}}]',
          'current-context: fake',
          '',
        ].join('\n'),
      );
      api.apply(node('node-a', '192.168.50.10'));
      api.apply(service('web', CLUSTER_IP, PORT, TARGET));
      setEndpoints(2, 3);
    }, 60_000);

    afterAll(async () => {
      if (kpx) await topo.kill(kpx.child);
      await bridge?.close();
      await api?.stop();
      for (const stop of stops) await stop();
      await topo?.destroy();
      await rm(dir, { recursive: true, force: true });
    });

    it('becomes ready after the first sync, and the service answers from both endpoints', async () => {
      kpx = await launch();
      expect(answeredBy(await connect(60))).toEqual([remoteIPv4(2), remoteIPv4(3)]);
      const ruleset = await httpGet(topo, topo.node, 'http://127.0.0.1:10249/debug/ruleset');
      expect(ruleset.status).toBe(200);
      expect(ruleset.body).toContain(CLUSTER_IP);
      expect(await metric('kubeproxy_sync_proxy_rules_last_timestamp_seconds')).toBeGreaterThan(0);
    });

    it('follows an endpoint change within the min-sync-period plus a margin', async () => {
      setEndpoints(4);
      await waitForEndpoints([remoteIPv4(4)]);
    });

    it('rejects connections once the service has no endpoints', async () => {
      setEndpoints();
      await waitForEndpoints(['refused']);
      setEndpoints(2);
      await waitForEndpoints([remoteIPv4(2)]);
    });

    it('keeps serving while the API server is down for 10 s, and applies what changed meanwhile', async () => {
      await api.stop();
      const during: ProbeResult[] = [];
      for (let i = 0; i < 5; i++) {
        during.push(...(await connect(10)));
        await new Promise((r) => setTimeout(r, 2000));
      }
      setEndpoints(3);
      expect(answeredBy(during)).toEqual([remoteIPv4(2)]);
      await api.start();
      await waitFor('the change made during the outage', async () => JSON.stringify(answeredBy(await connect())) === JSON.stringify([remoteIPv4(3)]), 40_000);
      expect(kpx?.child.exitCode).toBeNull();
    }, 90_000);

    it('survives kill -9 and a restart without a failed connection', async () => {
      const results: ProbeResult[] = [];
      let restarting = true;
      const load = (async () => {
        while (restarting) results.push(...(await probe(topo, topo.pods, { dst: CLUSTER_IP, port: PORT, protocol: 'tcp', count: 20, concurrency: 2, timeoutMs: 1000 })));
      })();
      await new Promise((r) => setTimeout(r, 300));
      if (kpx) await topo.kill(kpx.child);
      kpx = await launch();
      await new Promise((r) => setTimeout(r, 500));
      restarting = false;
      await load;
      expect(results.length).toBeGreaterThan(40);
      expect(answeredBy(results)).toEqual([remoteIPv4(3)]);
    }, 60_000);

    it('keeps the previous rules when the kernel tool fails, counts it, and recovers', async () => {
      const failures = mode === 'iptables' ? 'kubeproxy_sync_proxy_rules_iptables_restore_failures_total' : 'kubeproxy_sync_proxy_rules_nftables_sync_failures_total';
      await writeFile(marker(), '');
      try {
        setEndpoints(4);
        await waitFor('a counted failure', async () => (await metric(failures)) > 0, PROPAGATION_MS);
        expect(answeredBy(await connect())).toEqual([remoteIPv4(3)]);
      } finally {
        await unlink(marker());
      }
      await waitFor('recovery', async () => JSON.stringify(answeredBy(await connect())) === JSON.stringify([remoteIPv4(4)]), 15_000);
    }, 60_000);

    it('puts its rules back within the sync period after someone removes them', async () => {
      const before = answeredBy(await connect());
      expect(before).toEqual([remoteIPv4(4)]);
      // What a firewall reload does to each mode: the table gone, or the jumps into ours.
      if (mode === 'nftables') {
        expect((await topo.run(topo.node, ['nft', 'delete', 'table', 'ip', 'kpx'])).code).toBe(0);
        expect((await topo.run(topo.node, ['nft', 'list', 'tables'])).stdout).not.toMatch(/^table ip kpx$/m);
      } else {
        expect((await topo.run(topo.node, ['iptables-nft', '-t', 'nat', '-F', 'PREROUTING'])).code).toBe(0);
        expect((await topo.run(topo.node, ['iptables-nft', '-t', 'nat', '-S', 'PREROUTING'])).stdout).not.toContain('KUBE-SERVICES');
      }
      await waitFor('the rules to be repaired', async () => JSON.stringify(answeredBy(await connect())) === JSON.stringify(before), SYNC_PERIOD_MS + PROPAGATION_MS);
    }, 30_000);

    it('stops answering for a deleted service', async () => {
      api.remove('EndpointSlice', 'default', 'web-1');
      api.remove('Service', 'default', 'web');
      // The two deletions may land in separate syncs; in between the service exists without
      // endpoints (REJECT), so wait for the end state itself: no rule for its address.
      await waitFor(
        'the service to be gone from the applied rules',
        async () => {
          const ruleset = await httpGet(topo, topo.node, 'http://127.0.0.1:10249/debug/ruleset');
          return ruleset.status === 200 && !ruleset.body.includes(CLUSTER_IP);
        },
        PROPAGATION_MS,
      );
      expect(answeredBy(await connect(5)).some((r) => r.startsWith('10.244.'))).toBe(false);
    });

    it('exits 0 on SIGTERM, leaving its rules and no nft session or session directory behind', async () => {
      const child = kpx!.child;
      const pid = child.pid!;
      const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (code, signal) => resolve([code, signal])));
      child.kill('SIGTERM');
      expect(await exited, kpx!.output().slice(-3000)).toEqual([0, null]);
      kpx = null;
      const session = `kpx-nft-${pid}-`;
      expect((await readdir(tmpdir())).filter((name) => name.startsWith(session))).toEqual([]);
      expect(await processesWithEnv(`HOME=${join(tmpdir(), session)}`)).toEqual([]);
      const table = mode === 'nftables' ? ['nft', 'list', 'tables'] : ['iptables-nft', '-t', 'nat', '-S', 'PREROUTING'];
      expect((await topo.run(topo.node, table)).stdout).toMatch(mode === 'nftables' ? /^table ip kpx$/m : /KUBE-SERVICES/);
    });
  });
}
