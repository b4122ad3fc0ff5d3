/** Memory figures of the benchmark process; `node --expose-gc` makes the retained heap exact. */
export function memoryFigures(): { peakRssBytes: number; heapTotalBytes: number; heapUsedBytes: number } {
  const heapTotalBytes = process.memoryUsage().heapTotal;
  global.gc?.();
  return {
    // maxRSS is in KiB, the peak of this process only (not of iptables-restore or nft).
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    heapTotalBytes,
    heapUsedBytes: process.memoryUsage().heapUsed,
  };
}
