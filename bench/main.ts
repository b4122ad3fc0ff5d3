/**
 * `npm run bench`: sync cost of kpx's daemon code path per stage and backend, applied to the
 * kernel in scratch network namespaces; `--pipeline-only` times the pure pipeline alone.
 * The harness lives in bench/harness/; options: `npm run bench -- --help`, bench/README.md.
 */
import { benchMain } from './harness/cli.js';

try {
  await benchMain(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`bench: ${(err as Error).message}\n`);
  process.exitCode = 1;
}
