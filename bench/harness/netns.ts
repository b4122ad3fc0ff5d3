/**
 * Scratch network namespaces for the benchmark, named `kpxbch-<pid>-<rand>-<role>`. Nothing
 * here touches the host's namespace: links, addresses, routes and sysctls are set inside
 * namespaces created here, and `destroy()` deletes exactly those (the kernel then drops
 * their rules and conntrack entries with them).
 *
 * Two shapes: `node` alone (sync scenarios: the rules only have to load), and
 * client ── node ── backend for connection timing, where the backend answers on every
 * address of the pod range (AnyIP: a `local` route for the whole range), so every
 * generated endpoint is a live listener without creating thousands of addresses.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { exec, mustExec, type Exec, type Spawn } from '../../src/dataplane/exec.js';
import { pidAlive } from '../../src/dataplane/pid.js';

export const PREFIX = 'kpxbch';
const NAME = /^kpxbch-(\d+)-[0-9a-f]{4}-[a-z]+$/;

export const BENCH_NODE_IP = '192.168.50.10';
export const BENCH_CLIENT_IP = '192.168.50.20';
const NODE_TRANSIT_IP = '10.255.0.1';
const BACKEND_TRANSIT_IP = '10.255.0.2';

export interface Namespaces {
  readonly node: string;
  /** Empty strings in the node-only shape. */
  readonly client: string;
  readonly backend: string;
  /** Runs argv inside `ns` (an Exec for the dataplanes: argv arrays, never a shell). */
  execIn(ns: string): Exec;
  /** Starts a long-running process in `ns`; destroy() kills it by PID if still running. */
  spawnIn(ns: string, argv: string[], opts?: { stdin?: 'pipe'; env?: NodeJS.ProcessEnv }): ChildProcess;
  /** spawnIn as a dataplane's Spawn (stdin piped too). */
  spawnerIn(ns: string): Spawn;
  destroy(): Promise<void>;
}

/** Deletes namespaces of earlier benchmark processes that died without cleaning up. */
async function sweepStale(): Promise<void> {
  const { stdout } = await exec(['ip', 'netns', 'list']);
  for (const line of stdout.split('\n')) {
    const name = line.trim().split(/\s+/)[0] ?? '';
    const match = NAME.exec(name);
    if (match && !pidAlive(Number(match[1]))) await exec(['ip', 'netns', 'del', name]);
  }
}

class BenchNamespaces implements Namespaces {
  readonly node: string;
  readonly client: string;
  readonly backend: string;
  private readonly created: string[] = [];
  private readonly children = new Set<ChildProcess>();
  private readonly onExit = (): void => this.destroyNow();

  constructor(withPeers: boolean) {
    const base = `${PREFIX}-${process.pid}-${randomBytes(2).toString('hex')}`;
    this.node = `${base}-node`;
    this.client = withPeers ? `${base}-client` : '';
    this.backend = withPeers ? `${base}-backend` : '';
    process.once('exit', this.onExit);
  }

  async add(ns: string, sysctls: string[]): Promise<void> {
    await mustExec(exec, ['ip', 'netns', 'add', ns]);
    this.created.push(ns);
    if (sysctls.length > 0) await mustExec(exec, ['ip', 'netns', 'exec', ns, 'sysctl', '-q', '-w', ...sysctls]);
  }

  async ipBatch(ns: string, commands: string[]): Promise<void> {
    await mustExec(exec, ['ip', '-n', ns, '-batch', '-'], { stdin: commands.join('\n') + '\n' });
  }

  execIn(ns: string): Exec {
    if (!this.created.includes(ns)) throw new Error(`namespace ${ns} was not created by this benchmark`);
    return (argv, opts) => exec(['ip', 'netns', 'exec', ns, ...argv], opts);
  }

  spawnIn(ns: string, argv: string[], opts: { stdin?: 'pipe'; env?: NodeJS.ProcessEnv } = {}): ChildProcess {
    if (!this.created.includes(ns)) throw new Error(`namespace ${ns} was not created by this benchmark`);
    const child = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: [opts.stdin ?? 'ignore', 'pipe', 'pipe'], env: opts.env });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  spawnerIn(ns: string): Spawn {
    return (argv, opts = {}) => this.spawnIn(ns, argv, { stdin: 'pipe', env: opts.env });
  }

  async destroy(): Promise<void> {
    await Promise.all(
      [...this.children].map(
        (child) =>
          new Promise<void>((resolve) => {
            child.once('exit', () => resolve());
            if (child.pid === undefined || !child.kill('SIGKILL')) resolve();
          }),
      ),
    );
    for (const ns of this.created.splice(0)) await exec(['ip', 'netns', 'del', ns]);
    process.removeListener('exit', this.onExit);
  }

  /** Last resort when the process exits without destroy() (an exception in a scenario). */
  private destroyNow(): void {
    for (const child of this.children) if (child.pid !== undefined) child.kill('SIGKILL');
    for (const ns of this.created) {
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {
        // Swept as stale by the next run.
      }
    }
  }
}

async function build(withPeers: boolean, setup: (ns: BenchNamespaces) => Promise<void>): Promise<Namespaces> {
  await sweepStale();
  const namespaces = new BenchNamespaces(withPeers);
  try {
    await setup(namespaces);
  } catch (err) {
    await namespaces.destroy();
    throw err;
  }
  return namespaces;
}

/**
 * A node namespace alone, with the node IP on a link (rules load; no traffic). A veth pair
 * with both ends inside: the dummy link type is a module this kernel may lack.
 */
export function createNodeNamespace(): Promise<Namespaces> {
  return build(false, async (n) => {
    await n.add(n.node, []);
    await n.ipBatch(n.node, [
      'link set lo up',
      'link add node0 type veth peer name node1',
      `addr add ${BENCH_NODE_IP}/24 dev node0`,
      'link set node0 up',
      'link set node1 up',
    ]);
  });
}

/**
 * client (192.168.50.20) ── node (192.168.50.10, forwarding) ── backend (every address of
 * `podCIDR` is local, via a transit /30). Service VIPs are routed client → node by default
 * route; DNATed packets leave the node towards the backend.
 */
export function createConnectTopology(podCIDR: string): Promise<Namespaces> {
  return build(true, async (n) => {
    await n.add(n.node, ['net.ipv4.ip_forward=1']);
    await n.add(n.client, []);
    await n.add(n.backend, []);
    await n.ipBatch(n.node, [
      'link set lo up',
      `link add client0 type veth peer name eth0 netns ${n.client}`,
      `link add backend0 type veth peer name eth0 netns ${n.backend}`,
      `addr add ${BENCH_NODE_IP}/24 dev client0`,
      `addr add ${NODE_TRANSIT_IP}/30 dev backend0`,
      'link set client0 up',
      'link set backend0 up',
      `route add ${podCIDR} via ${BACKEND_TRANSIT_IP} dev backend0`,
    ]);
    await n.ipBatch(n.client, [
      'link set lo up',
      'link set eth0 up',
      `addr add ${BENCH_CLIENT_IP}/24 dev eth0`,
      `route add default via ${BENCH_NODE_IP} dev eth0`,
    ]);
    await n.ipBatch(n.backend, [
      'link set lo up',
      'link set eth0 up',
      `addr add ${BACKEND_TRANSIT_IP}/30 dev eth0`,
      `route add default via ${NODE_TRANSIT_IP} dev eth0`,
      // AnyIP: the backend owns the whole pod range, so a listener on 0.0.0.0 answers any endpoint.
      `route add local ${podCIDR} dev lo`,
    ]);
  });
}
