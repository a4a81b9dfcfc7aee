import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {serverEntry} from '../support/mcp-servers.js';
import {capturedLogger, startLoggedRouter} from '../support/router.js';

// A real server-everything as a shared stdio upstream: it asks its client for roots as soon as it is initialized,
// when no downstream session has a call in flight.
const captured = capturedLogger('debug');
let router: Awaited<ReturnType<typeof startLoggedRouter>>;

beforeAll(async () => {
  router = await startLoggedRouter(
    {mcpServers: {everything: {command: process.execPath, args: [serverEntry('server-everything'), 'stdio']}}},
    captured.log,
  );
});

afterAll(() => router?.stop());

describe('roots of a shared upstream', () => {
  it('regression: a shared upstream asking for roots at start logged "cannot tell which client" at every start; it now gets an empty list', async () => {
    // server-everything asks right after `initialized`, and prints a failure on its stderr, logged by the router.
    await new Promise((r) => setTimeout(r, 1000));
    const lines = captured.lines();
    expect(lines.some((l) => l.msg === 'Connected upstream' && l.upstream === 'everything')).toBe(true);
    expect(lines.filter((l) => /roots/i.test(String(l.msg)))).toEqual([]);
  });
});
