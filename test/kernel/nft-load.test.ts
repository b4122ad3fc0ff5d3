/**
 * Every ruleset the nftables unit tests render loads for real, as `nft -f` text and as
 * `nft -j -f` JSON, into a scratch network namespace (`kpx-f-…`, deleted afterwards), and
 * both forms produce the same kernel ruleset.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lowerNftables } from '../../src/backend/nftables/lower.js';
import { renderNftJson, renderNftText } from '../../src/backend/nftables/render.js';
import { loadCases } from '../unit/nft-fixtures.js';

const NS = `kpx-f-load-${process.pid}`;
const DIR = mkdtempSync(join(tmpdir(), 'kpx-f-'));

function run(argv: string[], input?: string): { code: number; stdout: string; stderr: string } {
  const [file, ...args] = argv;
  const result = spawnSync(file as string, args, { input, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { code: result.status ?? 1, stdout: result.stdout ?? '', stderr: result.stderr ?? String(result.error ?? '') };
}

function nft(args: string[], input?: string) {
  return run(['ip', 'netns', 'exec', NS, 'nft', ...args], input);
}

/** The live ruleset without comments (nft 1.0.6 drops table and set comments given as JSON). */
function listed(): string {
  return nft(['list', 'ruleset'])
    .stdout.split('\n')
    .filter((l) => !l.trim().startsWith('comment '))
    .join('\n');
}

describe('nftables rulesets load into the kernel', () => {
  beforeAll(() => {
    const added = run(['ip', 'netns', 'add', NS]);
    if (added.code !== 0) throw new Error(`ip netns add ${NS}: ${added.stderr}`);
  });
  afterAll(() => {
    run(['ip', 'netns', 'delete', NS]);
    rmSync(DIR, { recursive: true, force: true });
  });

  for (const [name, intent] of loadCases()) {
    it(name, () => {
      const ruleset = lowerNftables(intent);
      try {
        const text = nft(['-f', '-'], renderNftText(ruleset));
        expect(text.stderr).toBe('');
        expect(text.code).toBe(0);
        const fromText = listed();
        expect(fromText).toContain(`table ${ruleset.family} kpx`);
        expect(nft(['flush', 'ruleset']).code).toBe(0);

        // nft 1.0.6 reads `-j -f -` by opening /dev/stdin, which fails (ENXIO) on the
        // socketpair node gives a child as stdin; a file works.
        const file = join(DIR, 'ruleset.json');
        writeFileSync(file, renderNftJson(ruleset));
        const json = nft(['-j', '-f', file]);
        expect(json.stderr).toBe('');
        expect(json.code).toBe(0);
        expect(listed()).toBe(fromText);
      } finally {
        nft(['flush', 'ruleset']);
      }
    });
  }
});
