/**
 * The nftables dataplane against the real kernel (nft 1.0.6), in scratch namespaces
 * `kpxnfd-…` deleted afterwards: full and partial syncs load, and the live table always
 * equals a fresh full render of the same intent loaded into an empty namespace; a full
 * sync repairs drift; a refused batch leaves the previous table and makes the next sync
 * full; other tables survive syncs and cleanup.
 */
import _ from 'lodash';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RulesetIntent, ServicePortIntent } from '../../src/compile/intent.js';
import { lowerNftables } from '../../src/backend/nftables/lower.js';
import { renderNftText } from '../../src/backend/nftables/render.js';
import { exec, spawnTool, type Exec, type Spawn } from '../../src/dataplane/exec.js';
import { cleanupNftables, createNftablesDataplane } from '../../src/dataplane/nftables-dataplane.js';
import { ApplyError, type Dataplane } from '../../src/dataplane/types.js';
import { ep, intent, kitchenSink, svc } from '../unit/nft-fixtures.js';

const LIVE = `kpxnfd-live-${process.pid}`;
const FRESH = `kpxnfd-fresh-${process.pid}`;

const inNs =
  (ns: string): Exec =>
  (argv, o) =>
    exec(['ip', 'netns', 'exec', ns, ...argv], o);
const live = inNs(LIVE);
const liveSpawn: Spawn = (argv, o) => spawnTool(['ip', 'netns', 'exec', LIVE, ...argv], o);
const freshNs = inNs(FRESH);

async function nft(run: Exec, args: string[], stdin?: string): Promise<string> {
  const result = await run(['nft', ...args], stdin === undefined ? {} : { stdin });
  if (result.code !== 0) throw new Error(`nft ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

/**
 * A table's JSON listing without handles, elements sorted: insertion history does not show.
 * `ignoreSizes`: without the sets' sizes too (a partial sync keeps a size a fresh render would choose anew).
 */
async function listing(run: Exec, family: 'ip' | 'ip6', ignoreSizes = false): Promise<unknown> {
  const items = (JSON.parse(await nft(run, ['-j', 'list', 'table', family, 'kpx'])) as { nftables: Array<Record<string, Record<string, unknown>>> }).nftables;
  const chains: Record<string, unknown[]> = {};
  const sets: Record<string, unknown> = {};
  for (const item of items) {
    const [kind, body] = Object.entries(item)[0] as [string, Record<string, unknown>];
    const clean = _.omit(body, ignoreSizes ? ['handle', 'size'] : ['handle']);
    if (kind === 'chain') chains[body.name as string] ??= [];
    if (kind === 'rule') (chains[body.chain as string] ??= []).push(clean.expr);
    if (kind === 'set' || kind === 'map') {
      const elem = ((clean.elem as unknown[]) ?? []).map((e) => JSON.stringify(e)).sort();
      sets[body.name as string] = { ...clean, elem };
    }
  }
  return { chains, sets };
}

/** What the same intent looks like when its full render is loaded into an empty namespace. */
async function expected(target: RulesetIntent, ignoreSizes = false): Promise<unknown> {
  const family = target.family === 4 ? 'ip' : 'ip6';
  await nft(freshNs, ['flush', 'ruleset']);
  await nft(freshNs, ['-f', '-'], renderNftText(lowerNftables(target)));
  return listing(freshNs, family, ignoreSizes);
}

async function expectLive(target: RulesetIntent, ignoreSizes = false): Promise<void> {
  expect(await listing(live, target.family === 4 ? 'ip' : 'ip6', ignoreSizes)).toEqual(await expected(target, ignoreSizes));
}

/** `n` ClusterIP services of two endpoints each: 2n hairpin pairs, n elements in each dispatch map. */
function manyServices(n: number): RulesetIntent {
  const services = Array.from({ length: n }, (_unused, i) => {
    const pod = (k: number) => ep(`10.180.${i >> 7}.${(i & 127) * 2 + k}`);
    return svc({ service: `s${String(i).padStart(4, '0')}`, clusterIP: `172.30.${i >> 8}.${i & 255}`, endpoints: [pod(0), pod(1)] });
  });
  return intent(services);
}

/** The `size` nft lists for a set or map of the live table, and how many elements it holds. */
async function liveSet(kind: 'set' | 'map', name: string): Promise<{ size: number | undefined; elements: number }> {
  type Listed = Partial<Record<'set' | 'map', { size?: number; elem?: unknown[] }>>;
  const items = (JSON.parse(await nft(live, ['-j', 'list', kind, 'ip', 'kpx', name])) as { nftables: Listed[] }).nftables;
  const set = items.find((item) => item[kind] !== undefined)?.[kind];
  return { size: set?.size, elements: set?.elem?.length ?? 0 };
}

/** kitchenSink plus changes a daemon sees: endpoints move, services come and go. */
function evolve(base: RulesetIntent, step: number): RulesetIntent {
  const v6 = base.family === 6;
  const addr = (v4: string, v6addr: string) => (v6 ? v6addr : v4);
  const services: ServicePortIntent[] = [...base.services];
  if (step >= 1) {
    // One endpoint of the affinity service replaced; its other affinity set must stay.
    const i = services.findIndex((s) => s.service === 'sticky');
    services[i] = svc({
      service: 'sticky',
      clusterIP: addr('172.30.0.46', 'fd00:172:30::46'),
      nodePort: 3005,
      affinity: 10800,
      endpoints: [ep(addr('10.180.0.9', 'fd00:10:180::9')), ep(addr('10.180.0.99', 'fd00:10:180::99'), 80, true)],
    });
  }
  if (step >= 2) services.splice(services.findIndex((s) => s.service === 'lb'), 1);
  if (step >= 3) {
    services.push(svc({ service: 'zz-new', clusterIP: addr('172.30.0.60', 'fd00:172:30::60'), endpoints: [ep(addr('10.180.0.60', 'fd00:10:180::60'))] }));
  }
  if (step >= 4) services.splice(services.findIndex((s) => s.service === 'sticky'), 1);
  return { ...base, services };
}

describe('nftables dataplane (real kernel)', () => {
  beforeAll(async () => {
    for (const ns of [LIVE, FRESH]) {
      const added = await exec(['ip', 'netns', 'add', ns]);
      if (added.code !== 0) throw new Error(`ip netns add ${ns}: ${added.stderr}`);
    }
  });
  afterAll(async () => {
    for (const ns of [LIVE, FRESH]) await exec(['ip', 'netns', 'delete', ns]);
  });

  for (const [family, via] of [[4, 'one-shot nft'], [6, 'one-shot nft'], [4, 'the nft -i session'], [6, 'the nft -i session']] as const) {
    it(`full, then partial syncs (IPv${family}, partial batches through ${via}) leave what a fresh full render gives`, async () => {
      const spawn = via === 'one-shot nft' ? undefined : liveSpawn;
      const dp = await createNftablesDataplane({ exec: live, spawn, family });
      try {
        const base = kitchenSink(family);
        const first = await dp.sync(base, { full: false });
        expect(first.full).toBe(true);
        await expectLive(base);
        for (let step = 1; step <= 4; step++) {
          const target = evolve(base, step);
          const report = await dp.sync(target, { full: false });
          expect(report.full).toBe(false);
          expect(report.written + report.deleted).toBeGreaterThan(0);
          await expectLive(target);
        }
        const last = evolve(base, 4);
        expect((await dp.sync(last, { full: false })).batchBytes).toBe(0);
        expect(dp.lastApplied()).toBe(renderNftText(lowerNftables(last)));
      } finally {
        dp.close();
        await dp.cleanup();
      }
    });
  }

  it("loads full batches with glibc huge-page malloc, partial ones with kpx's own environment", async () => {
    const tunables: Array<string | undefined> = [];
    const recording: Exec = (argv, o) => {
      if (argv.includes('-f')) tunables.push(o?.env?.GLIBC_TUNABLES);
      return live(argv, o);
    };
    const dp = await createNftablesDataplane({ exec: recording, family: 4 });
    try {
      const base = kitchenSink(4);
      await dp.sync(base, { full: false });
      await dp.sync(evolve(base, 1), { full: false });
      await dp.sync(evolve(base, 1), { full: true });
      await expectLive(evolve(base, 1));
      const hugetlb = /(^|:)glibc\.malloc\.hugetlb=1$/;
      expect(tunables.map((t) => t !== undefined && hugetlb.test(t))).toEqual([true, false, true]);
    } finally {
      dp.close();
      await dp.cleanup();
    }
  });

  it('an endpoint of two ports: the cold batch lists its hairpin pair twice, the kernel keeps it once until its last port goes', async () => {
    const dp = await createNftablesDataplane({ exec: live, spawn: liveSpawn, family: 4 });
    const shared = ep('10.180.0.1');
    const tcp = svc({ clusterIP: '172.30.0.1', protocol: 'tcp', endpoints: [shared, ep('10.180.0.2')] });
    const udp = svc({ clusterIP: '172.30.0.1', protocol: 'udp', endpoints: [shared] });
    const pairs = async () => await nft(live, ['list', 'set', 'ip', 'kpx', 'hairpin-endpoints']);
    try {
      for (const target of [intent([tcp, udp]), intent([tcp]), intent([udp]), intent([])]) {
        await dp.sync(target, { full: false });
        await expectLive(target);
      }
      await dp.sync(intent([tcp, udp]), { full: false });
      await dp.sync(intent([udp]), { full: false });
      expect(await pairs()).toContain('10.180.0.1 . 10.180.0.1');
      expect(await pairs()).not.toContain('10.180.0.2');
    } finally {
      dp.close();
      await dp.cleanup();
    }
  });

  it('sizes big sets on a full sync, keeps the size while it holds, and declares a set again, larger, when a partial sync outgrows it', async () => {
    const dp = await createNftablesDataplane({ exec: live, spawn: liveSpawn, family: 4 });
    try {
      // 700 services: 1,400 hairpin pairs (sized: 2,100 rounded up to 3,072), 700 dispatch elements (unsized).
      await dp.sync(manyServices(700), { full: false });
      await expectLive(manyServices(700));
      expect(await liveSet('set', 'hairpin-endpoints')).toEqual({ size: 3072, elements: 1400 });
      expect((await liveSet('map', 'service-ips')).size).toBeUndefined();

      // 2,200 pairs still fit: nothing declared again; service-ips grew past 1,024 without a cap.
      const kept = await dp.sync(manyServices(1100), { full: false });
      expect(kept.full).toBe(false);
      expect(kept.deleted).toBe(0);
      await expectLive(manyServices(1100), true);
      expect(await liveSet('set', 'hairpin-endpoints')).toEqual({ size: 3072, elements: 2200 });
      expect(await liveSet('map', 'service-ips')).toEqual({ size: undefined, elements: 1100 });

      // 3,200 pairs do not: the kernel would refuse the 3,073rd (ENFILE) in a set of size 3,072.
      const grown = await dp.sync(manyServices(1600), { full: false });
      expect(grown.full).toBe(false);
      await expectLive(manyServices(1600), true);
      expect(await liveSet('set', 'hairpin-endpoints')).toEqual({ size: 5120, elements: 3200 });

      // A full sync sizes every set afresh, as a fresh render does.
      await dp.sync(manyServices(1600), { full: true });
      await expectLive(manyServices(1600));
      expect(await liveSet('map', 'service-ips')).toEqual({ size: 3072, elements: 1600 });

      // Sizes that change in a full sync are declared again, even if the table went behind our back.
      await nft(live, ['delete', 'table', 'ip', 'kpx']);
      const repaired = await dp.sync(manyServices(900), { full: true });
      expect(repaired.deleted).toBeGreaterThan(0);
      await expectLive(manyServices(900));
      expect(await liveSet('set', 'hairpin-endpoints')).toEqual({ size: 3072, elements: 1800 });
      expect((await liveSet('map', 'service-ips')).size).toBeUndefined();
    } finally {
      dp.close();
      await dp.cleanup();
    }
  });

  it('a full sync repairs a deleted table, a flushed chain and removed elements, and keeps affinity entries', async () => {
    const dp = await createNftablesDataplane({ exec: live, family: 4 });
    const target = kitchenSink(4);
    try {
      await dp.sync(target, { full: true });
      await nft(live, ['delete', 'table', 'ip', 'kpx']);
      await dp.sync(target, { full: true });
      await expectLive(target);

      const affinitySet = 'affinity';
      await nft(live, ['add', 'element', 'ip', 'kpx', affinitySet, '{ 203.0.113.77 . 172.30.0.46 . 0x00060050 . 10.180.0.9 . 80 timeout 1h }']);
      await nft(live, ['flush', 'chain', 'ip', 'kpx', 'services']);
      await nft(live, ['flush', 'map', 'ip', 'kpx', 'service-ips']);
      await nft(live, ['add', 'element', 'ip', 'kpx', 'cluster-ips', '{ 172.30.9.9 }']);
      const repaired = await dp.sync(target, { full: true });
      expect(repaired.full).toBe(true);
      expect(await nft(live, ['list', 'set', 'ip', 'kpx', affinitySet])).toContain('203.0.113.77');
      await nft(live, ['flush', 'set', 'ip', 'kpx', affinitySet]);
      await expectLive(target);
    } finally {
      await dp.cleanup();
    }
  });

  it('a refused batch leaves the previous table, throws ApplyError, and the next sync is full', async () => {
    let sabotage = false;
    const flaky: Exec = (argv, o) =>
      live(argv, sabotage && o?.stdin ? { ...o, stdin: `${o.stdin}add rule ip kpx no-such-chain accept\n` } : o);
    const dp = await createNftablesDataplane({ exec: flaky, family: 4 });
    const base = kitchenSink(4);
    try {
      await dp.sync(base, { full: false });
      const before = await listing(live, 'ip');
      sabotage = true;
      const error = await dp.sync(evolve(base, 2), { full: false }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ApplyError);
      expect((error as ApplyError).stderr).toContain('no-such-chain');
      expect(await listing(live, 'ip')).toEqual(before);
      expect(dp.lastApplied()).toBe(renderNftText(lowerNftables(base)));
      sabotage = false;
      const next = await dp.sync(evolve(base, 2), { full: false });
      expect(next.full).toBe(true);
      await expectLive(evolve(base, 2));
    } finally {
      await dp.cleanup();
    }
  });

  it('other tables survive syncs and cleanup; cleanup removes kpx and kube-proxy tables of its family only', async () => {
    const others = [
      'add table ip other',
      'add chain ip other c { type nat hook prerouting priority -50 ; }',
      'add rule ip other c tcp dport 9999 accept',
      'add table inet kpx',
      'add table ip6 kube-proxy',
      'add table ip kube-proxy',
      'add chain ip kube-proxy services',
    ].join('\n');
    await nft(live, ['-f', '-'], `${others}\n`);
    const dp: Dataplane = await createNftablesDataplane({ exec: live, family: 4 });
    await dp.sync(kitchenSink(4), { full: true });
    await dp.sync(intent([svc({ endpoints: [ep('10.180.0.1')] })]), { full: false });
    await dp.sync(intent([]), { full: true });
    const otherRules = await nft(live, ['list', 'table', 'ip', 'other']);
    expect(otherRules).toContain('tcp dport 9999 accept');
    await dp.cleanup();
    const tables = (await nft(live, ['list', 'tables'])).trim().split('\n').sort();
    expect(tables).toEqual(['table inet kpx', 'table ip other', 'table ip6 kube-proxy']);
    await cleanupNftables(live, 6);
    expect((await nft(live, ['list', 'tables'])).trim().split('\n').sort()).toEqual(['table inet kpx', 'table ip other']);
    await cleanupNftables(live, 6); // nothing left of ours: a no-op
    await nft(live, ['flush', 'ruleset']);
  });
});
