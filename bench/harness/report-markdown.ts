/** results.md: the records as Markdown tables, for a PR comment or the README. */
import { isSyncRecord, type BenchRecord, type ConnectRecord, type SyncRecord } from './records.js';
import { median } from './stats.js';

const ms = (v: number) => (v >= 100 ? v.toFixed(0) : v.toFixed(1));
const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(0);
const kib = (bytes: number) => (bytes < 10 * 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(0)} KiB`);
const us = (v: number) => (Number.isFinite(v) ? v.toFixed(0) : '–');

function table(header: string[], rows: string[][]): string[] {
  const align = header.map((h) => (h === 'backend' || h === 'scenario' ? ':--' : '--:'));
  return [header, align, ...rows].map((cells) => `| ${cells.join(' | ')} |`);
}

function syncTable(records: SyncRecord[]): string[] {
  return table(
    ['backend', 'services', 'endpoints', 'scenario', 'model ms', 'compile ms', 'plan ms', 'render ms', 'apply ms', 'total ms', 'batch', 'peak RSS MiB', 'heap MiB'],
    records.map((r) => [
      r.backend,
      String(r.services),
      String(r.endpoints),
      r.scenario,
      ms(r.modelMs),
      ms(r.compileMs),
      ms(r.planMs),
      ms(r.renderMs),
      ms(r.applyMs),
      ms(r.totalMs),
      kib(r.batchBytes),
      mib(r.peakRssBytes),
      mib(r.heapUsedBytes),
    ]),
  );
}

/** One line per cold sync measured in several processes (`--cold-runs`). */
function coldShareLines(records: SyncRecord[]): string[] {
  return records.flatMap((r) => {
    const shares = r.coldSharesMs;
    if (shares === undefined || shares.length === 0) return [];
    const range = `${ms(Math.min(...shares))}–${ms(Math.max(...shares))} ms`;
    return [`- ${r.backend}, ${r.services} × ${r.endpoints}: median ${ms(median(shares))} ms over ${shares.length} runs (${range}); the table shows the run with the median total`];
  });
}

function connectTable(records: ConnectRecord[]): string[] {
  return table(
    ['backend', 'services', 'endpoints', 'targets', 'connections', 'service median µs', 'service p90 µs', 'pod median µs', 'pod p90 µs', 'failures'],
    records.map((r) => [
      r.backend,
      String(r.services),
      String(r.endpoints),
      String(r.targets),
      String(r.connections),
      us(r.serviceConnectMedianUs),
      us(r.serviceConnectP90Us),
      us(r.podConnectMedianUs),
      us(r.podConnectP90Us),
      String(r.failures),
    ]),
  );
}

export function renderMarkdown(records: BenchRecord[], heading: string): string {
  const sync = records.filter(isSyncRecord);
  const connect = records.filter((r): r is ConnectRecord => !isSyncRecord(r));
  const lines = [`# ${heading}`, ''];
  if (sync.length > 0) {
    lines.push(
      '## Sync cost',
      '',
      'Per sync through the daemon’s code path; incremental scenarios show the median of their runs. "batch" is what was sent to the kernel tool; "heap" is the V8 heap retained after GC.',
      '',
      ...syncTable(sync),
      '',
    );
    const shares = coldShareLines(sync);
    if (shares.length > 0) lines.push('kpx’s share of a cold sync (compile + plan + render), each run in a process of its own:', '', ...shares, '');
  }
  if (connect.length > 0) {
    lines.push(
      '## Connection set-up time',
      '',
      'TCP connect() from a client namespace through the node namespace holding the rules: to ClusterIPs (DNAT) and directly to pod IPs (the same first-packet dispatch, no match).',
      '',
      ...connectTable(connect),
      '',
    );
  }
  return lines.join('\n');
}
