/**
 * Runs the `@modelcontextprotocol/conformance` CLI (`server` mode: it acts as an MCP client over Streamable HTTP)
 * against a URL and reads the checks it wrote. The CLI needs Node 22 (`fs.globSync`), so it runs on the binary that
 * scripts/node-binary.sh fetches, whatever Node runs the tests.
 */
import {execFile} from 'node:child_process';
import {mkdtemp, readdir, readFile, rm} from 'node:fs/promises';
import {createRequire} from 'node:module';
import {tmpdir} from 'node:os';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {promisify} from 'node:util';

import {type Check, type ScenarioResults, scenarioOfResultFolder} from './checks.js';
import type {ConformanceSuite} from './suites.js';

const run = promisify(execFile);
const require = createRequire(import.meta.url);
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** A whole suite of scenarios may take this long against one URL before the CLI is killed (ms); it takes seconds. */
const RUN_TIMEOUT_MS = 120_000;

/**
 * The path of a Node.js `version` binary, fetched once from the npm registry into the cache folder
 * (scripts/node-binary.sh). Throws when the fetch fails (no registry, not Linux x64).
 */
export async function nodeBinary(version: string): Promise<string> {
  const {stdout} = await run('bash', [join(root, 'scripts', 'node-binary.sh'), version]);
  return stdout.trim();
}

/** The CLI's entry file of `suite`; throws when the installed package is not the suite's version. */
export function cliEntry(suite: ConformanceSuite): string {
  const manifest = require.resolve(`${suite.package}/package.json`);
  const {version, bin} = require(manifest) as {version: string; bin: {conformance: string}};
  if (version !== suite.version) {
    throw new Error(`${suite.package} is ${version}, the suite expects ${suite.version}: run npm ci`);
  }
  return join(dirname(manifest), bin.conformance);
}

/**
 * Runs `suite` against the Streamable HTTP endpoint `url` with the `node` binary; resolves with each scenario's
 * checks. The CLI exits 1 when a check fails, which is a result here; any other exit (a crash, the 2-minute timeout)
 * throws with the end of its output.
 */
export async function runSuite(suite: ConformanceSuite, node: string, url: string): Promise<ScenarioResults> {
  const output = await mkdtemp(join(tmpdir(), 'kube-mcp-router-conformance-'));
  try {
    const args = [cliEntry(suite), 'server', '--url', url, '--suite', suite.suite, '-o', output];
    if (suite.specVersion !== undefined) args.push('--spec-version', suite.specVersion);
    await run(node, args, {timeout: RUN_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024}).catch(
      (error: {code?: unknown; signal?: string; stdout?: string; stderr?: string}) => {
        if (error.code === 1) return;
        throw new Error(
          `conformance ${suite.version} against ${url} failed (${String(error.code ?? error.signal)}): ` +
            `${(error.stderr ?? '').slice(-2000)}${(error.stdout ?? '').slice(-2000)}`,
        );
      },
    );
    return await readResults(output);
  } finally {
    await rm(output, {recursive: true, force: true});
  }
}

async function readResults(output: string): Promise<ScenarioResults> {
  const results = new Map<string, Check[]>();
  for (const folder of await readdir(output)) {
    const scenario = scenarioOfResultFolder(folder);
    if (scenario === undefined) continue;
    results.set(scenario, JSON.parse(await readFile(join(output, folder, 'checks.json'), 'utf8')) as Check[]);
  }
  return results;
}
