/**
 * The versions of `@modelcontextprotocol/conformance` the parity suite runs, as data: which scenarios each runs, and
 * for each whether the router's aggregate `/mcp` must pass it, with the reason.
 *
 * Per-upstream paths (`/mcp/{upstream}`) must give exactly the direct results for every scenario; the aggregate
 * prefixes tool and prompt names (`<prefix>__<name>`, DESIGN.md "Names"), so a scenario that calls a tool or prompt by
 * its literal name cannot pass there. Resources keep their URIs in the aggregate, so resource scenarios must pass.
 *
 * Later versions: the 0.2.0 alphas (npm, 2026) add the 2026-07-28 scenarios. 0.2.0-alpha.7 adds server-stateless,
 * caching, http-header-validation, http-custom-header-server-validation, sep-2164-resource-not-found, 14
 * input-required-result-* (MRTR) scenarios and 10 tasks-* scenarios (extension); 0.2.0-alpha.12 adds
 * server-session-lifecycle and 3 sep-2640-skills-* scenarios (extension), and the CLI flags `--requirements
 * 2026-07-28` and `--timeout`. They need test/fixtures/conformance-server.ts to serve their scenarios too, and the
 * router's 2026-07-28 leg; add them here, installed under an npm alias, when that leg exists.
 */

/** Whether the aggregate must pass a scenario, and why. */
export interface AggregateExpectation {
  aggregate: 'passes' | 'needs-exact-names';
  reason: string;
}

/** One version of the conformance CLI and what the project expects of it. */
export interface ConformanceSuite {
  /** Name under which the CLI's package is installed (a devDependency, or an npm alias of one). */
  package: string;
  /** Its version; the suite fails when the installed package is another. */
  version: string;
  /** The CLI's `--suite` argument. */
  suite: 'active' | 'all';
  /** Node.js version the CLI runs on (it needs Node 22; fetched by scripts/node-binary.sh). */
  node: string;
  /** Exactly the scenarios the suite runs, each with what the aggregate must do. */
  scenarios: Readonly<Record<string, AggregateExpectation>>;
}

const passes = (reason: string): AggregateExpectation => ({aggregate: 'passes', reason});
const needsNames = (reason: string): AggregateExpectation => ({aggregate: 'needs-exact-names', reason});

const callsTool = (tool: string) => needsNames(`calls tool ${tool} by name`);
const getsPrompt = (prompt: string) => needsNames(`gets prompt ${prompt} by name`);
const keepsUris = passes('resource URIs are not renamed in the aggregate');

/** The protocol 2025-11-25 suite: conformance 0.1.16, active scenarios (all but json-schema-2020-12, server-sse-polling). */
export const CONFORMANCE_0_1_16: ConformanceSuite = {
  package: '@modelcontextprotocol/conformance',
  version: '0.1.16',
  suite: 'active',
  // The same Node 22 that test:node-versions runs, so both share one cached binary.
  node: '22.23.3',
  scenarios: {
    'server-initialize': passes('initialize only'),
    'logging-set-level': passes('logging/setLevel, no names'),
    ping: passes('ping only'),
    'completion-complete': needsNames('completes an argument of prompt test_prompt_with_arguments by name'),
    'tools-list': passes('checks the shape of each listed tool, not its name'),
    'tools-call-simple-text': callsTool('test_simple_text'),
    'tools-call-image': callsTool('test_image_content'),
    'tools-call-audio': callsTool('test_audio_content'),
    'tools-call-embedded-resource': callsTool('test_embedded_resource'),
    'tools-call-mixed-content': callsTool('test_multiple_content_types'),
    'tools-call-with-logging': callsTool('test_tool_with_logging'),
    'tools-call-error': callsTool('test_error_handling'),
    'tools-call-with-progress': callsTool('test_tool_with_progress'),
    'tools-call-sampling': callsTool('test_sampling'),
    'tools-call-elicitation': callsTool('test_elicitation'),
    'elicitation-sep1034-defaults': callsTool('test_elicitation_sep1034_defaults'),
    'server-sse-multiple-streams': passes('concurrent POST streams of tools/list, no names'),
    'elicitation-sep1330-enums': callsTool('test_elicitation_sep1330_enums'),
    'resources-list': passes('checks the shape of each listed resource'),
    'resources-read-text': keepsUris,
    'resources-read-binary': keepsUris,
    'resources-templates-read': keepsUris,
    'resources-subscribe': keepsUris,
    'resources-unsubscribe': keepsUris,
    'prompts-list': passes('checks the shape of each listed prompt, not its name'),
    'prompts-get-simple': getsPrompt('test_simple_prompt'),
    'prompts-get-with-args': getsPrompt('test_prompt_with_arguments'),
    'prompts-get-embedded-resource': getsPrompt('test_prompt_with_embedded_resource'),
    'prompts-get-with-image': getsPrompt('test_prompt_with_image'),
    'dns-rebinding-protection': passes("the router's own Host/Origin check on a loopback-bound router"),
  },
};

/** Every suite version the parity test runs. */
export const CONFORMANCE_SUITES: readonly ConformanceSuite[] = [CONFORMANCE_0_1_16];
