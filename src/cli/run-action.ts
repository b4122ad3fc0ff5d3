/**
 * What `kpx run` does once its flags are parsed: resolve the configuration, then either
 * clean up (`--cleanup`) or run the daemon until SIGTERM/SIGINT. Rules stay in place on
 * exit, as with kube-proxy, so a restart causes no window where services stop working.
 */
import { hostname } from 'node:os';
import { KubeConfig } from '@kubernetes/client-node';
import { pino, type Logger } from 'pino';
import { resolveRunConfig, type RunConfig, type RunFlags } from '../config/run-config.js';
import { conntrackCleaner } from '../dataplane/conntrack-cleaner.js';
import { cleanupEverything, createDataplanes, removeOtherMode } from '../dataplane/create.js';
import { exec, spawnTool } from '../dataplane/exec.js';
import { Daemon } from '../sync/daemon.js';
import { UsageError, type CliIO } from './io.js';

async function loadRunConfig(flags: RunFlags, io: CliIO): Promise<RunConfig> {
  let fileText: string | null = null;
  if (flags.config !== undefined) {
    try {
      fileText = await io.readFile(flags.config);
    } catch (err) {
      throw new UsageError(`--config: cannot read ${flags.config}: ${(err as Error).message}`);
    }
  }
  const resolved = resolveRunConfig(flags, fileText, { hostname: hostname(), NODE_NAME: process.env.NODE_NAME });
  if ('error' in resolved) throw new UsageError(resolved.error);
  return resolved.config;
}

function loadKubeConfig(path: string): KubeConfig {
  const kc = new KubeConfig();
  if (path === '') kc.loadFromCluster();
  else kc.loadFromFile(path);
  return kc;
}

function untilSignal(logger: Logger): Promise<void> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      logger.info({ signal }, 'stopping; the programmed rules stay in place');
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      resolve();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}

export async function cleanupAction(logger: Logger, io: CliIO): Promise<void> {
  const failures = await cleanupEverything(exec, logger);
  if (failures.length > 0) throw new Error(`cleanup incomplete:\n  ${failures.join('\n  ')}`);
  io.stderr('kpx: removed the rules of kpx and kube-proxy (iptables and nftables modes)\n');
}

export async function runAction(flags: RunFlags, io: CliIO): Promise<void> {
  const config = await loadRunConfig(flags, io);
  const logger = pino({ level: config.logLevel });
  for (const warning of config.warnings) logger.warn(warning);
  if (config.cleanup) return cleanupAction(logger, io);

  const kubeConfig = loadKubeConfig(config.kubeconfig);
  const dataplanes = await createDataplanes(config.mode, exec, spawnTool, logger);
  const daemon = new Daemon({
    config,
    kubeConfig,
    logger,
    dataplanes,
    afterFirstSync: () => removeOtherMode(config.mode, exec, logger),
    afterSync: conntrackCleaner(exec, logger),
  });
  await daemon.start();
  await untilSignal(logger);
  await daemon.stop();
}
