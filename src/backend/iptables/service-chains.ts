/** A service port's own nat chains: KUBE-SVC, KUBE-SVL, KUBE-EXT, KUBE-FW and one KUBE-SEP per endpoint. */
import { endpointAddress, type EndpointIntent } from '../../compile/intent.js';
import { iptablesEndpointChain } from '../../compile/names.js';
import { comment, COMMENT, commentText, jump } from './matches.js';
import { KUBE_MARK_MASQ, type IptablesChain } from './ruleset.js';
import type { LoweringContext, ServicePortPlan } from './service-plan.js';

/** kube-proxy prints probabilities with `%0.10f`; toFixed rounds the same exact binary value. */
const probabilities: string[] = [];
function probability(remaining: number): string {
  return (probabilities[remaining] ??= (1 / remaining).toFixed(10));
}

/**
 * Masquerades ClusterIP traffic that does not come from a pod (or all of it with
 * `--masquerade-all`): such a client may route the service range to any node, and the
 * reply must come back through that node.
 */
function clusterIPMasqueradeRule(plan: ServicePortPlan, ctx: LoweringContext): string[] | null {
  const { sp } = plan;
  if (!ctx.masqueradeAll && ctx.podCIDR === null) return null;
  const rule = [...COMMENT, commentText(`${sp.name} cluster IP`), '-m', sp.protocol, '-p', sp.protocol, '-d', sp.clusterIP, '--dport', String(sp.port)];
  if (!ctx.masqueradeAll && ctx.podCIDR !== null) rule.push('!', '-s', ctx.podCIDR);
  rule.push('-j', KUBE_MARK_MASQ);
  return rule;
}

/** KUBE-SEP names by endpoint address: each is a sha256, so it is computed once per port. */
type EndpointChainNames = Map<string, string>;

function balancingRules(plan: ServicePortPlan, endpoints: readonly EndpointIntent[], sepNames: EndpointChainNames, rules: string[][]): void {
  const { sp } = plan;
  const targets = endpoints.map((ep) => {
    const address = endpointAddress(ep);
    return { chain: sepNames.get(address) ?? iptablesEndpointChain(sp, address), text: commentText(`${sp.name} -> ${address}`) };
  });
  const timeout = sp.affinityTimeoutSeconds;
  if (timeout !== null) {
    const seconds = String(timeout);
    for (const { chain, text } of targets) {
      rules.push([...COMMENT, text, '-m', 'recent', '--name', chain, '--rcheck', '--seconds', seconds, '--reap', '-j', chain]);
    }
  }
  targets.forEach(({ chain, text }, i) => {
    const remaining = targets.length - i;
    rules.push(
      remaining > 1
        ? [...COMMENT, text, '-m', 'statistic', '--mode', 'random', '--probability', probability(remaining), '-j', chain]
        : [...COMMENT, text, '-j', chain],
    );
  });
}

function policyChain(
  plan: ServicePortPlan,
  ctx: LoweringContext,
  name: string | null,
  endpoints: readonly EndpointIntent[],
  sepNames: EndpointChainNames,
): IptablesChain | null {
  if (name === null) return null;
  const masquerade = plan.internalChain === name ? clusterIPMasqueradeRule(plan, ctx) : null;
  const rules = masquerade ? [masquerade] : [];
  balancingRules(plan, endpoints, sepNames, rules);
  return { table: 'nat', name, rules };
}

/**
 * With the Local policy, only traffic from outside the node and the pod network is kept on
 * local endpoints (preserving its source); pods and the node itself use every endpoint.
 */
function externalChain(plan: ServicePortPlan, ctx: LoweringContext, name: string): IptablesChain {
  const { sp } = plan;
  const rules: string[][] = [];
  const destinations = `${sp.name} external destinations`;
  if (sp.external?.policy === 'local') {
    const localSource = ['-m', 'addrtype', '--src-type', 'LOCAL'];
    if (ctx.podCIDR !== null && plan.clusterChain !== null) {
      rules.push([...comment(`pod traffic for ${destinations}`), '-s', ctx.podCIDR, ...jump(plan.clusterChain)]);
    }
    rules.push([...comment(`masquerade LOCAL traffic for ${destinations}`), ...localSource, ...jump(KUBE_MARK_MASQ)]);
    if (plan.clusterChain !== null) {
      rules.push([...comment(`route LOCAL traffic for ${destinations}`), ...localSource, ...jump(plan.clusterChain)]);
    }
  } else {
    rules.push([...comment(`masquerade traffic for ${destinations}`), ...jump(KUBE_MARK_MASQ)]);
  }
  if (plan.externalPolicyChain !== null) rules.push(jump(plan.externalPolicyChain));
  return { table: 'nat', name, rules };
}

/** Whatever no rule accepts falls off the end and is dropped in filter KUBE-PROXY-FIREWALL. */
function firewallChain(plan: ServicePortPlan, name: string, target: string): IptablesChain {
  const { sp } = plan;
  const sources = [...(sp.firewall?.sourceRanges ?? []), ...(sp.firewall?.allowLoadBalancerIPs ? sp.loadBalancerIPs : [])];
  const text = comment(`${sp.name} loadbalancer IP`);
  return { table: 'nat', name, rules: sources.map((source) => [...text, '-s', source, ...jump(target)]) };
}

function endpointChain(plan: ServicePortPlan, ep: EndpointIntent, address: string, name: string): IptablesChain {
  const { sp } = plan;
  const text = commentText(sp.name);
  const remember = sp.affinityTimeoutSeconds !== null ? ['-m', 'recent', '--name', name, '--set'] : [];
  return {
    table: 'nat',
    name,
    rules: [
      [...COMMENT, text, '-s', ep.ip, '-j', KUBE_MARK_MASQ],
      [...COMMENT, text, ...remember, '-m', sp.protocol, '-p', sp.protocol, '-j', 'DNAT', '--to-destination', address],
    ],
  };
}

export function serviceChains(plan: ServicePortPlan, ctx: LoweringContext): IptablesChain[] {
  const { sp } = plan;
  // The union list is the source; the other two are folded in so that even an intent whose
  // lists disagree never jumps to an undeclared KUBE-SEP chain.
  const sepNames: EndpointChainNames = new Map();
  const sepChains: IptablesChain[] = [];
  for (const list of [sp.endpoints, sp.clusterEndpoints, sp.localEndpoints]) {
    for (const ep of list) {
      const address = endpointAddress(ep);
      if (sepNames.has(address)) continue;
      const name = iptablesEndpointChain(sp, address);
      sepNames.set(address, name);
      sepChains.push(endpointChain(plan, ep, address, name));
    }
  }
  const chains: IptablesChain[] = [];
  const push = (chain: IptablesChain | null) => {
    if (chain) chains.push(chain);
  };
  push(policyChain(plan, ctx, plan.clusterChain, sp.clusterEndpoints, sepNames));
  push(policyChain(plan, ctx, plan.localChain, sp.localEndpoints, sepNames));
  if (plan.externalChain !== null) {
    push(externalChain(plan, ctx, plan.externalChain));
    if (plan.firewallChain !== null) push(firewallChain(plan, plan.firewallChain, plan.externalChain));
  }
  return [...chains, ...sepChains];
}
