/**
 * Network programming latency (kube-proxy's `network_programming_duration_seconds`): from
 * the time an EndpointSlice says its endpoints changed
 * (`endpoints.kubernetes.io/last-change-trigger-time`) to the sync that applied it.
 */
const TRIGGER_TIME = 'endpoints.kubernetes.io/last-change-trigger-time';

function triggerTime(raw: unknown): number | null {
  const metadata = (raw as { metadata?: { annotations?: Record<string, unknown> } } | null)?.metadata;
  const value = metadata?.annotations?.[TRIGGER_TIME];
  if (typeof value !== 'string') return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : ms;
}

export class ProgrammingLatency {
  private pending: number[] = [];

  /** Notes the trigger time of a changed EndpointSlice (ignored when it has none or it is in the future). */
  record(rawSlice: unknown, nowMs: number): void {
    const at = triggerTime(rawSlice);
    if (at !== null && at <= nowMs) this.pending.push(at);
  }

  /** The trigger times waiting for a sync; the caller observes them once the sync succeeded. */
  take(): number[] {
    const taken = this.pending;
    this.pending = [];
    return taken;
  }
}
