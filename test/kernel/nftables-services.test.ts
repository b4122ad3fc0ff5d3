import { writeFile, rm, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lowerNftables } from '../../src/backend/nftables/lower.js';
import { renderNftJson, renderNftText } from '../../src/backend/nftables/render.js';
import { describeServiceMatrix } from './service-matrix.js';

describeServiceMatrix('nftables backend, nft -f text', 'nfttext', async (topo, _family, intent) => {
  const result = await topo.run(topo.node, ['nft', '-f', '-'], renderNftText(lowerNftables(intent)));
  if (result.code !== 0) throw new Error(`nft refused the ruleset: ${result.stderr}`);
});

// nft 1.0.6 opens /dev/stdin by path for -j, which fails on the socket Node gives a child:
// the JSON goes through a file.
describeServiceMatrix('nftables backend, nft -j -f JSON', 'nftjson', async (topo, _family, intent) => {
  const dir = await mkdtemp(join(tmpdir(), 'kpx-nftjson-'));
  try {
    const file = join(dir, 'ruleset.json');
    await writeFile(file, renderNftJson(lowerNftables(intent)));
    const result = await topo.run(topo.node, ['nft', '-j', '-f', file]);
    if (result.code !== 0) throw new Error(`nft -j refused the ruleset: ${result.stderr}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
