import { Command, Option } from 'commander';
import { compileObjects, renderIntent, type OutputFormat } from '../pipeline.js';
import type { CliIO } from './io.js';
import { addInputOptions, familyFlag, formatProblem, loadInputs, type InputFlags } from './inputs.js';

interface RenderFlags extends InputFlags {
  format: OutputFormat;
}

/**
 * `kpx render`: the dry-run. Prints the complete ruleset for one family on stdout; problems
 * in the input go to stderr, one line per object, and do not change the exit code.
 */
export function renderCommand(io: CliIO): Command {
  const cmd = new Command('render').description(
    'print the ruleset for the given objects (iptables-restore / ip6tables-restore input, or nft -f input)',
  );
  addInputOptions(cmd).addOption(
    new Option('--format <format>', 'nftables only: nft -f text or libnftables JSON (nft -j -f)')
      .choices(['text', 'json'])
      .default('text'),
  );
  return cmd.action(async (flags: RenderFlags) => {
    const inputs = await loadInputs(flags, io);
    const compiled = compileObjects(inputs.objects, inputs.config, familyFlag(flags) ?? 4);
    for (const p of [...inputs.problems, ...compiled.problems]) io.stderr(formatProblem(p));
    io.stdout(renderIntent(compiled.intent, flags.backend, flags.format));
  });
}
