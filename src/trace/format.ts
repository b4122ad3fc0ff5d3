/**
 * The human-readable form of a trace, for `kpx trace`. Backend-neutral: it only reads
 * `TraceResult`. Layout (ends with a newline):
 *
 *   tcp 10.0.0.5 -> 172.30.0.41:80: 2 outcomes
 *
 *     50%  DNAT to 10.180.0.1:80, masquerade: no
 *           nat/PREROUTING: -A PREROUTING … -j KUBE-SERVICES
 *           …
 */
import { joinHostPort } from '../model/ip.js';
import type { TraceOutcome, TraceResult } from './types.js';

const PERCENT_WIDTH = 7;
const PATH_INDENT = ' '.repeat(2 + PERCENT_WIDTH + 2);

/** `33.33%`, `50%`, `100%`; a share too small to show at two decimals is `<0.01%`. */
export function formatPercent(probability: number): string {
  const percent = probability * 100;
  if (percent > 0 && percent < 0.005) return '<0.01%';
  return `${percent.toFixed(2).replace(/\.?0+$/, '')}%`;
}

function describeVerdict(outcome: TraceOutcome): string {
  switch (outcome.verdict) {
    case 'DNAT':
      return `DNAT to ${outcome.endpoint ?? '?'}`;
    case 'ACCEPT':
      return 'ACCEPT (not a service flow: passes untouched)';
    case 'REJECT':
      return 'REJECT';
    case 'DROP':
      return 'DROP';
  }
}

function formatOutcome(outcome: TraceOutcome): string[] {
  const head = `  ${formatPercent(outcome.probability).padStart(PERCENT_WIDTH)}  ${describeVerdict(outcome)}, masquerade: ${
    outcome.masquerade ? 'yes' : 'no'
  }`;
  const path = outcome.path.length > 0 ? outcome.path : ['(no rule matched)'];
  return [head, ...path.map((step) => `${PATH_INDENT}${step}`)];
}

export function formatTrace(result: TraceResult): string {
  const { packet, outcomes } = result;
  const count = `${outcomes.length} outcome${outcomes.length === 1 ? '' : 's'}`;
  const lines = [`${packet.protocol} ${packet.src} -> ${joinHostPort(packet.dst, packet.dport)}: ${count}`];
  for (const outcome of outcomes) lines.push('', ...formatOutcome(outcome));
  return `${lines.join('\n')}\n`;
}
