import { describe, expect, it, vi } from 'vitest';
import { IncrementalCompiler } from '../../src/compile/incremental.js';
import type { RulesetIntent } from '../../src/compile/intent.js';
import { ApplyError, type Dataplane, type SyncOptions, type SyncReport } from '../../src/dataplane/types.js';
import { ClusterStore } from '../../src/sync/cluster-store.js';
import { SyncEngine } from '../../src/sync/sync-engine.js';

class RecordingDataplane implements Dataplane {
  readonly mode = 'nftables' as const;
  calls: Array<{ full: boolean; services: string[] }> = [];
  failNext = false;
  /** What drifted() answers; `probes` counts the calls. */
  drift: string | null = null;
  probes = 0;
  constructor(readonly family: 4 | 6) {}
  async drifted(): Promise<string | null> {
    this.probes++;
    return this.drift;
  }
  async sync(intent: RulesetIntent, opts: SyncOptions): Promise<SyncReport> {
    this.calls.push({ full: opts.full, services: intent.services.map((s) => s.name) });
    if (this.failNext) {
      this.failNext = false;
      throw new ApplyError('refused', 'stub');
    }
    return { full: opts.full, lowerMs: 0, planMs: 0, renderMs: 0, applyMs: 0, batchBytes: 0, written: 0, deleted: 0, problems: [] };
  }
  lastApplied(): string | null {
    return null;
  }
  async cleanup(): Promise<void> {}
  close(): void {}
}

const config = { nodeName: 'node-a', nodeIPs: ['192.168.50.10'], clusterCIDRs: ['10.244.0.0/16'], masqueradeAll: false, nodePortAddresses: [] };

function service(name: string, ip: string) {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'default' },
    spec: { type: 'ClusterIP', clusterIP: ip, clusterIPs: [ip], ports: [{ port: 80, protocol: 'TCP' }] },
  };
}

describe('SyncEngine', () => {
  it('starts full, goes partial, and after a failure the next sync is full again', async () => {
    const store = new ClusterStore('node-a');
    const dp = new RecordingDataplane(4);
    const engine = new SyncEngine({ store, config, dataplanes: [dp] });
    store.apply({ type: 'ADDED', object: service('a', '10.96.0.1') });
    expect((await engine.sync()).full).toBe(true);
    store.apply({ type: 'ADDED', object: service('b', '10.96.0.2') });
    const partial = await engine.sync();
    expect(partial).toMatchObject({ full: false, ok: true, serviceChanges: 1 });
    dp.failNext = true;
    expect((await engine.sync()).ok).toBe(false);
    expect((await engine.sync()).full).toBe(true);
    expect(dp.calls.map((c) => c.full)).toEqual([true, false, false, true]);
    expect(dp.calls[1]?.services).toEqual(['default/a', 'default/b']);
  });

  it('after a compile that threw, compiles everything from the store, changes of the failed sync included', async () => {
    const store = new ClusterStore('node-a');
    const dp = new RecordingDataplane(4);
    const engine = new SyncEngine({ store, config, dataplanes: [dp] });
    store.apply({ type: 'ADDED', object: service('a', '10.96.0.1') });
    await engine.sync();
    store.apply({ type: 'ADDED', object: service('b', '10.96.0.2') });
    const update = vi.spyOn(IncrementalCompiler.prototype, 'update').mockImplementationOnce(() => {
      throw new Error('compiler bug');
    });
    try {
      await expect(engine.sync()).rejects.toThrow('compiler bug');
    } finally {
      update.mockRestore();
    }
    // b's change was taken by the failed sync; the rebuild still has it.
    expect(await engine.sync()).toMatchObject({ full: true, ok: true });
    expect(dp.calls.at(-1)).toEqual({ full: true, services: ['default/a', 'default/b'] });
    expect((await engine.sync()).full).toBe(false);
  });

  it('a Node change makes the sync full; a forced full sync is full', async () => {
    const store = new ClusterStore('node-a');
    const dp = new RecordingDataplane(4);
    const engine = new SyncEngine({ store, config, dataplanes: [dp] });
    await engine.sync();
    store.apply({ type: 'ADDED', object: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-a', labels: { zone: 'b' } } } });
    expect((await engine.sync()).full).toBe(true);
    expect((await engine.sync()).full).toBe(false);
    expect((await engine.sync({ full: true })).full).toBe(true);
  });

  it('a probe that finds drift makes the sync full; no probe, or no drift, stays partial', async () => {
    const store = new ClusterStore('node-a');
    const dp = new RecordingDataplane(4);
    const engine = new SyncEngine({ store, config, dataplanes: [dp] });
    await engine.sync();
    expect(dp.probes).toBe(0); // a full sync needs no probe
    expect(await engine.sync({ probe: true })).toMatchObject({ full: false, drift: null });
    expect(dp.probes).toBe(1);
    dp.drift = 'table ip kpx is gone';
    expect((await engine.sync()).full).toBe(false);
    expect(dp.probes).toBe(1);
    expect(await engine.sync({ probe: true })).toMatchObject({ full: true, drift: 'IPv4: table ip kpx is gone' });
  });

  it('hands unchanged service ports to the dataplane as the same objects', async () => {
    const store = new ClusterStore('node-a');
    const intents: RulesetIntent[] = [];
    const dp = new RecordingDataplane(4);
    const sync = dp.sync.bind(dp);
    dp.sync = (intent, opts) => {
      intents.push(intent);
      return sync(intent, opts);
    };
    const engine = new SyncEngine({ store, config, dataplanes: [dp] });
    store.apply({ type: 'ADDED', object: service('a', '10.96.0.1') });
    store.apply({ type: 'ADDED', object: service('b', '10.96.0.2') });
    await engine.sync();
    store.apply({ type: 'MODIFIED', object: service('b', '10.96.0.3') });
    await engine.sync();
    const [first, second] = intents.map((i) => new Map(i.services.map((sp) => [sp.name, sp])));
    expect(second!.get('default/a')).toBe(first!.get('default/a'));
    expect(second!.get('default/b')).not.toBe(first!.get('default/b'));
    expect(second!.get('default/b')?.clusterIP).toBe('10.96.0.3');
  });
});
