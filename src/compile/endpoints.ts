/**
 * Joining a service port to its EndpointSlices: which slice endpoints serve which port.
 */
import { familyOf, joinHostPort } from '../model/ip.js';
import type { EndpointSlice, IPFamily, Service, ServicePortSpec, SliceEndpoint } from '../model/types.js';
import type { EndpointIntent } from './intent.js';

/** An endpoint of one service port, with the conditions and hints categorization needs. */
export interface CandidateEndpoint extends EndpointIntent {
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  zoneHints: readonly string[];
  nodeHints: readonly string[];
}

/** How usable an endpoint's conditions make it: ready, else serving while terminating, else not. */
function usability(ep: Pick<SliceEndpoint, 'ready' | 'serving' | 'terminating'>): number {
  if (ep.ready) return 2;
  return ep.serving && ep.terminating ? 1 : 0;
}

/**
 * The endpoints of `port`: every endpoint of the service's slices of `family`, on each
 * slice port with the same name and protocol, at that slice port's number. The same
 * `ip:port` listed by several slices (as during a slice rewrite) counts once: the most
 * usable copy wins, the first one (in slice order) on a tie. Result is in slice order.
 */
export function joinEndpoints(
  service: Pick<Service, 'namespace' | 'name'>,
  port: Pick<ServicePortSpec, 'name' | 'protocol'>,
  slices: readonly EndpointSlice[],
  family: IPFamily,
  nodeName: string,
): CandidateEndpoint[] {
  const matching: { slice: EndpointSlice; port: number }[] = [];
  for (const slice of slices) {
    if (slice.family !== family || slice.namespace !== service.namespace || slice.serviceName !== service.name) continue;
    for (const slicePort of slice.ports) {
      if (slicePort.name === port.name && slicePort.protocol === port.protocol) matching.push({ slice, port: slicePort.port });
    }
  }
  // With one port number (the usual case) the IP alone tells addresses apart: a cheaper key.
  const onePort = matching.every((m) => m.port === matching[0]?.port);
  const byAddress = new Map<string, CandidateEndpoint>();
  for (const m of matching) {
    for (const ep of m.slice.endpoints) {
      if (familyOf(ep.ip) !== family) continue;
      const key = onePort ? ep.ip : joinHostPort(ep.ip, m.port);
      const existing = byAddress.get(key);
      if (!existing || usability(ep) > usability(existing)) byAddress.set(key, toCandidate(ep, m.port, nodeName));
    }
  }
  return [...byAddress.values()];
}

function toCandidate(ep: SliceEndpoint, port: number, nodeName: string): CandidateEndpoint {
  return {
    ip: ep.ip,
    port,
    address: joinHostPort(ep.ip, port),
    // An unset nodeName never makes an endpoint local, even when ours is unknown too.
    local: nodeName !== '' && ep.nodeName === nodeName,
    ready: ep.ready,
    serving: ep.serving,
    terminating: ep.terminating,
    zoneHints: ep.zoneHints,
    nodeHints: ep.nodeHints,
  };
}
