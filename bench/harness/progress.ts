/**
 * Progress on stderr while the benchmark runs: one line rewritten in place on a terminal,
 * plain lines otherwise (CI logs). stdout stays free for results.
 */
export interface Progress {
  /** What is happening now (replaces the previous status on a terminal). */
  status(text: string): void;
  /** A line that stays (a finished step, a warning). */
  log(text: string): void;
}

export function stderrProgress(prefix: string): Progress {
  const tty = process.stderr.isTTY === true;
  const started = performance.now();
  const stamp = () => `${((performance.now() - started) / 1000).toFixed(1).padStart(6)}s`;
  let pending = false;
  const clear = () => {
    if (pending) process.stderr.write('\r\x1b[2K');
    pending = false;
  };
  return {
    status(text) {
      if (!tty) return;
      clear();
      const line = `${stamp()} ${prefix} ${text}`;
      process.stderr.write(line.slice(0, (process.stderr.columns ?? 120) - 1));
      pending = true;
    },
    log(text) {
      clear();
      process.stderr.write(`${stamp()} ${prefix} ${text}\n`);
    },
  };
}
