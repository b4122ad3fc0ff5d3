/**
 * The incremental nftables planner. Batches are checked two ways: by their text (only the
 * changed elements, deletes before the chains they free) and by running every batch of a
 * random sequence through a strict model of nft's transaction semantics (missing objects,
 * duplicate keys, dangling references all fail), whose result must equal the full
 * rendering of the final intent loaded into an empty table.
 */
import _ from 'lodash';
import { describe, expect, it } from 'vitest';
import { endpointAddress, type RulesetIntent, type ServicePortIntent } from '../../src/compile/intent.js';
import { seededRandom } from '../../bench/generate.js';
import { TableBuilder } from '../../src/backend/nftables/build.js';
import { lowerNftables } from '../../src/backend/nftables/lower.js';
import { planNftables } from '../../src/backend/nftables/plan.js';
import { renderNftText } from '../../src/backend/nftables/render.js';
import type { NftTableState } from '../../src/backend/nftables/table-state.js';
import { ep, intent, kitchenSink, svc, type ServiceSpec } from './nft-fixtures.js';

/** A strict interpreter of the `nft -f` lines kpx emits, for one table. */
class NftModel {
  table = false;
  chains = new Map<string, string[]>();
  sets = new Map<string, { decl: string; elements: Map<string, string> }>();

  apply(text: string): void {
    // A transaction: all or nothing.
    const copy = this.clone();
    try {
      for (const line of text.split('\n')) if (line !== '') this.line(line);
    } catch (err) {
      Object.assign(this, copy);
      throw err;
    }
  }

  private clone(): Pick<NftModel, 'table' | 'chains' | 'sets'> {
    return {
      table: this.table,
      chains: new Map([...this.chains].map(([k, v]) => [k, [...v]])),
      sets: new Map([...this.sets].map(([k, v]) => [k, { decl: v.decl, elements: new Map(v.elements) }])),
    };
  }

  private referenced(name: string, kind: 'chain' | 'set'): boolean {
    const needle = kind === 'chain' ? new RegExp(`(goto|jump) ${_.escapeRegExp(name)}( |,|$)`) : new RegExp(`@${_.escapeRegExp(name)}( |$)`);
    for (const rules of this.chains.values()) if (rules.some((r) => needle.test(r))) return true;
    if (kind === 'chain') for (const s of this.sets.values()) for (const v of s.elements.values()) if (needle.test(v)) return true;
    return false;
  }

  private line(line: string): void {
    const m = /^(add|delete|flush) (table|chain|set|map|element|rule) (ip6?) kpx ?(\S*) ?(.*)$/.exec(line);
    if (!m) throw new Error(`unparsed: ${line}`);
    const [, verb, what, , name = '', rest = ''] = m;
    if (what === 'table') {
      if (verb === 'add') this.table = true;
      else if (!this.table) throw new Error('no table');
      else if (verb === 'delete') Object.assign(this, { table: false, chains: new Map(), sets: new Map() });
      else for (const c of this.chains.keys()) this.chains.set(c, []);
      return;
    }
    if (!this.table) throw new Error(`no table: ${line}`);
    const chain = this.chains.get(name);
    const set = this.sets.get(name);
    switch (`${verb} ${what}`) {
      case 'add chain':
        if (!chain) this.chains.set(name, []);
        return;
      case 'flush chain':
        if (!chain) throw new Error(`flush missing chain ${name}`);
        this.chains.set(name, []);
        return;
      case 'delete chain':
        if (!chain || chain.length > 0 || this.referenced(name, 'chain')) throw new Error(`cannot delete chain ${name}`);
        this.chains.delete(name);
        return;
      case 'add set':
      case 'add map':
        if (!set) this.sets.set(name, { decl: rest, elements: new Map() });
        else if (set.decl !== rest) throw new Error(`redeclared ${name}`);
        return;
      case 'flush set':
      case 'flush map':
        if (!set) throw new Error(`flush missing set ${name}`);
        set.elements.clear();
        return;
      case 'delete set':
      case 'delete map':
        if (!set || this.referenced(name, 'set')) throw new Error(`cannot delete set ${name}`);
        this.sets.delete(name);
        return;
      case 'add rule': {
        if (!chain) throw new Error(`rule for missing chain ${name}`);
        for (const [, target] of rest.matchAll(/(?:goto|jump) ([^\s,}]+)/g)) if (!this.chains.has(target as string)) throw new Error(`dangling ${target}`);
        for (const [, s] of rest.matchAll(/@(\S+)/g)) if (!this.sets.has(s as string)) throw new Error(`dangling @${s}`);
        chain.push(rest);
        return;
      }
      case 'add element':
      case 'delete element': {
        if (!set) throw new Error(`element for missing set ${name}`);
        const items = /^\{ (.*) \}$/.exec(rest)?.[1]?.split(', ') ?? [];
        for (const item of items) {
          const [key = '', value = ''] = item.split(' : ');
          if (verb === 'delete') {
            if (!set.elements.delete(key)) throw new Error(`delete missing element ${key} from ${name}`);
          } else {
            // As the kernel does for `add` (no NLM_F_EXCL): the same element again is a no-op,
            // the same key with other data fails.
            if (set.elements.has(key) && set.elements.get(key) !== value) throw new Error(`EEXIST ${key} in ${name}`);
            const target = /^(?:goto|jump) (\S+)$/.exec(value)?.[1];
            if (target && !this.chains.has(target)) throw new Error(`dangling ${target}`);
            set.elements.set(key, value);
            // A declared size is a cap (the kernel answers ENFILE).
            const size = /size (\d+) ;/.exec(set.decl)?.[1];
            if (size !== undefined && set.elements.size > Number(size)) throw new Error(`ENFILE: ${name} holds ${size}`);
          }
        }
        return;
      }
    }
    throw new Error(`unhandled: ${line}`);
  }

  /** `nft -f` full text uses one element per line; fold those into one-line commands. */
  static fold(text: string): string {
    return text.replace(/ \{\n((?:\t.*\n)+)\}/g, (_all, body: string) => ` { ${body.replace(/\t/g, '').replace(/,\n/g, ', ').trim()} }`);
  }

  snapshot() {
    return {
      chains: Object.fromEntries([...this.chains].sort()),
      sets: Object.fromEntries([...this.sets].sort().map(([k, v]) => [k, { decl: v.decl, elements: [...v.elements].sort() }])),
    };
  }
}

function loaded(text: string): NftModel {
  const model = new NftModel();
  model.apply(NftModel.fold(text));
  return model;
}

function fresh(target: RulesetIntent) {
  return loaded(renderNftText(lowerNftables(target))).snapshot();
}

const cluster = (n: number, endpoints = 3): ServicePortIntent[] =>
  Array.from({ length: n }, (_, i) =>
    svc({
      service: `s${String(i).padStart(3, '0')}`,
      clusterIP: `172.30.1.${i}`,
      nodePort: i % 4 === 0 ? 30000 + i : 0,
      affinity: i % 10 === 5 ? 300 : null,
      endpoints: Array.from({ length: endpoints }, (_, j) => ep(`10.180.${i}.${j + 1}`, 80, j === 0)),
    }),
  );

function lines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '');
}

describe('nftables planner', () => {
  it('a cold plan recreates the table: the full render behind add + delete table, in insertion order', () => {
    const target = kitchenSink(4);
    const plan = planNftables(null, target, { full: false });
    expect(plan.full).toBe(true);
    const [create, drop, ...body] = plan.text.split('\n');
    expect([create, drop]).toEqual(['add table ip kpx', 'delete table ip kpx']);
    // The same lines as the canonical render, element separators aside; only the order differs.
    const unordered = (lines: string[]) => lines.map((l) => l.replace(/,$/, '')).sort();
    expect(unordered(body)).toEqual(unordered(renderNftText(lowerNftables(target)).split('\n')));
    expect(plan.state.toRuleset()).toEqual(lowerNftables(target));
  });

  it('one endpoint change writes only that endpoint’s elements', () => {
    const services = cluster(40);
    const before = intent(services);
    const state = planNftables(null, before, { full: false }).state;
    const changed = [...services];
    changed[7] = svc({ service: 's007', clusterIP: '172.30.1.7', endpoints: [ep('10.180.7.1', 80, true), ep('10.180.7.9'), ep('10.180.7.3')] });
    const plan = planNftables(state, intent(changed), { full: false });
    expect(plan.full).toBe(false);
    expect(lines(plan.text)).toEqual([
      'delete element ip kpx endpoint-ips-1 { 172.30.1.7 . tcp . 80 }',
      'delete element ip kpx hairpin-endpoints { 10.180.7.2 . 10.180.7.2 }',
      'add element ip kpx endpoint-ips-1 { 172.30.1.7 . tcp . 80 : 10.180.7.9 }',
      'add element ip kpx hairpin-endpoints { 10.180.7.9 . 10.180.7.9 }',
    ]);
    expect([plan.written, plan.deleted]).toEqual([2, 2]);
    expect(plan.state.toRuleset()).toEqual(lowerNftables(intent(changed)));
  });

  it('a cold batch lists a shared endpoint’s self pair per port; the state keeps it until its last port goes', () => {
    const shared = ep('10.180.0.1');
    const tcp = svc({ clusterIP: '172.30.0.1', protocol: 'tcp', endpoints: [shared, ep('10.180.0.2')] });
    const udp = svc({ clusterIP: '172.30.0.1', protocol: 'udp', endpoints: [shared] });
    const cold = planNftables(null, intent([tcp, udp]), { full: false });
    const pair = '10.180.0.1 . 10.180.0.1';
    // Settling happens while nft loads the batch; nft adds a repeated element once.
    expect(cold.text.split('\n').filter((l) => l.trim().replace(/,$/, '') === pair)).toHaveLength(2);
    const listed = cold.state.stats().elements;
    cold.state.settle();
    expect(cold.state.stats().elements).toBe(listed - 1);
    expect(cold.state.toRuleset()).toEqual(lowerNftables(intent([tcp, udp])));

    const oneLeft = planNftables(cold.state, intent([tcp]), { full: false });
    expect(oneLeft.text).not.toContain(pair);
    expect(oneLeft.text).toContain('delete element ip kpx endpoint-ips-0 { 172.30.0.1 . udp . 80 }');
    const noneLeft = planNftables(oneLeft.state, intent([]), { full: false });
    expect(lines(noneLeft.text)).toContain(`delete element ip kpx hairpin-endpoints { ${pair}, 10.180.0.2 . 10.180.0.2 }`);
  });

  it('a build from scratch settles its self pairs before anything reads or changes them', () => {
    const shared = ep('10.180.0.1');
    const services = [svc({ clusterIP: '172.30.0.1', endpoints: [shared] }), svc({ service: 'svc2', clusterIP: '172.30.0.2', endpoints: [shared] })];
    // No settle() call: the partial plan must still see the pair as held by both ports.
    const cold = planNftables(null, intent(services), { full: false });
    expect(planNftables(cold.state, intent(services.slice(1)), { full: false }).text).not.toContain('hairpin-endpoints');
  });

  it('an unchanged intent (same or equal objects) plans nothing', () => {
    const target = intent(cluster(10));
    const state = planNftables(null, target, { full: false }).state;
    expect(planNftables(state, target, { full: false }).text).toBe('');
    expect(planNftables(state, _.cloneDeep(target), { full: false }).text).toBe('');
  });

  it('a removed affinity service: elements deleted, then its chains, then its sets', () => {
    const services = cluster(12);
    const state = planNftables(null, intent(services), { full: false }).state;
    const plan = planNftables(state, intent(services.filter((s) => s.service !== 's005')), { full: false });
    const text = lines(plan.text);
    const first = (re: RegExp) => text.findIndex((l) => re.test(l));
    const last = (re: RegExp) => text.length - 1 - [...text].reverse().findIndex((l) => re.test(l));
    expect(text.every((l) => /^(flush chain|delete (element|chain|set))/.test(l))).toBe(true);
    expect(last(/^flush chain/)).toBeLessThan(first(/^delete element/));
    expect(text.filter((l) => l.startsWith('delete element ip kpx service-ips'))).toEqual(['delete element ip kpx service-ips { 172.30.1.5 . tcp . 80 }']);
    expect(last(/^delete element/)).toBeLessThan(first(/^delete chain/));
    expect(last(/^delete chain/)).toBeLessThan(first(/^delete set/));
    expect(text.filter((l) => l.startsWith('delete chain')).sort()).toEqual([
      'delete chain ip kpx affinity-YEI3BJUN-ns1/s005/tcp/p80',
      'delete chain ip kpx affinity-record-YEI3BJUN-ns1/s005/tcp/p80',
    ]); // its affinity checks and recorder; the pick is shared
    expect(text.filter((l) => l.startsWith('delete set'))).toEqual(['delete set ip kpx affinity']); // its last user
    // Shared chains stay: other services still balance over 3.
    expect(plan.text).not.toMatch(/balance-3|endpoint-0/);
  });

  it('a shared chain goes with its last user', () => {
    const a = svc({ service: 'a', clusterIP: '172.30.0.1', endpoints: [ep('10.180.0.1'), ep('10.180.0.2')] });
    const b = svc({ service: 'b', clusterIP: '172.30.0.2', endpoints: [ep('10.180.0.3'), ep('10.180.0.4')] });
    const c = svc({ service: 'c', clusterIP: '172.30.0.3', endpoints: [ep('10.180.0.5')] });
    let state: NftTableState = planNftables(null, intent([a, b, c]), { full: false }).state;
    let plan = planNftables(state, intent([b, c]), { full: false });
    expect(plan.text).not.toContain('delete chain');
    state = plan.state;
    plan = planNftables(state, intent([c]), { full: false });
    const deleted = lines(plan.text).filter((l) => l.startsWith('delete chain') || l.startsWith('delete map'));
    expect(deleted.sort()).toEqual(['delete chain ip kpx balance-2', 'delete chain ip kpx endpoint-1', 'delete map ip kpx endpoint-ips-1']);
  });

  it('a destination taken over from a removed duplicate goes to the next service wanting it', () => {
    const a = svc({ service: 'a', clusterIP: '172.30.0.1', externalIPs: ['192.168.99.1'], endpoints: [ep('10.180.0.1')] });
    const b = svc({ service: 'b', clusterIP: '172.30.0.2', externalIPs: ['192.168.99.1'], endpoints: [ep('10.180.0.2'), ep('10.180.0.3')] });
    const state = planNftables(null, intent([a, b]), { full: false }).state;
    const plan = planNftables(state, intent([b]), { full: false });
    expect(plan.text).toContain('add element ip kpx service-ips { 192.168.99.1 . tcp . 80 : goto external-2 }');
    expect(plan.state.toRuleset()).toEqual(lowerNftables(intent([b])));
  });

  for (const family of [4, 6] as const) {
    it(`random partial and full syncs (IPv${family}) equal a fresh load of the final intent`, () => {
      const random = seededRandom(family * 7919);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
      const a = (i: number) => (family === 4 ? `172.30.0.${i}` : `fd00:172:30::${i}`);
      const epAddr = (i: number) => (family === 4 ? `10.180.0.${i}` : `fd00:10:180::${i}`);
      const extIP = (i: number) => (family === 4 ? `192.168.99.${i}` : `fd00:192:168:99::${i}`);
      const randomService = (name: string): ServicePortIntent => {
        const count = Math.floor(random() * 5);
        const mixedPorts = random() < 0.1;
        const spec: ServiceSpec = {
          service: name,
          // A small address pool: duplicates (claims) happen.
          clusterIP: a(1 + Math.floor(random() * 12)),
          nodePort: random() < 0.3 ? 30000 + Math.floor(random() * 6) : 0,
          externalIPs: random() < 0.3 ? [extIP(1 + Math.floor(random() * 3))] : [],
          loadBalancerIPs: random() < 0.15 ? [extIP(10 + Math.floor(random() * 2))] : [],
          sourceRanges: random() < 0.5 ? [family === 4 ? '203.0.113.0/25' : '2001:db8::/64'] : [],
          affinity: random() < 0.2 ? pick([60, 300]) : null,
          externalLocal: random() < 0.3,
          endpoints: _.uniqBy(
            Array.from({ length: count }, () => ep(epAddr(1 + Math.floor(random() * 20)), mixedPorts ? pick([80, 81]) : 80, random() < 0.4)),
            (e) => endpointAddress(e),
          ),
        };
        return svc(spec);
      };
      const names = Array.from({ length: 16 }, (_, i) => `s${String(i).padStart(2, '0')}`);
      let services = new Map<string, ServicePortIntent>();
      for (const name of names.slice(0, 8)) services.set(name, randomService(name));
      const current = () => intent([...services.entries()].sort(([x], [y]) => (x < y ? -1 : 1)).map(([, s]) => s), { family });

      const model = new NftModel();
      let state: NftTableState | null = null;
      for (let step = 0; step < 150; step++) {
        services = new Map(services);
        const roll = random();
        const name = pick(names);
        if (roll < 0.5) services.set(name, randomService(name));
        else if (roll < 0.7) services.delete(name);
        else if (roll < 0.8 && services.has(name)) services.set(name, _.cloneDeep(services.get(name) as ServicePortIntent));
        const target = current();
        const full = state === null || random() < 0.1;
        const plan = planNftables(state, target, { full });
        model.apply(NftModel.fold(plan.text));
        state = plan.state;
        expect(model.snapshot(), `step ${step}`).toEqual(fresh(target));
        expect(state.toRuleset(), `state at step ${step}`).toEqual(lowerNftables(target));
      }
    });
  }

  it('random syncs of big tables: sizes hold every set, partial syncs redeclare a set they outgrow, full syncs size afresh', () => {
    const random = seededRandom(1024);
    const big = (n: number, endpoints: number) =>
      Array.from({ length: n }, (_, i) =>
        svc({
          service: `s${String(i).padStart(4, '0')}`,
          clusterIP: `172.30.${i >> 8}.${i & 255}`,
          endpoints: Array.from({ length: endpoints }, (_, j) => ep(`10.${180 + j}.${i >> 8}.${i & 255}`)),
        }),
      );
    const withoutSizes = (snapshot: ReturnType<NftModel['snapshot']>) => ({
      ...snapshot,
      sets: _.mapValues(snapshot.sets, (s) => ({ ...s, decl: s.decl.replace(/ size \d+ ;/, '') })),
    });
    const model = new NftModel();
    let state: NftTableState | null = null;
    let redeclared = 0;
    for (let step = 0; step < 30; step++) {
      // Growing, with dips: sets cross their sizes between the occasional full syncs.
      const target = intent(big(300 + step * 40 - Math.floor(random() * 300), 1 + Math.floor(random() * 3)));
      const full = state === null || random() < 0.15;
      const plan = planNftables(state, target, { full });
      if (!full) redeclared += (plan.text.match(/^delete (set|map) /gm) ?? []).length;
      model.apply(NftModel.fold(plan.text));
      state = plan.state;
      if (full) expect(model.snapshot(), `step ${step}`).toEqual(fresh(target));
      else expect(withoutSizes(model.snapshot()), `step ${step}`).toEqual(withoutSizes(fresh(target)));
    }
    expect(redeclared).toBeGreaterThan(0);
  });

  it('a full sync with a state flushes and refills, keeping dynamic sets and deleting what went', () => {
    const services = cluster(12);
    const state = planNftables(null, intent(services), { full: false }).state;
    const plan = planNftables(state, intent(services.slice(0, 5)), { full: true });
    const text = lines(plan.text);
    expect(text.slice(0, 2)).toEqual(['add table ip kpx', 'flush table ip kpx']);
    expect(text).toContain('flush map ip kpx service-ips');
    expect(text).toContain('flush map ip kpx affinity-service-ips');
    expect(text.some((l) => /^flush set ip kpx affinity$/.test(l))).toBe(false);
    expect(text.filter((l) => l.startsWith('delete chain'))).toHaveLength(2); // the affinity checks and recorder of s005
    // Drift: the same batch repairs a table that lost elements and rules.
    const model = loaded(renderNftText(lowerNftables(intent(services))));
    model.apply('flush chain ip kpx balance-3\ndelete element ip kpx service-ips { 172.30.1.1 . tcp . 80 }\n');
    model.apply(NftModel.fold(plan.text));
    expect(model.snapshot()).toEqual(fresh(intent(services.slice(0, 5))));
  });

  it('a change of the global parts recreates the table', () => {
    const services = cluster(3);
    const state = planNftables(null, intent(services), { full: false }).state;
    const plan = planNftables(state, intent(services, { podCIDRs: ['10.0.0.0/9'] }), { full: false });
    expect(plan.full).toBe(true);
    expect(plan.text.startsWith('add table ip kpx\nflush table ip kpx\n')).toBe(true);
  });
});

describe('TableBuilder', () => {
  const scope = { outerSets: new Set<string>(), heldOutside: (key: string) => key === '172.30.0.9 . tcp . 80' };
  const builder = () => {
    const b = new TableBuilder('ip', scope);
    b.addSet({ name: 'service-ips', key: ['ipv4_addr', 'inet_proto', 'inet_service'], data: 'verdict', flags: [] });
    b.addSet({ name: 'endpoint-ports', key: ['ipv4_addr', 'inet_proto', 'inet_service'], data: 'inet_service', flags: [] });
    return b;
  };

  it('keys map elements only by destinations it claimed: the table state keeps them in their part alone', () => {
    const b = builder();
    const key = { concat: ['172.30.0.1', 'tcp', 80] };
    expect(() => b.addElement('endpoint-ports', key, 8080)).toThrow(/kpx bug: element of map endpoint-ports keyed by 172\.30\.0\.1 \. tcp \. 80/);
    expect(b.claimable(key)).toBe(true);
    expect(b.addElement('endpoint-ports', key, 8080)).toBe(true);
    expect(b.addElement('service-ips', key, { kind: 'goto', target: 'balance-1' })).toBe(true);
    expect(b.claimable(key)).toBe(false); // now in a dispatch map here
    expect(b.claimable({ concat: ['172.30.0.9', 'tcp', 80] })).toBe(false); // held by an earlier part
    expect(b.parts().elements).toEqual(['endpoint-ports', '172.30.0.1 . tcp . 80', '8080', 'service-ips', '172.30.0.1 . tcp . 80', 'goto balance-1']);
    expect(b.parts().probes).toEqual(['172.30.0.1 . tcp . 80', '172.30.0.9 . tcp . 80']);
  });

  it('keeps per-index endpoint maps as the endpoint list itself, keyed by a claimed destination', () => {
    const sets = ['endpoint-ips-0', 'endpoint-ips-1'];
    const b = new TableBuilder('ip', { ...scope, outerSets: new Set(sets) });
    const key = { concat: ['172.30.0.1', 'tcp', 80] };
    const endpoints = [ep('10.180.0.1'), ep('10.180.0.2')];
    expect(() => b.addIndexed(sets, key, endpoints)).toThrow(/kpx bug: elements of map endpoint-ips-0 keyed by 172\.30\.0\.1 \. tcp \. 80, a destination not claimed/);
    expect(b.claimable(key)).toBe(true);
    b.addIndexed(sets, key, endpoints);
    expect(b.parts().indexed).toEqual([{ key: '172.30.0.1 . tcp . 80', sets, endpoints }]);
    expect(b.parts().indexed[0]?.endpoints).toBe(endpoints);
    expect(b.parts().elements).toEqual([]);
    expect(() => b.addIndexed(sets, key, endpoints)).toThrow(/kpx bug: a second endpoint list/);
    expect(() => b.addIndexed(sets, key, [...endpoints, ep('10.180.0.3')])).toThrow(/undeclared set #2/);
  });

  it('keeps self pairs (the hairpin set) as the endpoint list itself, one list per part', () => {
    const b = new TableBuilder('ip', { ...scope, outerSets: new Set(['hairpin-endpoints']) });
    const endpoints = [ep('10.180.0.1'), ep('10.180.0.2')];
    b.addSelfPairs('hairpin-endpoints', endpoints);
    expect(b.parts().selfPairs).toEqual({ set: 'hairpin-endpoints', endpoints });
    expect(b.parts().selfPairs?.endpoints).toBe(endpoints);
    expect(() => b.addSelfPairs('hairpin-endpoints', endpoints)).toThrow(/kpx bug: a second self-pair list/);
    expect(() => new TableBuilder('ip', scope).addSelfPairs('hairpin-endpoints', endpoints)).toThrow(/undeclared set/);
  });
});
