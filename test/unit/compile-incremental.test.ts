/** IncrementalCompiler: what it reuses, and that reuse never changes the result. */
import { describe, expect, it } from 'vitest';
import { lowerIptables } from '../../src/backend/iptables/lower.js';
import { renderIptablesRestore } from '../../src/backend/iptables/render.js';
import { compileRuleset, NO_SLICES, serviceSlices } from '../../src/compile/compile.js';
import { IncrementalCompiler } from '../../src/compile/incremental.js';
import type { CompileResult, ServicePortIntent } from '../../src/compile/intent.js';
import type { ClusterState, Service } from '../../src/model/types.js';
import { clusterState, config, endpoint, node, port, service, slice } from './compile-fixtures.js';

const cfg = config({ nodeIPs: ['192.168.0.10'] });

const svcA = service({ name: 'a', clusterIPs: ['172.30.0.1'], externalIPs: ['198.51.100.1'] });
const svcB = service({ name: 'b', clusterIPs: ['172.30.0.2'] });
// Claims a's external IP as its own, and loses it: a comes first in name order.
const svcC = service({ name: 'c', clusterIPs: ['172.30.0.3'], externalIPs: ['198.51.100.1'] });
const slices = [
  slice([endpoint('10.180.0.1')], { name: 'a-1', serviceName: 'a' }),
  slice([endpoint('10.180.0.2', { zoneHints: ['zone-a'] }), endpoint('10.180.0.3', { zoneHints: ['zone-b'] })], {
    name: 'b-1',
    serviceName: 'b',
  }),
];

/** `state` with `services` replaced (or added), everything else the very same objects. */
function withServices(state: ClusterState, ...services: Service[]): ClusterState {
  const map = new Map(state.services);
  for (const s of services) map.set(`${s.namespace}/${s.name}`, s);
  return { ...state, services: new Map([...map].sort(([a], [b]) => (a < b ? -1 : 1))) };
}

function withoutService(state: ClusterState, key: string): ClusterState {
  const map = new Map(state.services);
  map.delete(key);
  return { ...state, services: map };
}

/** What the store hands the compiler: everything (`changed` null), or the services named in `changed`. */
function compile(compiler: IncrementalCompiler, state: ClusterState, changed: string[] | null): CompileResult {
  if (changed === null) return compiler.rebuild(state);
  const services = new Map(
    changed.map((key) => {
      const service = state.services.get(key);
      return [key, { service, slices: service ? serviceSlices(state, service, key) : NO_SLICES }] as const;
    }),
  );
  return compiler.update({ node: state.node, serviceCIDRs: state.serviceCIDRs, services });
}

const byService = (ports: ServicePortIntent[], name: string) => ports.filter((sp) => sp.service === name);

describe('IncrementalCompiler', () => {
  const initial = clusterState([svcA, svcB, svcC], slices);

  it('keeps the port objects of services not changed, and recompiles the changed one', () => {
    const compiler = new IncrementalCompiler(cfg, 4);
    const first = compile(compiler, initial, null).intent.services;
    const svcB2 = { ...svcB, ports: [port({ port: 8080 })] };
    const next = withServices(initial, svcB2);
    const second = compile(compiler, next, ['ns1/b']);

    expect(second).toEqual(compileRuleset(next, cfg, 4));
    expect(byService(second.intent.services, 'a')[0]).toBe(byService(first, 'a')[0]);
    // c lost its external IP to a in both syncs: the same trimmed copy comes back.
    expect(byService(first, 'c')[0]?.externalIPs).toEqual([]);
    expect(byService(second.intent.services, 'c')[0]).toBe(byService(first, 'c')[0]);
    expect(byService(second.intent.services, 'b')[0]?.port).toBe(8080);
  });

  it('gives a conflict to the next claimant when the winner goes away', () => {
    const compiler = new IncrementalCompiler(cfg, 4);
    compile(compiler, initial, null);
    const next = withoutService(initial, 'ns1/a');
    const result = compile(compiler, next, ['ns1/a']);

    expect(result).toEqual(compileRuleset(next, cfg, 4));
    expect(byService(result.intent.services, 'c')[0]?.externalIPs).toEqual(['198.51.100.1']);
  });

  it('recompiles every service when the node changes, even if the caller names no service', () => {
    const compiler = new IncrementalCompiler(cfg, 4);
    compile(compiler, initial, null);
    // b's endpoints are hinted one per zone: moving this node to zone-b swaps b's endpoint.
    const next: ClusterState = { ...initial, node: node({ labels: { 'topology.kubernetes.io/zone': 'zone-b' } }) };
    const result = compile(compiler, next, []);
    expect(result).toEqual(compileRuleset(next, cfg, 4));
    expect(byService(result.intent.services, 'b')[0]?.clusterEndpoints.map((ep) => ep.ip)).toEqual(['10.180.0.3']);
  });

  it('trusts `changed`: a service it does not name keeps its ports (the store names every change)', () => {
    const compiler = new IncrementalCompiler(cfg, 4);
    const first = compile(compiler, initial, null).intent.services;
    const next = withServices(initial, { ...svcA, externalIPs: [] });
    const result = compile(compiler, next, []);
    expect(result.intent.services).toEqual(first);
    expect(compile(compiler, next, ['ns1/a'])).toEqual(compileRuleset(next, cfg, 4));
  });

  it('resolves a conflict that a partial sync brings in, and lets go of it when it leaves', () => {
    const compiler = new IncrementalCompiler(cfg, 4);
    const withoutA = withoutService(initial, 'ns1/a');
    compile(compiler, withoutA, null);
    const conflicting = compile(compiler, initial, ['ns1/a']);
    expect(conflicting).toEqual(compileRuleset(initial, cfg, 4));
    expect(byService(conflicting.intent.services, 'c')[0]?.externalIPs).toEqual([]);
    const resolved = compile(compiler, withoutA, ['ns1/a']);
    expect(resolved).toEqual(compileRuleset(withoutA, cfg, 4));
    expect(resolved.problems).toEqual([]);
  });
});

describe('lowering the intents of successive syncs', () => {
  const initial = clusterState([svcA, svcB, svcC], slices);
  const render = (intent: Parameters<typeof lowerIptables>[0]) => renderIptablesRestore(lowerIptables(intent));

  it('reuses the chains of unchanged service ports and renders what a fresh lowering renders', () => {
    const compiler = new IncrementalCompiler(cfg, 4);
    const first = lowerIptables(compile(compiler, initial, null).intent);
    const next = withServices(initial, { ...svcB, ports: [port({ port: 8080 })] });
    const intent = compile(compiler, next, ['ns1/b']).intent;
    const second = lowerIptables(intent);

    expect(second.serviceChains.get('ns1/a:http')?.[0]).toBe(first.serviceChains.get('ns1/a:http')?.[0]);
    expect(second.serviceChains.get('ns1/b:http')?.[0]).not.toBe(first.serviceChains.get('ns1/b:http')?.[0]);
    expect(renderIptablesRestore(second)).toBe(render(structuredClone(intent)));
  });

  it('lowers a service port again when the ruleset-wide context changes', () => {
    const intent = compile(new IncrementalCompiler(cfg, 4), initial, null).intent;
    render(intent);
    const masqueradeAll = { ...intent, masquerade: { ...intent.masquerade, all: true } };
    expect(render(masqueradeAll)).toBe(render(structuredClone(masqueradeAll)));
    expect(render(masqueradeAll)).not.toBe(render(intent));
  });
});
