/**
 * The environment of the one-shot `nft -f` that loads a full batch.
 *
 * nft 1.0.6 spends about 40% of loading 10k services × 10 endpoints in malloc and page
 * faults: it holds the whole parsed batch (~370 MB at 10k, 1.5 GB at 44k) in small blocks.
 * glibc ≥ 2.35's `glibc.malloc.hugetlb=1` makes malloc madvise(MADV_HUGEPAGE) its heap, so
 * with transparent huge pages in `madvise` mode (Debian's default) that heap is faulted in
 * 2 MiB at a time. Measured on glibc 2.36, kernel 6.18, 10k × 10 through the benchmark
 * (three interleaved runs each way): the cold load 2.18–2.29 s instead of 2.61–2.94 s, the
 * full resync's 1.75–2.21 s instead of 2.75–3.37 s; nft alone on the 44k batch 6.8–6.9 s
 * instead of 10.8–11.4 s. Not used where it did not help: iptables-nft-restore's runs of
 * 1,000 chains (cold 17.1 s either way) and the long-lived `nft -i` session, whose small
 * batches got slower (one endpoint 3.9–7.9 ms against 3.3–4.4 ms). Older glibc and musl
 * ignore the tunable; THP `never` makes it a no-op.
 *
 * An operator's own choice wins: a GLIBC_TUNABLES that already names the tunable (for
 * example `glibc.malloc.hugetlb=0`, to switch this off) is passed on unchanged.
 */
const HUGETLB = 'glibc.malloc.hugetlb';

export function fullLoadEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const tunables = env.GLIBC_TUNABLES ?? '';
  if (tunables.split(':').some((t) => t.startsWith(`${HUGETLB}=`))) return env;
  return { ...env, GLIBC_TUNABLES: tunables === '' ? `${HUGETLB}=1` : `${tunables}:${HUGETLB}=1` };
}
