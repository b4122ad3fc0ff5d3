import { Command, Option } from 'commander';
import type { L4Protocol } from '../compile/intent.js';
import { familyOf, parseIP } from '../model/ip.js';
import { compileObjects, traceIntent } from '../pipeline.js';
import { formatTrace } from '../trace/format.js';
import { UsageError, type CliIO } from './io.js';
import { addInputOptions, familyFlag, formatProblem, loadInputs, type InputFlags } from './inputs.js';

interface TraceFlags extends InputFlags {
  src: string;
  dst: string;
  dport: string;
  protocol: L4Protocol;
  json: boolean;
}

function parseAddress(flag: string, value: string): string {
  const parsed = parseIP(value);
  if (!parsed) throw new UsageError(`${flag}: "${value}" is not an IP address`);
  return parsed.ip;
}

/** `kpx trace`: where does the first packet of this flow go, and why. */
export function traceCommand(io: CliIO): Command {
  const cmd = new Command('trace').description(
    'walk the ruleset for one packet: matched rules, possible endpoints with probabilities, masquerade, verdict',
  );
  addInputOptions(cmd)
    .requiredOption('--src <ip>', 'source address of the packet')
    .requiredOption('--dst <ip>', 'destination address of the packet')
    .requiredOption('--dport <port>', 'destination port')
    .addOption(new Option('--protocol <proto>', 'L4 protocol').choices(['tcp', 'udp', 'sctp']).default('tcp'))
    .option('--json', 'print the trace as JSON', false);
  return cmd.action(async (flags: TraceFlags) => {
    const src = parseAddress('--src', flags.src);
    const dst = parseAddress('--dst', flags.dst);
    const dport = Number(flags.dport);
    if (!Number.isInteger(dport) || dport < 1 || dport > 65535) {
      throw new UsageError(`--dport: "${flags.dport}" is not a port (1-65535)`);
    }
    const family = familyOf(dst);
    if (familyOf(src) !== family) throw new UsageError('--src and --dst must be of the same IP family');
    const requested = familyFlag(flags);
    if (requested !== undefined && requested !== family) {
      throw new UsageError(`--ip-family ${flags.ipFamily} does not match --dst ${dst}`);
    }

    const inputs = await loadInputs(flags, io);
    const compiled = compileObjects(inputs.objects, inputs.config, family);
    for (const p of [...inputs.problems, ...compiled.problems]) io.stderr(formatProblem(p));
    const result = traceIntent(compiled.intent, flags.backend, { src, dst, dport, protocol: flags.protocol });
    if ('error' in result) throw new Error(`trace failed: ${result.error}`);
    io.stdout(flags.json ? `${JSON.stringify(result, null, 2)}\n` : formatTrace(result));
  });
}
