/**
 * A naive Dataplane for checking the harness without the daemon's dataplanes
 * (`--dataplane-impl render`): every sync lowers and renders the whole ruleset (the
 * `kpx render` output) and replaces what is in the kernel. Its figures are NOT kpx's:
 * it never plans a partial batch.
 */
import type { RulesetIntent } from '../../src/compile/intent.js';
import { renderIntent } from '../../src/pipeline.js';
import { mustExec, type Exec } from '../../src/dataplane/exec.js';
import type { Dataplane, SyncReport } from '../../src/dataplane/types.js';
import type { Backend } from './records.js';

export function createRenderDataplane(mode: Backend, run: Exec): Dataplane {
  let last: string | null = null;
  return {
    mode,
    family: 4,
    async sync(intent: RulesetIntent, opts): Promise<SyncReport> {
      const t0 = performance.now();
      const text = renderIntent(intent, mode);
      const t1 = performance.now();
      // nft: replace the table in one transaction (`add` makes `delete` safe on the first sync).
      const batch = mode === 'iptables' ? text : `add table ip kpx\ndelete table ip kpx\n${text}`;
      if (mode === 'iptables') await mustExec(run, ['iptables-restore'], { stdin: batch });
      else await mustExec(run, ['nft', '-f', '-'], { stdin: batch });
      const t2 = performance.now();
      last = text;
      return {
        full: opts.full,
        lowerMs: 0,
        planMs: 0,
        renderMs: t1 - t0,
        applyMs: t2 - t1,
        batchBytes: Buffer.byteLength(batch),
        written: 0,
        deleted: 0,
        problems: [],
      };
    },
    drifted: async () => null,
    lastApplied: () => last,
    close() {},
    async cleanup() {
      if (mode === 'nftables') await run(['nft', 'delete', 'table', 'ip', 'kpx']);
    },
  };
}
