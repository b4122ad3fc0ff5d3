/**
 * CI: the benchmark at a reduced scale (2,000 services × 10 endpoints, both backends, in
 * scratch network namespaces; root), run `--runs` times, each ratio to a cold sync at the
 * same scale judged by its median over the runs (harness/ratios.ts). Prints every ratio;
 * exits 1 if one fails, 2 if a run itself failed. Results go to a temporary directory
 * (printed; one subdirectory per run), never into the repository.
 *
 *   node --expose-gc dist/bench/ci-check.js [--services N] [--endpoints E] [--runs R] [--out DIR]
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import type { DataplaneImpl } from './harness/dataplanes.js';
import { writeResults } from './harness/output.js';
import { stderrProgress } from './harness/progress.js';
import { checkFlushRestore, checkRatios, formatCheck, medianChecks, type RatioCheck } from './harness/ratios.js';
import { BACKENDS } from './harness/records.js';
import { runBenchmark } from './harness/run.js';

interface Flags {
  services: string;
  endpoints: string;
  repeat: string;
  runs: string;
  out?: string;
  dataplaneImpl: DataplaneImpl;
}

async function main(argv: string[]): Promise<number> {
  const flags = new Command('ci-check')
    .option('--services <n>', 'services', '2000')
    .option('--endpoints <n>', 'endpoints per service', '10')
    .option('--repeat <n>', 'runs per incremental scenario (median; 5 rides out the kernel apply jitter of tens of ms)', '5')
    .option('--runs <n>', 'independent runs (a new worker process per backend each); each ratio is judged by its median', '3')
    .option('--out <dir>', 'results directory (default: a new temporary directory)')
    .addOption(new Option('--dataplane-impl <impl>').choices(['kpx', 'render']).default('kpx').hideHelp())
    .parse(argv, { from: 'user' })
    .opts<Flags>();
  const progress = stderrProgress('[ci-check]');
  const services = Number(flags.services);
  const runs = Number(flags.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a whole number of at least 1, not ${flags.runs}`);
  const dir = flags.out ?? (await mkdtemp(join(tmpdir(), 'kpx-bench-ci-')));
  const perRun: RatioCheck[][] = [];
  const failures: string[] = [];
  for (let run = 1; run <= runs; run++) {
    progress.log(`run ${run}/${runs}`);
    const result = await runBenchmark(
      {
        sizes: [services],
        endpoints: Number(flags.endpoints),
        backends: [...BACKENDS],
        seed: 1,
        repeat: Number(flags.repeat),
        coldRuns: 1,
        impl: flags.dataplaneImpl,
        connectSizes: [],
        connectTargets: 0,
        connectRounds: 0,
      },
      progress,
    );
    failures.push(...result.failures.map((f) => `run ${run}: ${f}`));
    await writeResults(result.records, join(dir, `run-${run}`), `kpx benchmark CI check, run ${run} of ${runs}: ${services} services × ${flags.endpoints} endpoints`);
    perRun.push([...checkRatios(result.records), ...checkFlushRestore(result.records)]);
  }
  const checks = medianChecks(perRun);
  // For .ci/run, which counts each check as a test.
  await writeFile(join(dir, 'checks.json'), `${JSON.stringify(checks, null, 2)}\n`);
  process.stdout.write(`${checks.map(formatCheck).join('\n')}\n`);
  const failed = checks.filter((c) => !c.pass).length;
  process.stdout.write(`${failed === 0 ? 'benchmark ratios ok' : `${failed} benchmark ratio(s) failed`} (results in ${dir})\n`);
  if (failures.length > 0) {
    process.stdout.write(`the benchmark itself failed:\n${failures.join('\n')}\n`);
    return 2;
  }
  return failed === 0 ? 0 : 1;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`ci-check: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 2;
}
