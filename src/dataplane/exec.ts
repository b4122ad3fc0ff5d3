/**
 * Running the kernel tools: argv arrays and stdin, never a shell, so no string from the
 * cluster is ever interpreted by one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Writable } from 'node:stream';

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  /** Written whole, or piece by piece as the tool reads (pieces are produced on demand). */
  stdin?: string | Iterable<string>;
  timeoutMs?: number;
  /**
   * Called once all of stdin is in the tool's pipe (the stream's 'finish'), not when the
   * tool has read it: work the tool does not wait for can run from then on without
   * holding back the tail of its input.
   */
  onInputWritten?: () => void;
  /** The tool's environment; kpx's own when absent. */
  env?: NodeJS.ProcessEnv;
}

export type Exec = (argv: string[], opts?: ExecOptions) => Promise<ExecResult>;

/**
 * Starts a long-running tool with piped stdio (argv, never a shell). Tests and the
 * benchmark wrap it, as they wrap Exec, to run the tool inside their own namespace.
 */
export type Spawn = (argv: string[], opts?: { env?: NodeJS.ProcessEnv }) => ChildProcess;

export const spawnTool: Spawn = ([cmd, ...args], opts = {}) => {
  if (cmd === undefined) throw new Error('kpx bug: empty command');
  return spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env });
};

/** Thrown by `mustExec` when a tool exits non-zero; carries what it printed. */
export class ExecError extends Error {
  constructor(
    readonly argv: string[],
    readonly result: ExecResult,
  ) {
    super(`${argv.join(' ')} exited ${result.code}: ${result.stderr.trim().split('\n').slice(0, 5).join(' | ')}`);
  }
}

export const exec: Exec = (argv, opts = {}) =>
  new Promise((resolve) => {
    const [cmd, ...args] = argv;
    if (cmd === undefined) {
      resolve({ code: 127, stdout: '', stderr: 'empty command' });
      return;
    }
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], timeout: opts.timeoutMs, env: opts.env });
    let inputError: string | null = null;
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', (e) => resolve({ code: 127, stdout: '', stderr: e.message }));
    child.on('close', (code, signal) =>
      resolve({
        code: code ?? 128,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8') + (signal ? `killed by ${signal}` : '') + (inputError === null ? '' : `; its input failed: ${inputError}`),
      }),
    );
    // A tool that exits early (bad flag) closes stdin; that is reported by its exit code.
    child.stdin.on('error', () => {});
    if (opts.onInputWritten) child.stdin.once('finish', opts.onInputWritten);
    if (typeof opts.stdin === 'string' || opts.stdin === undefined) child.stdin.end(opts.stdin ?? '');
    else {
      // Input that fails half-way must not reach the tool as a shorter batch: kill it unread.
      feed(child.stdin, opts.stdin).catch((e: unknown) => {
        inputError = e instanceof Error ? e.message : String(e);
        child.kill('SIGKILL');
      });
    }
  });

/** Writes `pieces` to `stdin`, each once the previous one is taken (a stopped tool ends it). */
async function feed(stdin: Writable, pieces: Iterable<string>): Promise<void> {
  for (const piece of pieces) {
    if (stdin.destroyed) return;
    if (stdin.write(piece)) continue;
    await new Promise<void>((resolve) => {
      const done = () => {
        stdin.off('drain', done);
        stdin.off('close', done);
        resolve();
      };
      stdin.on('drain', done);
      stdin.on('close', done);
    });
  }
  stdin.end();
}

export async function mustExec(run: Exec, argv: string[], opts?: ExecOptions): Promise<ExecResult> {
  const result = await run(argv, opts);
  if (result.code !== 0) throw new ExecError(argv, result);
  return result;
}
