/**
 * Namespace names for kernel tests, and the sweep of leftovers from crashed runs.
 *
 * A topology's namespaces are named `kpx-<tag>-<pid>-<rand>-<role>`, e.g.
 * `kpx-h-4242-9f1c-node`: the pid of the process that made them lets a later run tell a
 * crashed run's leftovers (pid gone) from a run still in progress (pid alive). Interface
 * names do not need the prefix: every veth is created inside the topology's own
 * namespaces, so the short fixed names cannot collide with the host or other runs.
 */
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { runCommand } from './exec.js';
import { pidAlive } from '../../../src/dataplane/pid.js';

export const ROLES = ['node', 'pods', 'remote', 'client'] as const;
export type Role = (typeof ROLES)[number];

const TAG = /^[a-z][a-z0-9]{0,7}$/;
const HARNESS_NAME = /^kpx-([a-z][a-z0-9]{0,7})-(\d+)-([0-9a-f]{4})-(node|pods|remote|client)$/;

/** Beyond this age a namespace counts as stale even if its pid now belongs to someone else. */
const MAX_AGE_MS = 2 * 60 * 60 * 1000;

export type NamespaceNames = Record<Role, string>;

/** Throws on a tag that is not 1–8 lowercase letters/digits starting with a letter. */
export function namespaceNames(tag: string): NamespaceNames {
  if (!TAG.test(tag)) throw new Error(`namespace tag must match ${TAG}: ${JSON.stringify(tag)}`);
  const base = `kpx-${tag}-${process.pid}-${randomBytes(2).toString('hex')}`;
  return { node: `${base}-node`, pods: `${base}-pods`, remote: `${base}-remote`, client: `${base}-client` };
}

export function isHarnessNamespace(name: string): boolean {
  return HARNESS_NAME.test(name);
}

/** Names from `ip netns list`, whose lines look like `name` or `name (id: 3)`. */
export async function listNamespaces(): Promise<string[]> {
  const { stdout } = await runCommand(['ip', 'netns', 'list']);
  return stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0] ?? '')
    .filter((name) => name !== '');
}

function ageMs(name: string, now: number): number {
  try {
    return now - statSync(`/run/netns/${name}`).mtimeMs;
  } catch {
    return 0;
  }
}

/**
 * Whether a harness namespace was left behind: its creating process is gone, or it is older
 * than any test run. Names not made by this harness are never stale, whatever their prefix.
 */
export function isStale(name: string, now = Date.now()): boolean {
  const match = HARNESS_NAME.exec(name);
  if (!match) return false;
  const pid = Number(match[2]);
  return !pidAlive(pid) || ageMs(name, now) > MAX_AGE_MS;
}

/** Deletes stale harness namespaces; returns the names it deleted. */
export async function sweepStaleNamespaces(): Promise<string[]> {
  const stale = (await listNamespaces()).filter((name) => isStale(name));
  await Promise.all(stale.map((name) => runCommand(['ip', 'netns', 'del', name])));
  return stale;
}
