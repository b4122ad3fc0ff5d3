/**
 * Runs the benchmark jobs, each in a child process (worker.ts), one after another: two
 * cores are shared, and timings from concurrent jobs would measure each other.
 */
import { spawn } from 'node:child_process';
import { jobLabel, plannedJobs, type RunOptions, type WorkerJob } from './jobs.js';
import type { Progress } from './progress.js';
import { mergeColdRuns } from './cold-runs.js';
import type { BenchRecord } from './records.js';

const WORKER = new URL('./worker.js', import.meta.url).pathname;

/**
 * The V8 flags the daemon runs with (Dockerfile ENTRYPOINT; a unit test keeps the two
 * equal), so a worker's peak RSS and first sync are the daemon's.
 * - A 4 MiB semi-space instead of Node 20's 16 MiB: 10k x 10 cold sync peak RSS 234 -> 209
 *   MiB, sync times unchanged (one run each). 8 MiB was slower: kpx's share of a cold 10k
 *   nftables sync 421 against 382 ms, medians of eight interleaved runs (2026-12-06).
 * - A smaller TurboFan inlining budget (920 bytecodes per function by default): a cold sync
 *   runs each compile and lowering function 10k times once, and at the default budget
 *   their optimized code arrives late (compileService alone took TurboFan 72 ms of a 2-core
 *   machine), so much of the first sync ran unoptimized. kpx's share of a 10k x 10 cold
 *   nftables sync, medians of three interleaved runs per budget: default 539 ms, 200: 382,
 *   100: 414, 60: 374; partial syncs and the full resync unchanged within noise.
 */
export const DAEMON_NODE_FLAGS = ['--max-semi-space-size=4', '--max-inlined-bytecode-size-cumulative=200'];

function runWorker(job: WorkerJob): Promise<BenchRecord[]> {
  return new Promise((resolve, reject) => {
    // Progress and errors of the worker go straight to our stderr.
    const child = spawn(process.execPath, ['--expose-gc', ...DAEMON_NODE_FLAGS, WORKER, JSON.stringify(job)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code !== 0) {
        reject(new Error(`benchmark job ${jobLabel(job)} failed (exit ${code ?? signal})`));
        return;
      }
      try {
        resolve(JSON.parse(Buffer.concat(out).toString('utf8')) as BenchRecord[]);
      } catch (err) {
        reject(new Error(`benchmark job ${jobLabel(job)} printed no results: ${(err as Error).message}`));
      }
    });
  });
}

export interface BenchmarkRun {
  records: BenchRecord[];
  /** Jobs that failed (their records are missing); the other jobs still ran. */
  failures: string[];
}

export async function runBenchmark(opts: RunOptions, progress: Progress): Promise<BenchmarkRun> {
  const jobs = plannedJobs(opts);
  const run: BenchmarkRun = { records: [], failures: [] };
  for (const [k, job] of jobs.entries()) {
    progress.log(`job ${k + 1}/${jobs.length}: ${jobLabel(job)}`);
    try {
      run.records.push(...(await runWorker(job)));
    } catch (err) {
      run.failures.push((err as Error).message);
      progress.log((err as Error).message);
    }
  }
  return { ...run, records: mergeColdRuns(run.records) };
}
