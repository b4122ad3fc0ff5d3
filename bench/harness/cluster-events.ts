/**
 * The generated cluster as watch events, and the changes each scenario makes to it. Every
 * change is new (fresh pod IPs), so repeated runs of a scenario each change something.
 */
import type { StoreEvent } from '../../src/sync/cluster-store.js';
import { DEFAULT_NODE_NAME, generateService, nodeObject, serviceRandom } from '../generate.js';

const NODES = 10;

interface Slice {
  endpoints: Array<{ conditions?: { ready?: boolean } }>;
}

export class SyntheticCluster {
  private readonly slices = new Map<number, Slice>();
  private readonly versions = new Map<number, number>();
  private nextService: number;

  constructor(
    readonly services: number,
    readonly endpoints: number,
    private readonly seed: number,
    private readonly nodeIP: string,
  ) {
    this.nextService = services;
  }

  /** The Node, then every Service and its EndpointSlice, as the informers' initial list. */
  initialEvents(): StoreEvent[] {
    const events: StoreEvent[] = [{ type: 'ADDED', object: nodeObject(DEFAULT_NODE_NAME, this.nodeIP) }];
    for (let i = 0; i < this.services; i++) events.push(...this.added(i));
    return events;
  }

  /** A new service with its endpoints. */
  addService(): StoreEvent[] {
    return this.added(this.nextService++);
  }

  /** The first service from `i` on (wrapping around) with a ready endpoint, whose changes reach the rules. */
  readyServiceFrom(i: number): number {
    for (let k = 0; k < this.services; k++) {
      const candidate = (i + k) % this.services;
      if (this.slices.get(candidate)?.endpoints[0]?.conditions?.ready === true) return candidate;
    }
    throw new Error('no service has a ready endpoint');
  }

  /** One endpoint of service `i` replaced by a new pod. */
  replaceOneEndpoint(i: number): StoreEvent {
    const current = this.slices.get(i);
    if (!current) throw new Error(`service ${i} was not generated`);
    const [, fresh] = this.generate(i, this.bumpVersion(i));
    const [replacement] = (fresh as Slice).endpoints;
    if (!replacement) throw new Error(`service ${i} has no endpoints to replace`);
    return this.modified(i, { ...current, endpoints: [replacement, ...current.endpoints.slice(1)] });
  }

  /** Every endpoint of service `i` replaced (a rollout). */
  rollout(i: number): StoreEvent {
    const [, fresh] = this.generate(i, this.bumpVersion(i));
    return this.modified(i, fresh as Slice);
  }

  private added(i: number): StoreEvent[] {
    const [service, slice] = this.generate(i, 0);
    this.slices.set(i, slice as Slice);
    return [
      { type: 'ADDED', object: service },
      { type: 'ADDED', object: slice },
    ];
  }

  private modified(i: number, slice: Slice): StoreEvent {
    this.slices.set(i, slice);
    return { type: 'MODIFIED', object: slice };
  }

  private bumpVersion(i: number): number {
    const version = (this.versions.get(i) ?? 0) + 1;
    this.versions.set(i, version);
    return version;
  }

  private generate(i: number, version: number): [unknown, unknown] {
    return generateService(i, this.endpoints, NODES, serviceRandom(this.seed, i), version);
  }
}
