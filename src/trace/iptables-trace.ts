/**
 * `kpx trace` for the iptables backend: walks the rendered `iptables-restore` text itself,
 * hook by hook, for the first packet of a new flow (conntrack NEW, no affinity history).
 *
 * Hook order (nat before filter at every hook, raw and mangle left out):
 *   from elsewhere:    nat PREROUTING → route → filter INPUT, or filter FORWARD → nat POSTROUTING
 *   from the node:     nat OUTPUT → route → filter OUTPUT → nat POSTROUTING
 *                      (→ lo → filter INPUT, when the destination is the node itself)
 * Routing uses the destination after DNAT, which is why filter rules on a service address
 * only see packets that nat did not rewrite.
 */
import { familyOf, isLoopback, parseIP } from '../model/ip.js';
import type { IPFamily } from '../model/types.js';
import { parseIptablesRestore, type RestoreRuleset } from './iptables-parse.js';
import { decodeRule } from './iptables-rule.js';
import { runHook, type Flow, type Hook, type HookBranch, type WalkChain, type WalkEnv, type WalkTable } from './iptables-walk.js';
import type { Packet, TraceNode, TraceOutcome, TraceResult } from './types.js';

type Fail = { error: string };

interface Stage {
  table: 'nat' | 'filter';
  hook: Hook;
}

const TRACED_TABLES = new Set(['nat', 'filter']);

/** Decodes every rule up front, so an unsupported shape fails the trace wherever it is. */
function decodeTables(ruleset: RestoreRuleset, family: IPFamily): Map<string, WalkTable> | Fail {
  const tables = new Map<string, WalkTable>();
  for (const table of ruleset.tables.values()) {
    if (!TRACED_TABLES.has(table.name)) {
      const busy = [...table.chains.values()].find((c) => c.rules.length > 0);
      if (busy) return { error: `table ${table.name} has rules (${busy.name}); only filter and nat are traced` };
      continue;
    }
    const userChains = new Set([...table.chains.values()].filter((c) => c.policy === null).map((c) => c.name));
    const chains = new Map<string, WalkChain>();
    for (const chain of table.chains.values()) {
      const rules = [];
      for (const rule of chain.rules) {
        const decoded = decodeRule(rule.tokens, { table: table.name, chains: userChains, family });
        if ('error' in decoded) return { error: `${table.name}/${chain.name} line ${rule.line}: ${decoded.error}: ${rule.text}` };
        rules.push({ decoded, text: rule.text });
      }
      chains.set(chain.name, { name: chain.name, policy: chain.policy, rules });
    }
    tables.set(table.name, { name: table.name, chains });
  }
  return tables;
}

function localEnv(node: TraceNode): WalkEnv | Fail {
  const local = new Set<string>();
  for (const address of node.localAddresses) {
    const parsed = parseIP(address);
    if (!parsed) return { error: `local address "${address}" is not an IP address` };
    local.add(parsed.ip);
  }
  return { isLocal: (ip) => local.has(ip) || isLoopback(ip) };
}

function stagesAfterRouting(flow: Flow, fromNode: boolean, env: WalkEnv): Stage[] {
  if (fromNode) {
    const output: Stage[] = [{ table: 'filter', hook: 'OUTPUT' }, { table: 'nat', hook: 'POSTROUTING' }];
    // Delivered to the node itself: the packet loops back through lo into filter INPUT,
    // still conntrack NEW (its entry was confirmed in POSTROUTING, the skb keeps ctinfo).
    // nat PREROUTING is not run again: the flow's DNAT binding was made in OUTPUT.
    return env.isLocal(flow.dst) ? [...output, { table: 'filter', hook: 'INPUT' }] : output;
  }
  if (env.isLocal(flow.dst)) return [{ table: 'filter', hook: 'INPUT' }];
  return [{ table: 'filter', hook: 'FORWARD' }, { table: 'nat', hook: 'POSTROUTING' }];
}

function toOutcome(flow: Flow, verdict: 'ACCEPT' | 'DROP' | 'REJECT'): TraceOutcome {
  const delivered = verdict === 'ACCEPT';
  return {
    probability: flow.probability,
    verdict: delivered ? (flow.endpoint === null ? 'ACCEPT' : 'DNAT') : verdict,
    endpoint: delivered ? flow.endpoint : null,
    masquerade: delivered && flow.masquerade,
    path: flow.path,
  };
}

/** Runs `stages` in order over every branch; a DROP or REJECT ends that branch's trace. */
function runStages(tables: Map<string, WalkTable>, stages: readonly Stage[], flow: Flow, env: WalkEnv): HookBranch[] | Fail {
  let live: Flow[] = [flow];
  const ended: HookBranch[] = [];
  for (const stage of stages) {
    const next: Flow[] = [];
    for (const current of live) {
      const branches = runHook(tables.get(stage.table), stage.hook, current, env);
      if ('error' in branches) return branches;
      for (const branch of branches) {
        if (branch.verdict === 'ACCEPT') next.push(branch.flow);
        else ended.push(branch);
      }
    }
    live = next;
  }
  return [...ended, ...live.map((f) => ({ flow: f, verdict: 'ACCEPT' as const }))];
}

/** The nat entry hook, then, per branch, the hooks its routing decision leads to. */
function traceFlow(tables: Map<string, WalkTable>, flow: Flow, env: WalkEnv): TraceOutcome[] | Fail {
  const fromNode = env.isLocal(flow.src);
  const entry: Stage = fromNode ? { table: 'nat', hook: 'OUTPUT' } : { table: 'nat', hook: 'PREROUTING' };
  const routed = runStages(tables, [entry], flow, env);
  if ('error' in routed) return routed;
  const outcomes: TraceOutcome[] = [];
  for (const branch of routed) {
    if (branch.verdict !== 'ACCEPT') {
      outcomes.push(toOutcome(branch.flow, branch.verdict));
      continue;
    }
    const finished = runStages(tables, stagesAfterRouting(branch.flow, fromNode, env), branch.flow, env);
    if ('error' in finished) return finished;
    outcomes.push(...finished.map((b) => toOutcome(b.flow, b.verdict)));
  }
  return outcomes;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Merges outcomes that end alike (verdict, endpoint, masquerade) by adding probabilities,
 * keeping the first one's path, and sorts them by endpoint (none last), then verdict,
 * then masquerade (no first). Backend-neutral: the nftables tracer can share it.
 */
export function mergeOutcomes(outcomes: readonly TraceOutcome[]): TraceOutcome[] {
  const merged = new Map<string, TraceOutcome>();
  for (const outcome of outcomes) {
    const key = JSON.stringify([outcome.verdict, outcome.endpoint, outcome.masquerade]);
    const seen = merged.get(key);
    if (seen) seen.probability += outcome.probability;
    else merged.set(key, { ...outcome });
  }
  return [...merged.values()].sort(
    (a, b) =>
      (a.endpoint === null ? 1 : 0) - (b.endpoint === null ? 1 : 0) ||
      compareText(a.endpoint ?? '', b.endpoint ?? '') ||
      compareText(a.verdict, b.verdict) ||
      Number(a.masquerade) - Number(b.masquerade),
  );
}

function initialFlow(packet: Packet): Flow | Fail {
  const src = parseIP(packet.src);
  const dst = parseIP(packet.dst);
  if (!src || !dst) return { error: `packet addresses must be IP addresses: ${packet.src} -> ${packet.dst}` };
  if (src.family !== dst.family) return { error: `packet mixes IP families: ${packet.src} -> ${packet.dst}` };
  if (!Number.isInteger(packet.dport) || packet.dport < 1 || packet.dport > 65535) {
    return { error: `packet destination port ${packet.dport} is out of range` };
  }
  return {
    probability: 1,
    protocol: packet.protocol,
    src: src.ip,
    dst: dst.ip,
    dport: packet.dport,
    mark: 0,
    endpoint: null,
    masquerade: false,
    path: [],
  };
}

/**
 * Traces `packet` through `restoreText` (an iptables-restore or ip6tables-restore batch
 * of the packet's family). Every rule is decoded first; any syntax or rule shape outside
 * the supported set, a jump to a missing chain, a loop, or a target reached from a hook
 * the kernel refuses it on is returned as an error value.
 */
export function traceIptables(restoreText: string, packet: Packet, node: TraceNode): TraceResult | Fail {
  const flow = initialFlow(packet);
  if ('error' in flow) return flow;
  const env = localEnv(node);
  if ('error' in env) return env;
  const parsed = parseIptablesRestore(restoreText);
  if ('error' in parsed) return parsed;
  const tables = decodeTables(parsed, familyOf(flow.dst));
  if ('error' in tables) return tables;

  const outcomes = traceFlow(tables, flow, env);
  if ('error' in outcomes) return outcomes;
  return { packet: { ...packet }, outcomes: mergeOutcomes(outcomes) };
}
