import {McpError} from '@modelcontextprotocol/sdk/types.js';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {serverEntry} from '../support/mcp-servers.js';
import {connectClient, startTestRouter} from '../support/router.js';

// Per-tool timeouts (timeouts.tools) through the real router: two server-everything upstreams with a 1 s idle timeout,
// one of which gives trigger-long-running-operation 10 s. A call that reports no progress for 2 s then succeeds on the
// one and times out on the other; a per-tool maxCallSeconds cuts a call that keeps reporting progress.
const everything = (timeouts: Record<string, unknown>) => ({
  command: process.execPath,
  args: [serverEntry('server-everything'), 'stdio'],
  timeouts,
});

describe('per-tool timeouts', () => {
  let router: Awaited<ReturnType<typeof startTestRouter>>;
  beforeAll(async () => {
    router = await startTestRouter({
      mcpServers: {
        patient: everything({callSeconds: 1, tools: {'trigger-long-running-operation': {callSeconds: 10}}}),
        strict: everything({callSeconds: 1}),
        capped: everything({tools: {'trigger-long-running-operation': {maxCallSeconds: 1}}}),
      },
    });
  });
  afterAll(() => router?.stop());

  const longCall = (upstream: string, steps: number) =>
    connectClient(`${router.url}/mcp`).then(async ({client, close}) => {
      try {
        return await client.callTool({
          name: `${upstream}__trigger-long-running-operation`,
          arguments: {duration: 2, steps},
        });
      } catch (error) {
        return error as McpError;
      } finally {
        await close();
      }
    });

  it('a tool of its own callSeconds waits longer than its upstream does', async () => {
    const result = await longCall('patient', 1);
    expect(result).not.toBeInstanceOf(McpError);
    expect(JSON.stringify(result)).toContain('Long running operation completed');
  });

  it('the same tool without one times out at the upstream callSeconds', async () => {
    const error = await longCall('strict', 1);
    expect((error as McpError).message).toContain(
      'Upstream "strict" sent no response or progress for tools/call within 1 s',
    );
  });

  it('a tool of its own maxCallSeconds is cut there, though it reports progress', async () => {
    const error = await longCall('capped', 4);
    expect((error as McpError).message).toContain(
      'Upstream "capped" did not finish tools/call within the maximum of 1 s',
    );
  });
});
