/**
 * Results of `@modelcontextprotocol/conformance server -o DIR`, and the decisions the parity suite takes on them. Pure
 * functions only; reading the files is in cli.ts.
 *
 * The CLI writes one folder per scenario, `server-<scenario>-<ISO timestamp with - for :>`, holding `checks.json`: an
 * array of checks `{id, name, description, status, timestamp, errorMessage?, details?, ...}`. Statuses are SUCCESS,
 * FAILURE, WARNING, SKIPPED and INFO; a scenario passes when none of its checks is a FAILURE (the CLI's own rule).
 */

export type CheckStatus = 'SUCCESS' | 'FAILURE' | 'WARNING' | 'SKIPPED' | 'INFO';

/** One check of a scenario, as checks.json has it (the fields the suite reads). */
export interface Check {
  id: string;
  status: CheckStatus;
  errorMessage?: string;
}

/** Checks per scenario name, for one run of the CLI against one URL. */
export type ScenarioResults = ReadonlyMap<string, readonly Check[]>;

/** A check whose status differs between two runs; `undefined` where a run has no such check. */
export interface CheckDifference {
  scenario: string;
  check: string;
  expected?: CheckStatus;
  actual?: CheckStatus;
  expectedError?: string;
  actualError?: string;
}

/** The scenario a result folder belongs to (`server-tools-list-2026-12-02T15-53-49-142Z` -> `tools-list`), or none. */
export function scenarioOfResultFolder(folder: string): string | undefined {
  return /^server-(.+)-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z$/.exec(folder)?.[1];
}

/** True when a scenario ran at least one check and none failed. */
export function passed(checks: readonly Check[] | undefined): boolean {
  return checks !== undefined && checks.length > 0 && checks.every((check) => check.status !== 'FAILURE');
}

/**
 * Every check of `scenarios` whose status in `actual` is not its status in `expected`, including checks only one run
 * has and scenarios only one run ran. Empty when the runs agree exactly.
 */
export function differences(
  expected: ScenarioResults,
  actual: ScenarioResults,
  scenarios: readonly string[],
): CheckDifference[] {
  return scenarios.flatMap((scenario) => {
    const before = byId(expected.get(scenario) ?? []);
    const after = byId(actual.get(scenario) ?? []);
    if (before.size === 0 && after.size === 0) return [{scenario, check: '(scenario did not run)'}];
    const ids = [...new Set([...before.keys(), ...after.keys()])].sort();
    return ids
      .filter((id) => before.get(id)?.status !== after.get(id)?.status)
      .map((id) => ({
        scenario,
        check: id,
        expected: before.get(id)?.status,
        actual: after.get(id)?.status,
        expectedError: before.get(id)?.errorMessage,
        actualError: after.get(id)?.errorMessage,
      }));
  });
}

/** The differences not listed in `known` (keys `<scenario> / <check id>`) (pure). */
export function unexpected(found: CheckDifference[], known: Readonly<Record<string, string>> = {}): CheckDifference[] {
  return found.filter((d) => known[`${d.scenario} / ${d.check}`] === undefined);
}

function byId(checks: readonly Check[]): Map<string, Check> {
  return new Map(checks.map((check) => [check.id, check]));
}

/** A table cell: `passed/total` checks, then ` FAILED` when a check failed; `-` when the scenario did not run. */
export function cell(checks: readonly Check[] | undefined): string {
  if (checks === undefined || checks.length === 0) return '-';
  const successes = checks.filter((check) => check.status === 'SUCCESS').length;
  return `${successes}/${checks.length}${passed(checks) ? '' : ' FAILED'}`;
}

/**
 * A plain-text table, one row per scenario and one column per run, with a trailing note per row (e.g. why the
 * aggregate may fail it). Columns are padded to their widest cell.
 */
export function renderTable(
  scenarios: readonly string[],
  runs: readonly {name: string; results: ScenarioResults; marks?: ReadonlyMap<string, string>}[],
  notes: ReadonlyMap<string, string> = new Map(),
): string {
  const header = ['scenario', ...runs.map((run) => run.name), 'note'];
  const rows = scenarios.map((scenario) => [
    scenario,
    ...runs.map((run) => `${cell(run.results.get(scenario))}${run.marks?.get(scenario) ?? ''}`),
    notes.get(scenario) ?? '',
  ]);
  const widths = header.map((_, column) => Math.max(...[header, ...rows].map((row) => (row[column] ?? '').length)));
  return [header, ...rows]
    .map((row) =>
      row
        .map((text, column) => text.padEnd(widths[column] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
