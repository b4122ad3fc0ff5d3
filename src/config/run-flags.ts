/**
 * The `kpx run` command line: kube-proxy's flag names, parsed by commander into raw
 * `RunFlags` (strings, undefined when not given). Values are checked by
 * `resolveRunConfig`, which knows whether a file value is being overridden.
 */
import { Command, InvalidArgumentError } from 'commander';
import type { RunFlags } from './run-config.js';

/** kube-proxy's boolean flags also take `--flag=true|false`. */
function parseBool(value: string): boolean {
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new InvalidArgumentError('expected true or false');
}

/** Repeatable and comma-separated, like pflag's StringSlice. */
function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), ...value.split(',').map((v) => v.trim()).filter((v) => v !== '')];
}

const FLAG_KEYS = [
  'config',
  'proxyMode',
  'kubeconfig',
  'hostnameOverride',
  'clusterCidr',
  'masqueradeAll',
  'iptablesMasqueradeBit',
  'nodeportAddresses',
  'minSyncPeriod',
  'syncPeriod',
  'iptablesMinSyncPeriod',
  'iptablesSyncPeriod',
  'healthzBindAddress',
  'metricsBindAddress',
  'cleanup',
  'v',
] as const satisfies readonly (keyof RunFlags)[];

/** Keeps only the flags that were given, so absence means "not set". */
export function pickRunFlags(options: Record<string, unknown>): RunFlags {
  const flags: Record<string, unknown> = {};
  for (const key of FLAG_KEYS) if (options[key] !== undefined) flags[key] = options[key];
  return flags as RunFlags;
}

/**
 * Builds `kpx run`. `action` receives the given flags; it reads `--config` and the
 * environment, calls `resolveRunConfig`, and runs the daemon.
 */
export function runCommand(action: (flags: RunFlags) => Promise<void> | void): Command {
  return new Command('run')
    .description('run the node daemon that replaces kube-proxy (flags as kube-proxy; a flag overrides --config)')
    .option('--config <path>', 'KubeProxyConfiguration file (kubeproxy.config.k8s.io/v1alpha1, YAML or JSON)')
    .option('--proxy-mode <mode>', 'iptables (default) or nftables')
    .option('--kubeconfig <path>', 'kubeconfig file; default: the in-cluster service account')
    .option('--hostname-override <name>', 'the name of this Node; default: $NODE_NAME, else the hostname')
    .option('--cluster-cidr <cidrs>', 'pod CIDR(s), comma-separated dual-stack pair; traffic to a ClusterIP from elsewhere is masqueraded')
    .option('--masquerade-all [bool]', 'masquerade all traffic sent to ClusterIPs', parseBool)
    .option('--iptables-masquerade-bit <bit>', 'fwmark bit that asks for SNAT, 0-31 (default 14: mark 0x4000)')
    .option('--nodeport-addresses <list>', 'CIDRs whose node IPs accept NodePorts, or "primary" or "all" (comma-separated, repeatable)', collect)
    .option('--min-sync-period <duration>', 'minimum time between rule syncs, e.g. 1s (default 1s)')
    .option('--sync-period <duration>', 'longest time between syncs, each also checking that no one removed the rules; full resyncs run hourly (default 30s)')
    .option('--iptables-min-sync-period <duration>', 'older name of --min-sync-period')
    .option('--iptables-sync-period <duration>', 'older name of --sync-period')
    .option('--healthz-bind-address <ip:port>', '/healthz and /livez server (default 0.0.0.0:10256); empty disables it')
    .option('--metrics-bind-address <ip:port>', '/metrics server (default 127.0.0.1:10249); empty disables it')
    .option('--cleanup', "remove kpx's rules and exit")
    .option('-v, --v <level>', 'log verbosity, klog style: 0-1 info, 2-4 debug, 5+ trace')
    .action(async (options: Record<string, unknown>) => {
      await action(pickRunFlags(options));
    });
}
