import { Command } from 'commander';
import { pino } from 'pino';
import type { CliIO } from './io.js';
import { cleanupAction } from './run-action.js';

/** `kpx cleanup`: the same as `kpx run --cleanup`, without needing a configuration. */
export function cleanupCommand(io: CliIO): Command {
  return new Command('cleanup')
    .description('remove every rule kpx or kube-proxy installed (iptables and nftables modes, IPv4 and IPv6), nothing else')
    .action(async () => {
      await cleanupAction(pino({ level: 'info' }), io);
    });
}
