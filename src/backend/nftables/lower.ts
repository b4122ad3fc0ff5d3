/**
 * Lowers the backend-neutral intent to the nftables IR: the skeleton (skeleton.ts) plus
 * each service port's part (service-port.ts), assembled and sorted by table-state.ts, the
 * same code the incremental planner (plan.ts) keeps up to date.
 */
import type { RulesetIntent } from '../../compile/intent.js';
import type { NftRuleset } from './model.js';
import { NftTableState } from './table-state.js';

export function lowerNftables(intent: RulesetIntent): NftRuleset {
  return NftTableState.build(intent).toRuleset();
}
