import {McpError} from '@modelcontextprotocol/sdk/types.js';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {serverEntry} from '../support/mcp-servers.js';
import {connectClient, startTestRouter} from '../support/router.js';

// The circuit breaker of an upstream (cockatiel): calls that time out open it, calls then fail at once naming the
// upstream and when it is tried again, and it recovers through half-open. /readyz and /metrics show its state.
describe('circuit breaker', () => {
  let router: Awaited<ReturnType<typeof startTestRouter>>;
  beforeAll(async () => {
    router = await startTestRouter({
      mcpServers: {
        slow: {
          command: process.execPath,
          args: [serverEntry('server-everything'), 'stdio'],
          timeouts: {callSeconds: 1},
          circuitBreaker: {consecutiveFailures: 2, halfOpenAfterSeconds: 2},
        },
      },
    });
  });
  afterAll(() => router?.stop());

  const circuit = async () =>
    ((await (await fetch(`${router.url}/readyz`)).json()) as {upstreams: {circuit: string}[]}).upstreams[0]?.circuit;
  const metric = async () =>
    /mcp_router_upstream_circuit_state\{upstream="slow"\} (\d)/.exec(
      await (await fetch(`${router.url}/metrics`)).text(),
    )?.[1];

  it('opens after failures in a row, fails fast while open, and closes again through half-open', async () => {
    const {client, close} = await connectClient(`${router.url}/mcp`);
    const echo = () => client.callTool({name: 'slow__echo', arguments: {message: 'hi'}});
    try {
      expect(await circuit()).toBe('closed');
      for (let i = 0; i < 2; i++) {
        const timedOut = await client
          .callTool({name: 'slow__trigger-long-running-operation', arguments: {duration: 3, steps: 1}})
          .catch((error: McpError) => error);
        expect((timedOut as McpError).message).toContain('sent no response or progress');
      }
      expect(await circuit()).toBe('open');
      expect(await metric()).toBe('1');
      const refused = await echo().catch((error: McpError) => error);
      expect((refused as McpError).message).toMatch(
        /Upstream "slow" is unavailable: circuit open after 2 failures in a row; tried again from \d{4}-/,
      );
      expect((refused as McpError).data).toEqual({upstream: 'slow'});

      // After halfOpenAfterSeconds the next call is the trial (half-open); its success closes the circuit.
      await new Promise((resolve) => setTimeout(resolve, 2200));
      expect((await echo()).content).toEqual([{type: 'text', text: 'Echo: hi'}]);
      expect(await circuit()).toBe('closed');
      expect(await metric()).toBe('0');
    } finally {
      await close();
    }
  });
});
