/**
 * Joining a service port to its EndpointSlices: which slice endpoints serve which port.
 */
import type { EndpointSlice, IPFamily, Service, ServicePortSpec, SliceEndpoint } from '../model/types.js';
import type { EndpointIntent } from './intent.js';
import { endpointOrder } from './order.js';

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

/**
 * The endpoints of `port`: every endpoint of the service's slices of `family` (a slice's
 * addresses are all of its family, see EndpointSlice), on each slice port with the same
 * name and protocol, at that slice port's number; sorted by compareEndpoints. The same
 * `ip:port` listed by several slices (as during a slice rewrite) counts once: the most
 * usable copy wins, the first one (in slice order) on a tie.
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
  for (const slice of slices) {
    if (slice.family !== family || slice.namespace !== service.namespace || slice.serviceName !== service.name) continue;
    for (const slicePort of slice.ports) {
      if (slicePort.name !== port.name || slicePort.protocol !== port.protocol) continue;
      for (const ep of slice.endpoints) {
        intents.push(endpointIntent(ep, slicePort.port, nodeName));
        sources.push(ep);
      }
    }
  }
  return uniqueSorted({ intents, sources });
}

function endpointIntent(ep: SliceEndpoint, port: number, nodeName: string): EndpointIntent {
  // An unset nodeName never makes an endpoint local, even when ours is unknown too.
  return { ip: ep.ip, port, local: nodeName !== '' && ep.nodeName === nodeName };
}

/** Whether the candidates at `i` and `j` are the same `ip:port` (addresses are canonical). */
function sameAddress(intents: readonly EndpointIntent[], i: number, j: number): boolean {
  return intents[i]!.ip === intents[j]!.ip && intents[i]!.port === intents[j]!.port;
}

/**
 * `listed` sorted, each `ip:port` once: of its copies the most usable, the first listed on
 * a tie (the sort is stable, so copies stay in listing order). Sorting first makes copies
 * neighbours: one comparison per endpoint finds them, whatever the list's length.
 */
function uniqueSorted(listed: CandidateEndpoints): CandidateEndpoints {
  const order = endpointOrder(listed.intents);
  const n = listed.intents.length;
  if (order === null) {
    let repeats = false;
    for (let i = 1; i < n && !repeats; i++) repeats = sameAddress(listed.intents, i - 1, i);
    if (!repeats) return listed;
  }
  const intents: EndpointIntent[] = [];
  const sources: SliceEndpoint[] = [];
  let last = -1;
  for (let k = 0; k < n; k++) {
    const i = order === null ? k : order[k]!;
    if (last >= 0 && sameAddress(listed.intents, last, i)) {
      if (usability(listed.sources[i]!) > usability(sources[sources.length - 1]!)) {
        intents[intents.length - 1] = listed.intents[i]!;
        sources[sources.length - 1] = listed.sources[i]!;
        last = i;
      }
      continue;
    }
    intents.push(listed.intents[i]!);
    sources.push(listed.sources[i]!);
    last = i;
  }
  return { intents, sources };
}
