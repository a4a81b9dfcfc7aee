import {describe, expect, it} from 'vitest';
import type {Client} from '@modelcontextprotocol/sdk/client/index.js';
import {connect, roundOrder, warmUp, WARMUP_CLIENTS} from '../../bench/load.js';
import {startEverythingHttp} from '../support/mcp-servers.js';

describe('roundOrder', () => {
  it.each([
    [0, ['direct', 'router', 'baseline']],
    [1, ['baseline', 'router', 'direct']],
    [2, ['direct', 'router', 'baseline']],
  ])('round %i measures %j', (round, order) => {
    expect(roundOrder(['direct', 'router', 'baseline'], round)).toEqual(order);
  });

  it('leaves the paths it is given as they are', () => {
    const paths = ['direct', 'router'];
    roundOrder(paths, 1);
    expect(paths).toEqual(['direct', 'router']);
  });
});

describe('warmUp', () => {
  it('calls the path from WARMUP_CLIENTS sessions until the time is up, and 0 s calls nothing', async () => {
    const server = await startEverythingHttp('streamableHttp');
    try {
      const callers = new Set<Client>();
      let calls = 0;
      const call = async (client: Client, options: {timeout: number}) => {
        callers.add(client);
        calls++;
        return client.callTool({name: 'echo', arguments: {message: 'warm'}}, undefined, options);
      };
      await warmUp({url: server.url, call}, 0);
      expect(calls).toBe(0);
      const started = performance.now();
      await warmUp({url: server.url, call}, 0.5);
      expect(performance.now() - started).toBeGreaterThanOrEqual(500);
      expect(callers.size).toBe(WARMUP_CLIENTS);
      expect(calls).toBeGreaterThan(WARMUP_CLIENTS);
    } finally {
      await server.stop();
    }
  });
});

describe('connect', () => {
  it.each(['streamableHttp', 'sse'] as const)(
    'regression: a %s session of a few thousand calls printed a MaxListenersExceededWarning at each call past 1,500',
    async (mode) => {
      const server = await startEverythingHttp(mode);
      const warnings: string[] = [];
      const onWarning = (warning: Error) => warnings.push(warning.message);
      process.on('warning', onWarning);
      const client = await connect(server.url);
      try {
        for (let call = 0; call < 2_000; call++) await client.callTool({name: 'echo', arguments: {message: 'again'}});
        await new Promise((resolve) => setImmediate(resolve));
        expect(warnings).toEqual([]);
      } finally {
        process.off('warning', onWarning);
        await client.close();
        await server.stop();
      }
    },
    120_000,
  );
});
