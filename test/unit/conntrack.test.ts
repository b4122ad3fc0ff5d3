/**
 * Which UDP conntrack entries a sync makes stale, and the `conntrack -D` calls that delete
 * them. Address conventions: nft-fixtures.ts.
 */
import { describe, expect, it } from 'vitest';
import type { RulesetIntent } from '../../src/compile/intent.js';
import { clearConntrack, conntrackDeleteArgv, staleConntrackFlows, type ConntrackFlow } from '../../src/dataplane/conntrack.js';
import type { Exec, ExecResult } from '../../src/dataplane/exec.js';
import { ep, intent, svc, type ServiceSpec } from './nft-fixtures.js';

const A = ep('10.180.0.1', 5353);
const B = ep('10.180.0.2', 5353);

const dns = (spec: ServiceSpec = {}) => svc({ service: 'dns', protocol: 'udp', clusterIP: '172.30.0.10', port: 53, ...spec });

/** `reason origDst:port <- replySrc:port` per flow, the way `conntrack -L` pairs them. */
function described(previous: RulesetIntent | null, current: RulesetIntent): string[] {
  return staleConntrackFlows(previous, current).map(
    (f) => `${f.reason} ${f.origDst ?? '*'}:${f.origPortDst} <- ${f.replySrc ?? '*'}:${f.replyPortSrc}`,
  );
}

describe('staleConntrackFlows', () => {
  it('clears entries DNATed to a removed endpoint, on every frontend of the service', () => {
    const spec = { externalIPs: ['192.168.99.1'], loadBalancerIPs: ['1.2.3.1'], nodePort: 30053 };
    expect(described(intent([dns({ ...spec, endpoints: [A, B] })]), intent([dns({ ...spec, endpoints: [A] })]))).toEqual([
      'endpoint-removed 1.2.3.1:53 <- 10.180.0.2:5353',
      'endpoint-removed 172.30.0.10:53 <- 10.180.0.2:5353',
      'endpoint-removed 192.168.99.1:53 <- 10.180.0.2:5353',
      'endpoint-removed *:30053 <- 10.180.0.2:5353',
    ]);
  });

  it('still clears them when the service scales to zero (kube-proxy #139628)', () => {
    expect(described(intent([dns({ endpoints: [A] })]), intent([dns()]))).toEqual(['endpoint-removed 172.30.0.10:53 <- 10.180.0.1:5353']);
  });

  it('treats an endpoint whose port changed as removed', () => {
    expect(described(intent([dns({ endpoints: [A] })]), intent([dns({ endpoints: [ep('10.180.0.1', 5454)] })]))).toEqual([
      'endpoint-removed 172.30.0.10:53 <- 10.180.0.1:5353',
    ]);
  });

  it('clears the never-DNATed entries of frontends that get endpoints, including the NodePort', () => {
    const spec = { loadBalancerIPs: ['1.2.3.1'], nodePort: 30053 };
    expect(described(intent([dns(spec)]), intent([dns({ ...spec, endpoints: [A] })]))).toEqual([
      'now-served 1.2.3.1:53 <- 1.2.3.1:53',
      'now-served 172.30.0.10:53 <- 172.30.0.10:53',
      'now-served *:30053 <- *:30053',
    ]);
  });

  it('clears the never-DNATed entries of a frontend added to a served service', () => {
    expect(described(intent([dns({ endpoints: [A] })]), intent([dns({ endpoints: [A], externalIPs: ['192.168.99.1'] })]))).toEqual([
      'now-served 192.168.99.1:53 <- 192.168.99.1:53',
    ]);
  });

  it('on the first sync, clears only never-DNATed entries of served UDP frontends', () => {
    const current = intent([
      dns({ endpoints: [A] }),
      dns({ service: 'empty', clusterIP: '172.30.0.11' }),
      svc({ service: 'web', clusterIP: '172.30.0.12', endpoints: [A] }),
    ]);
    expect(described(null, current)).toEqual(['now-served 172.30.0.10:53 <- 172.30.0.10:53']);
  });

  it('clears the endpoints of a removed service, and keeps frontends by address when a VIP changes hands', () => {
    const before = intent([dns({ endpoints: [A] })]);
    expect(described(before, intent([]))).toEqual(['endpoint-removed 172.30.0.10:53 <- 10.180.0.1:5353']);
    // Same VIP and port, now another service's with the same endpoint: nothing is stale.
    expect(described(before, intent([dns({ service: 'dns2', endpoints: [A] })]))).toEqual([]);
  });

  it('finds nothing when nothing changed, and ignores TCP and SCTP', () => {
    const same = intent([dns({ endpoints: [A, B], nodePort: 30053 })]);
    expect(described(same, same)).toEqual([]);
    for (const protocol of ['tcp', 'sctp'] as const) {
      const s = (endpoints: typeof A[]) => intent([svc({ protocol, endpoints, nodePort: 30080 })]);
      expect(described(s([A, B]), s([A]))).toEqual([]);
      expect(described(s([]), s([A]))).toEqual([]);
    }
  });

  it('names the service ports of each frontend', () => {
    const [flow] = staleConntrackFlows(intent([dns({ endpoints: [A] })]), intent([dns()]));
    expect(flow?.services).toEqual(['ns1/dns:p80']);
  });
});

describe('conntrackDeleteArgv', () => {
  const flow: ConntrackFlow = {
    reason: 'endpoint-removed',
    services: [],
    protocol: 'udp',
    origDst: 'fd00:172:30::10',
    origPortDst: 53,
    replySrc: 'fd00:10:180::1',
    replyPortSrc: 5353,
  };

  it('filters by original destination and reply source, with the family for IPv6', () => {
    expect(conntrackDeleteArgv(flow, 6)).toEqual([
      'conntrack', '-D', '-f', 'ipv6', '-p', 'udp',
      '--orig-dst', 'fd00:172:30::10', '--orig-port-dst', '53',
      '--reply-src', 'fd00:10:180::1', '--reply-port-src', '5353',
    ]);
  });

  it('leaves out the addresses of a NodePort flow', () => {
    expect(conntrackDeleteArgv({ ...flow, origDst: null, origPortDst: 30053, replySrc: null, replyPortSrc: 30053 }, 4)).toEqual([
      'conntrack', '-D', '-p', 'udp', '--orig-port-dst', '30053', '--reply-port-src', '30053',
    ]);
  });
});

describe('clearConntrack', () => {
  const flows = staleConntrackFlows(intent([dns({ endpoints: [A, B], nodePort: 30053 })]), intent([dns({ nodePort: 30053 })]));

  function fakeExec(answer: (argv: string[]) => ExecResult): { exec: Exec; calls: string[][] } {
    const calls: string[][] = [];
    return {
      calls,
      exec: async (argv) => {
        calls.push(argv);
        return answer(argv);
      },
    };
  }

  it('runs one deletion per flow and adds up what conntrack reports; "0 flow entries" (exit 1) is fine', async () => {
    const { exec, calls } = fakeExec((argv) =>
      argv.includes('10.180.0.1')
        ? { code: 0, stdout: '', stderr: 'conntrack v1.4.7 (conntrack-tools): 2 flow entries have been deleted.\n' }
        : { code: 1, stdout: '', stderr: 'conntrack v1.4.7 (conntrack-tools): 0 flow entries have been deleted.\n' },
    );
    expect(flows).toHaveLength(4);
    await expect(clearConntrack(exec, flows, 4)).resolves.toBe(4);
    expect(calls.map((argv) => argv.slice(0, 2))).toEqual(flows.map(() => ['conntrack', '-D']));
  });

  it('attempts every flow, then reports the failures', async () => {
    const { exec, calls } = fakeExec(() => ({ code: 127, stdout: '', stderr: 'spawn conntrack ENOENT' }));
    await expect(clearConntrack(exec, flows, 4)).rejects.toThrow(/4 of 4 deletions failed; first: conntrack -D .* exited 127: spawn conntrack ENOENT/);
    expect(calls).toHaveLength(4);
  });

  it('treats exit 1 without the "0 flow entries" message as a failure', async () => {
    const { exec } = fakeExec(() => ({ code: 1, stdout: '', stderr: 'conntrack v1.4.7 (conntrack-tools): Operation failed: invalid parameters\n' }));
    await expect(clearConntrack(exec, flows.slice(0, 1), 4)).rejects.toThrow(/invalid parameters/);
  });
});
