/**
 * Go's `time.ParseDuration` syntax, which kube-proxy's flags and its `metav1.Duration`
 * config fields use: an optional sign, then one or more `<decimal><unit>` terms
 * (`300ms`, `1.5h`, `1m30s`); units ns, us (µs/μs), ms, s, m, h; a bare `0` is allowed.
 */

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3, // U+00B5 MICRO SIGN
  'μs': 1e-3, // U+03BC GREEK SMALL LETTER MU
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const TERM = /^(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/;

/** Milliseconds (possibly fractional), or null when `text` is not a Go duration. */
export function parseGoDuration(text: string): number | null {
  let rest = text;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    sign = rest.startsWith('-') ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') return null;
  let total = 0;
  while (rest !== '') {
    const m = TERM.exec(rest);
    if (!m) return null;
    const [whole, number, unit] = m as unknown as [string, string, string];
    total += Number.parseFloat(number) * (UNIT_MS[unit] as number);
    rest = rest.slice(whole.length);
  }
  return sign * total;
}

/** A short Go-style rendering for messages: `30s`, `1m30s`, `500ms`. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 0) return `-${formatDuration(-ms)}`;
  if (ms < 1000) return `${ms}ms`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  return `${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${s}s`;
}
