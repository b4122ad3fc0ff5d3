/**
 * Golden rulesets: the rendered output of the example cluster and the kernel-matrix cluster,
 * pinned byte for byte. Regenerate on purpose only: `npx vitest run test/unit/golden.test.ts -u`.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { normalizeProxyConfig } from '../../src/compile/config.js';
import { parseObjectsText } from '../../src/model/load.js';
import { compileObjects, renderIntent } from '../../src/pipeline.js';
import { MATRIX_CONFIG, matrixObjects } from '../kernel/matrix-cluster.js';

const example = parseObjectsText(readFileSync('examples/cluster.yaml', 'utf8'), 'cluster.yaml').objects;
const cases = [
  { name: 'example', objects: example, config: { ...MATRIX_CONFIG, nodeIPs: ['192.168.50.10', 'fd00:50::10'] } },
  { name: 'matrix', objects: matrixObjects(), config: MATRIX_CONFIG },
];

describe('golden rulesets', () => {
  for (const c of cases) {
    const normalized = normalizeProxyConfig(c.config);
    if ('error' in normalized) throw new Error(normalized.error);
    for (const family of [4, 6] as const) {
      const { intent } = compileObjects(c.objects, normalized.config, family);
      it(`${c.name} IPv${family} iptables`, async () => {
        await expect(renderIntent(intent, 'iptables')).toMatchFileSnapshot(`../golden/${c.name}-v${family}.iptables`);
      });
      it(`${c.name} IPv${family} nftables text`, async () => {
        await expect(renderIntent(intent, 'nftables')).toMatchFileSnapshot(`../golden/${c.name}-v${family}.nft`);
      });
      it(`${c.name} IPv${family} nftables JSON`, async () => {
        await expect(renderIntent(intent, 'nftables', 'json')).toMatchFileSnapshot(`../golden/${c.name}-v${family}.nft.json`);
      });
    }
  }
});
