/**
 * Running `kpx run` (the built CLI, dist/) inside a test namespace, and talking to it there.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Topology } from '../netns/index.js';

export const KPX_MAIN = fileURLToPath(new URL('../../../dist/src/cli/main.js', import.meta.url));

export function kpxBuilt(): boolean {
  return existsSync(KPX_MAIN);
}

export interface KpxProcess {
  child: ChildProcess;
  /** Everything it printed (pino JSON lines), for failure messages. */
  output(): string;
}

export function startKpx(topo: Topology, ns: string, args: string[], env: Record<string, string> = {}): KpxProcess {
  const assignments = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  const child = topo.spawn(ns, ['env', ...assignments, process.execPath, KPX_MAIN, 'run', ...args]);
  const chunks: string[] = [];
  child.stdout?.on('data', (d: Buffer) => chunks.push(d.toString()));
  child.stderr?.on('data', (d: Buffer) => chunks.push(d.toString()));
  return { child, output: () => chunks.join('') };
}

/** GET from inside the namespace; status 0 when nothing answered. */
export async function httpGet(topo: Topology, ns: string, url: string): Promise<{ status: number; body: string }> {
  const script = `fetch(${JSON.stringify(url)}, { signal: AbortSignal.timeout(2000) })
    .then(async (r) => process.stdout.write(JSON.stringify({ status: r.status, body: await r.text() })))
    .catch(() => process.stdout.write(JSON.stringify({ status: 0, body: '' })))`;
  const result = await topo.run(ns, [process.execPath, '-e', script]);
  try {
    return JSON.parse(result.stdout) as { status: number; body: string };
  } catch {
    return { status: 0, body: result.stderr };
  }
}

export async function waitFor<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs: number, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

const TOOLS = ['nft', 'iptables-nft-restore', 'iptables-legacy-restore', 'ip6tables-nft-restore', 'ip6tables-legacy-restore'];

/**
 * A directory of wrappers for the tools that apply rules: while `marker` exists, a write
 * fails as a broken tool would (`nft -f`, `*-restore` exit 1; in a running `nft -i`, each
 * batch's include line is swapped for a rule nft refuses); otherwise the real tool runs.
 * Prepend it to the daemon's PATH.
 */
export async function writeToolStubs(dir: string, marker: string, realPath: (tool: string) => string): Promise<void> {
  const m = JSON.stringify(marker);
  const session =
    `case " $* " in *" -i "*)\n` +
    `  while IFS= read -r line; do\n` +
    `    if [ -e ${m} ] && [ "\${line#include }" != "$line" ]; then echo 'add rule ip kpx kpx-test-stub-refuses accept'; else printf '%s\\n' "$line"; fi\n` +
    `  done | "$REAL" "$@"\n  exit $?;;\nesac\n`;
  for (const tool of TOOLS) {
    const writes = tool === 'nft' ? 'case " $* " in *" -f "*|*" -j -f "*) ;; *) exec "$REAL" "$@";; esac\n' : '';
    const script = `#!/bin/sh\nREAL=${JSON.stringify(realPath(tool))}\n${tool === 'nft' ? session : ''}if [ -e ${m} ]; then\n${writes}  echo "kpx test stub: ${tool} refuses to apply" >&2\n  exit 1\nfi\nexec "$REAL" "$@"\n`;
    const path = join(dir, tool);
    await writeFile(path, script);
    await chmod(path, 0o755);
  }
}
