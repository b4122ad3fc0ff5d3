/**
 * What `kpx trace` answers, for either backend: where a first packet of a new flow ends up.
 * Probabilistic branches (random balancing) are all followed, so a trace is a set of
 * outcomes whose probabilities add up to 1. Affinity state (`recent`, dynamic sets) is
 * treated as empty: the trace is of a client with no history.
 */
import type { L4Protocol } from '../compile/intent.js';

export interface Packet {
  src: string;
  dst: string;
  dport: number;
  protocol: L4Protocol;
}

export interface TraceNode {
  /** Addresses the tracer treats as local to the node (`addrtype LOCAL`, `fib … type local`). */
  localAddresses: string[];
}

export type FinalVerdict =
  /** DNATed to `endpoint` and accepted. */
  | 'DNAT'
  /** Refused at once: ICMP port unreachable / TCP reset. */
  | 'REJECT'
  /** Silently dropped. */
  | 'DROP'
  /** Not a service flow: passes untouched. */
  | 'ACCEPT';

export interface TraceOutcome {
  probability: number;
  verdict: FinalVerdict;
  /** `ip:port` (`[ip]:port` for IPv6) when verdict is DNAT, else null. */
  endpoint: string | null;
  /** The packet leaves with its source rewritten to the node's egress address. */
  masquerade: boolean;
  /** The rules that matched, in order, as `table/chain: rule text`. */
  path: string[];
}

export interface TraceResult {
  packet: Packet;
  /** Sorted by endpoint, then verdict; branches ending alike are merged (probabilities added). */
  outcomes: TraceOutcome[];
}
