/**
 * The environment of the one-shot `nft -f` that loads a full batch: glibc's huge-page malloc
 * (`glibc.malloc.hugetlb=1`, glibc ≥ 2.35). nft 1.0.6 keeps a whole parsed batch in small
 * blocks (~370 MB at 10k services × 10 endpoints) and spent ~40% of the load in malloc and
 * page faults; with transparent huge pages in `madvise` mode (Debian's default) its heap is
 * then faulted in 2 MiB pages. Measured gains, and where it did not help (the `nft -i`
 * session, iptables-restore): src/backend/nftables/README.md. Older glibc and musl ignore
 * the tunable; THP `never` makes it a no-op.
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
