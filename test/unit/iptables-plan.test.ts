import { describe, expect, it } from 'vitest';
import { lowerIptables } from '../../src/backend/iptables/lower.js';
import { chainEdit, planIptablesSync, renderSyncBatch, renderSyncBatches, sameServiceChains } from '../../src/backend/iptables/plan.js';
import { planTableCleanup, renderTableCleanup } from '../../src/backend/iptables/cleanup-plan.js';
import { savedChainNames } from '../../src/backend/iptables/owned-chains.js';
import { allChains, type IptablesRuleset } from '../../src/backend/iptables/ruleset.js';
import { tokenizeRestoreLine } from '../../src/trace/iptables-parse.js';
import { ep, rulesetIntent, servicePort } from './iptables-fixtures.js';

const BUILTINS = ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'];

function svc(name: string, ip: string, endpoints: string[]) {
  return servicePort({ service: name, clusterIP: ip, clusterEndpoints: endpoints.map((e) => ep(e)) });
}

const a = svc('a', '172.30.0.41', ['10.180.0.1', '10.180.0.2']);
const b = svc('b', '172.30.0.42', ['10.180.1.1']);
const c = svc('c', '172.30.0.43', ['10.180.2.1', '10.180.2.2', '10.180.2.3']);
const lower = (...services: ReturnType<typeof svc>[]) => lowerIptables(rulesetIntent(services));

/** A model of the kernel's chains in nat and filter, driven by restore text as --noflush applies it. */
class KernelModel {
  readonly chains = new Map<string, string[][]>();

  constructor(ruleset: IptablesRuleset | null) {
    for (const table of ['filter', 'nat']) for (const chain of BUILTINS) this.chains.set(`${table}/${chain}`, []);
    if (ruleset === null) return;
    for (const chain of allChains(ruleset)) this.chains.set(`${chain.table}/${chain.name}`, chain.rules.map((r) => [...r]));
    for (const jump of ruleset.jumps) this.chains.get(`${jump.table}/${jump.chain}`)!.push([...jump.args]);
  }

  /** Applies one batch; throws where iptables-restore would refuse it. */
  apply(text: string): void {
    let table = '';
    for (const line of text.split('\n')) {
      if (line === '' || line === 'COMMIT') continue;
      if (line.startsWith('*')) {
        table = line.slice(1);
        continue;
      }
      const tokens = tokenizeRestoreLine(line.startsWith(':') ? line.slice(1) : line);
      if (!Array.isArray(tokens)) throw new Error(tokens.error);
      if (line.startsWith(':')) {
        if (BUILTINS.includes(tokens[0]!)) throw new Error(`built-in chain declared: ${line}`);
        this.chains.set(`${table}/${tokens[0]}`, []);
        continue;
      }
      const [op, chain, ...args] = tokens;
      const key = `${table}/${chain}`;
      const rules = this.chains.get(key);
      if (rules === undefined) throw new Error(`no chain ${key}: ${line}`);
      if (op === '-X') {
        const users = [...this.chains.entries()].filter(([, rs]) => rs.some((r) => r.includes(chain!)));
        if (rules.length > 0 || users.length > 0) throw new Error(`-X of a chain in use: ${line}`);
        this.chains.delete(key);
        continue;
      }
      const target = args[args.indexOf('-j') + 1];
      if (target?.startsWith('KUBE-') && !this.chains.has(`${table}/${target}`)) throw new Error(`jump to missing chain: ${line}`);
      if (op === '-A') rules.push(args);
      else if (op === '-I' && /^\d+$/.test(args[0] ?? '')) {
        const position = Number(args[0]);
        if (position < 1 || position > rules.length + 1) throw new Error(`-I past the end: ${line}`);
        rules.splice(position - 1, 0, args.slice(1));
      } else if (op === '-I') rules.unshift(args);
      else if (op === '-D') {
        const at = rules.findIndex((r) => r.join(' ') === args.join(' '));
        if (at < 0) throw new Error(`-D of a missing rule: ${line}`);
        rules.splice(at, 1);
      } else throw new Error(`unexpected ${line}`);
    }
  }

  /** The chains of ours (as a complete render would list them), for comparison. */
  ours(): Map<string, string[][]> {
    return new Map([...this.chains].filter(([key]) => !BUILTINS.includes(key.split('/')[1]!)));
  }
}

function expected(ruleset: IptablesRuleset): Map<string, string[][]> {
  return new KernelModel(ruleset).ours();
}

function declared(text: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(':')).map((l) => l.slice(1).split(' ')[0]!);
}

describe('planIptablesSync', () => {
  it('a first sync writes every chain and nothing else', () => {
    const desired = lower(a, b);
    const plan = planIptablesSync(null, desired, { full: false });
    const text = renderSyncBatch(plan);
    expect(plan.written).toBe(allChains(desired).length);
    expect(plan.deleted).toBe(0);
    expect(declared(text).sort()).toEqual(allChains(desired).map((ch) => ch.name).sort());
    const kernel = new KernelModel(null);
    // The first sync also inserts the jumps it found missing.
    kernel.apply(renderSyncBatch(planIptablesSync(null, desired, { full: true, missingJumps: desired.jumps })));
    expect(kernel.ours()).toEqual(expected(desired));
  });

  it('a changed endpoint rewrites only that service port’s chains, no base chain', () => {
    const before = lower(a, b, c);
    const b2 = svc('b', '172.30.0.42', ['10.180.1.9']);
    const after = lower(a, b2, c);
    const plan = planIptablesSync(before, after, { full: false });
    expect(plan.services.map((chains) => chains[0]!.name)).toEqual([after.serviceChains.get('ns1/b:p80')![0]!.name]);
    const text = renderSyncBatch(plan);
    const names = declared(text);
    const bChains = after.serviceChains.get('ns1/b:p80')!.map((ch) => ch.name);
    const oldSep = before.serviceChains.get('ns1/b:p80')!.find((ch) => ch.name.startsWith('KUBE-SEP-'))!.name;
    expect(plan.base).toEqual([]);
    expect(names.sort()).toEqual([...bChains, oldSep].sort());
    expect(plan.stale.nat).toEqual([oldSep]);
    expect(text).toContain(`-X ${oldSep}`);
    for (const other of [a, c]) {
      for (const chain of after.serviceChains.get(other.name)!) expect(text).not.toMatch(new RegExp(`^(:|-A )${chain.name} `, 'm'));
    }
    expect(plan.ruleCounts.nat.written).toBeLessThan(plan.ruleCounts.nat.total);

    const kernel = new KernelModel(before);
    kernel.apply(text);
    expect(kernel.ours()).toEqual(expected(after));
  });

  it('unchanged service ports are recognised by value, not only by identity', () => {
    const first = lower(a, b);
    const second = lower(a, b);
    expect(first.serviceChains.get(a.name)).not.toBe(second.serviceChains.get(a.name));
    expect(sameServiceChains(first.serviceChains.get(a.name), second.serviceChains.get(a.name)!)).toBe(true);
    const plan = planIptablesSync(first, second, { full: false });
    expect(plan.services).toEqual([]);
    expect(plan.written).toBe(0);
    expect(renderSyncBatch(plan)).toBe('');
  });

  it('a new service port edits the dispatch chain it joins: one -I at its place, no rewrite', () => {
    const before = lower(a, b);
    const after = lower(a, b, c);
    const plan = planIptablesSync(before, after, { full: false });
    expect(plan.services.map((chains) => chains[0]!.name)).toEqual([after.serviceChains.get(c.name)![0]!.name]);
    expect(plan.base).toEqual([]);
    const services = plan.edits.find((e) => e.table === 'nat' && e.chain === 'KUBE-SERVICES');
    expect(services).toMatchObject({ deletes: [] });
    expect(services?.inserts).toHaveLength(1);
    const text = renderSyncBatch(plan);
    expect(text).not.toMatch(/^:KUBE-SERVICES /m);
    const kernel = new KernelModel(before);
    kernel.apply(text);
    expect(kernel.ours()).toEqual(expected(after));
  });

  it('a removed service port is deleted from the dispatch chain by spec, before its chains are -X’d', () => {
    const before = lower(a, b, c);
    const after = lower(a, c);
    const plan = planIptablesSync(before, after, { full: false });
    expect(plan.edits.find((e) => e.chain === 'KUBE-SERVICES' && e.table === 'nat')?.deletes).toHaveLength(1);
    const kernel = new KernelModel(before);
    kernel.apply(renderSyncBatch(plan));
    expect(kernel.ours()).toEqual(expected(after));
  });

  it('chainEdit: inserts land at their final positions; reordering or a large change means a rewrite', () => {
    const chain = (rules: string[][]) => ({ table: 'nat' as const, name: 'KUBE-SERVICES', rules });
    const r = (n: number) => ['-d', `10.0.0.${n}/32`, '-j', 'RETURN'];
    const applied = chain([r(1), r(3), r(5), r(7), r(9), r(11)]);
    const edit = chainEdit(applied, chain([r(0), r(1), r(3), r(7), r(9), r(11), r(12)]));
    expect(edit).toEqual({ table: 'nat', chain: 'KUBE-SERVICES', deletes: [r(5)], inserts: [{ position: 1, args: r(0) }, { position: 7, args: r(12) }] });
    expect(chainEdit(applied, chain([r(3), r(1), r(5), r(7), r(9), r(11)]))).toBeNull();
    expect(chainEdit(applied, chain([r(2), r(4), r(6), r(7), r(9), r(11)]))).toBeNull();
    expect(chainEdit(chain([r(1), r(1), r(3), r(5), r(7), r(9)]), chain([r(1), r(1), r(3), r(5), r(7)]))).toBeNull();
  });

  it('a removed service port gets -X for all its chains, after the rules that referenced them are gone', () => {
    const before = lower(a, b, c);
    const after = lower(a, c);
    const plan = planIptablesSync(before, after, { full: false });
    const gone = before.serviceChains.get(b.name)!.map((ch) => ch.name).sort();
    expect(plan.stale.nat).toEqual(gone);
    expect(plan.deleted).toBe(gone.length);
    const lines = renderSyncBatch(plan).split('\n');
    const firstDelete = lines.findIndex((l) => l.startsWith('-X'));
    const lastRule = lines.findLastIndex((l) => l.startsWith('-A'));
    expect(firstDelete).toBeGreaterThan(lastRule);
    const kernel = new KernelModel(before);
    kernel.apply(renderSyncBatch(plan));
    expect(kernel.ours()).toEqual(expected(after));
  });

  it('a full sync writes everything and removes leftovers of ours found in the kernel, not others’ chains', () => {
    const before = lower(a, b);
    const after = lower(a, b);
    const plan = planIptablesSync(before, after, {
      full: true,
      existingChains: {
        nat: ['KUBE-SVC-LEFTOVER0000000', 'KUBE-SEP-LEFTOVER0000000', 'KUBE-XLB-OLDNAME00000000', 'KUBE-MARK-DROP', 'CNI-HOSTPORT-DNAT', 'KUBE-SERVICES'],
        filter: ['KUBE-PROXY-CANARY', 'KUBE-FIREWALL', 'DOCKER-USER', 'KUBE-FORWARD'],
      },
    });
    expect(plan.written).toBe(allChains(after).length);
    expect(plan.stale.nat).toEqual(['KUBE-SEP-LEFTOVER0000000', 'KUBE-SVC-LEFTOVER0000000', 'KUBE-XLB-OLDNAME00000000']);
    expect(plan.stale.filter).toEqual(['KUBE-PROXY-CANARY']);
  });

  it('never declares or deletes a built-in chain, even when the kernel lists one', () => {
    const desired = lower(a);
    const plan = planIptablesSync(null, desired, {
      full: true,
      existingChains: { nat: ['PREROUTING', 'OUTPUT'], filter: ['INPUT'] },
      missingJumps: desired.jumps,
    });
    const text = renderSyncBatch(plan);
    for (const chain of BUILTINS) {
      expect(text).not.toMatch(new RegExp(`^:${chain} `, 'm'));
      expect(text).not.toMatch(new RegExp(`^-X ${chain}$`, 'm'));
    }
    // Jumps are inserted (never appended twice by a later full sync: the dataplane checks with -C).
    expect(text.match(/^-I /gm)?.length).toBe(desired.jumps.length);
    expect(text).not.toMatch(/^-A (PREROUTING|INPUT|FORWARD|OUTPUT|POSTROUTING) /m);
  });

  it('missing jumps end up on top of each built-in chain in IR order', () => {
    const desired = lower(a);
    const kernel = new KernelModel(null);
    kernel.chains.get('filter/INPUT')!.push(['-j', 'ACCEPT']);
    kernel.apply(renderSyncBatch(planIptablesSync(null, desired, { full: true, missingJumps: desired.jumps })));
    const input = desired.jumps.filter((j) => j.table === 'filter' && j.chain === 'INPUT').map((j) => j.args);
    expect(kernel.chains.get('filter/INPUT')).toEqual([...input, ['-j', 'ACCEPT']]);
  });
});

describe('renderSyncBatches (chunked, for iptables-nft)', () => {
  it('every batch applies in order and the result equals the one-batch result', () => {
    const before = lower(a, b);
    const after = lower(a, svc('b', '172.30.0.42', ['10.180.1.7', '10.180.1.8']), c);
    const plan = planIptablesSync(before, after, { full: true, existingChains: { nat: ['KUBE-SVC-LEFTOVER0000000'] } });
    const batches = renderSyncBatches(plan, 2);
    expect(batches.length).toBeGreaterThan(3);
    const chunked = new KernelModel(before);
    chunked.chains.set('nat/KUBE-SVC-LEFTOVER0000000', [['-j', 'KUBE-SEP-LEFTOVER0000000']]);
    chunked.chains.set('nat/KUBE-SEP-LEFTOVER0000000', []);
    const plan2 = planIptablesSync(before, after, {
      full: true,
      existingChains: { nat: ['KUBE-SVC-LEFTOVER0000000', 'KUBE-SEP-LEFTOVER0000000'] },
    });
    for (const batch of renderSyncBatches(plan2, 2)) chunked.apply(batch);
    expect(chunked.ours()).toEqual(expected(after));
  });

  it('writes KUBE-MARK-MASQ before the service chains that jump to it, and the dispatch after them', () => {
    const plan = planIptablesSync(null, lower(a, b, c), { full: true });
    const batches = renderSyncBatches(plan, 3);
    expect(batches[0]).toContain(':KUBE-MARK-MASQ ');
    expect(batches[0]).not.toMatch(/KUBE-SVC-/);
    const natSection = (batch: string) => batch.split('*').find((part) => part.startsWith('nat\n')) ?? '';
    const dispatch = batches.findIndex((batch) => /^:KUBE-SERVICES /m.test(natSection(batch)));
    const lastService = batches.findLastIndex((batch) => /^:KUBE-SEP-/m.test(batch));
    expect(dispatch).toBeGreaterThan(lastService);
  });
});

describe('cleanup of one table', () => {
  const save = [
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':KUBE-SERVICES - [0:0]',
    ':KUBE-SVC-AAAAAAAAAAAAAAAA - [0:0]',
    ':KUBE-MARK-DROP - [0:0]',
    ':CNI-DNAT - [0:0]',
    '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A PREROUTING -m comment --comment "not ours -j KUBE-SERVICES" -j CNI-DNAT',
    '-A OUTPUT -j KUBE-MARK-DROP',
    '-A KUBE-SERVICES -j KUBE-SVC-AAAAAAAAAAAAAAAA',
    'COMMIT',
  ].join('\n');

  it('unlinks jumps into ours by target and deletes only our chains', () => {
    const cleanup = planTableCleanup('nat', savedChainNames(save), save.split('\n'));
    expect(cleanup.chains).toEqual(['KUBE-SERVICES', 'KUBE-SVC-AAAAAAAAAAAAAAAA']);
    expect(cleanup.unlink).toEqual(['-D PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES']);
    expect(renderTableCleanup(cleanup, 100)).toEqual([
      '*nat\n:KUBE-SERVICES - [0:0]\n:KUBE-SVC-AAAAAAAAAAAAAAAA - [0:0]\n' +
        '-D PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES\n' +
        '-X KUBE-SERVICES\n-X KUBE-SVC-AAAAAAAAAAAAAAAA\nCOMMIT\n',
    ]);
  });

  it('chunks many chains: unlink, then flush all, then delete', () => {
    const batches = renderTableCleanup(planTableCleanup('nat', savedChainNames(save), save.split('\n')), 1);
    expect(batches).toEqual([
      '*nat\n-D PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES\nCOMMIT\n',
      '*nat\n:KUBE-SERVICES - [0:0]\nCOMMIT\n',
      '*nat\n:KUBE-SVC-AAAAAAAAAAAAAAAA - [0:0]\nCOMMIT\n',
      '*nat\n-X KUBE-SERVICES\nCOMMIT\n',
      '*nat\n-X KUBE-SVC-AAAAAAAAAAAAAAAA\nCOMMIT\n',
    ]);
  });

  it('mangle: only kube-proxy’s canary', () => {
    const cleanup = planTableCleanup('mangle', ['KUBE-PROXY-CANARY', 'KUBE-KUBELET-CANARY'], []);
    expect(cleanup.chains).toEqual(['KUBE-PROXY-CANARY']);
  });
});
