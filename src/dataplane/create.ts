/**
 * Picks the dataplanes of a proxy mode for the IP families this host can program, and
 * removes what the other mode (of kpx or kube-proxy) left behind.
 */
import { access } from 'node:fs/promises';
import type { Logger } from 'pino';
import { mustExec, type Exec, type Spawn } from './exec.js';
import { cleanupIptables, createIptablesDataplane } from './iptables-dataplane.js';
import { detectIptablesFlavour, iptablesTools, type IptablesFlavour } from './iptables-flavour.js';
import { cleanupNftables, createNftablesDataplane } from './nftables-dataplane.js';
import type { Dataplane, ProxyMode } from './types.js';

const FAMILIES = [4, 6] as const;

async function ipv6Enabled(): Promise<boolean> {
  try {
    await access('/proc/net/if_inet6');
    return true;
  } catch {
    return false;
  }
}

async function familyWorks(mode: ProxyMode, family: 4 | 6, exec: Exec, flavour: IptablesFlavour): Promise<string | null> {
  if (family === 6 && !(await ipv6Enabled())) return 'IPv6 is disabled in this kernel';
  const argv = mode === 'iptables' ? [iptablesTools(flavour, family).cmd, '-w', '-t', 'nat', '-S', 'POSTROUTING'] : ['nft', 'list', 'tables', family === 4 ? 'ip' : 'ip6'];
  const result = await exec(argv);
  return result.code === 0 ? null : `${argv.join(' ')} failed: ${result.stderr.trim()}`;
}

/** One dataplane per family that works here, its tools run by `exec` and `spawn`; throws when none does. */
export async function createDataplanes(mode: ProxyMode, exec: Exec, spawn: Spawn, logger: Logger): Promise<Dataplane[]> {
  const flavour = await detectIptablesFlavour(exec);
  if (mode === 'iptables') logger.info({ flavour }, 'iptables flavour');
  const dataplanes: Dataplane[] = [];
  for (const family of FAMILIES) {
    const problem = await familyWorks(mode, family, exec, flavour);
    if (problem !== null) {
      logger.warn({ family, reason: problem }, 'not programming this IP family');
      continue;
    }
    dataplanes.push(
      mode === 'iptables'
        ? await createIptablesDataplane({ exec, family, flavour, logger })
        : await createNftablesDataplane({ exec, spawn, family, logger }),
    );
  }
  if (dataplanes.length === 0) throw new Error(`${mode}: neither IPv4 nor IPv6 can be programmed on this host`);
  return dataplanes;
}

/** Removes the rules of the mode kpx is NOT running in (after its own are in place). */
async function familiesPresent(): Promise<Array<4 | 6>> {
  return (await ipv6Enabled()) ? [...FAMILIES] : [4];
}

/** kube-proxy's own nftables-mode table, replaced by kpx's in nftables mode. */
async function removeKubeProxyTable(exec: Exec, family: 4 | 6): Promise<void> {
  const nftFamily = family === 4 ? 'ip' : 'ip6';
  const tables = await exec(['nft', 'list', 'tables', nftFamily]);
  if (tables.code !== 0 || !tables.stdout.split('\n').includes(`table ${nftFamily} kube-proxy`)) return;
  await mustExec(exec, ['nft', 'delete', 'table', nftFamily, 'kube-proxy']);
}

/**
 * Removes, once kpx's own rules are in place, what another proxy left that would still
 * match packets: the other mode's rules (kpx's or kube-proxy's), and in nftables mode
 * kube-proxy's nftables table. In iptables mode kube-proxy's chains carry the same names
 * as kpx's, so they were adopted by the first full sync instead.
 */
export async function removeOtherMode(mode: ProxyMode, exec: Exec, logger: Logger): Promise<void> {
  for (const family of await familiesPresent()) {
    if (mode === 'nftables') {
      const flavour = await detectIptablesFlavour(exec, family);
      await cleanupIptables(exec, family, flavour);
      await removeKubeProxyTable(exec, family);
    } else {
      await cleanupNftables(exec, family);
    }
  }
  logger.info({ removed: mode === 'nftables' ? 'iptables rules, kube-proxy nftables table' : 'nftables tables' }, 'removed leftovers of other proxy modes');
}

/** `kpx cleanup`: everything either mode of kpx or kube-proxy installed, in every family. */
export async function cleanupEverything(exec: Exec, logger: Logger): Promise<string[]> {
  const failures: string[] = [];
  for (const family of await familiesPresent()) {
    const flavour = await detectIptablesFlavour(exec, family);
    for (const [what, run] of [
      [`iptables (${flavour}) IPv${family}`, () => cleanupIptables(exec, family, flavour)],
      [`nftables IPv${family}`, () => cleanupNftables(exec, family)],
    ] as const) {
      try {
        await run();
        logger.info({ family }, `removed ${what} rules`);
      } catch (err) {
        failures.push(`${what}: ${(err as Error).message}`);
      }
    }
  }
  return failures;
}
