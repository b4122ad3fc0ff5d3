/**
 * Child processes for the kernel-test harness. Every command is an argv array handed to
 * `spawn` (never a shell), and every PID is remembered by the registry that started it,
 * so cleanup kills exactly the processes this harness started and nothing else.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The PIDs a topology started that may still be running. */
export class ProcessRegistry {
  private readonly running = new Map<number, ChildProcess>();

  track(child: ChildProcess): void {
    const pid = child.pid;
    if (pid === undefined) return;
    this.running.set(pid, child);
    child.once('exit', () => this.running.delete(pid));
  }

  get size(): number {
    return this.running.size;
  }

  /** SIGKILLs one tracked process and waits for it to be reaped. */
  async kill(child: ChildProcess): Promise<void> {
    if (child.pid === undefined || !this.running.has(child.pid)) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    killPid(child.pid);
    await exited;
  }

  async killAll(): Promise<void> {
    await Promise.all([...this.running.values()].map((child) => this.kill(child)));
  }

  /** For `process.on('exit')`, where nothing asynchronous runs any more. */
  killAllNow(): void {
    for (const pid of this.running.keys()) killPid(pid);
  }
}

function killPid(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/** Runs argv to completion, collecting output; a spawn failure is reported as code 127. */
export function runCommand(
  argv: string[],
  stdin?: string,
  registry?: ProcessRegistry,
): Promise<CommandResult> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.resolve({ code: 127, stdout: '', stderr: 'empty argv' });
  return new Promise((resolve) => {
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    registry?.track(child);
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.stdin.on('error', () => {
      // The command may exit before reading its input; its exit code says what happened.
    });
    child.once('error', (err) => resolve({ code: 127, stdout: '', stderr: String(err) }));
    child.once('close', (code, signal) =>
      resolve({
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
      }),
    );
    child.stdin.end(stdin ?? '');
  });
}

/** Like `runCommand`, but a non-zero exit becomes an exception naming the command. */
export async function runChecked(
  argv: string[],
  stdin?: string,
  registry?: ProcessRegistry,
): Promise<CommandResult> {
  const result = await runCommand(argv, stdin, registry);
  if (result.code !== 0) {
    throw new Error(`${argv.join(' ')} exited ${result.code}: ${result.stderr.trim()}`);
  }
  return result;
}
