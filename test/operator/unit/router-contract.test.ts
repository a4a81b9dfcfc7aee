/* eslint-disable @typescript-eslint/no-explicit-any -- these tests read the generated CRD as plain JSON */
import {describe, expect, it} from 'vitest';
import {DEFINITIONS, buildCrd} from '../../../operator/api/crd.js';
import {parseMcpUpstream} from '../../../operator/api/types.js';
import {renderRouter} from '../../../operator/controllers/mcprouter/render.js';
import {CircuitBreakerSchema, parseRouterConfig, RetriesSchema, TimeoutsSchema} from '../../../router/config/index.js';
import {ConfigError} from '../../../router/errors.js';
import {parsedRouter, parsedUpstream, renderOptions, upstreamResource} from '../fixtures.js';

/** Whether the router accepts these options on a server of a local router.json. */
function routerAccepts(options: Record<string, unknown>): boolean {
  const text = JSON.stringify({mcpServers: {a: {command: 'a', ...options}}});
  try {
    parseRouterConfig(text, {}, 'router.json');
    return true;
  } catch (error) {
    if (error instanceof ConfigError) return false;
    throw error;
  }
}

/** Whether the operator accepts these options on an McpUpstream's spec. */
function operatorAccepts(options: Record<string, unknown>): boolean {
  return parseMcpUpstream(upstreamResource('a', {stdio: {command: 'a'}, ...options})).ok;
}

const globs = (n: number) => Array.from({length: n}, (_, i) => `tool_${i}`);

describe('the router config contract', () => {
  it.each([
    ['retries.maxAttempts 10', {retries: {maxAttempts: 10}}, true],
    ['retries.maxAttempts 11', {retries: {maxAttempts: 11}}, false],
    ['retries.backoffSeconds 61', {retries: {backoffSeconds: 61}}, false],
    ['retries.maxBackoffSeconds 601', {retries: {maxBackoffSeconds: 601}}, false],
    ['timeouts.connectSeconds 3600', {timeouts: {connectSeconds: 3600}}, true],
    ['timeouts.connectSeconds 3601', {timeouts: {connectSeconds: 3601}}, false],
    ['timeouts.maxCallSeconds 86401', {timeouts: {maxCallSeconds: 86401}}, false],
    ['timeouts.callSeconds 0', {timeouts: {callSeconds: 0}}, false],
    ['circuitBreaker.consecutiveFailures 1000', {circuitBreaker: {consecutiveFailures: 1000}}, true],
    ['circuitBreaker.consecutiveFailures 1001', {circuitBreaker: {consecutiveFailures: 1001}}, false],
    ['circuitBreaker.halfOpenAfterSeconds 86401', {circuitBreaker: {halfOpenAfterSeconds: 86401}}, false],
    ['tools.include of 256 globs', {tools: {include: globs(256)}}, true],
    ['tools.include of 257 globs', {tools: {include: globs(257)}}, false],
    ['tools.exclude with a 257-character glob', {tools: {exclude: ['x'.repeat(257)]}}, false],
  ])('router and McpUpstream agree on %s (accepted: %s)', (_name, options, accepted) => {
    expect(routerAccepts(options)).toBe(accepted);
    expect(operatorAccepts(options)).toBe(accepted);
  });

  it("an McpUpstream's per-tool timeouts have the router's bounds", () => {
    const tool = (callSeconds: number) => ({tools: [{name: 't', callSeconds}]});
    expect(operatorAccepts({timeouts: tool(86400)})).toBe(true);
    expect(operatorAccepts({timeouts: tool(86401)})).toBe(false);
    expect(routerAccepts({timeouts: {tools: {t: {callSeconds: 86401}}}})).toBe(false);
  });

  it.each([
    ['retries', 'maxAttempts', RetriesSchema],
    ['retries', 'backoffSeconds', RetriesSchema],
    ['retries', 'toolCalls', RetriesSchema],
    ['timeouts', 'connectSeconds', TimeoutsSchema],
    ['timeouts', 'callSeconds', TimeoutsSchema],
    ['circuitBreaker', 'halfOpenAfterSeconds', CircuitBreakerSchema],
  ] as const)('the CRD field spec.%s.%s names the router default and sets none itself', (group, field, schema) => {
    const crd = buildCrd(DEFINITIONS.find((d) => d.names.kind === 'McpUpstream')!) as any;
    const node = crd.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties[group].properties[field];
    const routerDefault = (schema.parse({}) as Record<string, unknown>)[field];
    expect(node.description).toContain(`Router default: ${routerDefault}.`);
    expect(node.default).toBeUndefined();
  });

  it('renders a typed router.json: the config it returns is the file, and the router parses it', () => {
    const upstream = parsedUpstream('memory', {
      stdio: {command: 'mcp-memory'},
      retries: {maxAttempts: 2},
      timeouts: {tools: [{name: 'read_graph', callSeconds: 300}]},
    });
    const rendered = renderRouter(parsedRouter(), [upstream], renderOptions);
    expect(JSON.parse(rendered.routerJson)).toEqual(rendered.config);
    const parsed = parseRouterConfig(rendered.routerJson, {}, 'router.json');
    expect(parsed.upstreams[0]).toMatchObject({
      name: 'memory',
      retries: {maxAttempts: 2, backoffSeconds: 0.2},
      timeouts: {callSeconds: 60, tools: {read_graph: {callSeconds: 300}}},
    });
  });
});
