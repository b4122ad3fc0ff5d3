/**
 * Which iptables the host uses: the legacy x_tables kernel API or nf_tables. A container
 * must use the same one as the host, or its rules live in a table nobody else looks at.
 * Decided as the iptables-wrappers script decides: the kubelet's canary/hint chains first,
 * then whichever flavour holds more rules; nf_tables on a tie (the Debian 12 default).
 */
import type { Exec } from './exec.js';

export type IptablesFlavour = 'legacy' | 'nft';

const HINT_CHAINS = /^:(KUBE-IPTABLES-HINT|KUBE-KUBELET-CANARY)\b/m;

function ruleCount(save: string | null): number {
  if (save === null) return -1;
  return save.split('\n').filter((line) => line.startsWith('-')).length;
}

/** Pure decision from the two `*-save` outputs (null: that flavour is not installed). */
export function chooseIptablesFlavour(legacySave: string | null, nftSave: string | null): IptablesFlavour {
  if (nftSave !== null && HINT_CHAINS.test(nftSave)) return 'nft';
  if (legacySave !== null && HINT_CHAINS.test(legacySave)) return 'legacy';
  if (legacySave === null) return 'nft';
  if (nftSave === null) return 'legacy';
  return ruleCount(legacySave) > ruleCount(nftSave) ? 'legacy' : 'nft';
}

export async function detectIptablesFlavour(run: Exec, family: 4 | 6 = 4): Promise<IptablesFlavour> {
  const tool = family === 4 ? 'iptables' : 'ip6tables';
  const save = async (flavour: IptablesFlavour) => {
    const result = await run([`${tool}-${flavour}-save`]);
    return result.code === 0 ? result.stdout : null;
  };
  return chooseIptablesFlavour(await save('legacy'), await save('nft'));
}

/** The restore/save binaries of a flavour and family. */
export function iptablesTools(flavour: IptablesFlavour, family: 4 | 6) {
  const base = family === 4 ? 'iptables' : 'ip6tables';
  return {
    restore: `${base}-${flavour}-restore`,
    save: `${base}-${flavour}-save`,
    cmd: `${base}-${flavour}`,
  };
}
