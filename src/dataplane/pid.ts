/** Whether a process with this PID exists (EPERM: it does, owned by someone else). Signal 0 sends nothing. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
