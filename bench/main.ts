/**
 * `npm run bench`: cost of the pure pipeline (model, compile, lower + render per backend) on
 * a synthetic cluster, with heap and RSS. Figures are for comparison within one run: the
 * machines are shared and noisy.
 */
import { Command, Option } from 'commander';
import { compileRuleset } from '../src/compile/compile.js';
import { normalizeProxyConfig } from '../src/compile/config.js';
import { buildClusterState } from '../src/model/snapshot.js';
import { renderIntent, type Backend } from '../src/pipeline.js';
import { generateCluster } from './generate.js';

interface Flags {
  services: string;
  endpoints: string;
  backend: Backend | 'both';
  repeat: string;
}

function time<T>(fn: () => T): [T, number] {
  const start = performance.now();
  const value = fn();
  return [value, performance.now() - start];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

async function main(argv: string[]): Promise<void> {
  const flags = new Command('bench')
    .option('--services <n>', 'services', '10000')
    .option('--endpoints <n>', 'endpoints per service', '10')
    .addOption(new Option('--backend <name>').choices(['iptables', 'nftables', 'both']).default('both'))
    .option('--repeat <n>', 'runs per stage; the median is reported', '3')
    .parse(argv, { from: 'user' })
    .opts<Flags>();
  const services = Number(flags.services);
  const endpoints = Number(flags.endpoints);
  const repeat = Number(flags.repeat);
  const backends: Backend[] = flags.backend === 'both' ? ['iptables', 'nftables'] : [flags.backend];

  const objects = generateCluster({ services, endpoints });
  const normalized = normalizeProxyConfig({
    nodeName: 'node-0',
    nodeIPs: ['192.168.0.10'],
    clusterCIDRs: ['10.128.0.0/9'],
    masqueradeAll: false,
    nodePortAddresses: [],
  });
  if ('error' in normalized) throw new Error(normalized.error);
  const config = normalized.config;

  const modelMs: number[] = [];
  const compileMs: number[] = [];
  const renderMs: Record<string, number[]> = {};
  const sizes: Record<string, number> = {};
  let intent;
  for (let run = 0; run < repeat; run++) {
    const [built, tModel] = time(() => buildClusterState(objects, { nodeName: config.nodeName }));
    const [compiled, tCompile] = time(() => compileRuleset(built.state, config, 4));
    modelMs.push(tModel);
    compileMs.push(tCompile);
    intent = compiled.intent;
    for (const backend of backends) {
      const [text, tRender] = time(() => renderIntent(compiled.intent, backend));
      (renderMs[backend] ??= []).push(tRender);
      sizes[backend] = text.length;
    }
  }
  global.gc?.();
  const mem = process.memoryUsage();

  const lines = [
    `kpx pipeline benchmark: ${services} services × ${endpoints} endpoints (${intent?.services.length} service ports), median of ${repeat}`,
    `  model (validate + snapshot): ${median(modelMs).toFixed(0)} ms`,
    `  compile (intent):            ${median(compileMs).toFixed(0)} ms`,
    ...backends.map(
      (b) =>
        `  ${b} lower + render:      ${median(renderMs[b] ?? []).toFixed(0)} ms  (${mib(sizes[b] ?? 0)} of ruleset text)`,
    ),
    `  heap used after GC: ${mib(mem.heapUsed)}; RSS: ${mib(mem.rss)}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

await main(process.argv.slice(2));
