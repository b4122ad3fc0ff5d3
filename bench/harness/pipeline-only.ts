/**
 * `npm run bench -- --pipeline-only`: the pure pipeline (model, compile, lower + render per
 * backend) on a synthetic cluster, no kernel, median of `repeat` runs, with heap and RSS.
 * For profiling the core; figures compare within one run (shared, noisy machines).
 */
import { compileRuleset } from '../../src/compile/compile.js';
import type { RulesetIntent } from '../../src/compile/intent.js';
import { buildClusterState } from '../../src/model/snapshot.js';
import { renderIntent } from '../../src/pipeline.js';
import { generateCluster } from '../generate.js';
import { benchConfig } from './config.js';
import { BENCH_NODE_IP } from './netns.js';
import type { Backend } from './records.js';
import { median } from './stats.js';

export interface PipelineOptions {
  services: number;
  endpoints: number;
  backends: Backend[];
  repeat: number;
  seed: number;
}

function time<T>(fn: () => T): [T, number] {
  const start = performance.now();
  const value = fn();
  return [value, performance.now() - start];
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/** The report, as lines for stdout. */
export function runPipelineOnly(opts: PipelineOptions): string[] {
  const objects = generateCluster({ services: opts.services, endpoints: opts.endpoints, seed: opts.seed, nodeIP: BENCH_NODE_IP });
  const config = benchConfig(BENCH_NODE_IP);

  const modelMs: number[] = [];
  const compileMs: number[] = [];
  const renderMs: Record<string, number[]> = {};
  const sizes: Record<string, number> = {};
  let intent: RulesetIntent | undefined;
  for (let run = 0; run < opts.repeat; run++) {
    const [built, tModel] = time(() => buildClusterState(objects, { nodeName: config.nodeName }));
    const [compiled, tCompile] = time(() => compileRuleset(built.state, config, 4));
    modelMs.push(tModel);
    compileMs.push(tCompile);
    intent = compiled.intent;
    for (const backend of opts.backends) {
      const [text, tRender] = time(() => renderIntent(compiled.intent, backend));
      (renderMs[backend] ??= []).push(tRender);
      sizes[backend] = text.length;
    }
  }
  global.gc?.();
  const mem = process.memoryUsage();

  return [
    `kpx pipeline benchmark: ${opts.services} services × ${opts.endpoints} endpoints (${intent?.services.length} service ports), median of ${opts.repeat}`,
    `  model (validate + snapshot): ${median(modelMs).toFixed(0)} ms`,
    `  compile (intent):            ${median(compileMs).toFixed(0)} ms`,
    ...opts.backends.map(
      (b) => `  ${b} lower + render:      ${median(renderMs[b] ?? []).toFixed(0)} ms  (${mib(sizes[b] ?? 0)} of ruleset text)`,
    ),
    `  heap used after GC: ${mib(mem.heapUsed)}; RSS: ${mib(mem.rss)}`,
  ];
}
