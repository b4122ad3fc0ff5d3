/**
 * The two backends lower one intent; for every flow that touches a service address they must
 * give the same answer: endpoints with probabilities, masquerade, verdict.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RulesetIntent } from '../../src/compile/intent.js';
import { parseObjectsText } from '../../src/model/load.js';
import { compileObjects, traceIntent } from '../../src/pipeline.js';
import type { Packet } from '../../src/trace/types.js';
import { PROPERTY_CONFIG as config, rawCluster } from './cluster-arbitrary.js';

// Pod, external and node sources. The node's own primary IP takes nat OUTPUT, then filter
// INPUT when the destination stays on the node (nftables README, "The node's own flows").
const SOURCES = { 4: ['10.244.1.2', '192.168.50.20', '192.168.50.10'], 6: ['fd00:244:0:1::2', 'fd00:50::20', 'fd00:50::10'] };

function flows(intent: RulesetIntent): Packet[] {
  const packets: Packet[] = [];
  for (const sp of intent.services) {
    const dests = [sp.clusterIP, ...sp.externalIPs, ...sp.loadBalancerIPs].map((dst) => [dst, sp.port] as const);
    if (sp.nodePort) for (const ip of intent.nodeIPs) dests.push([ip, sp.nodePort]);
    for (const [dst, dport] of dests) {
      for (const src of SOURCES[intent.family]) packets.push({ src, dst, dport, protocol: sp.protocol });
    }
  }
  return packets;
}

function answer(intent: RulesetIntent, backend: 'iptables' | 'nftables', packet: Packet) {
  const trace = traceIntent(intent, backend, packet);
  if ('error' in trace) throw new Error(`${backend}: ${trace.error}`);
  return trace.outcomes
    .map((o) => ({ verdict: o.verdict, endpoint: o.endpoint, masquerade: o.masquerade, p: Math.round(o.probability * 1e6) / 1e6 }))
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

function expectSameAnswers(objects: unknown[]): void {
  for (const family of [4, 6] as const) {
    const { intent } = compileObjects(objects, config, family);
    for (const packet of flows(intent)) {
      expect(answer(intent, 'nftables', packet), JSON.stringify(packet)).toEqual(answer(intent, 'iptables', packet));
    }
  }
}

describe('iptables and nftables give the same trace', () => {
  it('for every service flow of the example cluster', () => {
    expectSameAnswers(parseObjectsText(readFileSync('examples/cluster.yaml', 'utf8'), 'cluster.yaml').objects);
  });

  it('for random clusters', () => {
    fc.assert(fc.property(rawCluster, (objects) => expectSameAnswers(objects)), { numRuns: 150 });
  });
});
