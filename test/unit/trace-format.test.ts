import { describe, expect, it } from 'vitest';
import { formatPercent, formatTrace } from '../../src/trace/format.js';
import { traceIptables } from '../../src/trace/iptables-trace.js';
import type { TraceResult } from '../../src/trace/types.js';

describe('formatPercent', () => {
  it.each([
    [1, '100%'],
    [0.5, '50%'],
    [0.3333333333, '33.33%'],
    [1 / 7, '14.29%'],
    [0.125, '12.5%'],
    [0.00001, '<0.01%'],
    [0, '0%'],
  ])('%d → %s', (p, text) => {
    expect(formatPercent(p)).toBe(text);
  });
});

describe('formatTrace', () => {
  it('prints the packet, then each outcome with percentage, verdict, masquerade and path', () => {
    const result: TraceResult = {
      packet: { src: 'fd00:10::5', dst: 'fd00:30::41', dport: 80, protocol: 'tcp' },
      outcomes: [
        { probability: 0.5, verdict: 'DNAT', endpoint: '[fd00::1]:80', masquerade: true, path: ['nat/A: -A A -j B', 'nat/B: -A B -j DNAT'] },
        { probability: 0.25, verdict: 'ACCEPT', endpoint: null, masquerade: false, path: [] },
        { probability: 0.25, verdict: 'REJECT', endpoint: null, masquerade: false, path: ['filter/C: -A C -j REJECT'] },
      ],
    };
    expect(formatTrace(result)).toBe(
      [
        'tcp fd00:10::5 -> [fd00:30::41]:80: 3 outcomes',
        '',
        '      50%  DNAT to [fd00::1]:80, masquerade: yes',
        '           nat/A: -A A -j B',
        '           nat/B: -A B -j DNAT',
        '',
        '      25%  ACCEPT (not a service flow: passes untouched), masquerade: no',
        '           (no rule matched)',
        '',
        '      25%  REJECT, masquerade: no',
        '           filter/C: -A C -j REJECT',
        '',
      ].join('\n'),
    );
  });

  it('renders a traced ClusterIP with one head line per endpoint', () => {
    const text = [
      '*nat',
      ':KUBE-SVC-X - [0:0]',
      '-A PREROUTING -m tcp -p tcp -d 172.30.0.41 --dport 80 -j KUBE-SVC-X',
      '-A KUBE-SVC-X -m statistic --mode random --probability 0.3333333333 -p tcp -j DNAT --to-destination 10.180.0.1:80',
      '-A KUBE-SVC-X -m statistic --mode random --probability 0.5000000000 -p tcp -j DNAT --to-destination 10.180.0.2:80',
      '-A KUBE-SVC-X -p tcp -j DNAT --to-destination 10.180.0.3:80',
      'COMMIT',
    ].join('\n');
    const result = traceIptables(text, { src: '10.0.1.1', dst: '172.30.0.41', dport: 80, protocol: 'tcp' }, { localAddresses: [] });
    if ('error' in result) throw new Error(result.error);
    const lines = formatTrace(result).split('\n');
    expect(lines[0]).toBe('tcp 10.0.1.1 -> 172.30.0.41:80: 3 outcomes');
    expect(lines.filter((l) => /^ {2}\s*[\d.<]+%/.test(l))).toEqual([
      '   33.33%  DNAT to 10.180.0.1:80, masquerade: no',
      '   33.33%  DNAT to 10.180.0.2:80, masquerade: no',
      '   33.33%  DNAT to 10.180.0.3:80, masquerade: no',
    ]);
  });
});
