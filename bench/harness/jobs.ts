/** The units of work a benchmark run is split into, one child process (worker.ts) each. */
import type { ConnectJob } from './connect-scenario.js';
import type { DataplaneImpl } from './dataplanes.js';
import type { Backend } from './records.js';
import type { SyncJob } from './sync-scenarios.js';

export type WorkerJob = ({ kind: 'sync' } & SyncJob) | ({ kind: 'connect' } & ConnectJob);

export interface RunOptions {
  sizes: number[];
  endpoints: number;
  backends: Backend[];
  seed: number;
  repeat: number;
  impl: DataplaneImpl;
  /** Service counts for the connection-time measurement; empty: not measured. */
  connectSizes: number[];
  connectTargets: number;
  connectRounds: number;
}

export function jobLabel(job: WorkerJob): string {
  return `[${job.backend} ${job.services}×${job.endpoints}${job.kind === 'connect' ? ' connect' : ''}]`;
}

/** Sync jobs per size and backend, then connection-time jobs per backend and size. */
export function plannedJobs(opts: RunOptions): WorkerJob[] {
  const common = { endpoints: opts.endpoints, seed: opts.seed, impl: opts.impl };
  return [
    ...opts.sizes.flatMap((services) =>
      opts.backends.map((backend): WorkerJob => ({ kind: 'sync', backend, services, repeat: opts.repeat, ...common })),
    ),
    ...opts.backends.flatMap((backend) =>
      opts.connectSizes.map(
        (services): WorkerJob => ({ kind: 'connect', backend, services, targets: opts.connectTargets, rounds: opts.connectRounds, ...common }),
      ),
    ),
  ];
}
