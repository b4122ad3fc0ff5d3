import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { cidrContains, joinHostPort, parseCIDR, parseIP } from '../../src/model/ip.js';

describe('parseIP', () => {
  it.each([
    ['10.0.0.1', '10.0.0.1', 4],
    ['010.000.001.002', '10.0.1.2', 4],
    ['FD00:0::0001', 'fd00::1', 6],
    ['2001:db8:0:0:0:0:0:1', '2001:db8::1', 6],
  ])('accepts %s as %s', (text, ip, family) => {
    expect(parseIP(text)).toEqual({ ip, family });
  });

  it.each(['', '10.0.0.256', '10.0.0', '1.2.3.4 ', 'fe80::1%eth0', '::ffff:1.2.3.4', 'x"; -j ACCEPT', '1.2.3.4/32'])(
    'refuses %j',
    (text) => {
      expect(parseIP(text)).toBeNull();
    },
  );
});

describe('parseCIDR', () => {
  it('trims, masks host bits and accepts leading zeros', () => {
    expect(parseCIDR(' 10.1.2.3/8 ')?.cidr).toBe('10.0.0.0/8');
    expect(parseCIDR('192.168.001.000/24')?.cidr).toBe('192.168.1.0/24');
    expect(parseCIDR('fd00::1/64')?.cidr).toBe('fd00::/64');
  });
  it('refuses bad prefixes and bare addresses', () => {
    expect(parseCIDR('10.0.0.0/33')).toBeNull();
    expect(parseCIDR('10.0.0.0')).toBeNull();
    expect(parseCIDR('fd00::/129')).toBeNull();
    expect(parseCIDR('10.0.0.0/-1')).toBeNull();
  });
  it('containment is per family', () => {
    expect(cidrContains('10.0.0.0/8', '10.9.8.7')).toBe(true);
    expect(cidrContains('10.0.0.0/8', '11.0.0.1')).toBe(false);
    expect(cidrContains('0.0.0.0/0', 'fd00::1')).toBe(false);
    expect(cidrContains('fd00::/64', 'fd00::5')).toBe(true);
  });
  it('IPv4 containment agrees with ipaddr.js at every prefix, host bits set or not', () => {
    const octet = fc.integer({ min: 0, max: 255 });
    const ipv4 = fc.tuple(octet, octet, octet, octet).map((o) => o.join('.'));
    fc.assert(
      fc.property(ipv4, fc.integer({ min: 0, max: 32 }), ipv4, (network, prefix, ip) => {
        const expected = ipaddr.parse(ip).match(ipaddr.parse(network), prefix);
        expect(cidrContains(`${network}/${prefix}`, ip)).toBe(expected);
        // The same network with its host bits kept: the address inside it always matches.
        expect(cidrContains(`${ip}/${prefix}`, ip)).toBe(true);
      }),
    );
    expect(cidrContains('10.0.0.0/', '10.0.0.1')).toBe(false);
    expect(cidrContains('10.0.0.0/33', '10.0.0.1')).toBe(false);
    expect(cidrContains('10.0.0.0/8', '010.0.0.1')).toBe(true);
  });
  it('joins host and port like Go', () => {
    expect(joinHostPort('fd00::1', 80)).toBe('[fd00::1]:80');
    expect(joinHostPort('10.0.0.1', 80)).toBe('10.0.0.1:80');
  });
});
