import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest';
import {startFixtureHttp} from '../../bench/processes.js';
import type {JsonObject} from '../../router/upstream/connection.js';
import type {Upstream} from '../../router/upstream/upstream.js';
import {startEverythingHttp, type HttpMcpServer} from '../support/mcp-servers.js';
import {startUpstream} from '../support/upstream.js';

// `router.limits.maxUpstreamMessageBytes` on HTTP upstreams, reached through `Upstream` as the router does:
// server-everything (a real 2025-11-25 server that answers on SSE streams, and the same over legacy HTTP+SSE) and the
// benchmark's fixture server (SDK 1.x, stateless, answering with JSON bodies), all over HTTP on loopback.

const MiB = 1024 * 1024;
const upstreams: Upstream[] = [];
let everything: HttpMcpServer;
let legacy: HttpMcpServer;
let fixture: HttpMcpServer;

beforeAll(async () => {
  [everything, legacy, fixture] = await Promise.all([
    startEverythingHttp('streamableHttp'),
    startEverythingHttp('sse'),
    startFixtureHttp(1),
  ]);
});
afterEach(async () => {
  await Promise.all(upstreams.splice(0).map((u) => u.close()));
});
afterAll(async () => {
  await Promise.all([everything?.stop(), legacy?.stop(), fixture?.stop()]);
});

/** Starts an HTTP upstream as the router does; `states` records every state change after the first `ready`. */
const startHttp = (name: string, url: string, maxMessageBytes?: number) =>
  startUpstream(name, {type: 'http', url}, upstreams, maxMessageBytes);

const call = (upstream: Upstream, name: string, args: JsonObject): Promise<JsonObject> =>
  upstream.requireConnection().forward({method: 'tools/call', params: {name, arguments: args}});

const text = (result: JsonObject) => (result.content as {text: string}[])[0]?.text;

describe('an HTTP upstream message over maxUpstreamMessageBytes', () => {
  it.each([
    ['an SSE response of a Streamable HTTP upstream', 'everything', () => ({type: 'http', url: everything.url})],
    ['a legacy HTTP+SSE event', 'legacy', () => ({type: 'sse', url: legacy.url})],
  ])(
    'regression: %s over the limit fails only its own call, naming the upstream and the limit',
    async (_, name, entry) => {
      const {upstream, states} = await startUpstream(name, entry(), upstreams, MiB);
      const big = call(upstream, 'echo', {message: 'x'.repeat(1.5 * MiB)});
      const others = Array.from({length: 14}, (_, i) => call(upstream, 'echo', {message: `small ${i}`}));
      const [bigOutcome, ...otherOutcomes] = await Promise.allSettled([big, ...others]);

      expect(bigOutcome?.status).toBe('rejected');
      expect(((bigOutcome as PromiseRejectedResult).reason as Error).message).toMatch(
        new RegExp(`^Upstream "${name}": sent a message of \\d{7} bytes, over maxUpstreamMessageBytes \\(1048576\\)$`),
      );
      expect(otherOutcomes.map((o) => (o.status === 'fulfilled' ? text(o.value) : o.reason))).toEqual(
        Array.from({length: 14}, (_, i) => `Echo: small ${i}`),
      );
      // The connection stayed up: no state change, and later calls work.
      expect(text(await call(upstream, 'echo', {message: 'after'}))).toBe('Echo: after');
      expect(states).toEqual([]);
      expect(upstream.state).toBe('ready');
    },
  );

  it('regression: a JSON response over the limit fails only its own call, naming the upstream and the limit', async () => {
    const {upstream, states} = await startHttp('fixture', fixture.url, MiB);
    const big = call(upstream, 'blob', {bytes: 2 * MiB});
    const others = Array.from({length: 14}, (_, i) => call(upstream, 'tool-0000', {message: `small ${i}`}));
    const [bigOutcome, ...otherOutcomes] = await Promise.allSettled([big, ...others]);

    expect(bigOutcome?.status).toBe('rejected');
    expect(((bigOutcome as PromiseRejectedResult).reason as Error).message).toMatch(
      /^Upstream "fixture": sent a message of \d{7} bytes, over maxUpstreamMessageBytes \(1048576\)$/,
    );
    expect(otherOutcomes.map((o) => (o.status === 'fulfilled' ? text(o.value) : o.reason))).toEqual(
      Array.from({length: 14}, (_, i) => `small ${i}`),
    );
    expect(text(await call(upstream, 'tool-0000', {message: 'after'}))).toBe('after');
    expect(states).toEqual([]);
    expect(upstream.state).toBe('ready');
  });

  it('passes the same responses intact under the default limit', async () => {
    const [{upstream: sse}, {upstream: json}, {upstream: old}] = await Promise.all([
      startHttp('everything', everything.url),
      startHttp('fixture', fixture.url),
      startUpstream('legacy', {type: 'sse', url: legacy.url}, upstreams),
    ]);
    const message = 'x'.repeat(1.5 * MiB);
    expect(text(await call(sse, 'echo', {message}))).toBe(`Echo: ${message}`);
    expect(text(await call(old, 'echo', {message: `${message}\n${message}`}))).toBe(`Echo: ${message}\n${message}`);
    expect(text(await call(json, 'blob', {bytes: 2 * MiB}))).toBe('x'.repeat(2 * MiB));
  });
});
