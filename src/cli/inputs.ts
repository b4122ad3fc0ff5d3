/**
 * The inputs `render` and `trace` share: object files and the kube-proxy-like flags that
 * shape the ruleset.
 */
import { Option, type Command } from 'commander';
import { normalizeProxyConfig } from '../compile/config.js';
import type { ProxyConfig } from '../compile/intent.js';
import { parseObjectsText } from '../model/load.js';
import type { IPFamily, Problem } from '../model/types.js';
import type { Backend } from '../pipeline.js';
import { UsageError, type CliIO } from './io.js';

export interface InputFlags {
  backend: Backend;
  objects: string[];
  nodeName: string;
  nodeIp: string[];
  clusterCidr: string[];
  masqueradeAll: boolean;
  nodeportAddresses: string[];
  ipFamily?: 'ipv4' | 'ipv6';
}

/** Repeatable flags also take comma-separated lists, as kube-proxy's do. */
function collect(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(',').map((v) => v.trim()).filter((v) => v !== '')];
}

export function addInputOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--backend <name>', 'ruleset to produce').choices(['iptables', 'nftables']).default('iptables'))
    .option('--objects <file>', 'Services, EndpointSlices, Nodes, ServiceCIDRs: YAML (multi-document) or JSON, a v1 List allowed (repeatable)', collect, [])
    .option('--node-name <name>', 'this node: decides which endpoints are local', '')
    .option('--node-ip <ip>', "the node's primary IP, at most one per family (repeatable); default: the Node object's addresses", collect, [])
    .option('--cluster-cidr <cidr>', 'pod CIDR, at most one per family (repeatable); traffic to a ClusterIP from outside it is masqueraded', collect, [])
    .option('--masquerade-all', 'masquerade all traffic to ClusterIPs', false)
    .option('--nodeport-addresses <cidrs>', "CIDRs whose local addresses answer NodePorts (comma-separated); default: the node's primary IPs", collect, [])
    .addOption(new Option('--ip-family <family>', 'which family to render').choices(['ipv4', 'ipv6']));
}

export interface LoadedInputs {
  objects: unknown[];
  config: ProxyConfig;
  problems: Problem[];
}

export async function loadInputs(flags: InputFlags, io: CliIO): Promise<LoadedInputs> {
  const normalized = normalizeProxyConfig({
    nodeName: flags.nodeName,
    nodeIPs: flags.nodeIp,
    clusterCIDRs: flags.clusterCidr,
    masqueradeAll: flags.masqueradeAll,
    nodePortAddresses: flags.nodeportAddresses,
  });
  if ('error' in normalized) throw new UsageError(normalized.error);
  if (flags.objects.length === 0) throw new UsageError('--objects: at least one file is needed');

  const objects: unknown[] = [];
  const problems: Problem[] = [];
  for (const path of flags.objects) {
    let text: string;
    try {
      text = await io.readFile(path);
    } catch (err) {
      throw new UsageError(`--objects: cannot read ${path}: ${(err as Error).message}`);
    }
    const parsed = parseObjectsText(text, path);
    objects.push(...parsed.objects);
    problems.push(...parsed.problems);
  }
  return { objects, config: normalized.config, problems };
}

export function familyFlag(flags: InputFlags): IPFamily | undefined {
  if (flags.ipFamily === undefined) return undefined;
  return flags.ipFamily === 'ipv6' ? 6 : 4;
}

export function formatProblem(p: Problem): string {
  const where = p.namespace ? `${p.namespace}/${p.name}` : p.name;
  return `kpx: ${p.kind} ${where}: ${p.reason}\n`;
}
