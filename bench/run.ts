/**
 * `npm run bench [-- SECTION...] [--rounds N] [--seconds S] [--warmup W] [--baseline CLI]`: measures the router against
 * its baselines in one run and prints Markdown tables of ratios, each figure the spread over N rounds (default 3).
 * Sections: `echo`, `trust`, `memory`, `catalog`, `large` (all by default) and `profile` (only when named). Every
 * server listens on 127.0.0.1; each path of `echo`, `trust` and `catalog` (and each router of `large`, after its
 * first call) first runs W seconds (default 20) under load unmeasured, every load runs for S seconds (default 2.5)
 * after a warm-up, and every process is stopped at the end.
 * `--baseline` names another build's `dist/cli.js`, which `echo` measures beside this build, for a before/after in
 * one run.
 */
import {cpus, loadavg} from 'node:os';
import {parseArgs} from 'node:util';
import {formatTable} from './report.js';
import {catalogScenario} from './scenarios/catalog.js';
import {echoScenario} from './scenarios/echo.js';
import {largeScenario} from './scenarios/large.js';
import {memoryScenario} from './scenarios/memory.js';
import {profileScenario} from './scenarios/profile.js';
import type {Scenario} from './scenarios/scenario.js';
import {trustScenario} from './scenarios/trust.js';

const SCENARIOS: Scenario[] = [
  echoScenario,
  trustScenario,
  memoryScenario,
  catalogScenario,
  largeScenario,
  profileScenario,
];
const ON_REQUEST = new Set(['profile']);

const machine = () =>
  `${cpus().length} cores (${cpus()[0]?.model.trim()}), Node ${process.version}, load average ${loadavg()
    .map((n) => n.toFixed(2))
    .join(' ')}`;

async function main(): Promise<void> {
  const {values, positionals} = parseArgs({
    allowPositionals: true,
    options: {
      rounds: {type: 'string', default: '3'},
      seconds: {type: 'string', default: '2.5'},
      warmup: {type: 'string', default: '20'},
      baseline: {type: 'string'},
    },
  });
  const unknown = positionals.filter((name) => !SCENARIOS.some((s) => s.name === name));
  if (unknown.length > 0) throw new Error(`unknown section(s): ${unknown.join(', ')}`);
  const chosen = SCENARIOS.filter((s) =>
    positionals.length === 0 ? !ON_REQUEST.has(s.name) : positionals.includes(s.name),
  );
  const options = {
    rounds: Number(values.rounds),
    seconds: Number(values.seconds),
    warmupSeconds: Number(values.warmup),
    ...(values.baseline !== undefined && {baseline: values.baseline}),
    log: (line: string) => process.stderr.write(`${line}\n`),
  };
  process.stdout.write(
    `Machine: ${machine()}\nRounds: ${options.rounds}, ${options.seconds} s per load, ` +
      `${options.warmupSeconds} s of warm-up per path first\n`,
  );
  for (const scenario of chosen) {
    const {tables, notes} = await scenario.run(options);
    for (const table of tables) process.stdout.write(`\n${formatTable(table)}\n`);
    for (const note of notes) process.stdout.write(`\nNote: ${note}\n`);
  }
  process.stdout.write(
    `\nLoad average at the end: ${loadavg()
      .map((n) => n.toFixed(2))
      .join(' ')}\n`,
  );
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
