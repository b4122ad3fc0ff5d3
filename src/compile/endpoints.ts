/**
 * Joining a service port to its EndpointSlices: which slice endpoints serve which port.
 */
import type { EndpointSlice, IPFamily, Service, ServicePortSpec, SliceEndpoint } from '../model/types.js';
import type { EndpointIntent } from './intent.js';

/**
 * The endpoints of one service port, index-aligned: each one's intent (one object,
 * whichever lists it ends up in) and the slice entry whose conditions and hints
 * categorization reads. Two arrays rather than a pair object per endpoint (100k at 10k
 * services).
 */
export interface CandidateEndpoints {
  intents: EndpointIntent[];
  sources: SliceEndpoint[];
}

/** How usable an endpoint's conditions make it: ready, else serving while terminating, else not. */
function usability(ep: Pick<SliceEndpoint, 'ready' | 'serving' | 'terminating'>): number {
  if (ep.ready) return 2;
  return ep.serving && ep.terminating ? 1 : 0;
}

/** Up to this many endpoints, a repeated address is found by a scan rather than a Map. */
const SCAN_LIMIT = 32;

/**
 * The endpoints of `port`: every endpoint of the service's slices of `family` (a slice's
 * addresses are all of its family, see EndpointSlice), on each slice port with the same
 * name and protocol, at that slice port's number. The same `ip:port` listed by several
 * slices (as during a slice rewrite) counts once: the most usable copy wins, the first one
 * (in slice order) on a tie. Result is in slice order.
 */
export function joinEndpoints(
  service: Pick<Service, 'namespace' | 'name'>,
  port: Pick<ServicePortSpec, 'name' | 'protocol'>,
  slices: readonly EndpointSlice[],
  family: IPFamily,
  nodeName: string,
): CandidateEndpoints {
  const intents: EndpointIntent[] = [];
  const sources: SliceEndpoint[] = [];
  let index: Map<string, number> | null = null;
  const find = (ip: string, p: number): number => {
    if (index !== null) return index.get(`${ip} ${p}`) ?? -1;
    for (let i = 0; i < intents.length; i++) if (intents[i]!.ip === ip && intents[i]!.port === p) return i;
    return -1;
  };
  for (const slice of slices) {
    if (slice.family !== family || slice.namespace !== service.namespace || slice.serviceName !== service.name) continue;
    for (const slicePort of slice.ports) {
      if (slicePort.name !== port.name || slicePort.protocol !== port.protocol) continue;
      for (const ep of slice.endpoints) {
        const at = find(ep.ip, slicePort.port);
        if (at >= 0) {
          if (usability(ep) > usability(sources[at]!)) {
            intents[at] = endpointIntent(ep, slicePort.port, nodeName);
            sources[at] = ep;
          }
          continue;
        }
        intents.push(endpointIntent(ep, slicePort.port, nodeName));
        sources.push(ep);
        if (index === null && intents.length > SCAN_LIMIT) index = new Map(intents.map((c, i) => [`${c.ip} ${c.port}`, i]));
        else index?.set(`${ep.ip} ${slicePort.port}`, intents.length - 1);
      }
    }
  }
  return { intents, sources };
}

function endpointIntent(ep: SliceEndpoint, port: number, nodeName: string): EndpointIntent {
  // An unset nodeName never makes an endpoint local, even when ours is unknown too.
  return { ip: ep.ip, port, local: nodeName !== '' && ep.nodeName === nodeName };
}
