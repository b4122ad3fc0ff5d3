/**
 * After a sync: delete the UDP conntrack entries that would keep sending datagrams to an
 * endpoint that is gone, or keep the REJECT of a service that now has endpoints.
 */
import type { Logger } from 'pino';
import type { RulesetIntent } from '../compile/intent.js';
import { clearConntrack, staleConntrackFlows } from './conntrack.js';
import type { Exec } from './exec.js';

export function conntrackCleaner(exec: Exec, logger: Logger) {
  return async (previous: RulesetIntent | null, current: RulesetIntent): Promise<void> => {
    const flows = staleConntrackFlows(previous, current);
    if (flows.length === 0) return;
    const deleted = await clearConntrack(exec, flows, current.family);
    logger.debug({ family: current.family, flows: flows.length, deleted }, 'cleared stale conntrack entries');
  };
}
