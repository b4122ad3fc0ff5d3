import type { IPFamily } from '../model/types.js';

/** What compiling one service needs to know about the node and the family being built. */
export interface CompileContext {
  family: IPFamily;
  /** '' when unknown: then no endpoint is local. */
  nodeName: string;
  nodeLabels: Record<string, string>;
  /** The node's primary IPs of `family` (RulesetIntent.nodeIPs). */
  nodeIPs: string[];
}
