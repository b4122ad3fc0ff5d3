/**
 * Connection attempts from inside a namespace, many per process (client.mjs), so a few
 * hundred take a second or two rather than a process start each.
 */
import { fileURLToPath } from 'node:url';
import type { Protocol } from './echo.js';
import type { Topology } from './topology.js';

export interface ProbeOptions {
  dst: string;
  port: number;
  protocol: Protocol;
  /** Source address to bind (must be local to the namespace); default: the kernel's choice. */
  src?: string;
  /** Attempts, each from a new socket and so a new ephemeral source port; default 1. */
  count?: number;
  /** Per attempt; an attempt with no answer by then is a `timeout`. Default 1000 ms. */
  timeoutMs?: number;
  /** Attempts in flight at once; default 20. */
  concurrency?: number;
  /**
   * UDP only: bind every attempt to this source port, so all of them are one conntrack flow
   * (run them with concurrency 1). Default: a new ephemeral port per attempt.
   */
  srcPort?: number;
}

export type ProbeResult =
  /** `local`: the endpoint that answered; `peer`: the source address it saw. */
  | { ok: true; local: string; peer: string }
  /**
   * `refused`: TCP reset or ICMP port unreachable (REJECT); `timeout`: no answer (DROP);
   * anything else is the socket's errno name, e.g. `EHOSTUNREACH`.
   */
  | { ok: false; error: 'refused' | 'timeout' | string };

const SCRIPT = fileURLToPath(new URL('../client.mjs', import.meta.url));

/** One result per attempt, in attempt order. Rejects only if the client process itself fails. */
export async function probe(topo: Topology, ns: string, opts: ProbeOptions): Promise<ProbeResult[]> {
  if (opts.srcPort !== undefined && opts.protocol !== 'udp') throw new Error('probe: srcPort is for UDP only');
  const request = {
    dst: opts.dst,
    port: opts.port,
    protocol: opts.protocol,
    src: opts.src,
    srcPort: opts.srcPort,
    count: opts.count ?? 1,
    timeoutMs: opts.timeoutMs ?? 1000,
    concurrency: opts.concurrency ?? 20,
  };
  const { code, stdout, stderr } = await topo.run(ns, [process.execPath, SCRIPT, JSON.stringify(request)]);
  if (code !== 0) throw new Error(`probe client in ${ns} exited ${code}: ${stderr.trim()}`);
  return JSON.parse(stdout) as ProbeResult[];
}

/** How many successful attempts each answering endpoint (`local`) got. */
export function countByEndpoint(results: ProbeResult[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of results) if (r.ok) counts.set(r.local, (counts.get(r.local) ?? 0) + 1);
  return counts;
}

/** The distinct outcomes: `local` for answers, the error otherwise; sorted. */
export function outcomes(results: ProbeResult[]): string[] {
  return [...new Set(results.map((r) => (r.ok ? r.local : r.error)))].sort();
}
