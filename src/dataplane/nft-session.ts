/**
 * A long-lived `nft -i` for the small batches of partial syncs. At 10,000 services a
 * one-shot `nft -f -` of a one-endpoint batch costs ~20 ms, nearly all of it starting nft
 * (exec, linking 11 libraries) and filling its cache from the kernel; the transaction
 * itself takes ~2 ms. A session pays the start once and keeps its cache, which nft 1.0.6
 * revalidates against the ruleset generation before every command, so changes made by
 * other processes (a one-shot full batch, an operator) are seen.
 *
 * Framing (nft 1.0.6, interactive mode reads lines from a pipe, no prompt): nft runs each
 * input line as one buffer, and one buffer as one transaction. A batch is written to a
 * private file and sent as one `include "<file>"` line, so it is parsed exactly as
 * `nft -f` would parse it and stays atomic (a newline-joined batch is not the same
 * grammar, and libedit takes minutes over a 10 MB line). The line after it is a
 * sentinel that is always a syntax error naming the batch's sequence number: nft never
 * sends it to the kernel, and its error on stderr marks the end of the batch's output.
 * Anything the batch printed to stderr before it is the batch's error.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecResult, Spawn } from './exec.js';
import { pidAlive } from './pid.js';

const SENTINEL = 'kpx-batch-end-';

/**
 * nft's RSS grows ~350 bytes per batch (libedit history, measured over 4,000 batches with
 * nft 1.0.6): a session is replaced after this many, so that weeks of syncs stay bounded.
 */
const MAX_BATCHES = 1000;

/** Where the sentinel's error starts in `stderr`, once all of its lines have arrived. */
export function sentinelIndex(stderr: string, seq: number): number {
  const match = new RegExp(`(^|\\n)Error: [^\\n]*\\n${SENTINEL}${seq}\\n[ ^]*\\n`).exec(stderr);
  return match === null ? -1 : match.index + match[1]!.length;
}

interface Pending {
  seq: number;
  resolve: (result: ExecResult) => void;
  timer: NodeJS.Timeout;
}

class Session {
  private stderr = '';
  private pending: Pending | null = null;
  private seq = 0;
  private dead: string | null = null;
  batches = 0;

  constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
  ) {
    // nft's listings are never asked for, but stdout must be drained or nft blocks on it.
    child.stdout?.on('data', () => {});
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => this.onStderr(chunk));
    child.stdin?.on('error', () => {});
    child.on('error', (err) => this.fail(`nft -i: ${err.message}`));
    // 'close', not 'exit': by then everything nft printed has been read.
    child.on('close', (code, signal) => this.fail(`nft -i exited (${signal ?? code})`));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get reason(): string {
    return this.dead ?? '';
  }

  get usable(): boolean {
    return this.dead === null && this.batches < MAX_BATCHES;
  }

  /** Resolves true once nft answered an empty exchange; false if it never will (no CLI in this build). */
  handshake(timeoutMs: number): Promise<boolean> {
    return this.exchange('', timeoutMs).then((r) => r.code === 0 && this.dead === null);
  }

  run(text: string, timeoutMs: number): Promise<ExecResult> {
    const file = join(this.dir, 'batch.nft');
    writeFileSync(file, text);
    this.batches++;
    return this.exchange(`include "${file}"\n`, timeoutMs);
  }

  private exchange(lines: string, timeoutMs: number): Promise<ExecResult> {
    if (this.dead !== null) return Promise.resolve({ code: 127, stdout: '', stderr: this.dead });
    if (this.pending !== null) throw new Error('kpx bug: concurrent batches on one nft session');
    const seq = this.seq++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.fail(`nft -i: no answer within ${timeoutMs} ms`), timeoutMs);
      this.pending = { seq, resolve, timer };
      this.child.stdin?.write(`${lines}${SENTINEL}${seq}\n`);
    });
  }

  private onStderr(chunk: string): void {
    this.stderr += chunk;
    const pending = this.pending;
    if (pending === null) return;
    const at = sentinelIndex(this.stderr, pending.seq);
    if (at < 0) return;
    const output = this.stderr.slice(0, at);
    this.stderr = '';
    this.settle({ code: output.includes('Error') ? 1 : 0, stdout: '', stderr: output });
  }

  private settle(result: ExecResult): void {
    const pending = this.pending;
    if (pending === null) return;
    this.pending = null;
    clearTimeout(pending.timer);
    pending.resolve(result);
  }

  /** The session is unusable from here on; a pending batch is reported as not known to have run. */
  private fail(reason: string): void {
    const printed = this.stderr.trim();
    this.dead ??= printed === '' ? reason : `${reason}: ${printed}`;
    this.settle({ code: 127, stdout: '', stderr: this.dead });
    this.close();
  }

  close(): void {
    // SIGKILL before closing stdin: on EOF nft exits by itself and writes its history.
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    this.child.stdin?.destroy();
    try {
      rmSync(this.dir, { recursive: true, force: true });
    } catch {
      // Swept by the next session (sweepStaleDirs).
    }
    liveDirs.delete(this.dir);
  }
}

const DIR_PREFIX = 'kpx-nft-';
/** The session directories of this process in use now. */
const liveDirs = new Set<string>();

/**
 * Removes session directories left by a kpx that was killed (SIGKILL, OOM): those of a
 * process that is gone, and those of this PID not in use here (a container's PID 1 before a
 * restart; the DaemonSet's /tmp emptyDir outlives the container).
 */
function sweepStaleDirs(): void {
  let names: string[];
  try {
    names = readdirSync(tmpdir());
  } catch {
    return;
  }
  for (const name of names) {
    const match = new RegExp(`^${DIR_PREFIX}(\\d+)-`).exec(name);
    if (!match) continue;
    const pid = Number(match[1]);
    const dir = join(tmpdir(), name);
    if (pid === process.pid ? !liveDirs.has(dir) : !pidAlive(pid)) rmSync(dir, { recursive: true, force: true });
  }
}

/** Thrown by NftSession.run when `nft -i` cannot be used here; nothing was sent to the kernel. */
export class SessionUnavailable extends Error {}

/**
 * Runs batches through one `nft -i` at a time, started on first use and replaced when it
 * dies, times out or has run MAX_BATCHES. Callers run one batch at a time.
 * A result with code 127 means the session died or hung with the batch sent: it may or may
 * not have been committed, so the caller must treat the table's state as unknown.
 */
export class NftSession {
  private session: Session | null = null;

  /** `handshakeTimeoutMs`: how long a new `nft -i` may take to answer an empty exchange. */
  constructor(
    private readonly spawn: Spawn,
    private readonly handshakeTimeoutMs = 10_000,
  ) {}

  /** Throws SessionUnavailable when a new session does not answer (nothing was sent then). */
  async run(text: string, timeoutMs: number): Promise<ExecResult> {
    if (this.session !== null && !this.session.usable) this.close();
    if (this.session === null) {
      sweepStaleDirs();
      let dir: string;
      try {
        dir = mkdtempSync(join(tmpdir(), `${DIR_PREFIX}${process.pid}-`));
      } catch (err) {
        throw new SessionUnavailable(`no private directory for nft -i batches in ${tmpdir()}: ${(err as Error).message}`);
      }
      // The path goes into an nft string: no quote, backslash or line break may end it early.
      if (/["\\\n\r]/.test(dir)) {
        rmSync(dir, { recursive: true, force: true });
        throw new SessionUnavailable(`the temporary directory ${JSON.stringify(dir)} cannot be named in an nft include`);
      }
      liveDirs.add(dir);
      // HOME names a directory that does not exist, so nft cannot write libedit's history.
      const session = new Session(this.spawn(['nft', '-i'], { env: { ...process.env, HOME: join(dir, 'no-home') } }), dir);
      if (!(await session.handshake(this.handshakeTimeoutMs))) {
        const reason = session.reason;
        session.close();
        throw new SessionUnavailable(`nft -i does not answer: ${reason}`);
      }
      this.session = session;
    }
    return this.session.run(text, timeoutMs);
  }

  /** The running nft's PID, if one is running (tests; kill only what you started). */
  get pid(): number | undefined {
    return this.session?.pid;
  }

  close(): void {
    this.session?.close();
    this.session = null;
  }
}
