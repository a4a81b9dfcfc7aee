import {describe, expect, it} from 'vitest';
import {mcpRoute, runPhases, type McpPhase} from '../../../router/http/routes.js';
import type {Request, Response} from 'express';

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

describe('runPhases', () => {
  const req = {} as Request;
  const res = {} as Response;
  const route = {endpoint: 'mcp' as const};

  it('runs the phases in order while each passes on, then calls done without an error', () => {
    const seen: string[] = [];
    const phase =
      (name: string): McpPhase =>
      (_req, _res, next) => {
        seen.push(name);
        next();
      };
    const done: unknown[] = [];
    runPhases([phase('a'), phase('b')], route, req, res, (error) => done.push(error));
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
    runPhases([answered, after], route, req, res, done);
    expect(errors).toEqual([]);
    runPhases(
      [
        () => {
          throw new Error('thrown');
        },
      ],
      route,
      req,
      res,
      done,
    );
    runPhases([(_q, _s, next) => next(new Error('passed'))], route, req, res, done);
    runPhases([async () => Promise.reject(new Error('rejected'))], route, req, res, done);
    await new Promise((resolve) => setImmediate(resolve));
    expect(errors.map((error) => (error as Error).message)).toEqual(['thrown', 'passed', 'rejected']);
  });

  it('gives each phase the route', () => {
    const routes: unknown[] = [];
    runPhases([(_q, _s, _n, given) => routes.push(given)], {endpoint: 'sse', upstream: 'x'}, req, res, () => {});
    expect(routes).toEqual([{endpoint: 'sse', upstream: 'x'}]);
  });
});
