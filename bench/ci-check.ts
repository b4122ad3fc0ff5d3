/**
 * CI: the benchmark at a reduced scale (2,000 services × 10 endpoints, both backends, in
 * scratch network namespaces; root), judged by ratios to a cold sync at the same scale
 * (harness/ratios.ts). Prints every ratio; exits 1 if one fails, 2 if the run itself
 * failed. Results go to a temporary directory (printed), never into the repository.
 *
 *   node --expose-gc dist/bench/ci-check.js [--services N] [--endpoints E] [--out DIR]
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import type { DataplaneImpl } from './harness/dataplanes.js';
import { writeResults } from './harness/output.js';
import { stderrProgress } from './harness/progress.js';
import { checkFlushRestore, checkRatios, formatCheck } from './harness/ratios.js';
import { BACKENDS } from './harness/records.js';
import { runBenchmark } from './harness/run.js';

interface Flags {
  services: string;
  endpoints: string;
  repeat: string;
  out?: string;
  dataplaneImpl: DataplaneImpl;
}

async function main(argv: string[]): Promise<number> {
  const flags = new Command('ci-check')
    .option('--services <n>', 'services', '2000')
    .option('--endpoints <n>', 'endpoints per service', '10')
    .option('--repeat <n>', 'runs per incremental scenario (median; 5 rides out the kernel apply jitter of tens of ms)', '5')
    .option('--out <dir>', 'results directory (default: a new temporary directory)')
    .addOption(new Option('--dataplane-impl <impl>').choices(['kpx', 'render']).default('kpx').hideHelp())
    .parse(argv, { from: 'user' })
    .opts<Flags>();
  const progress = stderrProgress('[ci-check]');
  const services = Number(flags.services);
  const { records, failures } = await runBenchmark(
    {
      sizes: [services],
      endpoints: Number(flags.endpoints),
      backends: [...BACKENDS],
      seed: 1,
      repeat: Number(flags.repeat),
      impl: flags.dataplaneImpl,
      connectSizes: [],
      connectTargets: 0,
      connectRounds: 0,
    },
    progress,
  );
  const dir = flags.out ?? (await mkdtemp(join(tmpdir(), 'kpx-bench-ci-')));
  await writeResults(records, dir, `kpx benchmark CI check: ${services} services × ${flags.endpoints} endpoints`);
  const checks = [...checkRatios(records), ...checkFlushRestore(records)];
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
