/**
 * Feeds restore input to the real iptables tools inside a scratch network namespace
 * (`kpxC-<random>`, deleted afterwards), so tests learn whether the kernel's userspace
 * (and, with `loadIptablesRestore`, the kernel itself) accepts a rendered ruleset without
 * touching the host's rules. Needs root and iproute2.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RestoreResult {
  ok: boolean;
  /** The tool's complaint (with the failing line number) when not ok. */
  stderr: string;
}

export interface LoadResult extends RestoreResult {
  /** `iptables-save` / `ip6tables-save` of the namespace after the load ('' when not ok). */
  saved: string;
}

function run(argv: string[], input = ''): Promise<ToolResult> {
  return new Promise((resolve) => {
    const [command, ...args] = argv;
    const child = spawn(command!, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', (error) => resolve({ code: -1, stdout, stderr: stderr + String(error) }));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

async function withScratchNamespace<T>(body: (ns: string) => Promise<T>): Promise<T> {
  const ns = `kpxC-${randomBytes(5).toString('hex')}`;
  const created = await run(['ip', 'netns', 'add', ns]);
  if (created.code !== 0) throw new Error(`ip netns add ${ns} failed: ${created.stderr}`);
  try {
    return await body(ns);
  } finally {
    await run(['ip', 'netns', 'delete', ns]);
  }
}

const tools = (family: 4 | 6) =>
  family === 4
    ? { restore: 'iptables-restore', save: 'iptables-save' }
    : { restore: 'ip6tables-restore', save: 'ip6tables-save' };

/** `iptables-restore --test` (or ip6tables-restore) of `text` in a fresh namespace. */
export async function checkIptablesRestore(text: string, family: 4 | 6): Promise<RestoreResult> {
  return withScratchNamespace(async (ns) => {
    const result = await run(['ip', 'netns', 'exec', ns, tools(family).restore, '--test'], text);
    return { ok: result.code === 0, stderr: result.stderr };
  });
}

/**
 * Loads `text` for real in a fresh namespace and reads it back. With iptables-nft (1.8.9)
 * `--test` only parses: the batch never reaches the kernel, and even a jump to an
 * undeclared chain or DNAT in the filter table passes. Only a real load proves the ruleset.
 */
export async function loadIptablesRestore(text: string, family: 4 | 6): Promise<LoadResult> {
  return withScratchNamespace(async (ns) => {
    const { restore, save } = tools(family);
    const loaded = await run(['ip', 'netns', 'exec', ns, restore], text);
    if (loaded.code !== 0) return { ok: false, stderr: loaded.stderr, saved: '' };
    const saved = await run(['ip', 'netns', 'exec', ns, save]);
    return { ok: saved.code === 0, stderr: saved.stderr, saved: saved.stdout };
  });
}
