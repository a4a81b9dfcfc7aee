/**
 * The versions of `@modelcontextprotocol/conformance` the parity suite runs, as data: which scenarios each runs, and
 * for each whether the router's aggregate `/mcp` must pass it, with the reason.
 *
 * Per-upstream paths (`/mcp/{upstream}`) must give exactly the direct results for every scenario; the aggregate
 * prefixes tool and prompt names (`<prefix>__<name>`, DESIGN.md "Names"), so a scenario that calls a tool or prompt by
 * its literal name cannot pass there. Resources keep their URIs in the aggregate, so resource scenarios must pass.
 *
 * Two versions run: 0.1.16 at the 2025-11-25 wire against test/fixtures/conformance-server.ts (SDK 1.x), and
 * 0.2.0-alpha.12, installed as the npm alias `conformance-2026`, at the 2026-07-28 wire against
 * test/fixtures/conformance-server-2026.ts (SDK 2.x). The alpha runs `--suite all --spec-version 2026-07-28`: every
 * scenario of the 2026-07-28 timeline, which is the 37 that `--requirements 2026-07-28` scores and the three it runs
 * as pending (json-schema-2020-12, http-header-validation, http-custom-header-server-validation). Extension scenarios
 * are not on the timeline, so they do not run: the 10 tasks-* (io.modelcontextprotocol/tasks, SEP-2663, which the
 * router does not offer 2026-07-28 clients) and the sep-2640-skills-* (client scenarios).
 */

/**
 * Whether the aggregate must pass a scenario, and why: `passes`; `needs-exact-names` (it calls a tool or prompt by
 * its literal name); `not-bridged` (it needs what the README's "Protocol eras" section lists as not bridged).
 */
export interface AggregateExpectation {
  aggregate: 'passes' | 'needs-exact-names' | 'not-bridged';
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
  /** The CLI's `--spec-version`: the scenarios of that protocol version, at its wire; the CLI's default otherwise. */
  specVersion?: '2026-07-28';
  /** The server the suite runs against: a file of test/fixtures, run with tsx. */
  fixture: string;
  /** Node.js version the CLI runs on (it needs Node 22; fetched by scripts/node-binary.sh). */
  node: string;
  /** Exactly the scenarios the suite runs, each with what the aggregate must do. */
  scenarios: Readonly<Record<string, AggregateExpectation>>;
  /**
   * Checks (`<scenario> / <check id>`) in which a per-upstream path may differ from direct, each with the limitation
   * the README's "Protocol eras" section documents; every other difference fails the suite.
   */
  knownDifferences?: Readonly<Record<string, string>>;
}

const passes = (reason: string): AggregateExpectation => ({aggregate: 'passes', reason});
const notBridged = (reason: string): AggregateExpectation => ({aggregate: 'not-bridged', reason});
const needsNames = (reason: string): AggregateExpectation => ({aggregate: 'needs-exact-names', reason});

const callsTool = (tool: string) => needsNames(`calls tool ${tool} by name`);
const getsPrompt = (prompt: string) => needsNames(`gets prompt ${prompt} by name`);
const keepsUris = passes('resource URIs are not renamed in the aggregate');
const callsToolRounds = (tool: string) => needsNames(`calls tool ${tool} by name, over input_required rounds`);

/** The scenarios of both eras (2025-11-25 and 2026-07-28) that the two suites share, under the same names. */
const BOTH_ERAS: Readonly<Record<string, AggregateExpectation>> = {
  'completion-complete': needsNames('completes an argument of prompt test_prompt_with_arguments by name'),
  'tools-list': passes('checks the shape of each listed tool, not its name'),
  'tools-call-simple-text': callsTool('test_simple_text'),
  'tools-call-image': callsTool('test_image_content'),
  'tools-call-audio': callsTool('test_audio_content'),
  'tools-call-embedded-resource': callsTool('test_embedded_resource'),
  'tools-call-mixed-content': callsTool('test_multiple_content_types'),
  'tools-call-error': callsTool('test_error_handling'),
  'tools-call-with-progress': callsTool('test_tool_with_progress'),
  'server-sse-multiple-streams': passes('concurrent POST streams of tools/list, no names'),
  'resources-list': passes('checks the shape of each listed resource'),
  'resources-read-text': keepsUris,
  'resources-read-binary': keepsUris,
  'resources-templates-read': keepsUris,
  'prompts-list': passes('checks the shape of each listed prompt, not its name'),
  'prompts-get-simple': getsPrompt('test_simple_prompt'),
  'prompts-get-with-args': getsPrompt('test_prompt_with_arguments'),
  'prompts-get-embedded-resource': getsPrompt('test_prompt_with_embedded_resource'),
  'prompts-get-with-image': getsPrompt('test_prompt_with_image'),
  'dns-rebinding-protection': passes("the router's own Host/Origin check on a loopback-bound router"),
};

/** The protocol 2025-11-25 suite: conformance 0.1.16, active scenarios (all but json-schema-2020-12, server-sse-polling). */
export const CONFORMANCE_0_1_16: ConformanceSuite = {
  package: '@modelcontextprotocol/conformance',
  version: '0.1.16',
  suite: 'active',
  fixture: 'conformance-server.ts',
  // The same Node 22 that test:node-versions runs, so both share one cached binary.
  node: '22.23.3',
  scenarios: {
    ...BOTH_ERAS,
    'server-initialize': passes('initialize only'),
    'logging-set-level': passes('logging/setLevel, no names'),
    ping: passes('ping only'),
    'tools-call-with-logging': callsTool('test_tool_with_logging'),
    'tools-call-sampling': callsTool('test_sampling'),
    'tools-call-elicitation': callsTool('test_elicitation'),
    'elicitation-sep1034-defaults': callsTool('test_elicitation_sep1034_defaults'),
    'elicitation-sep1330-enums': callsTool('test_elicitation_sep1330_enums'),
    'resources-subscribe': keepsUris,
    'resources-unsubscribe': keepsUris,
  },
  knownDifferences: {
    'server-sse-multiple-streams / server-sse-streams-functional':
      'the router answers tools/list from its catalog at once, as one JSON body (ADR 0040), where the upstream ' +
      'streams it; the check records JSON answers as INFO ("SSE streaming is optional")',
  },
};

/** Why the router fails the checks of custom `Mcp-Param-*` headers (README, "Protocol eras"). */
const MCP_PARAM_HEADERS =
  'the router neither checks Mcp-Param-* headers (tools declaring x-mcp-header) nor sends them to the upstream';

/** The protocol 2026-07-28 suite: conformance 0.2.0-alpha.12 (npm alias conformance-2026), all of 2026-07-28. */
export const CONFORMANCE_0_2_0_ALPHA_12: ConformanceSuite = {
  package: 'conformance-2026',
  version: '0.2.0-alpha.12',
  suite: 'all',
  specVersion: '2026-07-28',
  fixture: 'conformance-server-2026.ts',
  node: CONFORMANCE_0_1_16.node,
  scenarios: {
    ...BOTH_ERAS,
    'server-stateless': needsNames(
      'calls tools test_missing_capability, test_streaming_elicitation, test_logging_tool and ' +
        'test_trigger_tool_change by name',
    ),
    'json-schema-2020-12': needsNames('looks up tool json_schema_2020_12_tool by name in tools/list'),
    'sep-2164-resource-not-found': passes('reads a URI that no upstream has'),
    caching: passes('the lists, and a read of the first listed resource: no names'),
    'http-header-validation': passes('Mcp-Method and Mcp-Name headers of a tools/list and of a listed tool'),
    'http-custom-header-server-validation': notBridged(MCP_PARAM_HEADERS),
    'input-required-result-basic-elicitation': callsToolRounds('test_input_required_result_elicitation'),
    'input-required-result-basic-sampling': callsToolRounds('test_input_required_result_sampling'),
    'input-required-result-basic-list-roots': callsToolRounds('test_input_required_result_list_roots'),
    'input-required-result-request-state': callsToolRounds('test_input_required_result_request_state'),
    'input-required-result-multiple-input-requests': callsToolRounds('test_input_required_result_multiple_inputs'),
    'input-required-result-multi-round': callsToolRounds('test_input_required_result_multi_round'),
    'input-required-result-missing-input-response': callsToolRounds('test_input_required_result_elicitation'),
    'input-required-result-non-tool-request': needsNames(
      'gets prompt test_input_required_result_prompt by name, over input_required rounds',
    ),
    'input-required-result-result-type': callsToolRounds('test_input_required_result_elicitation'),
    'input-required-result-unsupported-methods': passes('tools/list and prompts/list only'),
    'input-required-result-tampered-state': callsToolRounds('test_input_required_result_tampered_state'),
    'input-required-result-capability-check': callsToolRounds('test_input_required_result_capabilities'),
    'input-required-result-ignore-extra-params': callsToolRounds('test_input_required_result_elicitation'),
    'input-required-result-validate-input': callsToolRounds('test_input_required_result_elicitation'),
  },
  knownDifferences: {
    'server-stateless / sep-2575-http-server-method-not-found-404':
      'an unknown method is forwarded to the upstream, and its -32601 comes back in-band (HTTP 200), as the SDK ' +
      'answers every error a request handler gives; only the SDK itself answers 404, for methods it does not route',
    'http-custom-header-server-validation / sep-2243-server-decode-base64': MCP_PARAM_HEADERS,
    'http-custom-header-server-validation / sep-2243-server-reject-invalid-param-chars': MCP_PARAM_HEADERS,
    'http-custom-header-server-validation / sep-2243-server-validate-param-match': MCP_PARAM_HEADERS,
  },
};

/** Every suite version the parity test runs. */
export const CONFORMANCE_SUITES: readonly ConformanceSuite[] = [CONFORMANCE_0_1_16, CONFORMANCE_0_2_0_ALPHA_12];
