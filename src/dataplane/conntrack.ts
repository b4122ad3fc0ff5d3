/**
 * Stale UDP conntrack entries after a sync, as kube-proxy clears them. A UDP "connection"
 * never ends: a client that keeps sending from one source port keeps its conntrack entry,
 * and with it the NAT decision of its first packet. Two decisions go stale:
 *
 * - DNATed to an endpoint that is gone: the datagrams keep going to a dead address
 *   (kube-proxy issues #19029, #59368; #139628 is the 1.32 reconciler leaving them when a
 *   service scales to zero, which this diff does not).
 * - Never DNATed, because the frontend had no rules yet (no endpoints, a new externalIP or
 *   LoadBalancer IP, or kpx not yet running): the datagrams keep bypassing the service
 *   (#48370). Such an entry's reply source is the frontend itself.
 *
 * Like kube-proxy (pkg/proxy/conntrack), only UDP is cleared: TCP and SCTP peers notice a
 * dead endpoint and reconnect. Frontends are compared across the two intents, so a service
 * IP that moves to another service, or an endpoint that leaves one, is handled alike.
 * Known difference: kube-proxy keeps the flows of a terminating endpoint that is still
 * serving; the intent lists only endpoints some path uses, so kpx clears those flows as
 * soon as ready endpoints take over.
 */
import { endpointAddress, type RulesetIntent } from '../compile/intent.js';
import type { IPFamily } from '../model/types.js';
import type { Exec } from './exec.js';

export interface ConntrackFlow {
  /** `endpoint-removed`: DNATed to an endpoint no longer used; `now-served`: never DNATed. */
  reason: 'endpoint-removed' | 'now-served';
  /** The service port(s) of the frontend, for logs. */
  services: string[];
  protocol: 'udp';
  /** Original destination: a ClusterIP, externalIP or LB IP; null for a NodePort (any local address). */
  origDst: string | null;
  origPortDst: number;
  /** Reply source: the endpoint the entry was DNATed to, or the frontend address itself. */
  replySrc: string | null;
  replyPortSrc: number;
}

interface Frontend {
  /** null: a NodePort. */
  address: string | null;
  port: number;
  services: Set<string>;
  /** Endpoint `ip:port` → endpoint. */
  endpoints: Map<string, { ip: string; port: number }>;
}

const frontendKey = (address: string | null, port: number) => `${address ?? '*'}|${port}`;

/** Every UDP frontend of the intent with the endpoints its service ports may DNAT to. */
function udpFrontends(intent: RulesetIntent | null): Map<string, Frontend> {
  const frontends = new Map<string, Frontend>();
  for (const sp of intent?.services ?? []) {
    if (sp.protocol !== 'udp') continue;
    const addresses: Array<[string | null, number]> = [sp.clusterIP, ...sp.externalIPs, ...sp.loadBalancerIPs].map((ip) => [ip, sp.port]);
    if (sp.nodePort !== 0) addresses.push([null, sp.nodePort]);
    for (const [address, port] of addresses) {
      const key = frontendKey(address, port);
      let frontend = frontends.get(key);
      if (!frontend) {
        frontend = { address, port, services: new Set(), endpoints: new Map() };
        frontends.set(key, frontend);
      }
      frontend.services.add(sp.name);
      for (const ep of sp.endpoints) frontend.endpoints.set(endpointAddress(ep), { ip: ep.ip, port: ep.port });
    }
  }
  return frontends;
}

function compareFlows(a: ConntrackFlow, b: ConntrackFlow): number {
  const key = (f: ConntrackFlow) => [f.reason, f.origDst ?? '', String(f.origPortDst).padStart(5, '0'), f.replySrc ?? '', String(f.replyPortSrc).padStart(5, '0')].join('|');
  const [ka, kb] = [key(a), key(b)];
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/**
 * The entries to delete after `current` was applied, given what was applied before
 * (`previous`, null on the first sync: then every served frontend's never-DNATed entries
 * go, those made before kpx programmed anything). Pure; the order is stable.
 */
export function staleConntrackFlows(previous: RulesetIntent | null, current: RulesetIntent): ConntrackFlow[] {
  const before = udpFrontends(previous);
  const after = udpFrontends(current);
  const flows: ConntrackFlow[] = [];

  for (const [key, old] of before) {
    const now = after.get(key);
    for (const [address, ep] of old.endpoints) {
      if (now?.endpoints.has(address)) continue;
      flows.push({
        reason: 'endpoint-removed',
        services: [...old.services].sort(),
        protocol: 'udp',
        origDst: old.address,
        origPortDst: old.port,
        replySrc: ep.ip,
        replyPortSrc: ep.port,
      });
    }
  }

  for (const [key, now] of after) {
    if (now.endpoints.size === 0 || (before.get(key)?.endpoints.size ?? 0) > 0) continue;
    // Not DNATed: the reply comes from where the datagram was sent. For a NodePort that is
    // any local address, so only the port identifies it.
    flows.push({
      reason: 'now-served',
      services: [...now.services].sort(),
      protocol: 'udp',
      origDst: now.address,
      origPortDst: now.port,
      replySrc: now.address,
      replyPortSrc: now.port,
    });
  }
  return flows.sort(compareFlows);
}

/** `conntrack -D` arguments for one flow (conntrack-tools 1.4.7 option names). */
export function conntrackDeleteArgv(flow: ConntrackFlow, family: IPFamily): string[] {
  return [
    'conntrack',
    '-D',
    ...(family === 6 ? ['-f', 'ipv6'] : []),
    '-p',
    flow.protocol,
    ...(flow.origDst === null ? [] : ['--orig-dst', flow.origDst]),
    '--orig-port-dst',
    String(flow.origPortDst),
    ...(flow.replySrc === null ? [] : ['--reply-src', flow.replySrc]),
    '--reply-port-src',
    String(flow.replyPortSrc),
  ];
}

/** conntrack prints this (and exits 1) when no entry matched; not a failure. */
const DELETED = /(\d+) flow entries have been deleted/;
const CONCURRENCY = 4;

/**
 * Deletes the entries of `flows` in the network namespace this process runs in. Every flow
 * is attempted; resolves with the number of entries deleted, or rejects once all ran with
 * the failures (a missing conntrack binary, a kernel without conntrack netlink support).
 */
export async function clearConntrack(exec: Exec, flows: readonly ConntrackFlow[], family: IPFamily): Promise<number> {
  let deleted = 0;
  const failures: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < flows.length) {
      const argv = conntrackDeleteArgv(flows[next++] as ConntrackFlow, family);
      const result = await exec(argv, { timeoutMs: 10_000 });
      const count = DELETED.exec(result.stderr);
      if (result.code === 0 || (result.code === 1 && count?.[1] === '0')) deleted += Number(count?.[1] ?? 0);
      else failures.push(`${argv.join(' ')} exited ${result.code}: ${result.stderr.trim().split('\n')[0] ?? ''}`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, flows.length) }, worker));
  if (failures.length > 0) {
    throw new Error(`conntrack: ${failures.length} of ${flows.length} deletions failed; first: ${failures[0]}`);
  }
  return deleted;
}
