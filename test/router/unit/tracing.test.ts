import {describe, expect, it} from 'vitest';
import {JsonRpcFailure, UpstreamTimeoutError} from '../../../router/errors.js';
import {errorType, requestAttributes, spanName} from '../../../router/tracing.js';
import {tracingRequested} from '../../../telemetry.js';

describe('tracingRequested', () => {
  it.each([
    [{}, false],
    [{OTEL_EXPORTER_OTLP_ENDPOINT: ''}, false],
    [{OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318'}, true],
    [{OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces'}, true],
    [{OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'true'}, false],
    [{OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_TRACES_EXPORTER: 'none'}, false],
  ])('%j: %s', (env, expected) => {
    expect(tracingRequested(env)).toBe(expected);
  });
});

describe('span names and attributes (semantic conventions for MCP)', () => {
  it('names a tools/call after its tool, and never records its arguments', () => {
    const params = {name: 'everything__echo', arguments: {message: 'private'}, _meta: {progressToken: 1}};
    expect(spanName('tools/call', params)).toBe('tools/call everything__echo');
    expect(requestAttributes('tools/call', params)).toEqual({
      'mcp.method.name': 'tools/call',
      'gen_ai.tool.name': 'everything__echo',
      'gen_ai.operation.name': 'execute_tool',
    });
  });

  it('names a prompts/get after its prompt, and a resources/read after its method only', () => {
    expect(spanName('prompts/get', {name: 'p'})).toBe('prompts/get p');
    expect(requestAttributes('prompts/get', {name: 'p'})).toEqual({
      'mcp.method.name': 'prompts/get',
      'gen_ai.prompt.name': 'p',
    });
    expect(spanName('resources/read', {uri: 'file:///a'})).toBe('resources/read');
    expect(requestAttributes('resources/read', {uri: 'file:///a'})).toEqual({
      'mcp.method.name': 'resources/read',
      'mcp.resource.uri': 'file:///a',
    });
  });

  it("gives the router error's code or the JSON-RPC code as error.type", () => {
    expect(errorType(new UpstreamTimeoutError('slow', 'tools/call', 30, 'total'))).toBe('UPSTREAM_TIMEOUT');
    expect(errorType(new JsonRpcFailure(-32602, 'bad'))).toBe('-32602');
    expect(errorType(new Error('x'))).toBe('_OTHER');
  });
});
