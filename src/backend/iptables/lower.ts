/**
 * Lowers a RulesetIntent to kube-proxy's iptables-mode layout. Pure: problems in the
 * intent come back in `problems`, never as exceptions.
 */
import type { RulesetIntent, ServicePortIntent } from '../../compile/intent.js';
import type { Problem } from '../../model/types.js';
import { builtinJumps, forwardRules, markMasqRules, postroutingRules } from './base-chains.js';
import { comment, jump, nodePortDestinations } from './matches.js';
import {
  FILTER_BASE_CHAINS,
  KUBE_FORWARD,
  KUBE_MARK_MASQ,
  KUBE_NODEPORTS,
  KUBE_POSTROUTING,
  KUBE_SERVICES,
  NAT_BASE_CHAINS,
  type IptablesChain,
  type IptablesRuleset,
  type IptablesTable,
} from './ruleset.js';
import { dispatchRules, type SharedRule } from './service-dispatch.js';
import { serviceChains } from './service-chains.js';
import { planServicePort, type LoweringContext } from './service-plan.js';
import { checkGlobals, servicePortProblem } from './validate-intent.js';

const NODEPORTS_LAST_RULE = 'kubernetes service nodeports; NOTE: this must be the last rule in this chain';

function byName(a: ServicePortIntent, b: ServicePortIntent): number {
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  return a.protocol < b.protocol ? -1 : a.protocol > b.protocol ? 1 : 0;
}

class BaseChains {
  private readonly chains = new Map<string, IptablesChain>();

  constructor() {
    for (const name of FILTER_BASE_CHAINS) this.chains.set(`filter/${name}`, { table: 'filter', name, rules: [] });
    for (const name of NAT_BASE_CHAINS) this.chains.set(`nat/${name}`, { table: 'nat', name, rules: [] });
  }

  append(table: IptablesTable, name: string, ...rules: string[][]): void {
    const chain = this.chains.get(`${table}/${name}`);
    if (chain) for (const rule of rules) chain.rules.push(rule);
  }

  list(): IptablesChain[] {
    return [...this.chains.values()];
  }
}

/** One service port lowered: its rules in the shared chains and its own chains, or why not. */
interface LoweredServicePort {
  problem: string | null;
  dispatch: SharedRule[];
  chains: IptablesChain[];
}

/**
 * Intents are immutable, so a service port object lowered in the same context lowers the
 * same way again: the daemon's syncs, whose compiler keeps the objects of unchanged
 * services, redo only the changed ones, and get back the very same chain objects.
 */
const memo = new WeakMap<ServicePortIntent, { contextKey: string; lowered: LoweredServicePort }>();

function lowerServicePort(sp: ServicePortIntent, ctx: LoweringContext, contextKey: string): LoweredServicePort {
  const cached = memo.get(sp);
  if (cached !== undefined && cached.contextKey === contextKey) return cached.lowered;
  const problem = servicePortProblem(sp, ctx.family);
  let lowered: LoweredServicePort = { problem, dispatch: [], chains: [] };
  if (problem === null) {
    const plan = planServicePort(sp);
    lowered = { problem, dispatch: dispatchRules(plan, ctx), chains: serviceChains(plan, ctx) };
  }
  memo.set(sp, { contextKey, lowered });
  return lowered;
}

export function lowerIptables(intent: RulesetIntent): IptablesRuleset {
  const globals = checkGlobals(intent);
  const problems: Problem[] = [...globals.problems];
  const ctx: LoweringContext = {
    family: intent.family,
    masqueradeAll: intent.masquerade.all,
    podCIDR: globals.podCIDR,
    nodePortDestinations: nodePortDestinations(globals.nodePortCIDRs, intent.family),
  };
  const contextKey = JSON.stringify(ctx);

  const base = new BaseChains();
  base.append('nat', KUBE_POSTROUTING, ...postroutingRules(globals.mark));
  base.append('nat', KUBE_MARK_MASQ, ...markMasqRules(globals.mark));
  base.append('filter', KUBE_FORWARD, ...forwardRules(globals.mark));

  const serviceChainMap = new Map<string, IptablesChain[]>();
  for (const sp of [...intent.services].sort(byName)) {
    const lowered = lowerServicePort(sp, ctx, contextKey);
    if (lowered.problem !== null) {
      problems.push({ kind: 'Service', namespace: sp.namespace, name: sp.service, reason: `iptables: ${sp.name}: ${lowered.problem}` });
      continue;
    }
    for (const rule of lowered.dispatch) base.append(rule.table, rule.chain, rule.args);
    // Port names are unique within a service, so a key repeats only for a broken intent;
    // the chains still differ (the protocol is hashed in), so keep both.
    const earlier = serviceChainMap.get(sp.name);
    serviceChainMap.set(sp.name, [...(earlier ?? []), ...lowered.chains]);
  }

  for (const destination of ctx.nodePortDestinations) {
    base.append('nat', KUBE_SERVICES, [...comment(NODEPORTS_LAST_RULE), ...destination, ...jump(KUBE_NODEPORTS)]);
  }

  return { family: intent.family, baseChains: base.list(), serviceChains: serviceChainMap, jumps: builtinJumps(), problems };
}
