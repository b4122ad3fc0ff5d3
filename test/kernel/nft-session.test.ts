/**
 * The long-lived `nft -i` session against the real nft 1.0.6, in a scratch namespace
 * `kpxses-…` deleted afterwards: batches run in one process and are atomic, nft's errors
 * come back with the batch that caused them, a dead nft is replaced, and a build or host
 * where `nft -i` does not answer sends the dataplane back to one-shot nft.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { exec, spawnTool, type Exec, type Spawn } from '../../src/dataplane/exec.js';
import { createNftablesDataplane } from '../../src/dataplane/nftables-dataplane.js';
import { NftSession, SessionUnavailable, sentinelIndex } from '../../src/dataplane/nft-session.js';
import { ep, intent, kitchenSink, svc } from '../unit/nft-fixtures.js';

const NS = `kpxses-${process.pid}`;
const inNs: Exec = (argv, o) => exec(['ip', 'netns', 'exec', NS, ...argv], o);
const spawnInNs: Spawn = (argv, o) => spawnTool(['ip', 'netns', 'exec', NS, ...argv], o);

async function nft(args: string[], stdin?: string): Promise<string> {
  const result = await inNs(['nft', ...args], stdin === undefined ? {} : { stdin });
  if (result.code !== 0) throw new Error(`nft ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

const ourDirs = () => readdirSync(tmpdir()).filter((name) => name.startsWith('kpx-nft-'));

describe('nft -i session', () => {
  let session: NftSession | null = null;
  let dirsBefore: string[] = [];

  beforeAll(async () => {
    await exec(['ip', 'netns', 'add', NS]);
    dirsBefore = ourDirs();
  });
  afterEach(async () => {
    session?.close();
    session = null;
    await inNs(['nft', 'flush', 'ruleset']);
  });
  afterAll(async () => {
    await exec(['ip', 'netns', 'delete', NS]);
  });

  it('runs batches in one nft process, each atomic, and reports a refused one with its error', async () => {
    session = new NftSession(spawnInNs);
    await nft(['-f', '-'], 'add table ip t\nadd set ip t s { type ipv4_addr ; }\n');
    expect(await session.run('add element ip t s { 10.0.0.1 }\n', 10_000)).toEqual({ code: 0, stdout: '', stderr: '' });
    const pid = session.pid;
    expect(pid).toBeGreaterThan(0);

    const refused = await session.run('add element ip t s { 10.0.0.2 }\nadd element ip t missing { 10.0.0.3 }\n', 10_000);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/Error: .*\n.*missing/);
    expect(await nft(['list', 'set', 'ip', 't', 's'])).not.toContain('10.0.0.2');

    expect((await session.run('add element ip t s { 10.0.0.4 }\n', 10_000)).code).toBe(0);
    expect(session.pid).toBe(pid);
    const listed = await nft(['list', 'set', 'ip', 't', 's']);
    expect(listed).toContain('10.0.0.1');
    expect(listed).toContain('10.0.0.4');
  });

  it('sees changes made by other nft processes between its batches', async () => {
    session = new NftSession(spawnInNs);
    await nft(['-f', '-'], 'add table ip t\nadd set ip t s { type ipv4_addr ; }\n');
    expect((await session.run('add element ip t s { 10.0.0.1 }\n', 10_000)).code).toBe(0);
    await nft(['delete', 'set', 'ip', 't', 's']);
    await nft(['add', 'set', 'ip', 't', 'other', '{ type ipv4_addr ; }']);
    expect((await session.run('add element ip t s { 10.0.0.1 }\n', 10_000)).code).toBe(1);
    expect((await session.run('add element ip t other { 10.0.0.1 }\n', 10_000)).code).toBe(0);
  });

  it('replaces an nft that died: the batch in flight is reported as unknown, the next one runs', async () => {
    session = new NftSession(spawnInNs);
    await nft(['add', 'table', 'ip', 't']);
    expect((await session.run('add chain ip t a\n', 10_000)).code).toBe(0);
    const pid = session.pid!;
    process.kill(pid, 'SIGKILL');
    const lost = await session.run('add chain ip t b\n', 10_000);
    expect(lost.code).toBe(127);
    expect(lost.stderr).toContain('nft -i');
    expect((await session.run('add chain ip t c\n', 10_000)).code).toBe(0);
    expect(session.pid).not.toBe(pid);
    expect(await nft(['list', 'chains', 'ip'])).toContain('chain c');
  });

  it('keeps its batch file in a private directory, removed on close, and writes no history there', async () => {
    session = new NftSession(spawnInNs);
    expect((await session.run('add table ip t\n', 10_000)).code).toBe(0);
    const mine = ourDirs().filter((d) => !dirsBefore.includes(d));
    expect(mine).toHaveLength(1);
    const dir = join(tmpdir(), mine[0]!);
    expect(readdirSync(dir)).toEqual(['batch.nft']);
    session.close();
    expect(existsSync(dir)).toBe(false);
  });

  it('throws SessionUnavailable when nft -i never answers, before anything reached the kernel', async () => {
    // `true` stands for an nft built without its CLI: it exits without a word.
    session = new NftSession((argv, o) => spawnInNs(['true', ...argv.slice(1)], o), 2_000);
    await expect(session.run('add table ip t\n', 10_000)).rejects.toBeInstanceOf(SessionUnavailable);
    expect(await nft(['list', 'tables'])).toBe('');
  });

  it('sweeps the directories of a killed kpx (gone, or this PID before a restart), not those of live ones', async () => {
    const dead = spawnSync('true').pid!;
    const stale = [`kpx-nft-${dead}-aaaaaa`, `kpx-nft-${process.pid}-bbbbbb`].map((name) => join(tmpdir(), name));
    const alive = join(tmpdir(), `kpx-nft-${process.ppid}-cccccc`);
    for (const dir of [...stale, alive]) mkdirSync(dir);
    try {
      session = new NftSession(spawnInNs);
      expect((await session.run('add table ip t\n', 10_000)).code).toBe(0);
      for (const dir of stale) expect(existsSync(dir), dir).toBe(false);
      expect(existsSync(alive)).toBe(true);
      expect(ourDirs().filter((d) => d.startsWith(`kpx-nft-${process.pid}-`))).toHaveLength(1);
    } finally {
      for (const dir of [...stale, alive]) rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a temporary directory that an nft include string cannot name', async () => {
    const odd = mkdtempSync(join(tmpdir(), 'kpx-"odd-'));
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = odd;
    try {
      session = new NftSession(spawnInNs);
      await expect(session.run('add table ip t\n', 10_000)).rejects.toThrow(/cannot be named in an nft include/);
      expect(readdirSync(odd)).toEqual([]);
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
      rmSync(odd, { recursive: true, force: true });
    }
  });

  it('the dataplane sends partial batches through the session, and falls back to one-shot nft when it is unavailable', async () => {
    const base = kitchenSink(4);
    const next = intent([...base.services, svc({ service: 'extra', clusterIP: '172.30.0.200', endpoints: [ep('10.180.0.77')] })]);
    const spawned: string[][] = [];
    const counting: Spawn = (argv, o) => {
      spawned.push(argv);
      return spawnInNs(argv, o);
    };
    const dp = await createNftablesDataplane({ exec: inNs, spawn: counting, family: 4 });
    try {
      await dp.sync(base, { full: true });
      expect(spawned).toEqual([]);
      expect((await dp.sync(next, { full: false })).full).toBe(false);
      expect((await dp.sync(base, { full: false })).full).toBe(false);
      expect(spawned).toEqual([['nft', '-i']]);
      expect(await nft(['list', 'map', 'ip', 'kpx', 'service-ips'])).not.toContain('172.30.0.200');
    } finally {
      dp.close();
      await dp.cleanup();
    }

    const mute = await createNftablesDataplane({ exec: inNs, spawn: (argv, o) => spawnInNs(['true'], o), family: 4 });
    try {
      await mute.sync(base, { full: true });
      const report = await mute.sync(next, { full: false });
      expect(report.full).toBe(false);
      expect(await nft(['list', 'map', 'ip', 'kpx', 'service-ips'])).toContain('172.30.0.200');
    } finally {
      mute.close();
      await mute.cleanup();
    }
  });
});

describe('sentinelIndex', () => {
  const sentinel = (seq: number) => `Error: syntax error, unexpected newline, expecting string\nkpx-batch-end-${seq}\n          ^\n`;

  it('finds the sentinel only once its caret line is complete, after what the batch printed', () => {
    const batch = 'In file included from <cmdline>:1:1-20:\n/tmp/b.nft:1:1-3: Error: x\nadd y\n^^^\n';
    const whole = batch + sentinel(7);
    expect(sentinelIndex(whole, 7)).toBe(batch.length);
    expect(sentinelIndex(whole.slice(0, -1), 7)).toBe(-1);
    expect(sentinelIndex(whole, 8)).toBe(-1);
    expect(sentinelIndex(sentinel(17), 1)).toBe(-1);
  });
});
