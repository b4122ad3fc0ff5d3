/**
 * The iptables dataplane against real iptables-restore/-save (1.8.9) in a scratch network
 * namespace per test (`kpxipd-…`), for both flavours: partial and full syncs, chunked full
 * syncs, coexistence with other agents' rules, drift repair, failures and cleanup.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { lowerIptables } from '../../src/backend/iptables/lower.js';
import { allChains } from '../../src/backend/iptables/ruleset.js';
import { exec, type Exec } from '../../src/dataplane/exec.js';
import { cleanupIptables, createIptablesDataplane } from '../../src/dataplane/iptables-dataplane.js';
import type { IptablesFlavour } from '../../src/dataplane/iptables-flavour.js';
import { ApplyError, type Dataplane } from '../../src/dataplane/types.js';
import { ep, rulesetIntent, servicePort } from '../unit/iptables-fixtures.js';

const namespaces: string[] = [];

afterEach(async () => {
  for (const ns of namespaces.splice(0)) await exec(['ip', 'netns', 'del', ns]);
});

async function scratch(): Promise<{ ns: string; run: Exec }> {
  const ns = `kpxipd-${process.pid}-${randomBytes(3).toString('hex')}`;
  const created = await exec(['ip', 'netns', 'add', ns]);
  if (created.code !== 0) throw new Error(created.stderr);
  namespaces.push(ns);
  return { ns, run: (argv, opts) => exec(['ip', 'netns', 'exec', ns, ...argv], opts) };
}

function tools(flavour: IptablesFlavour) {
  return { cmd: `iptables-${flavour}`, save: `iptables-${flavour}-save`, restore: `iptables-${flavour}-restore` };
}

async function must(run: Exec, argv: string[], stdin?: string): Promise<string> {
  const result = await run(argv, stdin === undefined ? {} : { stdin });
  if (result.code !== 0) throw new Error(`${argv.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

/** Chains and rules per table as iptables-save prints them, without counters and comments lines. */
async function saved(run: Exec, flavour: IptablesFlavour, table: 'nat' | 'filter' | 'mangle') {
  const text = await must(run, [tools(flavour).save, '-t', table]);
  const lines = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
  return {
    chains: lines.filter((l) => l.startsWith(':')).map((l) => l.slice(1).split(' ')[0]!).sort(),
    rules: lines.filter((l) => l.startsWith('-A ')),
  };
}

const svc = (name: string, ip: string, endpoints: string[], extra: Parameters<typeof servicePort>[0] = {}) =>
  servicePort({ service: name, clusterIP: ip, clusterEndpoints: endpoints.map((e) => ep(e)), ...extra });

const A = svc('a', '172.30.0.41', ['10.180.0.1', '10.180.0.2']);
const B = svc('b', '172.30.0.42', ['10.180.1.1']);
const C = svc('c', '172.30.0.43', ['10.180.2.1', '10.180.2.2'], { nodePort: 30080, affinityTimeoutSeconds: 10800 });
const intentOf = (...services: ReturnType<typeof svc>[]) => rulesetIntent(services);

function expectedChains(services: ReturnType<typeof svc>[], table: 'nat' | 'filter', builtins: string[]): string[] {
  const ours = allChains(lowerIptables(intentOf(...services))).filter((c) => c.table === table).map((c) => c.name);
  return [...builtins, ...ours].sort();
}
const NAT_BUILTINS = ['INPUT', 'OUTPUT', 'POSTROUTING', 'PREROUTING'];
const FILTER_BUILTINS = ['FORWARD', 'INPUT', 'OUTPUT'];

/** Another agent's chains and rules, in nat and filter, appended before kpx starts. */
const FOREIGN = [
  '*nat',
  ':CNI-HOSTPORT-DNAT - [0:0]',
  '-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT',
  '-A CNI-HOSTPORT-DNAT -p tcp --dport 8080 -j DNAT --to-destination 10.99.0.1:80',
  'COMMIT',
  '*filter',
  ':DOCKER-USER - [0:0]',
  '-A FORWARD -j DOCKER-USER',
  '-A DOCKER-USER -s 192.0.2.0/24 -j DROP',
  'COMMIT',
  '',
].join('\n');

async function foreignIntact(run: Exec, flavour: IptablesFlavour): Promise<void> {
  const nat = await saved(run, flavour, 'nat');
  const filter = await saved(run, flavour, 'filter');
  expect(nat.chains).toContain('CNI-HOSTPORT-DNAT');
  expect(nat.rules).toContain('-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT');
  expect(nat.rules).toContain('-A CNI-HOSTPORT-DNAT -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.99.0.1:80');
  expect(filter.chains).toContain('DOCKER-USER');
  expect(filter.rules).toContain('-A FORWARD -j DOCKER-USER');
  expect(filter.rules).toContain('-A DOCKER-USER -s 192.0.2.0/24 -j DROP');
}

const jumpCount = (rules: string[], chain: string, target: string) =>
  rules.filter((r) => r.startsWith(`-A ${chain} `) && r.endsWith(`-j ${target}`)).length;

describe.each<IptablesFlavour>(['nft', 'legacy'])('iptables dataplane (%s)', (flavour) => {
  const make = (run: Exec, maxChainsPerBatch?: number | null): Promise<Dataplane> =>
    createIptablesDataplane({ exec: run, family: 4, flavour, ...(maxChainsPerBatch === undefined ? {} : { maxChainsPerBatch }) });

  it('full then partial syncs: the kernel holds exactly the desired chains, others’ rules survive', async () => {
    const { run } = await scratch();
    await must(run, [tools(flavour).restore, '--noflush'], FOREIGN);
    const dp = await make(run);

    const first = await dp.sync(intentOf(A, B, C), { full: false });
    expect(first.full).toBe(true);
    expect((await saved(run, flavour, 'nat')).chains).toEqual([...expectedChains([A, B, C], 'nat', NAT_BUILTINS), 'CNI-HOSTPORT-DNAT'].sort());
    expect((await saved(run, flavour, 'filter')).chains).toEqual([...expectedChains([A, B, C], 'filter', FILTER_BUILTINS), 'DOCKER-USER'].sort());

    // B's endpoint changes, C goes away: B's chains and the base chains that dispatched to C
    // are written, C's chains deleted.
    const B2 = svc('b', '172.30.0.42', ['10.180.1.5']);
    const second = await dp.sync(intentOf(A, B2), { full: false });
    expect(second.full).toBe(false);
    const bChains = lowerIptables(intentOf(B2)).serviceChains.get(B2.name)!.length;
    const rulesBefore = new Map(lowerIptables(intentOf(A, B, C)).baseChains.map((ch) => [`${ch.table} ${ch.name}`, JSON.stringify(ch.rules)]));
    const baseAfter = lowerIptables(intentOf(A, B2)).baseChains;
    const changedBase = baseAfter.filter((ch) => rulesBefore.get(`${ch.table} ${ch.name}`) !== JSON.stringify(ch.rules)).length;
    expect(changedBase).toBeGreaterThan(0);
    expect(changedBase).toBeLessThan(baseAfter.length);
    expect(second.written).toBe(changedBase + bChains);
    expect(second.deleted).toBe(lowerIptables(intentOf(C)).serviceChains.get(C.name)!.length + 1); // + B's old SEP
    const nat = await saved(run, flavour, 'nat');
    expect(nat.chains).toEqual([...expectedChains([A, B2], 'nat', NAT_BUILTINS), 'CNI-HOSTPORT-DNAT'].sort());
    expect(nat.rules.some((r) => r.includes('10.180.1.5:80'))).toBe(true);
    expect(nat.rules.some((r) => r.includes('10.180.1.1:80'))).toBe(false);

    // Only B's endpoint changes again: no base chain is written, and the kernel follows.
    const B3 = svc('b', '172.30.0.42', ['10.180.1.6']);
    const endpointOnly = await dp.sync(intentOf(A, B3), { full: false });
    expect(endpointOnly.written).toBe(bChains);
    expect(endpointOnly.deleted).toBe(1); // B2's SEP
    const natB3 = await saved(run, flavour, 'nat');
    expect(natB3.rules.some((r) => r.includes('10.180.1.6:80'))).toBe(true);
    expect(natB3.rules.some((r) => r.includes('10.180.1.5:80'))).toBe(false);
    await dp.sync(intentOf(A, B2), { full: false });

    // A full sync changes nothing and does not duplicate the jumps.
    const third = await dp.sync(intentOf(A, B2), { full: true });
    expect(third.deleted).toBe(0);
    const after = await saved(run, flavour, 'nat');
    expect(after.rules).toEqual(nat.rules);
    expect(jumpCount(after.rules, 'PREROUTING', 'KUBE-SERVICES')).toBe(1);
    await foreignIntact(run, flavour);
    expect(dp.lastApplied()).toContain(':KUBE-SERVICES - [0:0]');
  });

  it('a chunked full sync (as iptables-nft at scale) ends in the same state and keeps others’ rules', async () => {
    const one = await scratch();
    const chunked = await scratch();
    for (const { run } of [one, chunked]) await must(run, [tools(flavour).restore, '--noflush'], FOREIGN);
    const single = await make(one.run, null);
    const many = await make(chunked.run, 3);
    await single.sync(intentOf(A, B, C), { full: true });
    await many.sync(intentOf(A, B), { full: true });
    await many.sync(intentOf(A, C), { full: true }); // B stale, C new: chunks, then flushes and deletes
    await single.sync(intentOf(A, C), { full: true });
    for (const table of ['nat', 'filter'] as const) {
      expect((await saved(chunked.run, flavour, table)).rules).toEqual((await saved(one.run, flavour, table)).rules);
      expect((await saved(chunked.run, flavour, table)).chains).toEqual((await saved(one.run, flavour, table)).chains);
    }
    await foreignIntact(chunked.run, flavour);
  });

  it('a full sync repairs a flushed chain and a deleted jump', async () => {
    const { run } = await scratch();
    const dp = await make(run);
    await dp.sync(intentOf(A, B), { full: true });
    const before = await saved(run, flavour, 'nat');
    const svcChain = lowerIptables(intentOf(A)).serviceChains.get(A.name)![0]!.name;
    await must(run, [tools(flavour).cmd, '-t', 'nat', '-F', svcChain]);
    await must(run, [tools(flavour).cmd, '-t', 'nat', '-D', 'PREROUTING', '-m', 'comment', '--comment', 'kubernetes service portals', '-j', 'KUBE-SERVICES']);
    const broken = await saved(run, flavour, 'nat');
    expect(jumpCount(broken.rules, 'PREROUTING', 'KUBE-SERVICES')).toBe(0);
    expect(broken.rules.filter((r) => r.startsWith(`-A ${svcChain} `))).toEqual([]);

    await dp.sync(intentOf(A, B), { full: true });
    expect((await saved(run, flavour, 'nat')).rules).toEqual(before.rules);
  });

  it('a refused batch leaves the previous rules in place and makes the next sync full', async () => {
    const { run } = await scratch();
    let failRestore = false;
    const flaky: Exec = (argv, opts) =>
      failRestore && argv[0]!.endsWith('-restore') ? run([argv[0]!, '--noflush'], { stdin: '*nat\n-A NO-SUCH-CHAIN -j RETURN\nCOMMIT\n' }) : run(argv, opts);
    const dp = await make(flaky);
    await dp.sync(intentOf(A, B), { full: true });
    const before = { nat: await saved(run, flavour, 'nat'), filter: await saved(run, flavour, 'filter') };

    failRestore = true;
    const error = await dp.sync(intentOf(A), { full: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApplyError);
    expect((error as ApplyError).stderr).toMatch(/NO-SUCH-CHAIN|line/i);
    expect(await saved(run, flavour, 'nat')).toEqual(before.nat);
    expect(await saved(run, flavour, 'filter')).toEqual(before.filter);
    expect(dp.lastApplied()).toContain(lowerIptables(intentOf(B)).serviceChains.get(B.name)![0]!.name);

    failRestore = false;
    const next = await dp.sync(intentOf(A), { full: false });
    expect(next.full).toBe(true);
    expect((await saved(run, flavour, 'nat')).chains).toEqual(expectedChains([A], 'nat', NAT_BUILTINS));
  });

  it('adopts kube-proxy leftovers, and cleanup removes exactly kpx’s and kube-proxy’s rules', async () => {
    const { run } = await scratch();
    await must(run, [tools(flavour).restore, '--noflush'], FOREIGN);
    await must(run, [tools(flavour).restore, '--noflush'], KUBE_PROXY_LEFTOVERS);
    const dp = await make(run);
    await dp.sync(intentOf(A), { full: false });
    const nat = await saved(run, flavour, 'nat');
    // kube-proxy's service chains are gone (stale), the kubelet's chains stay.
    expect(nat.chains).toEqual([...expectedChains([A], 'nat', NAT_BUILTINS), 'CNI-HOSTPORT-DNAT', 'KUBE-MARK-DROP', 'KUBE-KUBELET-CANARY'].sort());
    expect(jumpCount(nat.rules, 'PREROUTING', 'KUBE-SERVICES')).toBe(1);
    await foreignIntact(run, flavour);

    await dp.cleanup();
    const natAfter = await saved(run, flavour, 'nat');
    const filterAfter = await saved(run, flavour, 'filter');
    expect(natAfter.chains).toEqual([...NAT_BUILTINS, 'CNI-HOSTPORT-DNAT', 'KUBE-KUBELET-CANARY', 'KUBE-MARK-DROP'].sort());
    expect(filterAfter.chains).toEqual([...FILTER_BUILTINS, 'DOCKER-USER', 'KUBE-FIREWALL'].sort());
    expect(natAfter.rules.filter((r) => !r.startsWith('-A CNI-HOSTPORT-DNAT ') && !r.includes('-j CNI-HOSTPORT-DNAT'))).toEqual([
      '-A KUBE-MARK-DROP -j MARK --set-xmark 0x8000/0x8000',
    ]);
    expect(filterAfter.rules.filter((r) => !r.includes('DOCKER-USER'))).toEqual([
      '-A INPUT -j KUBE-FIREWALL',
      '-A KUBE-FIREWALL -m mark --mark 0x8000/0x8000 -j DROP',
    ]);
    expect((await saved(run, flavour, 'mangle')).chains).toEqual(['FORWARD', 'INPUT', 'KUBE-KUBELET-CANARY', 'OUTPUT', 'POSTROUTING', 'PREROUTING']);
    await foreignIntact(run, flavour);

    // Idempotent, and usable standalone (kpx cleanup, the nftables mode).
    await cleanupIptables(run, 4, flavour);
    expect(await saved(run, flavour, 'nat')).toEqual(natAfter);
  });
});

/** What kube-proxy (and the kubelet) leave behind, including an old-style jump of kube-proxy 1.13–1.19. */
const KUBE_PROXY_LEFTOVERS = [
  '*mangle',
  ':KUBE-PROXY-CANARY - [0:0]',
  ':KUBE-KUBELET-CANARY - [0:0]',
  'COMMIT',
  '*nat',
  ':KUBE-SERVICES - [0:0]',
  ':KUBE-NODEPORTS - [0:0]',
  ':KUBE-POSTROUTING - [0:0]',
  ':KUBE-MARK-MASQ - [0:0]',
  ':KUBE-MARK-DROP - [0:0]',
  ':KUBE-PROXY-CANARY - [0:0]',
  ':KUBE-KUBELET-CANARY - [0:0]',
  ':KUBE-SVC-ZZZZZZZZZZZZZZZZ - [0:0]',
  ':KUBE-SEP-ZZZZZZZZZZZZZZZZ - [0:0]',
  ':KUBE-XLB-ZZZZZZZZZZZZZZZZ - [0:0]',
  ':KUBE-FW-ZZZZZZZZZZZZZZZZ - [0:0]',
  '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
  '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
  '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
  '-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000',
  '-A KUBE-MARK-DROP -j MARK --set-xmark 0x8000/0x8000',
  '-A KUBE-SERVICES -d 172.30.9.9/32 -p tcp -m tcp --dport 80 -j KUBE-SVC-ZZZZZZZZZZZZZZZZ',
  '-A KUBE-SERVICES -d 172.30.9.10/32 -p tcp -m tcp --dport 80 -j KUBE-FW-ZZZZZZZZZZZZZZZZ',
  '-A KUBE-FW-ZZZZZZZZZZZZZZZZ -j KUBE-XLB-ZZZZZZZZZZZZZZZZ',
  '-A KUBE-XLB-ZZZZZZZZZZZZZZZZ -j KUBE-SVC-ZZZZZZZZZZZZZZZZ',
  '-A KUBE-SVC-ZZZZZZZZZZZZZZZZ -j KUBE-SEP-ZZZZZZZZZZZZZZZZ',
  '-A KUBE-SEP-ZZZZZZZZZZZZZZZZ -s 10.180.9.9/32 -j KUBE-MARK-MASQ',
  '-A KUBE-SEP-ZZZZZZZZZZZZZZZZ -p tcp -m tcp -j DNAT --to-destination 10.180.9.9:80',
  'COMMIT',
  '*filter',
  ':KUBE-SERVICES - [0:0]',
  ':KUBE-EXTERNAL-SERVICES - [0:0]',
  ':KUBE-FORWARD - [0:0]',
  ':KUBE-FIREWALL - [0:0]',
  ':KUBE-PROXY-CANARY - [0:0]',
  '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
  '-A INPUT -j KUBE-FIREWALL',
  '-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD',
  '-A KUBE-FIREWALL -m mark --mark 0x8000/0x8000 -j DROP',
  '-A KUBE-FORWARD -m mark --mark 0x4000/0x4000 -j ACCEPT',
  'COMMIT',
  '',
].join('\n');
