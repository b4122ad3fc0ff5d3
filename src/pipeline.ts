/**
 * The pure pipeline from objects to a ruleset, as `kpx render` and `kpx trace` run it:
 * model → compile → backend. No I/O: callers read the files and print the results.
 */
import { compileRuleset } from './compile/compile.js';
import type { ProxyConfig, RulesetIntent } from './compile/intent.js';
import { lowerIptables } from './backend/iptables/lower.js';
import { renderIptablesRestore } from './backend/iptables/render.js';
import { lowerNftables } from './backend/nftables/lower.js';
import { renderNftJson, renderNftText } from './backend/nftables/render.js';
import { buildClusterState } from './model/snapshot.js';
import type { IPFamily, Problem } from './model/types.js';
import { traceIptables } from './trace/iptables-trace.js';
import { traceNftables } from './trace/nftables-trace.js';
import type { Packet, TraceResult } from './trace/types.js';

export type Backend = 'iptables' | 'nftables';
export type OutputFormat = 'text' | 'json';

export interface CompiledObjects {
  intent: RulesetIntent;
  /** Model problems (bad objects, skipped) followed by compile problems. */
  problems: Problem[];
}

export function compileObjects(objects: unknown[], config: ProxyConfig, family: IPFamily): CompiledObjects {
  const { state, problems } = buildClusterState(objects, { nodeName: config.nodeName });
  const compiled = compileRuleset(state, config, family);
  return { intent: compiled.intent, problems: [...problems, ...compiled.problems] };
}

/** The complete ruleset for an empty network namespace, byte-stable for a given intent. */
export function renderIntent(intent: RulesetIntent, backend: Backend, format: OutputFormat = 'text'): string {
  if (backend === 'iptables') return renderIptablesRestore(lowerIptables(intent));
  const ruleset = lowerNftables(intent);
  return format === 'json' ? renderNftJson(ruleset) : renderNftText(ruleset);
}

/**
 * Traces a packet through what the backend emits. iptables: the rendered restore text is
 * parsed and walked, so the trace checks the real output. nftables: the lowered model that
 * both renderings are printed from.
 */
export function traceIntent(intent: RulesetIntent, backend: Backend, packet: Packet): TraceResult | { error: string } {
  const node = { localAddresses: intent.nodeIPs };
  if (backend === 'iptables') {
    return traceIptables(renderIptablesRestore(lowerIptables(intent)), packet, node);
  }
  return traceNftables(lowerNftables(intent), packet, node);
}
