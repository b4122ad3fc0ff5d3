import { describe, expect, it } from 'vitest';
import { base32, hashPrefix, iptablesEndpointChain, iptablesServiceChains } from '../../src/compile/names.js';

describe('chain names', () => {
  it('base32 matches RFC 4648 test vectors', () => {
    const enc = (s: string) => base32(new TextEncoder().encode(s));
    expect(enc('')).toBe('');
    expect(enc('f')).toBe('MY');
    expect(enc('fo')).toBe('MZXQ');
    expect(enc('foo')).toBe('MZXW6');
    expect(enc('foobar')).toBe('MZXW6YTBOI');
  });

  it('reproduces kube-proxy iptables vectors', () => {
    const chains = iptablesServiceChains({ name: 'ns1/svc1:p80', protocol: 'tcp' });
    expect(chains.cluster).toBe('KUBE-SVC-XPGD46QRK7WJZT7O');
    expect(chains.external).toBe('KUBE-EXT-XPGD46QRK7WJZT7O');
    expect(iptablesEndpointChain({ name: 'ns1/svc1:p80', protocol: 'tcp' }, '10.180.0.1:80')).toBe(
      'KUBE-SEP-SXIVWICOYRO3J4NJ',
    );
  });

  it('reproduces kube-proxy nftables hash vectors', () => {
    expect(hashPrefix('ns1/svc1/tcp/p80', 8)).toBe('ULMVA6XW');
    expect(hashPrefix('ns1/svc1/tcp/p80__10.180.0.1/80', 8)).toBe('5OJB2KTY');
  });
});
