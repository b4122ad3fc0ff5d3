import { describe, expect, it } from 'vitest';
import { resolveRunConfig, type RunFlags } from '../../src/config/run-config.js';
import { runCommand } from '../../src/config/run-flags.js';

async function parse(argv: string[]): Promise<RunFlags> {
  let seen: RunFlags | null = null;
  const cmd = runCommand((flags) => {
    seen = flags;
  })
    .exitOverride()
    .configureOutput({ writeErr: () => {}, writeOut: () => {} });
  await cmd.parseAsync(argv, { from: 'user' });
  if (seen === null) throw new Error('action not called');
  return seen;
}

describe('kpx run flags', () => {
  it('passes only the flags that were given', async () => {
    expect(await parse([])).toEqual({});
  });

  it("maps kube-proxy's flag names", async () => {
    const flags = await parse([
      '--config=/etc/kpx/config.yaml',
      '--proxy-mode',
      'nftables',
      '--kubeconfig',
      '/k.conf',
      '--hostname-override',
      'node-a',
      '--cluster-cidr',
      '10.244.0.0/16,fd00::/56',
      '--masquerade-all',
      '--nodeport-addresses',
      '10.0.0.0/8,192.168.0.0/16',
      '--nodeport-addresses=172.16.0.0/12',
      '--min-sync-period',
      '2s',
      '--sync-period',
      '1m',
      '--healthz-bind-address',
      '0.0.0.0:10256',
      '--metrics-bind-address=',
      '--iptables-masquerade-bit',
      '15',
      '--cleanup',
      '--v=4',
    ]);
    expect(flags).toEqual({
      config: '/etc/kpx/config.yaml',
      proxyMode: 'nftables',
      kubeconfig: '/k.conf',
      hostnameOverride: 'node-a',
      clusterCidr: '10.244.0.0/16,fd00::/56',
      masqueradeAll: true,
      nodeportAddresses: ['10.0.0.0/8', '192.168.0.0/16', '172.16.0.0/12'],
      minSyncPeriod: '2s',
      syncPeriod: '1m',
      healthzBindAddress: '0.0.0.0:10256',
      metricsBindAddress: '',
      iptablesMasqueradeBit: '15',
      cleanup: true,
      v: '4',
    });
    const resolved = resolveRunConfig(flags, null, { hostname: 'h' });
    expect(resolved).toMatchObject({ config: { mode: 'nftables', metrics: null, masqueradeMark: 0x8000, proxy: { masqueradeMark: 0x8000 }, verbosity: 4 } });
  });

  it('takes --masquerade-all=false and -v', async () => {
    expect(await parse(['--masquerade-all=false', '-v', '2'])).toEqual({ masqueradeAll: false, v: '2' });
  });

  it('refuses a bad boolean and unknown flags', async () => {
    await expect(parse(['--masquerade-all=maybe'])).rejects.toThrow(/expected true or false/);
    await expect(parse(['--iptables-localhost-nodeports=false'])).rejects.toThrow(/unknown option/);
  });
});
