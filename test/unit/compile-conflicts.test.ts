import { describe, expect, it } from 'vitest';
import { compileRuleset } from '../../src/compile/compile.js';
import { clusterState, config, port, service } from './compile-fixtures.js';

describe('conflicting claims between services', () => {
  it('the first service by name keeps an address and port; the later one loses it with a problem', () => {
    const a = service({ name: 'a', clusterIPs: ['172.30.0.1'], externalIPs: ['198.51.100.1'] });
    const b = service({
      name: 'b',
      type: 'NodePort',
      clusterIPs: ['172.30.0.2'],
      externalIPs: ['198.51.100.1', '198.51.100.2'],
      ports: [port({ nodePort: 30080 })],
    });
    const c = service({ name: 'c', type: 'NodePort', clusterIPs: ['172.30.0.3'], ports: [port({ nodePort: 30080 })] });
    const { intent, problems } = compileRuleset(clusterState([a, b, c]), config(), 4);
    const byName = Object.fromEntries(intent.services.map((sp) => [sp.service, sp]));
    expect(byName.a?.externalIPs).toEqual(['198.51.100.1']);
    expect(byName.b?.externalIPs).toEqual(['198.51.100.2']);
    expect(byName.b?.nodePort).toBe(30080);
    expect(byName.c?.nodePort).toBe(0);
    expect(problems).toEqual([
      { kind: 'Service', namespace: 'ns1', name: 'b', reason: 'external IP 198.51.100.1 80/TCP is already used by ns1/a:http; left out' },
      { kind: 'Service', namespace: 'ns1', name: 'c', reason: 'node port 30080/TCP is already used by ns1/b:http; left out' },
    ]);
  });

  it('a duplicate cluster IP and port drops the later service port; other protocols coexist', () => {
    const a = service({ name: 'a', clusterIPs: ['172.30.0.1'] });
    const b = service({ name: 'b', clusterIPs: ['172.30.0.1'], ports: [port(), port({ name: 'dns', protocol: 'UDP' })] });
    const { intent, problems } = compileRuleset(clusterState([a, b]), config(), 4);
    expect(intent.services.map((sp) => `${sp.name}/${sp.protocol}`)).toEqual(['ns1/a:http/tcp', 'ns1/b:dns/udp']);
    expect(problems.map((p) => p.reason)).toEqual(['cluster IP 172.30.0.1 80/TCP is already used by ns1/a:http; left out']);
  });
});
