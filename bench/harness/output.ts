/** Writes a run's results: results.json (the records), results.md, sync-time.svg. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchRecord } from './records.js';
import { renderMarkdown } from './report-markdown.js';
import { renderSvg } from './report-svg.js';

/** bench/results/<timestamp> of the repository (this file runs from dist/bench/harness/). */
export function defaultOutDir(now = new Date()): string {
  const stamp = now.toISOString().replace(/[:.]/g, '-');
  return fileURLToPath(new URL(`../../../bench/results/${stamp}`, import.meta.url));
}

export interface WrittenResults {
  dir: string;
  markdown: string;
}

export async function writeResults(records: BenchRecord[], dir: string, heading: string): Promise<WrittenResults> {
  await mkdir(dir, { recursive: true });
  const markdown = renderMarkdown(records, heading);
  await writeFile(join(dir, 'results.json'), JSON.stringify(records, null, 2) + '\n');
  await writeFile(join(dir, 'results.md'), markdown);
  await writeFile(join(dir, 'sync-time.svg'), renderSvg(records, heading));
  return { dir, markdown };
}
