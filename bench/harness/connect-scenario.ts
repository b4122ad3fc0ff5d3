/**
 * Dataplane cost: how long a TCP connection takes to set up through the node namespace's
 * rules when they hold `services` services. iptables walks KUBE-SERVICES rule by rule for
 * the first packet of every connection, so its cost grows with the number of services;
 * nftables dispatches through a verdict map and should not.
 */
import type { ChildProcess } from 'node:child_process';
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

export interface ConnectJob {
  backend: Backend;
  services: number;
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

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

async function measure(namespaces: Namespaces, job: ConnectJob, progress: Progress): Promise<ConnectRecord> {
  const config = benchConfig(BENCH_NODE_IP);
  const dataplane = await createBenchDataplane(job.backend, namespaces.execIn(namespaces.node), namespaces.spawnerIn(namespaces.node), job.impl);
  const store = new ClusterStore(config.nodeName);
  const cluster = new SyntheticCluster(job.services, job.endpoints, job.seed, BENCH_NODE_IP);
  for (const ev of cluster.initialEvents()) store.apply(ev);
  progress.status(`loading ${job.services} services…`);
  const outcome = await new SyncEngine({ store, config, dataplanes: [dataplane] }).sync({ full: true });
  const family = outcome.families[0];
  if (!family || family.error) throw new Error(`sync failed: ${family?.error?.message ?? 'no dataplane'}`);

  const picked = pickTargets(family.intent, job.targets);
  const service: Target[] = picked.map((sp) => ({ ip: sp.clusterIP, port: sp.port }));
  const pod: Target[] = picked.flatMap((sp) => (sp.clusterEndpoints[0] ? [{ ip: sp.clusterEndpoints[0].ip, port: sp.clusterEndpoints[0].port }] : []));
  const ports = [...new Set(pod.map((t) => t.port))].join(',');
  const listener = namespaces.spawnIn(namespaces.backend, [process.execPath, LISTENER, ports]);
  await waitForLine(listener, 'listening', 'listener');

  progress.status(`connecting to ${service.length} services × ${job.rounds} rounds…`);
  const request: ClientRequest = { service, pod, rounds: job.rounds, timeoutMs: 2000 };
  const run = await namespaces.execIn(namespaces.client)([process.execPath, CLIENT, JSON.stringify(request)], { timeoutMs: 600_000 });
  if (run.code !== 0) throw new Error(`connect client exited ${run.code}: ${run.stderr.trim()}`);
  const result = JSON.parse(run.stdout) as ClientResult;
  return {
    backend: job.backend,
    services: job.services,
    endpoints: job.endpoints,
    scenario: 'connect',
    targets: service.length,
    connections: result.service.length,
    serviceConnectMedianUs: quantile(result.service, 0.5),
    serviceConnectP90Us: quantile(result.service, 0.9),
    podConnectMedianUs: quantile(result.pod, 0.5),
    podConnectP90Us: quantile(result.pod, 0.9),
    failures: result.failures,
  };
}

export async function runConnectScenario(job: ConnectJob, progress: Progress): Promise<ConnectRecord> {
  const namespaces = await createConnectTopology(POD_CIDR);
  try {
    const record = await measure(namespaces, job, progress);
    progress.log(
      `connect      service median ${record.serviceConnectMedianUs.toFixed(0)} µs, pod median ${record.podConnectMedianUs.toFixed(0)} µs` +
        (record.failures > 0 ? `, ${record.failures} FAILED` : ''),
    );
    return record;
  } finally {
    await namespaces.destroy();
  }
}
