/**
 * The drift probe between full syncs: is kpx's table still in the kernel? Someone's
 * `nft flush ruleset` or `delete table` would otherwise go unnoticed until the hourly full
 * sync. Measured at 10,000 services × 10 endpoints (nft 1.0.6): any `list` command costs
 * over 4 s, as nft fetches the whole table with every element into its cache, and two
 * `list` commands in one `nft -f` run are refused (ENOENT). A check-mode transaction
 * (`nft -c`) that tries to create the table costs 20 ms: it fails with EEXIST while the
 * table exists and commits nothing either way. A flushed chain or element inside the
 * table is repaired by the hourly full sync, as in kube-proxy's nftables mode.
 */
import { TABLE_NAME } from './names.js';

/** Input for `nft -c -f -`. */
export function nftDriftProbe(family: 'ip' | 'ip6'): string {
  return `create table ${family} ${TABLE_NAME}\n`;
}

/**
 * Why the probe's exit code shows drift, or null. Only success (the table could be created,
 * so it is gone) counts; any failure, EEXIST or another, leaves the rules alone rather than
 * turning an unclear error into a full sync every --sync-period.
 */
export function nftDriftReason(family: 'ip' | 'ip6', exitCode: number): string | null {
  return exitCode === 0 ? `table ${family} ${TABLE_NAME} is gone` : null;
}
