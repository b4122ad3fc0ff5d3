/**
 * Dataplane cost: how long a TCP connection takes to set up through the node namespace's
 * rules when they hold each of `sizes` services. iptables walks KUBE-SERVICES rule by rule
 * for the first packet of every connection, so its cost grows with the number of services;
 * nftables dispatches through a verdict map and should not.
 *
 * Every size gets its own topology, all loaded at once, and their clients take turns round
 * by round (the order reversed every other round): a ratio between sizes then compares
 * connections made at the same time, not minutes apart on a machine whose load moves.
 */
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { RulesetIntent, ServicePortIntent } from '../../src/compile/intent.js';
import { ClusterStore } from '../../src/sync/cluster-store.js';
import { SyncEngine } from '../../src/sync/sync-engine.js';
import { POD_CIDR } from '../generate.js';
import { SyntheticCluster } from './cluster-events.js';
import type { ClientRequest, ClientResult, Target } from './connect-client.js';
import { benchConfig } from './config.js';
import { createBenchDataplane, type DataplaneImpl } from './dataplanes.js';
import { BENCH_NODE_IP, createConnectTopology, type Namespaces } from './netns.js';
import type { Progress } from './progress.js';
import type { Backend, ConnectRecord } from './records.js';
import { quantile } from './stats.js';

export interface ConnectJob {
  backend: Backend;
  /** Service counts measured side by side. */
  sizes: number[];
  endpoints: number;
  seed: number;
  impl: DataplaneImpl;
  /** Distinct services connected to. */
  targets: number;
  /** Timed rounds over all targets. */
  rounds: number;
}

const LISTENER = new URL('./listener.js', import.meta.url).pathname;
const CLIENT = new URL('./connect-client.js', import.meta.url).pathname;
const READY_TIMEOUT_MS = 5000;

/** Plain TCP ClusterIP paths with endpoints: nothing but the DNAT decides their fate. */
function connectable(sp: ServicePortIntent): boolean {
  return sp.protocol === 'tcp' && sp.affinityTimeoutSeconds === null && sp.internal.noEndpoints === null && sp.internal.policy === 'cluster' && sp.clusterEndpoints.length > 0;
}

/** `count` service ports spread evenly over the intent's order (the order rules are written in). */
export function pickTargets(intent: RulesetIntent, count: number): ServicePortIntent[] {
  const candidates = intent.services.filter(connectable);
  const n = Math.min(count, candidates.length);
  return Array.from({ length: n }, (_, k) => candidates[Math.floor(((k + 0.5) * candidates.length) / n)]).filter((sp) => sp !== undefined);
}

function waitForLine(child: ChildProcess, line: string, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`${what} not ready after ${READY_TIMEOUT_MS} ms: ${err}`)), READY_TIMEOUT_MS);
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes(`${line}\n`)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited ${code}: ${err.trim()}`));
    });
  });
}

/** One size's topology, loaded, with its listener and client running. */
interface Loaded {
  services: number;
  targets: number;
  round(): Promise<ClientResult>;
}

/** Answers, in order, to the lines written to a client's stdin. */
function roundsOf(client: ChildProcess): () => Promise<ClientResult> {
  const lines = createInterface({ input: client.stdout! })[Symbol.asyncIterator]();
  let err = '';
  client.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  return async () => {
    client.stdin!.write('\n');
    const next = await lines.next();
    if (next.done) throw new Error(`connect client exited ${client.exitCode}: ${err.trim()}`);
    return JSON.parse(next.value) as ClientResult;
  };
}

async function load(namespaces: Namespaces, job: ConnectJob, services: number, progress: Progress): Promise<Loaded> {
  const config = benchConfig(BENCH_NODE_IP);
  const dataplane = await createBenchDataplane(job.backend, namespaces.execIn(namespaces.node), namespaces.spawnerIn(namespaces.node), job.impl);
  const store = new ClusterStore(config.nodeName);
  const cluster = new SyntheticCluster(services, job.endpoints, job.seed, BENCH_NODE_IP);
  for (const ev of cluster.initialEvents()) store.apply(ev);
  progress.status(`loading ${services} services…`);
  const outcome = await new SyncEngine({ store, config, dataplanes: [dataplane] }).sync({ full: true });
  dataplane.close();
  const family = outcome.families[0];
  if (!family || family.error) throw new Error(`sync failed: ${family?.error?.message ?? 'no dataplane'}`);

  const picked = pickTargets(family.intent, job.targets);
  const service: Target[] = picked.map((sp) => ({ ip: sp.clusterIP, port: sp.port }));
  const pod: Target[] = picked.flatMap((sp) => (sp.clusterEndpoints[0] ? [{ ip: sp.clusterEndpoints[0].ip, port: sp.clusterEndpoints[0].port }] : []));
  const ports = [...new Set(pod.map((t) => t.port))].join(',');
  const listener = namespaces.spawnIn(namespaces.backend, [process.execPath, LISTENER, ports]);
  await waitForLine(listener, 'listening', 'listener');
  const request: ClientRequest = { service, pod, timeoutMs: 2000 };
  const client = namespaces.spawnIn(namespaces.client, [process.execPath, CLIENT, JSON.stringify(request)], { stdin: 'pipe' });
  return { services, targets: service.length, round: roundsOf(client) };
}

/** A warm-up round each (neighbour entries, caches), untimed; then `rounds` rounds in turn. */
async function alternate(loaded: Loaded[], rounds: number, progress: Progress): Promise<ClientResult[]> {
  for (const size of loaded) await size.round();
  const results = loaded.map((): ClientResult => ({ service: [], pod: [], failures: 0 }));
  for (let r = 0; r < rounds; r++) {
    progress.status(`round ${r + 1}/${rounds}: ${loaded.map((l) => l.services).join(' and ')} services in turn…`);
    const order = loaded.map((_, k) => k);
    if (r % 2 === 1) order.reverse();
    for (const k of order) {
      const got = await loaded[k]!.round();
      const into = results[k]!;
      into.service.push(...got.service);
      into.pod.push(...got.pod);
      into.failures += got.failures;
    }
  }
  return results;
}

function record(job: ConnectJob, size: Loaded, result: ClientResult): ConnectRecord {
  return {
    backend: job.backend,
    services: size.services,
    endpoints: job.endpoints,
    scenario: 'connect',
    targets: size.targets,
    connections: result.service.length,
    serviceConnectMedianUs: quantile(result.service, 0.5),
    serviceConnectP90Us: quantile(result.service, 0.9),
    podConnectMedianUs: quantile(result.pod, 0.5),
    podConnectP90Us: quantile(result.pod, 0.9),
    failures: result.failures,
  };
}

export async function runConnectScenario(job: ConnectJob, progress: Progress): Promise<ConnectRecord[]> {
  const topologies: Namespaces[] = [];
  try {
    const loaded: Loaded[] = [];
    for (const services of job.sizes) {
      const namespaces = await createConnectTopology(POD_CIDR);
      topologies.push(namespaces);
      loaded.push(await load(namespaces, job, services, progress));
    }
    const results = await alternate(loaded, job.rounds, progress);
    return loaded.map((size, k) => {
      const r = record(job, size, results[k]!);
      progress.log(
        `connect ${String(size.services).padStart(6)} services: service median ${r.serviceConnectMedianUs.toFixed(0)} µs, pod median ${r.podConnectMedianUs.toFixed(0)} µs` +
          (r.failures > 0 ? `, ${r.failures} FAILED` : ''),
      );
      return r;
    });
  } finally {
    for (const namespaces of topologies) await namespaces.destroy();
  }
}
