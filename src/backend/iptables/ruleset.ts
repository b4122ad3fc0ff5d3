/**
 * The iptables backend's IR: chains holding rules as token arrays, grouped so that the
 * daemon's planner can rewrite only the chains of the service ports that changed
 * (`iptables-restore --noflush`), while the shared chains are always written in full.
 */
import type { IPFamily, Problem } from '../../model/types.js';

export type IptablesTable = 'filter' | 'nat';

export interface IptablesChain {
  table: IptablesTable;
  name: string;
  /** Each rule is the token list after `-A <name>`, unquoted; rendering quotes it. */
  rules: string[][];
}

/** A rule appended to a built-in chain (INPUT, FORWARD, OUTPUT, PREROUTING, POSTROUTING). */
export interface IptablesJump {
  table: IptablesTable;
  chain: string;
  args: string[];
}

export interface IptablesRuleset {
  family: IPFamily;
  /**
   * The chains kpx always owns, in both tables, sorted by table (filter first) then name.
   * They hold every service port's dispatch rules, so they are always rewritten in full.
   */
  baseChains: IptablesChain[];
  /**
   * Per service port name (`ns/svc:port`), in name order: the nat chains it owns, in the
   * order KUBE-SVC, KUBE-SVL, KUBE-EXT, KUBE-FW, then one KUBE-SEP per endpoint.
   */
  serviceChains: Map<string, IptablesChain[]>;
  /** The jumps from the built-in chains into ours, in the order they are appended. */
  jumps: IptablesJump[];
  /**
   * Parts of the intent this backend refused (a service port is then left out whole, a
   * bad CIDR is skipped), so that the kernel never sees a batch it would reject.
   */
  problems: Problem[];
}

export const KUBE_SERVICES = 'KUBE-SERVICES';
export const KUBE_EXTERNAL_SERVICES = 'KUBE-EXTERNAL-SERVICES';
export const KUBE_NODEPORTS = 'KUBE-NODEPORTS';
export const KUBE_FORWARD = 'KUBE-FORWARD';
export const KUBE_PROXY_FIREWALL = 'KUBE-PROXY-FIREWALL';
export const KUBE_POSTROUTING = 'KUBE-POSTROUTING';
export const KUBE_MARK_MASQ = 'KUBE-MARK-MASQ';

export const FILTER_BASE_CHAINS = [
  KUBE_EXTERNAL_SERVICES,
  KUBE_FORWARD,
  KUBE_NODEPORTS,
  KUBE_PROXY_FIREWALL,
  KUBE_SERVICES,
] as const;

export const NAT_BASE_CHAINS = [KUBE_MARK_MASQ, KUBE_NODEPORTS, KUBE_POSTROUTING, KUBE_SERVICES] as const;

/** Every chain of the ruleset: base chains first, then service chains in service order. */
export function allChains(ruleset: IptablesRuleset): IptablesChain[] {
  return [...ruleset.baseChains, ...[...ruleset.serviceChains.values()].flat()];
}
