/**
 * The four-namespace network every kernel test runs in (address plan: addresses.ts).
 * Nothing here touches the host's namespace: sysctls, links, addresses and routes are all
 * set inside namespaces this module created, and `destroy()` deletes exactly those.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import {
  CLIENT_IP_COUNT,
  EXTERNAL_CIDRS,
  MAX_PODS_PER_SUBNET,
  NODE_IPV4,
  NODE_IPV6,
  NODE_POD_GATEWAY_IPV4,
  NODE_POD_GATEWAY_IPV6,
  REMOTE_POD_CIDR_IPV4,
  REMOTE_POD_CIDR_IPV6,
  UPSTREAM_ROUTER_IPV4,
  UPSTREAM_ROUTER_IPV6,
  clientIPv4,
  clientIPv6,
  podIPv4,
  podIPv6,
  remoteIPv4,
  remoteIPv6,
} from './addresses.js';
import { ProcessRegistry, runChecked, runCommand, type CommandResult } from './exec.js';
import { ROLES, namespaceNames, sweepStaleNamespaces, type Role } from './names.js';

export interface Topology {
  /** Namespace names, for `ip netns exec` and for the `ns` arguments below. */
  readonly node: string;
  readonly pods: string;
  readonly remote: string;
  readonly client: string;
  /** `ip netns exec NS argv…` to completion (argv array, never a shell). */
  run(ns: string, argv: string[], stdin?: string): Promise<CommandResult>;
  /** Starts a long-running `ip netns exec NS argv…`; destroy() kills it if still running. */
  spawn(ns: string, argv: string[]): ChildProcess;
  /** Kills one process started by `spawn` and waits for it to exit. */
  kill(child: ChildProcess): Promise<void>;
  /** Kills this topology's processes and deletes its namespaces. Idempotent. */
  destroy(): Promise<void>;
}

export interface TopologyOptions {
  /** Addresses in `pods` (10.244.1.2 …); default 4. */
  podIPs?: number;
  /** Addresses in `remote` (10.244.2.2 …); default 4. */
  remoteIPs?: number;
}

/** Link names, identical in every topology: each lives only inside its own namespace. */
const NODE_TO = { client: 'client0', pods: 'pods0', remote: 'remote0' } as const;
const PEER_LINK = 'eth0';

const TENTATIVE_WAIT_MS = 3000;

/**
 * Creates the namespaces, links, addresses and routes. `tag` (1–8 lowercase letters or
 * digits) names the caller's test file; names become `kpx-<tag>-<pid>-<rand>-<role>`.
 * Stale namespaces of crashed earlier runs are swept first. If any step fails, everything
 * made so far is removed before the error is rethrown.
 */
export async function createTopology(tag: string, opts: TopologyOptions = {}): Promise<Topology> {
  const podCount = checkCount('podIPs', opts.podIPs ?? 4);
  const remoteCount = checkCount('remoteIPs', opts.remoteIPs ?? 4);
  const names = namespaceNames(tag);
  await sweepStaleNamespaces();

  const topology = new NetnsTopology(names);
  try {
    await topology.build(podCount, remoteCount);
  } catch (err) {
    await topology.destroy();
    throw err;
  }
  return topology;
}

function checkCount(what: string, n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > MAX_PODS_PER_SUBNET) {
    throw new Error(`${what} must be an integer in 1..${MAX_PODS_PER_SUBNET}, got ${n}`);
  }
  return n;
}

class NetnsTopology implements Topology {
  readonly node: string;
  readonly pods: string;
  readonly remote: string;
  readonly client: string;
  private readonly names: Record<Role, string>;
  private readonly created: string[] = [];
  private readonly registry = new ProcessRegistry();
  private destroying: Promise<void> | undefined;
  private readonly onExit = (): void => this.destroyNow();

  constructor(names: Record<Role, string>) {
    this.names = names;
    ({ node: this.node, pods: this.pods, remote: this.remote, client: this.client } = names);
    process.once('exit', this.onExit);
  }

  async run(ns: string, argv: string[], stdin?: string): Promise<CommandResult> {
    return runCommand(['ip', 'netns', 'exec', this.own(ns), ...argv], stdin, this.registry);
  }

  spawn(ns: string, argv: string[]): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.own(ns), ...argv], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.registry.track(child);
    return child;
  }

  kill(child: ChildProcess): Promise<void> {
    return this.registry.kill(child);
  }

  destroy(): Promise<void> {
    this.destroying ??= (async () => {
      await this.registry.killAll();
      await Promise.all(this.created.map((ns) => runCommand(['ip', 'netns', 'del', ns])));
      this.created.length = 0;
      process.removeListener('exit', this.onExit);
    })();
    return this.destroying;
  }

  /** Last resort when the test process exits without calling destroy(). */
  private destroyNow(): void {
    this.registry.killAllNow();
    for (const ns of this.created) {
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {
        // Swept as stale by the next run.
      }
    }
  }

  private own(ns: string): string {
    if (!this.created.includes(ns)) throw new Error(`namespace ${ns} does not belong to this topology`);
    return ns;
  }

  async build(podCount: number, remoteCount: number): Promise<void> {
    for (const role of ROLES) {
      await runChecked(['ip', 'netns', 'add', this.names[role]]);
      this.created.push(this.names[role]);
    }
    await Promise.all(ROLES.map((role) => this.setSysctls(role)));
    await this.ipBatch(this.node, nodeLinkCommands(this.names));
    await Promise.all([
      this.ipBatch(this.pods, podsCommands(podCount)),
      this.ipBatch(this.remote, remoteCommands(remoteCount)),
      this.ipBatch(this.client, clientCommands()),
      this.ipBatch(this.node, nodeRouteCommands()),
    ]);
    await this.waitForAddresses();
  }

  private async setSysctls(role: Role): Promise<void> {
    const settings = [
      // DAD off before any link exists, so link-local and global IPv6 addresses work at once.
      'net.ipv6.conf.all.accept_dad=0',
      'net.ipv6.conf.default.accept_dad=0',
      // ICMP errors (REJECT's port unreachable, a closed UDP port's answer) are rate limited
      // per destination (ipv4 icmp_ratelimit 1000 ms, ipv6 icmp.ratelimit 100 ms, burst 6)
      // and per namespace (icmp_msgs_per_sec 1000, burst 50; per-netns sysctls on 6.x):
      // a few hundred refused probes would mostly time out. Lift both.
      'net.ipv4.icmp_ratelimit=0',
      'net.ipv6.icmp.ratelimit=0',
      'net.ipv4.icmp_msgs_per_sec=1000000',
      'net.ipv4.icmp_msgs_burst=100000',
    ];
    if (role === 'node') settings.push('net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1');
    await runChecked(['ip', 'netns', 'exec', this.names[role], 'sysctl', '-q', '-w', ...settings]);
  }

  private async ipBatch(ns: string, commands: string[]): Promise<void> {
    await runChecked(['ip', '-n', ns, '-batch', '-'], commands.join('\n') + '\n');
  }

  /**
   * IPv6 addresses stay tentative until the kernel's linkwatch reports the veth carrier up
   * (asynchronously, even with DAD off); binding to one before that fails with EADDRNOTAVAIL.
   */
  private async waitForAddresses(): Promise<void> {
    const deadline = Date.now() + TENTATIVE_WAIT_MS;
    for (const ns of this.created) {
      for (;;) {
        const { stdout } = await runChecked(['ip', '-n', ns, '-6', 'addr', 'show', 'tentative']);
        if (stdout.trim() === '') break;
        if (Date.now() > deadline) throw new Error(`IPv6 addresses still tentative in ${ns}:\n${stdout}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
  }
}

function nodeLinkCommands(names: Record<Role, string>): string[] {
  return [
    'link set lo up',
    `link add ${NODE_TO.client} type veth peer name ${PEER_LINK} netns ${names.client}`,
    `link add ${NODE_TO.pods} type veth peer name ${PEER_LINK} netns ${names.pods}`,
    `link add ${NODE_TO.remote} type veth peer name ${PEER_LINK} netns ${names.remote}`,
    `addr add ${NODE_IPV4}/24 dev ${NODE_TO.client}`,
    `addr add ${NODE_IPV6}/64 dev ${NODE_TO.client} nodad`,
    `addr add ${NODE_POD_GATEWAY_IPV4}/24 dev ${NODE_TO.pods}`,
    `addr add ${NODE_POD_GATEWAY_IPV6}/64 dev ${NODE_TO.pods} nodad`,
    // Unnumbered link to remote: see addresses.ts for why the primary IPs appear again here.
    `addr add ${NODE_IPV4}/32 dev ${NODE_TO.remote}`,
    `addr add ${NODE_IPV6}/128 dev ${NODE_TO.remote} nodad`,
    `link set ${NODE_TO.client} up`,
    `link set ${NODE_TO.pods} up`,
    `link set ${NODE_TO.remote} up`,
  ];
}

function nodeRouteCommands(): string[] {
  return [
    `route add ${REMOTE_POD_CIDR_IPV4} dev ${NODE_TO.remote}`,
    `route add ${REMOTE_POD_CIDR_IPV6} dev ${NODE_TO.remote}`,
    `route add default via ${UPSTREAM_ROUTER_IPV4} dev ${NODE_TO.client} onlink`,
    `route add ::/0 via ${UPSTREAM_ROUTER_IPV6} dev ${NODE_TO.client} onlink`,
  ];
}

/** The side of a veth facing the node: lo and eth0 up, addresses (/24, /64), default routes. */
function peerCommands(ips: { v4: string[]; v6: string[] }, gateway: { v4: string; v6: string }): string[] {
  return [
    'link set lo up',
    `link set ${PEER_LINK} up`,
    ...ips.v4.map((ip) => `addr add ${ip}/24 dev ${PEER_LINK}`),
    ...ips.v6.map((ip) => `addr add ${ip}/64 dev ${PEER_LINK} nodad`),
    `route add default via ${gateway.v4} dev ${PEER_LINK} onlink`,
    `route add ::/0 via ${gateway.v6} dev ${PEER_LINK} onlink`,
  ];
}

function range<T>(n: number, f: (i: number) => T): T[] {
  return Array.from({ length: n }, (_, i) => f(i));
}

const VIA_NODE_POD_GATEWAY = { v4: NODE_POD_GATEWAY_IPV4, v6: NODE_POD_GATEWAY_IPV6 };
const VIA_NODE = { v4: NODE_IPV4, v6: NODE_IPV6 };

function podsCommands(n: number): string[] {
  return peerCommands({ v4: range(n, podIPv4), v6: range(n, podIPv6) }, VIA_NODE_POD_GATEWAY);
}

function remoteCommands(n: number): string[] {
  return peerCommands({ v4: range(n, remoteIPv4), v6: range(n, remoteIPv6) }, VIA_NODE);
}

function clientCommands(): string[] {
  const ips = { v4: range(CLIENT_IP_COUNT, clientIPv4), v6: range(CLIENT_IP_COUNT, clientIPv6) };
  const viaNode = (cidr: string): string =>
    `route add ${cidr} via ${cidr.includes(':') ? NODE_IPV6 : NODE_IPV4} dev ${PEER_LINK} onlink`;
  return [...peerCommands(ips, VIA_NODE), ...EXTERNAL_CIDRS.map(viaNode)];
}
