/**
 * `kpx run`'s configuration: kube-proxy's flags and `--config` file resolved into one
 * typed `RunConfig`. Pure: the caller reads the file and the environment.
 *
 * Precedence: flag, then file, then kube-proxy's default. (kube-proxy itself ignores most
 * flags when `--config` is given; kpx lets an explicit flag win, so a DaemonSet can share
 * one ConfigMap and still override a setting per node pool.)
 */
import type { ProxyConfig } from '../compile/intent.js';
import {
  checkBindAddress,
  checkClusterCIDRs,
  checkDuration,
  checkMasqueradeBit,
  checkMode,
  checkNodeIPOverride,
  checkNodeName,
  checkNodePortAddresses,
  checkSyncPeriods,
  checkVerbosity,
  type BindAddress,
  type Checked,
  type ProxyMode,
} from './checks.js';
import { ConfigValues, parseConfigFile } from './config-file.js';

export type { BindAddress, ProxyMode } from './checks.js';

/** Raw `kpx run` flags as commander hands them over; undefined = not given. */
export interface RunFlags {
  config?: string;
  proxyMode?: string;
  kubeconfig?: string;
  hostnameOverride?: string;
  clusterCidr?: string;
  masqueradeAll?: boolean;
  iptablesMasqueradeBit?: string;
  nodeportAddresses?: string[];
  minSyncPeriod?: string;
  syncPeriod?: string;
  iptablesMinSyncPeriod?: string;
  iptablesSyncPeriod?: string;
  healthzBindAddress?: string;
  metricsBindAddress?: string;
  cleanup?: boolean;
  v?: string;
}

export interface RunEnv {
  /** os.hostname() */
  hostname: string;
  /** Usually set from the downward API (spec.nodeName). */
  NODE_NAME?: string;
}

export type LogLevel = 'info' | 'debug' | 'trace';

export interface RunConfig {
  mode: ProxyMode;
  /** '' means the in-cluster service account. */
  kubeconfig: string;
  nodeName: string;
  /** What shapes the ruleset (compile/). `nodeIPs` comes from `bindAddress`. */
  proxy: ProxyConfig;
  masqueradeBit: number;
  /** `1 << masqueradeBit`: 0x4000 by default. */
  masqueradeMark: number;
  minSyncPeriodMs: number;
  syncPeriodMs: number;
  /** /healthz turns 503 when a queued update is older than this: 2 × syncPeriod, as kube-proxy. */
  healthTimeoutMs: number;
  /** null: the server is disabled (an explicitly empty flag). */
  healthz: BindAddress | null;
  metrics: BindAddress | null;
  /** Exit when a server cannot bind (kube-proxy's bindAddressHardFail). */
  bindAddressHardFail: boolean;
  cleanup: boolean;
  /** klog-style verbosity (`--v`, `logging.verbosity`) and the pino level it maps to. */
  verbosity: number;
  logLevel: LogLevel;
  featureGates: Record<string, boolean>;
  /** Settings that were accepted but have no effect in kpx. */
  warnings: string[];
}

export const DEFAULTS = {
  mode: 'iptables' as ProxyMode,
  syncPeriodMs: 30_000,
  minSyncPeriodMs: 1_000,
  masqueradeBit: 14,
  healthzPort: 10256,
  metricsPort: 10249,
} as const;

/** klog verbosity → pino level: V(0–1) info, V(2–4) debug, V(5+) trace. */
export function logLevelFor(verbosity: number): LogLevel {
  if (verbosity >= 5) return 'trace';
  return verbosity >= 2 ? 'debug' : 'info';
}

function resolveFile(fileText: string | null): { file: ConfigValues; warnings: string[] } | { error: string } {
  if (fileText === null) return { file: new ConfigValues(new Map()), warnings: [] };
  const parsed = parseConfigFile(fileText);
  if ('error' in parsed) return { error: `--config: ${parsed.error}` };
  return { file: new ConfigValues(parsed.values), warnings: [...parsed.warnings] };
}

function checkFileOnly(file: ConfigValues): string | null {
  const detect = file.string('detectLocalMode') ?? '';
  if (detect !== '' && detect !== 'ClusterCIDR') {
    return `detectLocalMode: kpx detects local traffic by clusterCIDR only ("ClusterCIDR"), not ${JSON.stringify(detect)}`;
  }
  const proxyName = file.string('serviceProxyName') ?? '';
  if (proxyName !== '') {
    return 'serviceProxyName: not supported; kpx handles the services without the service.kubernetes.io/service-proxy-name label';
  }
  return null;
}

export function resolveRunConfig(flags: RunFlags, fileText: string | null, env: RunEnv): { config: RunConfig } | { error: string } {
  const resolved = resolveFile(fileText);
  if ('error' in resolved) return resolved;
  const { file, warnings } = resolved;
  const fileError = checkFileOnly(file);
  if (fileError) return { error: fileError };

  const mode =
    flags.proxyMode !== undefined ? checkMode('--proxy-mode', flags.proxyMode) : checkMode('mode', file.string('mode') ?? '');
  if ('error' in mode) return mode;
  const proxyMode = mode.value;
  const section = proxyMode; // `iptables.*` or `nftables.*`, as kube-proxy's conversion picks

  const periods = resolveSyncPeriods(flags, file, section);
  if ('error' in periods) return periods;

  const bitFlag = flags.iptablesMasqueradeBit;
  const bit =
    bitFlag !== undefined
      ? checkMasqueradeBit('--iptables-masquerade-bit', /^\d+$/.test(bitFlag) ? Number(bitFlag) : Number.NaN)
      : checkMasqueradeBit(`${section}.masqueradeBit`, file.number(`${section}.masqueradeBit`) ?? DEFAULTS.masqueradeBit);
  if ('error' in bit) return bit;

  const clusterCIDRs =
    flags.clusterCidr !== undefined
      ? checkClusterCIDRs('--cluster-cidr', flags.clusterCidr)
      : checkClusterCIDRs('clusterCIDR', file.string('clusterCIDR') ?? '');
  if ('error' in clusterCIDRs) return clusterCIDRs;
  if (clusterCIDRs.value.length === 0) {
    warnings.push(
      'no cluster CIDR is set (--cluster-cidr / clusterCIDR): kpx cannot tell pod traffic from off-cluster traffic, so only masqueradeAll masquerades traffic to ClusterIPs',
    );
  }

  const nodeIPs = checkNodeIPOverride('bindAddress', file.string('bindAddress') ?? '');
  if ('error' in nodeIPs) return nodeIPs;

  // Empty means unset: all local IPs in iptables mode, the primary ones in nftables mode (kube-proxy's defaults).
  const modeDefault = [proxyMode === 'nftables' ? 'primary' : 'all'];
  const npaFile = file.list('nodePortAddresses') ?? [];
  const nodePortAddresses =
    flags.nodeportAddresses !== undefined && flags.nodeportAddresses.length > 0
      ? checkNodePortAddresses('--nodeport-addresses', flags.nodeportAddresses)
      : checkNodePortAddresses('nodePortAddresses', npaFile.length > 0 ? npaFile : modeDefault);
  if ('error' in nodePortAddresses) return nodePortAddresses;

  const healthz = resolveBindAddress(flags.healthzBindAddress, '--healthz-bind-address', file.string('healthzBindAddress'), 'healthzBindAddress', '0.0.0.0', DEFAULTS.healthzPort, nodeIPs.value);
  if ('error' in healthz) return healthz;
  const metrics = resolveBindAddress(flags.metricsBindAddress, '--metrics-bind-address', file.string('metricsBindAddress'), 'metricsBindAddress', '127.0.0.1', DEFAULTS.metricsPort, nodeIPs.value);
  if ('error' in metrics) return metrics;

  const nodeName = resolveNodeName(flags, file, env);
  if ('error' in nodeName) return nodeName;

  const verbosity =
    flags.v !== undefined ? checkVerbosity('--v', flags.v) : checkVerbosity('logging.verbosity', file.number('logging.verbosity') ?? 0);
  if ('error' in verbosity) return verbosity;

  const masqueradeAll = flags.masqueradeAll ?? file.boolean(`${section}.masqueradeAll`) ?? false;
  return {
    config: {
      mode: proxyMode,
      kubeconfig: flags.kubeconfig ?? file.string('clientConnection.kubeconfig') ?? '',
      nodeName: nodeName.value,
      proxy: {
        nodeName: nodeName.value,
        nodeIPs: nodeIPs.value,
        clusterCIDRs: clusterCIDRs.value,
        masqueradeAll,
        nodePortAddresses: nodePortAddresses.value,
        masqueradeMark: 2 ** bit.value,
      },
      masqueradeBit: bit.value,
      masqueradeMark: 2 ** bit.value,
      minSyncPeriodMs: periods.value.minSyncMs,
      syncPeriodMs: periods.value.syncMs,
      healthTimeoutMs: 2 * periods.value.syncMs,
      healthz: healthz.value,
      metrics: metrics.value,
      bindAddressHardFail: file.boolean('bindAddressHardFail') ?? false,
      cleanup: flags.cleanup ?? false,
      verbosity: verbosity.value,
      logLevel: logLevelFor(verbosity.value),
      featureGates: file.boolMap('featureGates'),
      warnings,
    },
  };
}

/**
 * `--sync-period` (or its older name), else top-level `syncPeriod` (the internal config's
 * name), else the mode section's; a zero file value means the default, as kube-proxy's
 * defaulting does. Same for the minimum.
 */
function resolveSyncPeriods(flags: RunFlags, file: ConfigValues, section: ProxyMode): Checked<{ syncMs: number; minSyncMs: number }> {
  const syncName = flags.syncPeriod !== undefined ? '--sync-period' : '--iptables-sync-period';
  const syncText = flags.syncPeriod ?? flags.iptablesSyncPeriod;
  const minName = flags.minSyncPeriod !== undefined ? '--min-sync-period' : '--iptables-min-sync-period';
  const minText = flags.minSyncPeriod ?? flags.iptablesMinSyncPeriod;
  const sync =
    syncText !== undefined
      ? checkDuration(syncName, syncText)
      : { value: file.duration('syncPeriod') ?? file.duration(`${section}.syncPeriod`) ?? DEFAULTS.syncPeriodMs };
  if ('error' in sync) return sync;
  const min =
    minText !== undefined
      ? checkDuration(minName, minText)
      : { value: file.duration('minSyncPeriod') ?? file.duration(`${section}.minSyncPeriod`) ?? DEFAULTS.minSyncPeriodMs };
  if ('error' in min) return min;
  const error = checkSyncPeriods(sync.value, min.value, {
    sync: syncText !== undefined ? syncName : 'syncPeriod',
    min: minText !== undefined ? minName : 'minSyncPeriod',
  });
  return error ? { error } : { value: { syncMs: sync.value, minSyncMs: min.value } };
}

/** hostname override (flag, then file), else NODE_NAME, else the hostname; lowercased. */
function resolveNodeName(flags: RunFlags, file: ConfigValues, env: RunEnv): Checked<string> {
  if (flags.hostnameOverride !== undefined) {
    if (flags.hostnameOverride.trim() === '') return { error: '--hostname-override: must not be empty' };
    return checkNodeName('--hostname-override', flags.hostnameOverride);
  }
  const fromFile = file.string('hostnameOverride')?.trim() ?? '';
  if (fromFile !== '') return checkNodeName('hostnameOverride', fromFile);
  const fromEnv = env.NODE_NAME?.trim() ?? '';
  if (fromEnv !== '') return checkNodeName('NODE_NAME', fromEnv);
  return checkNodeName('hostname', env.hostname);
}

/**
 * A flag set to '' disables the server; an empty or absent file value means the default,
 * whose host follows the family of the node IP override as in kube-proxy
 * (`0.0.0.0`/`127.0.0.1`, or `::`/`::1` when `bindAddress` is IPv6 only).
 */
function resolveBindAddress(
  flagText: string | undefined,
  flagName: string,
  fileText: string | undefined,
  fileName: string,
  defaultV4Host: '0.0.0.0' | '127.0.0.1',
  defaultPort: number,
  nodeIPs: readonly string[],
): Checked<BindAddress | null> {
  if (flagText !== undefined) return flagText.trim() === '' ? { value: null } : checkBindAddress(flagName, flagText, defaultPort);
  if (fileText !== undefined && fileText.trim() !== '') return checkBindAddress(fileName, fileText, defaultPort);
  const v6Only = nodeIPs.length > 0 && nodeIPs.every((ip) => ip.includes(':'));
  const host = v6Only ? (defaultV4Host === '0.0.0.0' ? '::' : '::1') : defaultV4Host;
  return { value: { host, port: defaultPort } };
}
