/**
 * The sync scenarios for one backend at one size, through the daemon's code path:
 * watch events → ClusterStore → SyncEngine (compile) → Dataplane (plan, render, apply) in a
 * scratch node namespace. The incremental scenarios and the no-op resync run `repeat` times,
 * each with a new change; the run with the median total is reported.
 */
import type { ProxyConfig } from '../../src/compile/intent.js';
import { mustExec } from '../../src/dataplane/exec.js';
import type { StoreEvent } from '../../src/sync/cluster-store.js';
import { ClusterStore } from '../../src/sync/cluster-store.js';
import { SyncEngine, type SyncOutcome } from '../../src/sync/sync-engine.js';
import { SyntheticCluster } from './cluster-events.js';
import { createBenchDataplane, type DataplaneImpl } from './dataplanes.js';
import { BENCH_NODE_IP, createNodeNamespace } from './netns.js';
import type { Progress } from './progress.js';
import { median, medianItem } from './stats.js';
import type { Backend, SyncRecord, SyncScenario } from './records.js';
import { benchConfig } from './config.js';
import { memoryFigures } from './memory.js';

export interface SyncJob {
  backend: Backend;
  services: number;
  endpoints: number;
  seed: number;
  repeat: number;
  /** Stop after the cold sync (and, for iptables, its flush-mode comparison): an extra cold run. */
  coldOnly: boolean;
  impl: DataplaneImpl;
}

type Measured = Omit<SyncRecord, 'backend' | 'services' | 'endpoints' | 'scenario' | 'runs' | keyof ReturnType<typeof memoryFigures>>;

class Session {
  constructor(
    private readonly store: ClusterStore,
    private readonly engine: SyncEngine,
  ) {}

  /** Applies `events` to the store, then runs one sync; fails loudly if the dataplane did. */
  async sync(events: StoreEvent[], full: boolean): Promise<Measured> {
    const t0 = performance.now();
    for (const ev of events) this.store.apply(ev);
    const t1 = performance.now();
    const outcome = await this.engine.sync({ full });
    const t2 = performance.now();
    return measured(outcome, t1 - t0, t2 - t1);
  }
}

/** Milliseconds to the microsecond: more digits would be noise. */
const round = (ms: number) => Math.round(ms * 1000) / 1000;

function measured(outcome: SyncOutcome, modelMs: number, totalMs: number): Measured {
  const family = outcome.families[0];
  if (!family) throw new Error('the sync engine ran no dataplane');
  if (family.error || !family.report) throw new Error(`sync failed: ${family.error?.message ?? 'no report'}`);
  const r = family.report;
  return {
    modelMs: round(modelMs),
    compileMs: round(family.compileMs),
    planMs: round(r.lowerMs + r.planMs),
    renderMs: round(r.renderMs),
    applyMs: round(r.applyMs),
    totalMs: round(totalMs),
    full: r.full,
    batchBytes: r.batchBytes,
    written: r.written,
    deleted: r.deleted,
  };
}

/** Service indexes spread evenly over the cluster (never the same one twice in a run). */
function spread(count: number, services: number, offset: number): number[] {
  const step = services / count;
  return Array.from({ length: count }, (_, k) => Math.floor(k * step + offset) % services);
}

/**
 * What a flush-mode restore of `text` (a dataplane's whole ruleset) costs, each run into a
 * new, empty namespace: the cheapest way the kernel tool can load these rules. The median of
 * `runs`: one run varied 2.2-3.5 s at 2,000 services. Measured right after the cold sync it is
 * compared with, so that both see the machine alike: measured after the other scenarios,
 * 30-50 s later, the cold/flush ratio of single runs at 2,000 services ranged 1.03-2.03
 * (eight runs), right after it 1.08-1.64 (nine runs, 2026-12-05).
 */
async function flushRestoreMs(text: string, runs = 3): Promise<number> {
  const times: number[] = [];
  for (let run = 0; run < runs; run++) {
    const scratch = await createNodeNamespace();
    try {
      const exec = scratch.execIn(scratch.node);
      const start = performance.now();
      await mustExec(exec, ['iptables-nft-restore'], { stdin: text, timeoutMs: 10 * 60 * 1000 });
      times.push(performance.now() - start);
      // Emptied before it goes: a namespace deleted with its rules frees them in a kernel
      // worker (kernel 6.18: ~40% of two cores for 250 ms at 2,000 services), whose CPU
      // time would land in the next measurement.
      await mustExec(exec, ['nft', 'flush', 'ruleset']);
    } finally {
      await scratch.destroy();
    }
  }
  return round(median(times));
}

export async function runSyncScenarios(job: SyncJob, progress: Progress): Promise<SyncRecord[]> {
  const config: ProxyConfig = benchConfig(BENCH_NODE_IP);
  const namespaces = await createNodeNamespace();
  try {
    const exec = namespaces.execIn(namespaces.node);
    const dataplane = await createBenchDataplane(job.backend, exec, namespaces.spawnerIn(namespaces.node), job.impl);
    const store = new ClusterStore(config.nodeName);
    const session = new Session(store, new SyncEngine({ store, config, dataplanes: [dataplane] }));
    const cluster = new SyntheticCluster(job.services, job.endpoints, job.seed, BENCH_NODE_IP);
    const records: SyncRecord[] = [];
    const record = (scenario: SyncScenario, runs: Measured[]) => {
      const pick = medianItem(runs, (run) => run.totalMs);
      records.push({
        backend: job.backend,
        services: job.services,
        endpoints: job.endpoints,
        scenario,
        ...pick,
        runs: runs.length,
        ...memoryFigures(),
      });
      progress.log(`${scenario.padEnd(12)} total ${pick.totalMs.toFixed(1)} ms (apply ${pick.applyMs.toFixed(1)} ms, ${pick.batchBytes} bytes)`);
    };
    const repeated = async (scenario: SyncScenario, change: (run: number) => StoreEvent[], full: boolean) => {
      const runs: Measured[] = [];
      for (let run = 0; run < job.repeat; run++) {
        progress.status(`${scenario} ${run + 1}/${job.repeat}…`);
        runs.push(await session.sync(change(run), full));
      }
      record(scenario, runs);
    };

    progress.status('cold sync…');
    record('cold', [await session.sync(cluster.initialEvents(), false)]);
    if (job.backend === 'iptables') {
      progress.status('flush-mode iptables-restore of the same rules…');
      const text = dataplane.lastApplied();
      if (text === null) throw new Error('nothing applied to measure a flush-mode restore of');
      const cold = records.find((r) => r.scenario === 'cold')!;
      cold.flushRestoreMs = await flushRestoreMs(text);
      progress.log(`flush-mode iptables-nft-restore of the whole ruleset: ${cold.flushRestoreMs.toFixed(1)} ms`);
    }
    if (!job.coldOnly) {
      const churned = Math.max(1, Math.round(job.services / 100));
      const endpointTargets = spread(job.repeat, job.services, job.services / 2).map((i) => cluster.readyServiceFrom(i));
      await repeated('one-endpoint', (run) => [cluster.replaceOneEndpoint(endpointTargets[run] ?? 0)], false);
      await repeated('one-service', () => cluster.addService(), false);
      await repeated('churn-1pct', (run) => spread(churned, job.services, run).map((i) => cluster.rollout(i)), false);
      await repeated('resync-noop', () => [], true);
    }
    await dataplane.cleanup();
    dataplane.close();
    return records;
  } finally {
    await namespaces.destroy();
  }
}
