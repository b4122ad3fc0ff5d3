/**
 * Real-kernel test harness. Typical use in a vitest file (root only):
 *
 *   const topo = await createTopology('ipt');            // afterAll: await topo.destroy()
 *   await topo.run(topo.node, ['iptables-restore'], rendered);
 *   await startEchoServers(topo, topo.remote, [{ ip: remoteIPv4(0), port: 8080, protocol: 'tcp' }]);
 *   const results = await probe(topo, topo.client, { dst: '10.96.0.10', port: 80, protocol: 'tcp', count: 200 });
 *   expect(outcomes(results)).toEqual(['10.244.2.2:8080']);
 */
export * from './addresses.js';
export { startEchoServers, type EchoServers, type Listen, type Protocol } from './echo.js';
export { isHarnessNamespace, listNamespaces, sweepStaleNamespaces } from './names.js';
export { countByEndpoint, outcomes, probe, type ProbeOptions, type ProbeResult } from './probe.js';
export { createTopology, type Topology, type TopologyOptions } from './topology.js';
