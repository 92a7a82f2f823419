/**
 * `npm run soak`: a master and three workers as processes on one PostgreSQL, builds totalling
 * 10,000 jobs under a chaos driver, then the end checks. Options (all optional):
 *   --jobs N  --jobs-per-build N  --seed N  --stall-seconds N  --keep (keep the run's folder)
 * Last line: soak jobs=<n> lost=<n> double_runs=<n> bad_inputs=<n> unhandled_events=<n> seconds=<n>
 * The line before it, `soak summary {…}`, is the whole result as JSON. Exit code 0 when all four
 * fault counters are 0.
 */
import { DEFAULT_SOAK_OPTIONS, runSoak, SoakOptions } from './soak.run';

function parseArguments(argv: string[]): SoakOptions {
  const options: SoakOptions = { ...DEFAULT_SOAK_OPTIONS, log: (line) => process.stderr.write(`${line}\n`) };
  const number = (name: string, value: string | undefined): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`${name}: expected a positive integer, got ${JSON.stringify(value)}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--jobs') options.jobs = number(arg, argv[++i]);
    else if (arg === '--jobs-per-build') options.jobsPerBuild = number(arg, argv[++i]);
    else if (arg === '--seed') options.seed = number(arg, argv[++i]);
    else if (arg === '--stall-seconds') options.stallMs = number(arg, argv[++i]) * 1000;
    else if (arg === '--max-in-flight') options.maxInFlight = number(arg, argv[++i]);
    else if (arg === '--keep') options.keepDir = true;
    else throw new Error(`unknown option ${arg}`);
  }
  return options;
}

async function main(): Promise<number> {
  const result = await runSoak(parseArguments(process.argv.slice(2)));
  const { examples: _examples, ...summary } = result;
  process.stdout.write(`soak summary ${JSON.stringify(summary)}\n`);
  process.stdout.write(
    `soak jobs=${result.jobs} lost=${result.lost} double_runs=${result.doubleRuns} bad_inputs=${result.badInputs} unhandled_events=${result.unhandledEvents} seconds=${result.seconds}\n`,
  );
  return result.lost + result.doubleRuns + result.badInputs + result.unhandledEvents === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    process.stderr.write(`soak failed: ${error.stack ?? error.message}\n`);
    process.exit(2);
  },
);
