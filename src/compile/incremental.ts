/**
 * The daemon's compiler: the same result as `compileRuleset`, doing work in proportion to
 * what changed. It keeps every service's port intents, the sorted list of all of them and
 * how many ports claim each address (conflicts.ts): a partial sync recompiles the changed
 * services, moves their ports in the sorted list, and resolves conflicts only among ports
 * that share a claimed address with another. Service ports of unchanged services are the
 * very objects of the previous result, so backends can skip them by identity.
 */
import _ from 'lodash';
import type { ClusterState, EndpointSlice, IPFamily, NodeInfo, Service } from '../model/types.js';
import { assembleRuleset, compareServicePorts, compileService, compileSetup, serviceSlices, type CompileSetup } from './compile.js';
import { claimedKeys, resolveConflicts, type TrimmedCopies } from './conflicts.js';
import type { CompileResult, ProxyConfig, ServicePortIntent } from './intent.js';

/** One service as it is now: `service` undefined when it is gone. */
export interface ServiceChange {
  service: Service | undefined;
  slices: readonly EndpointSlice[];
}

/** What a partial sync hands the compiler: the node and the services that changed, by `namespace/name`. */
export interface ClusterDelta {
  node: NodeInfo | null;
  serviceCIDRs: readonly string[];
  services: ReadonlyMap<string, ServiceChange>;
}

interface CompiledService {
  service: Service;
  slices: readonly EndpointSlice[];
  ports: ServicePortIntent[];
}

/** How many ports claim each address; the addresses claimed by more than one. */
class ClaimCounts {
  private readonly counts = new Map<string, number>();
  readonly contested = new Set<string>();

  add(sp: ServicePortIntent): void {
    for (const key of claimedKeys(sp)) {
      const count = (this.counts.get(key) ?? 0) + 1;
      this.counts.set(key, count);
      if (count > 1) this.contested.add(key);
    }
  }

  remove(sp: ServicePortIntent): void {
    for (const key of claimedKeys(sp)) {
      const count = (this.counts.get(key) ?? 0) - 1;
      if (count > 0) this.counts.set(key, count);
      else this.counts.delete(key);
      if (count <= 1) this.contested.delete(key);
    }
  }

  clear(): void {
    this.counts.clear();
    this.contested.clear();
  }
}

/** The first index whose port sorts after `sp` (ports that compare equal keep their order). */
function upperBound(sorted: readonly ServicePortIntent[], sp: ServicePortIntent): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareServicePorts(sorted[mid]!, sp) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function removeSorted(sorted: ServicePortIntent[], sp: ServicePortIntent): void {
  for (let i = upperBound(sorted, sp) - 1; i >= 0 && compareServicePorts(sorted[i]!, sp) === 0; i--) {
    if (sorted[i] === sp) {
      sorted.splice(i, 1);
      return;
    }
  }
  throw new Error(`kpx bug: service port ${sp.name}/${sp.protocol} is not in the sorted list`);
}

export class IncrementalCompiler {
  /** By `namespace/name`, as compiled with `setup`. */
  private readonly compiled = new Map<string, CompiledService>();
  /** Every port of `compiled`, sorted by compareServicePorts. */
  private sorted: ServicePortIntent[] = [];
  private readonly claims = new ClaimCounts();
  private setup: CompileSetup | null = null;
  private readonly trimmedCopies: TrimmedCopies = new WeakMap();

  constructor(
    private readonly config: ProxyConfig,
    private readonly family: IPFamily,
  ) {}

  /** Everything compiled afresh from `state`. */
  rebuild(state: ClusterState): CompileResult {
    this.setup = compileSetup(state.node, this.config, this.family);
    this.compiled.clear();
    for (const [key, service] of state.services) {
      const slices = serviceSlices(state, service, key);
      this.compiled.set(key, { service, slices, ports: compileService(service, slices, this.setup.ctx) });
    }
    this.resort();
    return this.assemble(state.serviceCIDRs);
  }

  /**
   * The previous result with `delta`'s services recompiled, trusting that no other service
   * changed (ClusterStore reports every change); every service when the node's facts that
   * shape a service (name, labels, primary IPs) differ from the previous call.
   */
  update(delta: ClusterDelta): CompileResult {
    const setup = compileSetup(delta.node, this.config, this.family);
    const contextChanged = this.setup !== null && !_.isEqual(this.setup.ctx, setup.ctx);
    this.setup = setup;
    if (contextChanged) {
      for (const [key, change] of delta.services) this.set(key, change);
      for (const [key, entry] of this.compiled) if (!delta.services.has(key)) entry.ports = compileService(entry.service, entry.slices, setup.ctx);
      this.resort();
    } else {
      for (const [key, change] of delta.services) {
        const before = this.compiled.get(key);
        for (const sp of before?.ports ?? []) {
          removeSorted(this.sorted, sp);
          this.claims.remove(sp);
        }
        const after = this.set(key, change);
        for (const sp of after?.ports ?? []) {
          this.sorted.splice(upperBound(this.sorted, sp), 0, sp);
          this.claims.add(sp);
        }
      }
    }
    return this.assemble(delta.serviceCIDRs);
  }

  /** Records `change` under `key`, compiled with the current setup. */
  private set(key: string, change: ServiceChange): CompiledService | undefined {
    if (change.service === undefined) {
      this.compiled.delete(key);
      return undefined;
    }
    const entry = { service: change.service, slices: change.slices, ports: compileService(change.service, change.slices, this.setup!.ctx) };
    this.compiled.set(key, entry);
    return entry;
  }

  /** `sorted` and `claims` from `compiled`, all at once. */
  private resort(): void {
    this.sorted = [...this.compiled.values()].flatMap((entry) => entry.ports).sort(compareServicePorts);
    this.claims.clear();
    for (const sp of this.sorted) this.claims.add(sp);
  }

  private assemble(serviceCIDRs: readonly string[]): CompileResult {
    // The intent gets its own array: the next update changes `sorted` in place.
    const resolved =
      this.claims.contested.size === 0
        ? { services: this.sorted.slice(), problems: [] }
        : resolveConflicts(this.sorted, this.trimmedCopies, this.claims.contested);
    return assembleRuleset(serviceCIDRs, this.config, this.setup!, resolved);
  }
}
