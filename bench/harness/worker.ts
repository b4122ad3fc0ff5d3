/**
 * One benchmark job in its own process (`node --expose-gc <daemon flags> worker.js JOB`,
 * the daemon's V8 flags: run.ts DAEMON_NODE_FLAGS), so its peak RSS
 * is its own and one size's garbage does not inflate the next. Progress goes to stderr,
 * the records as one JSON array on stdout.
 */
import { runConnectScenario } from './connect-scenario.js';
import { jobLabel, type WorkerJob } from './jobs.js';
import { stderrProgress } from './progress.js';
import type { BenchRecord } from './records.js';
import { runSyncScenarios } from './sync-scenarios.js';

async function run(job: WorkerJob): Promise<BenchRecord[]> {
  const progress = stderrProgress(jobLabel(job));
  if (job.kind === 'sync') return runSyncScenarios(job, progress);
  return runConnectScenario(job, progress);
}

const job = JSON.parse(process.argv[2] ?? 'null') as WorkerJob;
process.stdout.write(JSON.stringify(await run(job)) + '\n');
