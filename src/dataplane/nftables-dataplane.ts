/**
 * The nftables dataplane: one nft transaction per sync, planned by backend/nftables/plan.ts
 * against the table state kept in memory. A full batch is written, as it is rendered, to a
 * one-shot `nft -f -` (nft 1.0.6 reads text from a piped stdin fine; only `-j -f -` needs a
 * file: it opens /dev/stdin, ENXIO on a socket), whose memory (~370 MB for 10k services) is
 * returned when it exits. A partial batch goes to a long-lived `nft -i` (nft-session.ts) when a Spawn is
 * given and nft's CLI answers, else to a one-shot nft too. The state advances only when the
 * batch was accepted; otherwise it is dropped, so the next sync recreates the whole table.
 */
import type { Logger } from 'pino';
import type { RulesetIntent } from '../compile/intent.js';
import { nftDriftProbe, nftDriftReason } from '../backend/nftables/drift.js';
import { lowerNftables } from '../backend/nftables/lower.js';
import { TABLE_NAME } from '../backend/nftables/names.js';
import { planNftUpdate, renderFullChunks, renderNftOps, updateNftState } from '../backend/nftables/plan.js';
import { renderNftText } from '../backend/nftables/render.js';
import type { NftTableState } from '../backend/nftables/table-state.js';
import type { Exec, ExecResult, Spawn } from './exec.js';
import { NftSession, SessionUnavailable } from './nft-session.js';
import { fullLoadEnv } from './tool-env.js';
import { ApplyError, type Dataplane, type SyncOptions, type SyncReport } from './types.js';

export interface NftablesDataplaneOptions {
  exec: Exec;
  /** Starts the `nft -i` session for partial batches; without it every batch is one-shot. */
  spawn?: Spawn;
  family: 4 | 6;
  logger?: Logger;
}

/** kube-proxy's own table in its nftables mode, removed like kube-proxy's cleanup does. */
const KUBE_PROXY_TABLE = 'kube-proxy';

const APPLY_TIMEOUT_MS = 120_000;

function nftFamily(family: 4 | 6): 'ip' | 'ip6' {
  return family === 4 ? 'ip' : 'ip6';
}

/** Deletes `ip kpx` and `ip kube-proxy` (or the ip6 ones) if present; nothing else. */
export async function cleanupNftables(exec: Exec, family: 4 | 6): Promise<void> {
  const fam = nftFamily(family);
  const listed = await exec(['nft', 'list', 'tables', fam]);
  if (listed.code !== 0) throw new ApplyError(`nft list tables ${fam} failed`, listed.stderr);
  const present = new Set(
    listed.stdout
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .filter((words) => words[0] === 'table' && words[1] === fam)
      .map((words) => words[2]),
  );
  const doomed = [TABLE_NAME, KUBE_PROXY_TABLE].filter((t) => present.has(t));
  if (doomed.length === 0) return;
  const text = doomed.map((t) => `delete table ${fam} ${t}\n`).join('');
  const result = await exec(['nft', '-f', '-'], { stdin: text });
  if (result.code !== 0) throw new ApplyError(`nft: deleting ${doomed.join(', ')} failed`, result.stderr);
}

/**
 * Pieces produced on demand (iterate once), counting their bytes and the time spent producing
 * them. A piece built by appending is a rope until something reads its characters; counting
 * its bytes flattens it, which is rendering work too (~25–40 ms of a 10k-service batch),
 * so it is timed with the piece.
 */
class MeasuredPieces implements Iterable<string> {
  bytes = 0;
  ms = 0;

  constructor(private readonly source: Iterable<string>) {}

  *[Symbol.iterator](): Iterator<string> {
    const it = this.source[Symbol.iterator]();
    for (;;) {
      const start = performance.now();
      const next = it.next();
      if (!next.done) this.bytes += Buffer.byteLength(next.value);
      this.ms += performance.now() - start;
      if (next.done) return;
      yield next.value;
    }
  }
}

export async function createNftablesDataplane(opts: NftablesDataplaneOptions): Promise<Dataplane> {
  const { exec, family, logger } = opts;
  let session = opts.spawn ? new NftSession(opts.spawn) : null;
  let state: NftTableState | null = null;
  /** The intent of the last accepted sync; its full text is rendered only on demand. */
  let applied: RulesetIntent | null = null;
  let appliedText: string | null = null;

  async function applyPartial(text: string): Promise<ExecResult> {
    if (session !== null) {
      try {
        return await session.run(text, APPLY_TIMEOUT_MS);
      } catch (err) {
        if (!(err instanceof SessionUnavailable)) throw err;
        logger?.warn({ family, reason: err.message }, 'nft -i unavailable; every batch starts nft from now on');
        session = null;
      }
    }
    return exec(['nft', '-f', '-'], { stdin: text, timeoutMs: APPLY_TIMEOUT_MS });
  }

  async function sync(intent: RulesetIntent, syncOpts: SyncOptions): Promise<SyncReport> {
    if (intent.family !== family) throw new Error(`kpx bug: IPv${intent.family} intent for the IPv${family} dataplane`);
    const last = state;
    // The planner updates `last` in place: until nft accepts the batch there is no state.
    state = null;
    const t0 = performance.now();
    const update = updateNftState(last, intent, { full: syncOpts.full });
    const t1 = performance.now();
    const ops = planNftUpdate(update);
    const t2 = performance.now();
    // A full batch is rendered while nft reads it (renderMs is the time spent rendering,
    // applyMs the rest); a partial one is rendered first and goes to the session as a file.
    const full = ops.full ? new MeasuredPieces(renderFullChunks(ops)) : null;
    const text = ops.full ? null : renderNftOps(ops);
    const t3 = performance.now();
    const bytes = () => full?.bytes ?? Buffer.byteLength(text ?? '');
    // The state's deferred bookkeeping runs while nft parses: nft starts only at end of input.
    const settle = () => ops.state.settle();
    const result = full !== null ? await exec(['nft', '-f', '-'], { stdin: full, timeoutMs: APPLY_TIMEOUT_MS, onInputWritten: settle, env: fullLoadEnv() }) : text ? await applyPartial(text) : null;
    if (result !== null && result.code !== 0) {
      logger?.warn({ family, full: ops.full, bytes: bytes() }, 'nft rejected the batch; next sync recreates the table');
      throw new ApplyError(`nft (IPv${family}, ${ops.full ? 'full' : 'partial'} batch) exited ${result.code}`, result.stderr);
    }
    const t4 = performance.now();
    state = ops.state;
    if (applied !== intent) appliedText = null;
    applied = intent;
    const renderMs = t3 - t2 + (full?.ms ?? 0);
    return {
      full: ops.full,
      lowerMs: t1 - t0,
      planMs: t2 - t1,
      renderMs,
      applyMs: t4 - t2 - renderMs,
      batchBytes: bytes(),
      written: ops.written,
      deleted: ops.deleted,
      problems: [],
    };
  }

  return {
    mode: 'nftables',
    family,
    sync,
    async drifted() {
      if (state === null) return null;
      const fam = nftFamily(family);
      const probe = await exec(['nft', '-c', '-f', '-'], { stdin: nftDriftProbe(fam) });
      return nftDriftReason(fam, probe.code);
    },
    lastApplied() {
      if (applied === null) return null;
      // The state is the applied table; after a refused batch only the intent is left.
      appliedText ??= renderNftText(state !== null ? state.toRuleset() : lowerNftables(applied));
      return appliedText;
    },
    close() {
      session?.close();
    },
    async cleanup() {
      await cleanupNftables(exec, family);
      state = null;
      applied = null;
      appliedText = null;
    },
  };
}
