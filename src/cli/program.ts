import { Command, CommanderError } from 'commander';
import { UsageError, type CliIO } from './io.js';
import { runCommand } from '../config/run-flags.js';
import { cleanupCommand } from './cleanup-command.js';
import { renderCommand } from './render-command.js';
import { runAction } from './run-action.js';
import { traceCommand } from './trace-command.js';

/**
 * Runs the kpx CLI on `argv` (without the node and script paths). Returns the exit code:
 * 0 on success, 2 for usage errors, 1 when no result could be produced.
 */
export async function runCli(argv: string[], io: CliIO): Promise<number> {
  const program = new Command('kpx')
    .description('kube-proxy replacement: Services and EndpointSlices compiled into iptables or nftables rulesets')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showHelpAfterError();
  for (const sub of [runCommand((flags) => runAction(flags, io)), renderCommand(io), traceCommand(io), cleanupCommand(io)]) {
    program.addCommand(sub.exitOverride().configureOutput({ writeOut: io.stdout, writeErr: io.stderr }));
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (err instanceof UsageError) {
      io.stderr(`kpx: ${err.message}\n`);
      return 2;
    }
    io.stderr(`kpx: ${(err as Error).message}\n`);
    return 1;
  }
}
