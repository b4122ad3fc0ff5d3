/**
 * `npm run bench -- [options]`: parses the options and runs either the kernel benchmark
 * (default) or the pure pipeline timing (`--pipeline-only`).
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { defaultOutDir, writeResults } from './output.js';
import { runPipelineOnly } from './pipeline-only.js';
import { stderrProgress } from './progress.js';
import { BACKENDS, type Backend } from './records.js';
import type { RunOptions } from './jobs.js';
import { runBenchmark } from './run.js';

/** `--sizes` without a value: how cost grows, up to a very large cluster. */
export const SIZE_LADDER = [1000, 5000, 10000, 20000, 44000];

export interface BenchArgs extends RunOptions {
  out: string;
  pipelineOnly: boolean;
}

function positiveInt(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

function intList(text: string): number[] {
  return text.split(',').filter((t) => t.trim() !== '').map((t) => positiveInt(t.trim()));
}

interface Flags {
  services: number;
  endpoints: number;
  backend: Backend | 'both';
  out?: string;
  sizes?: number[] | true;
  repeat: number;
  coldRuns: number;
  seed: number;
  dataplane: boolean;
  connectSizes: number[];
  connectTargets: number;
  connectRounds: number;
  dataplaneImpl: RunOptions['impl'];
  pipelineOnly: boolean;
}

export function parseBenchArgs(argv: string[]): BenchArgs {
  const flags = new Command('bench')
    .description('kpx sync cost per stage and backend, applied in scratch network namespaces (root)')
    .option('--services <n>', 'services in the generated cluster', positiveInt, 10000)
    .option('--endpoints <n>', 'endpoints per service', positiveInt, 10)
    .addOption(new Option('--backend <name>', 'proxy mode to measure').choices(['iptables', 'nftables', 'both']).default('both'))
    .option('--out <dir>', 'where results.json, results.md and sync-time.svg go (default: bench/results/<timestamp>)')
    .option('--sizes [list]', `comma-separated service counts instead of --services (alone: ${SIZE_LADDER.join(',')})`, intList)
    .option('--repeat <n>', 'runs of each incremental scenario; the median is reported', positiveInt, 3)
    .option('--cold-runs <n>', 'cold syncs per size and backend, each in a new process; the median is reported', positiveInt, 1)
    .option('--seed <n>', 'generator seed', positiveInt, 1)
    .option('--dataplane', 'also measure TCP connection set-up time through the rules', false)
    .addOption(new Option('--connect-sizes <list>', 'service counts for --dataplane').argParser(intList).default([100, 10000], '100,10000'))
    .option('--connect-targets <n>', 'distinct services connected to per measurement', positiveInt, 50)
    .option('--connect-rounds <n>', 'timed connections per target', positiveInt, 10)
    .addOption(
      new Option('--dataplane-impl <impl>', "kpx: the daemon's dataplanes; render: rewrite the full `kpx render` output each sync (harness check only)")
        .choices(['kpx', 'render'])
        .default('kpx'),
    )
    .option('--pipeline-only', 'time the pure pipeline (model, compile, render) without a kernel', false)
    .parse(argv, { from: 'user' })
    .opts<Flags>();
  const sizes = flags.sizes === true ? SIZE_LADDER : (flags.sizes ?? [flags.services]);
  return {
    sizes,
    endpoints: flags.endpoints,
    backends: flags.backend === 'both' ? [...BACKENDS] : [flags.backend],
    seed: flags.seed,
    repeat: flags.repeat,
    coldRuns: flags.coldRuns,
    impl: flags.dataplaneImpl,
    connectSizes: flags.dataplane ? flags.connectSizes : [],
    connectTargets: flags.connectTargets,
    connectRounds: flags.connectRounds,
    out: flags.out ?? defaultOutDir(),
    pipelineOnly: flags.pipelineOnly,
  };
}

export async function benchMain(argv: string[]): Promise<void> {
  const args = parseBenchArgs(argv);
  if (args.pipelineOnly) {
    for (const services of args.sizes) {
      const lines = runPipelineOnly({ services, endpoints: args.endpoints, backends: args.backends, repeat: args.repeat, seed: args.seed });
      process.stdout.write(`${lines.join('\n')}\n`);
    }
    return;
  }
  if (process.getuid?.() !== 0) throw new Error('the benchmark creates network namespaces: run it as root (or use --pipeline-only)');
  const progress = stderrProgress('[bench]');
  const { records, failures } = await runBenchmark(args, progress);
  const heading = `kpx benchmark: ${args.sizes.join(', ')} services × ${args.endpoints} endpoints${args.impl === 'render' ? ' (render stand-in, not kpx dataplanes)' : ''}`;
  const written = await writeResults(records, args.out, heading);
  process.stdout.write(written.markdown);
  progress.log(`results written to ${written.dir}`);
  if (failures.length > 0) throw new Error(`${failures.length} job(s) failed:\n${failures.join('\n')}`);
}
