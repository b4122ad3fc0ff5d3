/**
 * Walks one hook's chains in one table for a flow, the way the kernel's x_tables
 * traversal does (jump/RETURN stack, absolute verdicts, built-in chain policy), except
 * that a random `statistic` match forks the flow: both outcomes are followed, each
 * carrying its share of the probability.
 */
import type { L4Protocol } from '../compile/intent.js';
import { cidrContains, joinHostPort } from '../model/ip.js';
import type { DecodedRule, Match } from './iptables-rule.js';

export type Hook = 'PREROUTING' | 'INPUT' | 'FORWARD' | 'OUTPUT' | 'POSTROUTING';

/** One possible history of the packet. Values are replaced, never mutated, when it forks. */
export interface Flow {
  probability: number;
  protocol: L4Protocol;
  /** Canonical addresses; `dst`/`dport` change on DNAT. */
  src: string;
  dst: string;
  dport: number;
  /** skb->mark: starts at 0, persists across tables and hooks. */
  mark: number;
  /** `ip:port` after DNAT, else null. */
  endpoint: string | null;
  masquerade: boolean;
  path: string[];
}

export interface WalkRule {
  decoded: DecodedRule;
  text: string;
}

export interface WalkChain {
  name: string;
  policy: 'ACCEPT' | 'DROP' | null;
  rules: WalkRule[];
}

export interface WalkTable {
  name: string;
  chains: ReadonlyMap<string, WalkChain>;
}

export interface WalkEnv {
  /** addrtype LOCAL: an address of the node, or loopback. */
  isLocal(ip: string): boolean;
}

/** How a hook's table let the packet go. DNAT and MASQUERADE end traversal as ACCEPT does. */
export type HookVerdict = 'ACCEPT' | 'DROP' | 'REJECT';

export interface HookBranch {
  flow: Flow;
  verdict: HookVerdict;
}

type ChainEnd = 'return' | HookVerdict;

interface ChainBranch {
  flow: Flow;
  end: ChainEnd;
}

type Fail = { error: string };

/** Where targets with a hook mask may run (x_tables `.hooks` of xt_nat, xt_MASQUERADE, ipt_REJECT). */
const TARGET_HOOKS: Partial<Record<string, readonly Hook[]>> = {
  DNAT: ['PREROUTING', 'OUTPUT'],
  MASQUERADE: ['POSTROUTING'],
  REJECT: ['INPUT', 'FORWARD', 'OUTPUT'],
};

/** Probability that `match` holds for `flow`: 0 or 1, except for `statistic`. */
function matchProbability(match: Match, flow: Flow, env: WalkEnv): number {
  let p: number;
  switch (match.kind) {
    case 'protocol':
      p = match.protocol === 'all' || match.protocol === flow.protocol ? 1 : 0;
      break;
    case 'address':
      p = cidrContains(match.cidr.cidr, match.field === 'src' ? flow.src : flow.dst) ? 1 : 0;
      break;
    case 'dport':
      p = flow.dport >= match.from && flow.dport <= match.to ? 1 : 0;
      break;
    case 'local':
      p = env.isLocal(match.field === 'src' ? flow.src : flow.dst) ? 1 : 0;
      break;
    case 'ctstate':
      // A first packet is NEW; its conntrack entry carries the DNAT status once nat rewrote it.
      p = match.states.includes('NEW') || (match.states.includes('DNAT') && flow.endpoint !== null) ? 1 : 0;
      break;
    case 'mark':
      p = ((flow.mark & match.mask) >>> 0) === match.value ? 1 : 0;
      break;
    case 'statistic':
      p = match.probability;
      break;
    case 'recent':
      p = match.check ? 0 : 1;
      break;
  }
  return match.negate ? 1 - p : p;
}

function ruleProbability(rule: DecodedRule, flow: Flow, env: WalkEnv): number {
  let p = 1;
  for (const match of rule.matches) {
    p *= matchProbability(match, flow, env);
    if (p === 0) return 0;
  }
  return p;
}

class Walker {
  constructor(
    private readonly table: WalkTable,
    private readonly hook: Hook,
    private readonly env: WalkEnv,
  ) {}

  /** Runs `chain` from rule `start`; `stack` holds the calling chains (loops are errors). */
  runChain(chain: WalkChain, start: number, flow: Flow, stack: readonly string[]): ChainBranch[] | Fail {
    for (let index = start; index < chain.rules.length; index++) {
      const rule = chain.rules[index] as WalkRule;
      const p = ruleProbability(rule.decoded, flow, this.env);
      if (p === 0) continue;
      if (p === 1) return this.applyTarget(chain, index, flow, stack);
      const matched = this.applyTarget(chain, index, { ...flow, probability: flow.probability * p }, stack);
      if ('error' in matched) return matched;
      const unmatched = this.runChain(chain, index + 1, { ...flow, probability: flow.probability * (1 - p) }, stack);
      if ('error' in unmatched) return unmatched;
      return [...matched, ...unmatched];
    }
    return [{ flow, end: 'return' }];
  }

  private applyTarget(chain: WalkChain, index: number, before: Flow, stack: readonly string[]): ChainBranch[] | Fail {
    const rule = chain.rules[index] as WalkRule;
    const flow: Flow = { ...before, path: [...before.path, `${this.table.name}/${chain.name}: ${rule.text}`] };
    const target = rule.decoded.target;
    const allowedHooks = TARGET_HOOKS[target.kind];
    if (allowedHooks && !allowedHooks.includes(this.hook)) {
      return { error: `${target.kind} reached from ${this.hook}, where the kernel refuses it: ${rule.text}` };
    }
    switch (target.kind) {
      case 'none':
        return this.runChain(chain, index + 1, flow, stack);
      case 'MARK': {
        const mark = (((flow.mark & ~target.clear) >>> 0) ^ target.toggle) >>> 0;
        return this.runChain(chain, index + 1, { ...flow, mark }, stack);
      }
      case 'RETURN':
        return [{ flow, end: 'return' }];
      case 'ACCEPT':
      case 'DROP':
      case 'REJECT':
        return [{ flow, end: target.kind }];
      case 'MASQUERADE':
        return [{ flow: { ...flow, masquerade: true }, end: 'ACCEPT' }];
      case 'DNAT': {
        const dport = target.port ?? flow.dport;
        return [{ flow: { ...flow, dst: target.ip, dport, endpoint: joinHostPort(target.ip, dport) }, end: 'ACCEPT' }];
      }
      case 'jump':
        return this.jump(chain, index, flow, target.chain, stack);
    }
  }

  private jump(chain: WalkChain, index: number, flow: Flow, name: string, stack: readonly string[]): ChainBranch[] | Fail {
    const callee = this.table.chains.get(name);
    const calling = [...stack, chain.name];
    if (!callee) return { error: `${this.table.name}/${chain.name} jumps to missing chain ${name}` };
    if (calling.includes(name)) return { error: `${this.table.name}: jump loop ${[...calling, name].join(' -> ')}` };
    const returned = this.runChain(callee, 0, flow, calling);
    if ('error' in returned) return returned;
    const branches: ChainBranch[] = [];
    for (const branch of returned) {
      if (branch.end !== 'return') {
        branches.push(branch);
        continue;
      }
      const resumed = this.runChain(chain, index + 1, branch.flow, stack);
      if ('error' in resumed) return resumed;
      branches.push(...resumed);
    }
    return branches;
  }
}

/**
 * Runs the built-in chain `hook` of `table` (absent table or chain: policy ACCEPT, no
 * rules). Falling off the end, or RETURN from it, applies the chain's policy.
 */
export function runHook(table: WalkTable | undefined, hook: Hook, flow: Flow, env: WalkEnv): HookBranch[] | Fail {
  const chain = table?.chains.get(hook);
  if (!table || !chain) return [{ flow, verdict: 'ACCEPT' }];
  const branches = new Walker(table, hook, env).runChain(chain, 0, flow, []);
  if ('error' in branches) return branches;
  return branches.map(({ flow: f, end }) => {
    if (end !== 'return') return { flow: f, verdict: end };
    if (chain.policy === 'DROP') return { flow: { ...f, path: [...f.path, `${table.name}/${hook}: policy DROP`] }, verdict: 'DROP' };
    return { flow: f, verdict: 'ACCEPT' };
  });
}
