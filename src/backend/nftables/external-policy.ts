/**
 * The external traffic policy as rules, for every chain that applies it (shared paths,
 * dedicated chains, affinity checks). Cluster: masquerade, then the cluster-wide endpoints.
 * Local (kube-proxy's fixed semantics): pods (by pod CIDR) and the node itself (masqueraded)
 * go to the cluster-wide endpoints, everyone else to this node's; with none here (`local`
 * null) the chain ends without a verdict.
 */
import { fibLocal, goto, jump, lookup, rule, saddr, verdict } from './build.js';
import type { NftRule } from './model.js';
import { CHAIN, SET } from './names.js';

export function externalPolicyRules(policy: 'cluster' | 'local', podCIDRs: boolean, cluster: string, local: string | null): NftRule[] {
  if (policy === 'cluster') return [rule(verdict(jump(CHAIN.markForMasquerade))), rule(verdict(goto(cluster)))];
  const rules: NftRule[] = [];
  if (podCIDRs) rules.push(rule(lookup(saddr, SET.podCIDRs), verdict(goto(cluster))));
  rules.push(rule(fibLocal('saddr'), verdict(jump(CHAIN.markForMasquerade))));
  rules.push(rule(fibLocal('saddr'), verdict(goto(cluster))));
  if (local !== null) rules.push(rule(verdict(goto(local))));
  return rules;
}
