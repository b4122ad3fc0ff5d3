import { lowerIptables } from '../../src/backend/iptables/lower.js';
import { renderIptablesRestore } from '../../src/backend/iptables/render.js';
import { describeServiceMatrix } from './service-matrix.js';

describeServiceMatrix('iptables backend', 'ipt', async (topo, family, intent) => {
  const tool = family === 4 ? 'iptables-restore' : 'ip6tables-restore';
  const result = await topo.run(topo.node, [tool], renderIptablesRestore(lowerIptables(intent)));
  if (result.code !== 0) throw new Error(`${tool} refused the ruleset: ${result.stderr}`);
});
