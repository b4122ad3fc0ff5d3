/**
 * sync-time.svg: sync time against the number of services, one line per backend and
 * scenario, on log–log axes. Written by hand: no plotting dependency.
 */
import { isSyncRecord, type BenchRecord, type SyncScenario } from './records.js';

const WIDTH = 720;
const HEIGHT = 440;
const MARGIN = { left: 70, right: 180, top: 40, bottom: 50 };
const COLORS: Record<string, string> = { iptables: '#d62728', nftables: '#1f77b4' };
const DASHES: Partial<Record<SyncScenario, string>> = { cold: '', 'one-endpoint': '6 4', 'churn-1pct': '2 3', 'resync-noop': '10 3 2 3' };

interface Axis {
  min: number;
  max: number;
}

function axis(values: number[]): Axis {
  const positive = values.filter((v) => v > 0);
  let min = Math.min(...positive);
  let max = Math.max(...positive);
  if (!Number.isFinite(min)) return { min: 1, max: 10 };
  if (max / min < 4) {
    const grow = Math.sqrt(4 / (max / min));
    min /= grow;
    max *= grow;
  }
  return { min, max };
}

/** 1, 2, 5 × 10^k inside the axis. */
function ticks(a: Axis): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(a.min)); e <= Math.ceil(Math.log10(a.max)); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v >= a.min && v <= a.max) out.push(v);
    }
  }
  return out;
}

function scale(a: Axis, from: number, to: number): (v: number) => number {
  const l0 = Math.log10(a.min);
  const l1 = Math.log10(a.max);
  return (v) => from + ((Math.log10(Math.max(v, a.min)) - l0) / (l1 - l0)) * (to - from);
}

function label(v: number): string {
  if (v >= 1000 && v % 1000 === 0) return `${v / 1000}k`;
  return v >= 1 ? String(v) : v.toPrecision(1);
}

const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function renderSvg(records: BenchRecord[], title: string): string {
  const sync = records.filter(isSyncRecord).filter((r) => DASHES[r.scenario] !== undefined);
  const xAxis = axis(sync.map((r) => r.services));
  const yAxis = axis(sync.map((r) => r.totalMs));
  const x = scale(xAxis, MARGIN.left, WIDTH - MARGIN.right);
  const y = scale(yAxis, HEIGHT - MARGIN.bottom, MARGIN.top);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${WIDTH / 2}" y="22" text-anchor="middle" font-size="14">${escapeXml(title)}</text>`,
  ];
  for (const t of ticks(xAxis)) {
    parts.push(
      `<line x1="${x(t)}" x2="${x(t)}" y1="${MARGIN.top}" y2="${HEIGHT - MARGIN.bottom}" stroke="#ddd"/>`,
      `<text x="${x(t)}" y="${HEIGHT - MARGIN.bottom + 16}" text-anchor="middle">${label(t)}</text>`,
    );
  }
  for (const t of ticks(yAxis)) {
    parts.push(
      `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${y(t)}" y2="${y(t)}" stroke="#ddd"/>`,
      `<text x="${MARGIN.left - 6}" y="${y(t) + 4}" text-anchor="end">${label(t)}</text>`,
    );
  }
  parts.push(
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${WIDTH - MARGIN.left - MARGIN.right}" height="${HEIGHT - MARGIN.top - MARGIN.bottom}" fill="none" stroke="#333"/>`,
    `<text x="${(MARGIN.left + WIDTH - MARGIN.right) / 2}" y="${HEIGHT - 12}" text-anchor="middle">services (log)</text>`,
    `<text transform="translate(18 ${(MARGIN.top + HEIGHT - MARGIN.bottom) / 2}) rotate(-90)" text-anchor="middle">sync time, ms (log)</text>`,
  );
  const series = [...new Set(sync.map((r) => `${r.backend} ${r.scenario}`))];
  series.forEach((name, k) => {
    const points = sync.filter((r) => `${r.backend} ${r.scenario}` === name).sort((a, b) => a.services - b.services);
    const first = points[0];
    if (!first) return;
    const color = COLORS[first.backend] ?? '#000';
    const dash = DASHES[first.scenario] ?? '';
    const dashAttr = dash ? ` stroke-dasharray="${dash}"` : '';
    const coords = points.map((p) => `${x(p.services).toFixed(1)},${y(p.totalMs).toFixed(1)}`);
    parts.push(`<polyline points="${coords.join(' ')}" fill="none" stroke="${color}" stroke-width="2"${dashAttr}/>`);
    for (const c of coords) {
      const [cx, cy] = c.split(',');
      parts.push(`<circle cx="${cx}" cy="${cy}" r="3" fill="${color}"/>`);
    }
    const ly = MARGIN.top + 10 + k * 18;
    const lx = WIDTH - MARGIN.right + 12;
    parts.push(
      `<line x1="${lx}" x2="${lx + 28}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"${dashAttr}/>`,
      `<text x="${lx + 34}" y="${ly + 4}">${escapeXml(name)}</text>`,
    );
  });
  parts.push('</svg>', '');
  return parts.join('\n');
}
