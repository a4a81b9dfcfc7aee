import {pino} from 'pino';
import {expect} from 'vitest';
import {parseRouterConfig} from '../../router/config/load.js';
import type {UpstreamConfig} from '../../router/config/schema.js';
import {Upstream, type UpstreamState} from '../../router/upstream/upstream.js';

const log = pino({level: process.env.TEST_LOG_LEVEL ?? 'silent'});

/**
 * Starts one upstream, `name` with its `mcpServers` entry, as the router does (through `Upstream`), and adds it to
 * `started` for the test to close; `states` records every state change after the first `ready`.
 * `maxMessageBytes`: `router.limits.maxUpstreamMessageBytes`, the router's default when undefined.
 */
export async function startUpstream(
  name: string,
  entry: object,
  started: Upstream[],
  maxMessageBytes?: number,
): Promise<{upstream: Upstream; states: UpstreamState[]}> {
  const config = parseRouterConfig(JSON.stringify({mcpServers: {[name]: entry}}), {}, 'test')
    .upstreams[0] as UpstreamConfig;
  const states: UpstreamState[] = [];
  const upstream = new Upstream(config, {
    log,
    clientInfo: {name: 'test-router', version: '1.0.0'},
    events: {
      onStateChange: (u) => states.push(u.state),
      onNotification: () => undefined,
      onServerRequest: async () => ({}),
    },
    healthCheckSeconds: 60,
    ...(maxMessageBytes !== undefined && {maxMessageBytes}),
  });
  started.push(upstream);
  await upstream.start();
  expect(upstream.state).toBe('ready');
  states.length = 0;
  return {upstream, states};
}
