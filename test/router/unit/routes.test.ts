import {describe, expect, it} from 'vitest';
import {mcpRoute, pathOf, queryValue, runPhases, type McpPhase, type McpRequest} from '../../../router/http/routes.js';
import type {ServerResponse} from 'node:http';

describe('mcpRoute', () => {
  it.each([
    ['/mcp', {endpoint: 'mcp'}],
    ['/mcp/', {endpoint: 'mcp'}],
    ['/MCP', {endpoint: 'mcp'}],
    ['/mcp?x=1', {endpoint: 'mcp'}],
    ['/mcp/github', {endpoint: 'mcp', upstream: 'github'}],
    ['/mcp/github/', {endpoint: 'mcp', upstream: 'github'}],
    ['/mcp/My%20Server', {endpoint: 'mcp', upstream: 'My Server'}],
    ['/sse', {endpoint: 'sse'}],
    ['/sse/github?x=1', {endpoint: 'sse', upstream: 'github'}],
    ['/message?sessionId=abc', {endpoint: 'message'}],
    ['/upstreams', {endpoint: 'upstreams'}],
  ])('routes %s', (target, route) => {
    expect(mcpRoute(target)).toEqual(route);
  });

  it.each([
    '/',
    '/healthz',
    '/mcpx',
    '/mcp/a/b',
    '/mcp//',
    '/mcp/%E0%A4%A',
    '/message/x',
    '/upstreams/x',
    'mcp',
    '/.well-known/oauth-protected-resource/mcp',
  ])('leaves %s to the rest of the app', (target) => {
    expect(mcpRoute(target)).toBeUndefined();
  });
});

describe('pathOf and queryValue', () => {
  it('split a request target into its path and one query value', () => {
    expect(pathOf('/message?sessionId=a')).toBe('/message');
    expect(pathOf('/mcp')).toBe('/mcp');
    expect(queryValue('/message?sessionId=a%20b&x=1', 'sessionId')).toBe('a b');
    expect(queryValue('/message?x=1', 'sessionId')).toBeUndefined();
    expect(queryValue('/message', 'sessionId')).toBeUndefined();
  });

  it('gives no value for a parameter given twice, which the routes refuse (400)', () => {
    expect(queryValue('/message?sessionId=a&sessionId=b', 'sessionId')).toBeUndefined();
  });
});

describe('runPhases', () => {
  const req = {} as McpRequest;
  const res = {} as ServerResponse;
  const exchange = {route: {endpoint: 'mcp' as const}};

  it('runs the phases in order while each passes on, then calls done without an error', () => {
    const seen: string[] = [];
    const phase =
      (name: string): McpPhase =>
      (_req, _res, next) => {
        seen.push(name);
        next();
      };
    const done: unknown[] = [];
    runPhases([phase('a'), phase('b')], exchange, req, res, (error) => done.push(error));
    expect(seen).toEqual(['a', 'b']);
    expect(done).toEqual([undefined]);
  });

  it('stops at a phase that answers, and hands a thrown, passed or rejected error to done', async () => {
    const answered = (): void => undefined;
    const after = (): void => {
      throw new Error('must not run');
    };
    const errors: unknown[] = [];
    const done = (error?: unknown) => errors.push(error);
    runPhases([answered, after], exchange, req, res, done);
    expect(errors).toEqual([]);
    runPhases(
      [
        () => {
          throw new Error('thrown');
        },
      ],
      exchange,
      req,
      res,
      done,
    );
    runPhases([(_q, _s, next) => next(new Error('passed'))], exchange, req, res, done);
    runPhases([async () => Promise.reject(new Error('rejected'))], exchange, req, res, done);
    await new Promise((resolve) => setImmediate(resolve));
    expect(errors.map((error) => (error as Error).message)).toEqual(['thrown', 'passed', 'rejected']);
  });

  it('gives every phase the same exchange, so that one phase tells the next what it found', () => {
    const seen: unknown[] = [];
    const shared = {route: {endpoint: 'sse' as const, upstream: 'x'}};
    runPhases(
      [
        (_q, _s, next, given) => {
          given.heldHere = true;
          next();
        },
        (_q, _s, _n, given) => seen.push(given),
      ],
      shared,
      req,
      res,
      () => {},
    );
    expect(seen).toEqual([{route: {endpoint: 'sse', upstream: 'x'}, heldHere: true}]);
  });
});
