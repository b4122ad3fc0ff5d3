/**
 * The real tools accept every ruleset the other iptables tests render: `iptables-restore
 * --test` for each, and a real load (kernel checks included) read back with iptables-save.
 * Runs in scratch namespaces (test/support/restore-check.ts); needs root.
 */
import { describe, expect, it } from 'vitest';
import { lowerIptables } from '../../src/backend/iptables/lower.js';
import { renderIptablesRestore } from '../../src/backend/iptables/render.js';
import { allChains } from '../../src/backend/iptables/ruleset.js';
import { checkIptablesRestore, loadIptablesRestore } from '../support/restore-check.js';
import { scenarios } from './iptables-fixtures.js';

/** Rule count per `table/chain` in iptables-save output. */
function savedRuleCounts(saved: string): Map<string, number> {
  const counts = new Map<string, number>();
  let table = '';
  for (const line of saved.split('\n')) {
    if (line.startsWith('*')) table = line.slice(1);
    const chain = /^:(\S+)/.exec(line)?.[1] ?? /^-A (\S+)/.exec(line)?.[1];
    if (chain === undefined) continue;
    const key = `${table}/${chain}`;
    counts.set(key, (counts.get(key) ?? 0) + (line.startsWith('-A') ? 1 : 0));
  }
  return counts;
}

describe('rendered rulesets in the real iptables', () => {
  for (const [name, intent] of Object.entries(scenarios())) {
    it(`${name}: accepted by ${intent.family === 4 ? 'iptables' : 'ip6tables'}-restore, loaded rule for rule`, async () => {
      const ruleset = lowerIptables(intent);
      const text = renderIptablesRestore(ruleset);
      expect(await checkIptablesRestore(text, intent.family)).toEqual({ ok: true, stderr: '' });

      const loaded = await loadIptablesRestore(text, intent.family);
      expect(loaded.stderr).toBe('');
      expect(loaded.ok).toBe(true);
      const counts = savedRuleCounts(loaded.saved);
      for (const chain of allChains(ruleset)) {
        expect(counts.get(`${chain.table}/${chain.name}`), `${chain.table}/${chain.name}`).toBe(chain.rules.length);
      }
      for (const table of ['filter', 'nat'] as const) {
        for (const builtin of new Set(ruleset.jumps.filter((j) => j.table === table).map((j) => j.chain))) {
          const expected = ruleset.jumps.filter((j) => j.table === table && j.chain === builtin).length;
          expect(counts.get(`${table}/${builtin}`), `${table}/${builtin}`).toBe(expected);
        }
      }
    });
  }

  it('reads back the rules as the kernel holds them', async () => {
    // iptables-save (1.8.9, nf_tables) prints addresses and -p first and quotes every comment.
    const intent = scenarios()['session affinity']!;
    const { ok, saved } = await loadIptablesRestore(renderIptablesRestore(lowerIptables(intent)), 4);
    expect(ok).toBe(true);
    expect(saved).toContain(
      '-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -m recent --rcheck --seconds 10800 --reap --name KUBE-SEP-SXIVWICOYRO3J4NJ --mask 255.255.255.255 --rsource -j KUBE-SEP-SXIVWICOYRO3J4NJ',
    );
    expect(saved).toContain(
      '-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-SXIVWICOYRO3J4NJ',
    );
    expect(saved).toContain(
      '-A KUBE-SEP-SXIVWICOYRO3J4NJ -p tcp -m comment --comment "ns1/svc1:p80" -m recent --set --name KUBE-SEP-SXIVWICOYRO3J4NJ --mask 255.255.255.255 --rsource -m tcp -j DNAT --to-destination 10.180.0.1:80',
    );
    expect(saved).toContain('-A KUBE-SVC-XPGD46QRK7WJZT7O ! -s 10.0.0.0/8 -d 172.30.0.41/32 -p tcp -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp --dport 80 -j KUBE-MARK-MASQ');
    expect(saved).toContain('-j MASQUERADE --random-fully');
  });

  it('keeps comments that needed quoting intact', async () => {
    const intent = scenarios()['comments that need quoting']!;
    const { saved } = await loadIptablesRestore(renderIptablesRestore(lowerIptables(intent)), 4);
    expect(saved).toContain('--comment "odd\\"ns/back\\\\slash:p80 cluster IP"');
  });
});

describe('restore-check helper', () => {
  it('reports what the parser refuses', async () => {
    const result = await checkIptablesRestore('*filter\n:KUBE-X - [0:0]\n-A KUBE-X -p tcp --dport 99999 -j ACCEPT\nCOMMIT\n', 4);
    expect(result.ok).toBe(false);
    expect(result.stderr).toMatch(/line: 3/);
  });

  it('catches with a real load what --test lets through (a jump to a missing chain)', async () => {
    const text = '*filter\n:KUBE-X - [0:0]\n-A KUBE-X -j KUBE-NOWHERE\nCOMMIT\n';
    expect((await checkIptablesRestore(text, 4)).ok).toBe(true);
    const loaded = await loadIptablesRestore(text, 4);
    expect(loaded.ok).toBe(false);
    expect(loaded.stderr).toMatch(/KUBE-NOWHERE/);
  });

  it('catches with a real load what --test lets through (DNAT outside nat)', async () => {
    const text = '*filter\n:KUBE-X - [0:0]\n-A KUBE-X -p tcp -j DNAT --to-destination 10.0.0.1:80\nCOMMIT\n';
    expect((await checkIptablesRestore(text, 4)).ok).toBe(true);
    const loaded = await loadIptablesRestore(text, 4);
    expect(loaded.ok).toBe(false);
    expect(loaded.stderr).toMatch(/Invalid argument/);
  });
});
