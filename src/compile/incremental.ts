/**
 * The daemon's compiler: the same result as `compileRuleset`, recompiling only the services
 * that changed since the previous call. Service ports of the others are the very objects of
 * the previous result, so backends can skip them by identity. Conflicts between services
 * (see conflicts.ts) are resolved over all ports on every call: a change in one service can
 * change which other service keeps an address.
 */
import _ from 'lodash';
import type { ClusterState, EndpointSlice, IPFamily, Service } from '../model/types.js';
import { assembleRuleset, compileService, compileSetup, serviceSlices } from './compile.js';
import type { TrimmedCopies } from './conflicts.js';
import type { CompileContext } from './context.js';
import type { CompileResult, ProxyConfig, ServicePortIntent } from './intent.js';

interface CompiledService {
  service: Service;
  slices: readonly EndpointSlice[];
  ports: ServicePortIntent[];
}

export class IncrementalCompiler {
  /** By `namespace/name`, as compiled in `context`. */
  private readonly compiled = new Map<string, CompiledService>();
  private context: CompileContext | null = null;
  private readonly trimmedCopies: TrimmedCopies = new WeakMap();

  constructor(
    private readonly config: ProxyConfig,
    private readonly family: IPFamily,
  ) {}

  /**
   * Full intent for `state`. Recompiles only services whose `namespace/name` is in `changed`
   * (null = everything: first call, node or config change). Service ports of unchanged
   * services keep their object identity across calls (backends' planners rely on it).
   *
   * Also recompiled, whatever `changed` says: every service when the node's facts that
   * shape a service (name, labels, primary IPs) differ from the previous call, and a
   * service whose Service or slice list is not the object compiled last time.
   */
  compile(state: ClusterState, changed: ReadonlySet<string> | null): CompileResult {
    const setup = compileSetup(state, this.config, this.family);
    if (changed === null || !_.isEqual(this.context, setup.ctx)) this.compiled.clear();
    this.context = setup.ctx;

    const ports: ServicePortIntent[] = [];
    for (const [key, service] of state.services) {
      const slices = serviceSlices(state, service, key);
      let entry = this.compiled.get(key);
      if (entry === undefined || changed?.has(key) || entry.service !== service || entry.slices !== slices) {
        entry = { service, slices, ports: compileService(service, slices, setup.ctx) };
        this.compiled.set(key, entry);
      }
      for (const port of entry.ports) ports.push(port);
    }
    if (this.compiled.size > state.services.size) {
      for (const key of this.compiled.keys()) if (!state.services.has(key)) this.compiled.delete(key);
    }
    return assembleRuleset(state, this.config, setup, ports, this.trimmedCopies);
  }
}
