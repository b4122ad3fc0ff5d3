import { describe, expect, it } from 'vitest';
import { parseIptablesRestore, tokenizeRestoreLine, type RestoreRuleset } from '../../src/trace/iptables-parse.js';

function parsed(text: string): RestoreRuleset {
  const result = parseIptablesRestore(text);
  if ('error' in result) throw new Error(result.error);
  return result;
}

describe('tokenizeRestoreLine', () => {
  it.each([
    ['-A X -j ACCEPT', ['-A', 'X', '-j', 'ACCEPT']],
    ['-A X\t -m comment   --comment  ns1/svc1:p80', ['-A', 'X', '-m', 'comment', '--comment', 'ns1/svc1:p80']],
    ['--comment "ns1/svc1:p80 cluster IP"', ['--comment', 'ns1/svc1:p80 cluster IP']],
    ['--comment "say \\"hi\\" \\\\ bye"', ['--comment', 'say "hi" \\ bye']],
    ['--comment ""', ['--comment', '']],
    ['a"b c"d e', ['ab c', 'd', 'e']],
    ['"ab"cd', ['ab', 'cd']],
    ['--comment "x\\y" ""', ['--comment', 'xy', '']],
    ['a\\b', ['a\\b']],
    ['x\\"y"', ['x\\y']],
  ])('splits %s', (line, tokens) => {
    expect(tokenizeRestoreLine(line)).toEqual(tokens);
  });

  it('reports an unterminated quote (iptables would swallow the rest of the line)', () => {
    expect(tokenizeRestoreLine('--comment "open')).toEqual({ error: 'unterminated quote' });
  });
});

describe('parseIptablesRestore', () => {
  const text = [
    '# written by kpx',
    '*filter',
    ':KUBE-SERVICES - [0:0]',
    ':FORWARD DROP [12:345]',
    '-A INPUT -j KUBE-SERVICES',
    '-A KUBE-SERVICES -m comment --comment "ns4/svc4:p80 has no endpoints" -j REJECT',
    '',
    'COMMIT',
    '*nat',
    ':KUBE-SEP-OLD - [0:0]',
    ':KUBE-MARK-MASQ - [0:0]',
    '-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000',
    '-X KUBE-SEP-OLD',
    'COMMIT',
    '',
  ].join('\n');

  it('builds tables, chains (declared and implied built-ins) and rules with their text and line', () => {
    const ruleset = parsed(text);
    expect([...ruleset.tables.keys()]).toEqual(['filter', 'nat']);
    const filter = ruleset.tables.get('filter');
    expect([...(filter?.chains.values() ?? [])].map((c) => [c.name, c.policy, c.rules.length])).toEqual([
      ['KUBE-SERVICES', null, 1],
      ['FORWARD', 'DROP', 0],
      ['INPUT', 'ACCEPT', 1],
    ]);
    expect(filter?.chains.get('KUBE-SERVICES')?.rules[0]).toEqual({
      tokens: ['-m', 'comment', '--comment', 'ns4/svc4:p80 has no endpoints', '-j', 'REJECT'],
      text: '-A KUBE-SERVICES -m comment --comment "ns4/svc4:p80 has no endpoints" -j REJECT',
      line: 6,
    });
  });

  it('drops chains deleted with -X', () => {
    expect([...(parsed(text).tables.get('nat')?.chains.keys() ?? [])]).toEqual(['KUBE-MARK-MASQ']);
  });

  it.each([
    ['-A INPUT -j ACCEPT\n', 'line 1: outside of a table section: -A INPUT -j ACCEPT'],
    ['*filter\n-A INPUT -j ACCEPT\n', 'table *filter has no COMMIT'],
    ['*filter\n*nat\nCOMMIT\n', 'line 2: table *filter has no COMMIT: *nat'],
    ['*nat\nCOMMIT\n*nat\nCOMMIT\n', 'line 3: table appears twice: *nat'],
    ['*bogus\nCOMMIT\n', 'line 1: unknown table: *bogus'],
    ['*filter\n-A KUBE-X -j ACCEPT\nCOMMIT\n', 'line 2: chain KUBE-X is not declared in table filter: -A KUBE-X -j ACCEPT'],
    ['*filter\n-A PREROUTING -j ACCEPT\nCOMMIT\n', 'line 2: chain PREROUTING is not declared in table filter: -A PREROUTING -j ACCEPT'],
    ['*filter\n:KUBE-X - [0:0]\n:KUBE-X - [0:0]\nCOMMIT\n', 'line 3: chain declared twice: :KUBE-X - [0:0]'],
    ['*filter\n:KUBE-X ACCEPT [0:0]\nCOMMIT\n', 'line 2: a user-defined chain cannot have a policy: :KUBE-X ACCEPT [0:0]'],
    ['*filter\n:INPUT - [0:0]\nCOMMIT\n', 'line 2: a built-in chain needs policy ACCEPT or DROP: :INPUT - [0:0]'],
    ['*filter\n:KUBE-X\nCOMMIT\n', 'line 2: malformed chain declaration: :KUBE-X'],
    ['*filter\n-I INPUT -j ACCEPT\nCOMMIT\n', 'line 2: unsupported command: -I INPUT -j ACCEPT'],
    ['*filter\n-X INPUT\nCOMMIT\n', 'line 2: cannot delete a built-in chain: -X INPUT'],
    ['*filter\n-A INPUT -m comment --comment "x\nCOMMIT\n', 'line 2: unterminated quote: -A INPUT -m comment --comment "x'],
  ])('refuses %j', (input, error) => {
    expect(parseIptablesRestore(input)).toEqual({ error });
  });
});
