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
  /** Cold syncs per size and backend, each in a process of its own (see cold-runs.ts). */
  coldRuns: number;
  impl: DataplaneImpl;
  /** Service counts for the connection-time measurement; empty: not measured. */
  connectSizes: number[];
  connectTargets: number;
  connectRounds: number;
}

export function jobLabel(job: WorkerJob): string {
  if (job.kind === 'connect') return `[${job.backend} ${job.sizes.join('+')}×${job.endpoints} connect]`;
  return `[${job.backend} ${job.services}×${job.endpoints}${job.coldOnly ? ' cold' : ''}]`;
}

/**
 * Sync jobs per size and backend (the extra cold runs first, each a job that stops after its
 * cold sync), then a connection-time job per backend (all its sizes side by side).
 */
export function plannedJobs(opts: RunOptions): WorkerJob[] {
  const common = { endpoints: opts.endpoints, seed: opts.seed, impl: opts.impl };
  return [
    ...opts.sizes.flatMap((services) =>
      opts.backends.flatMap((backend): WorkerJob[] => {
        const job = { kind: 'sync', backend, services, repeat: opts.repeat, ...common } as const;
        const coldOnly = Array.from({ length: Math.max(0, opts.coldRuns - 1) }, (): WorkerJob => ({ ...job, coldOnly: true }));
        return [...coldOnly, { ...job, coldOnly: false }];
      }),
    ),
    ...(opts.connectSizes.length === 0
      ? []
      : opts.backends.map((backend): WorkerJob => ({ kind: 'connect', backend, sizes: opts.connectSizes, targets: opts.connectTargets, rounds: opts.connectRounds, ...common }))),
  ];
}
