/** The contract of one benchmark section (`npm run bench -- NAME`). */
import type {Table} from '../report.js';

export interface ScenarioOptions {
  /** How often each measurement is repeated; the tables show the spread over these rounds. */
  rounds: number;
  /** The measured window of each closed-loop load, after a warm-up of half a second. */
  seconds: number;
  /**
   * The load sections' warm-up: seconds of load on each path before the first round (`warmUp`), so that rounds
   * measure processes that have compiled their hot code, as a long-running router has. 0 measures them cold.
   */
  warmupSeconds: number;
  /**
   * Another build of the router to measure beside this one, in the same rounds: the path of its `dist/cli.js`
   * (another checkout, built). Sections that take it say so.
   */
  baseline?: string;
  /** Progress, on stderr. */
  log: (line: string) => void;
}

export interface Scenario {
  name: string;
  /** Starts what it measures, measures, stops it all (also on failure), and returns its tables and notes. */
  run(options: ScenarioOptions): Promise<{tables: Table[]; notes: string[]}>;
}
