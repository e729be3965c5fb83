/**
 * The one command-line parser of bench/: `--name=value` options, `--flag` switches and positional arguments.
 * `parseArgs()` adds the options every comparing bench shares (`--quick`, `--rounds=N`, `--only=a,b`).
 *
 * Environment variables the benches read (each where it is used): BENCH_MOSQ_NODELAY (lib/mosquitto.mjs),
 * BENCH_CPU_PROF_DIR (windowProfiler in lib/runner.mjs), BENCH_EMIT_WINDOW (lib/transport-cases.mjs), BENCH_DIST
 * (lib/transport-dist.mjs; bench:transport's --ab=<dir> sets it for its children), SOAK_DEBUG and
 * SOAK_HEAPSNAPSHOT (soak/scenario.mjs). Child processes get their arguments from their parent, positionally
 * (lib/transport-child.mjs, scale.bench.mjs --child).
 */

/**
 * @param {string[]} [argv] the arguments after the script (default `process.argv.slice(2)`)
 */
export function options(argv = process.argv.slice(2)) {
  /** The text after `--<name>=`, or undefined when the option is absent. @param {string} name */
  const value = (name) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  return {
    value,
    /** @param {string} name @param {string} fallback */
    string: (name, fallback) => value(name) ?? fallback,
    /** `Number()` of the option's text, or of `fallback` when absent. @param {string} name @param {number} fallback */
    number: (name, fallback) => Number(value(name) ?? fallback),
    /** Whether `--<name>` was given. @param {string} name */
    flag: (name) => argv.includes(`--${name}`),
    /** The arguments that are not options. */
    positional: argv.filter((a) => !a.startsWith('--')),
  };
}

/**
 * `--quick` (1 round, small sizes, nothing written), `--only=<part>[,<part>]`, `--rounds=N` (at least 5 unless
 * quick); `part(name)` says whether `--only` selects that part.
 * @param {string[]} [argv]
 */
export function parseArgs(argv = process.argv.slice(2)) {
  const o = options(argv);
  const quick = o.flag('quick');
  const rounds = quick ? 1 : Math.max(5, o.number('rounds', 5));
  const only = o.value('only');
  /** @param {string} name */
  const part = (name) => !only || only.split(',').includes(name);
  return { ...o, quick, rounds, only, part };
}
