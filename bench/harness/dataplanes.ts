/**
 * The dataplane a benchmark worker programs: the daemon's own (default) or the naive
 * render-everything stand-in, for one IPv4 node namespace.
 */
import { pino } from 'pino';
import type { Exec, Spawn } from '../../src/dataplane/exec.js';
import { createIptablesDataplane } from '../../src/dataplane/iptables-dataplane.js';
import { createNftablesDataplane } from '../../src/dataplane/nftables-dataplane.js';
import type { Dataplane } from '../../src/dataplane/types.js';
import type { Backend } from './records.js';
import { createRenderDataplane } from './render-dataplane.js';

export type DataplaneImpl = 'kpx' | 'render';

export async function createBenchDataplane(backend: Backend, exec: Exec, spawn: Spawn, impl: DataplaneImpl): Promise<Dataplane> {
  if (impl === 'render') return createRenderDataplane(backend, exec);
  const logger = pino({ level: 'silent' });
  // The iptables flavour is detected as the daemon detects it: an empty namespace gets nf_tables.
  if (backend === 'iptables') return createIptablesDataplane({ exec, family: 4, logger });
  return createNftablesDataplane({ exec, spawn, family: 4, logger });
}
