import { describe, expect, it } from 'vitest';
import { comment } from '../../src/backend/iptables/matches.js';
import { quoteToken, renderRule } from '../../src/backend/iptables/quote.js';

describe('quoteToken', () => {
  it('writes chain names, addresses, ports and options bare', () => {
    for (const token of ['KUBE-SEP-SXIVWICOYRO3J4NJ', '10.0.0.0/8', '[fd00::1]:80', '!', '--ctstate', 'RELATED,ESTABLISHED', 'ns1/svc1:p80', '0x4000/0x4000']) {
      expect(quoteToken(token)).toBe(token);
    }
  });

  it('quotes anything with spaces or other characters, escaping backslash and double quote', () => {
    expect(quoteToken('ns1/svc1:p80 cluster IP')).toBe('"ns1/svc1:p80 cluster IP"');
    expect(quoteToken('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(quoteToken("it's")).toBe('"it\'s"');
    expect(quoteToken('')).toBe('""');
    expect(quoteToken('héllo')).toBe('"héllo"');
  });

  it('makes a line break inside a token impossible', () => {
    expect(quoteToken('evil\n-A INPUT -j DROP')).toBe('"evil-A INPUT -j DROP"');
    expect(quoteToken('a\r\tb\u0000')).toBe('ab');
    expect(renderRule('KUBE-X', ['-m', 'comment', '--comment', 'x\ny', '-j', 'ACCEPT'])).toBe(
      '-A KUBE-X -m comment --comment xy -j ACCEPT',
    );
  });
});

describe('comment', () => {
  it('clamps to the 255 bytes xt_comment can hold, without splitting a character', () => {
    const long = `${'a'.repeat(254)}é tail`;
    const [, , , text] = comment(long);
    expect(text).toBe('a'.repeat(254));
    expect(comment('short')[3]).toBe('short');
    expect(new TextEncoder().encode(comment('é'.repeat(200))[3]).length).toBe(254);
  });
});
