/* eslint-disable @typescript-eslint/no-explicit-any -- cluster objects are read as plain JSON */
/**
 * Three router replicas behind a Service without session affinity, on the real node (registered by chain.test.ts
 * inside its suite, which has installed the chart and runs the operator): clients on this machine reach the pods
 * through the ClusterIP Service, kube-proxy spreads their connections over the pods, and a request that lands on a
 * pod that does not own its session is forwarded to the owner, as is a 2026-07-28 client's retry of an
 * input_required round that lands on a pod that does not hold the round.
 */
import {Client as ModernClient, StreamableHTTPClientTransport as ModernTransport} from '@modelcontextprotocol/client';
import {Client} from '@modelcontextprotocol/sdk/client/index.js';
import {SSEClientTransport} from '@modelcontextprotocol/sdk/client/sse.js';
import {StreamableHTTPClientTransport} from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {CreateMessageRequestSchema, type JSONRPCMessage} from '@modelcontextprotocol/sdk/types.js';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {waitFor} from '../operator/support.js';
import type {Cluster} from '../support/cluster.js';
import {ROUTER_POD_PORT, sessionOwner, steeredFetch} from '../support/replicas.js';
import {MCP_HEADERS, recording} from '../support/router.js';

interface Context {
  cluster: () => Cluster;
  namespace: () => string;
  kc(args: string[], input?: string): Promise<string>;
  getJson(args: string[]): Promise<any>;
}

const resources = `
apiVersion: mcprouter.dev/v1alpha1
kind: McpUpstream
metadata: {name: replicated, labels: {team: replicas}}
spec:
  stdio: {command: mcp-server-everything, args: [stdio]}
---
apiVersion: mcprouter.dev/v1alpha1
kind: McpRouter
metadata: {name: replicas}
spec:
  upstreamSelector: {matchLabels: {team: replicas}}
  replicas: 3
---
apiVersion: mcprouter.dev/v1alpha1
kind: McpUpstream
metadata: {name: own, labels: {team: replicas-own}}
spec:
  stdio: {command: mcp-server-everything, args: [stdio]}
  session: perSession
---
apiVersion: mcprouter.dev/v1alpha1
kind: McpRouter
metadata: {name: replicas-own}
spec:
  upstreamSelector: {matchLabels: {team: replicas-own}}
  replicas: 3
`;

/**
 * The router of the load tests, and one of its own for the perSession upstream: every aggregate session of a router
 * opens its own connection (a child process) to each perSession upstream as it lists tools, which hundreds of load
 * sessions must not.
 */
type RouterName = 'replicas' | 'replicas-own';

type Path = '/mcp' | '/sse';
interface Session {
  client: Client;
  received: JSONRPCMessage[];
  close(): Promise<void>;
  /** The owning pod's IP, as the session id carries it. */
  owner: string;
}

/** The session id a client transport has (Streamable HTTP's header, or SSE's endpoint), once it has one. */
function sessionIdOf(transport: any): string | undefined {
  return transport.sessionId ?? transport._endpoint?.searchParams.get('sessionId') ?? undefined;
}

/** Runs `work` on every item, at most `limit` at once. */
async function pool<T, R>(items: T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({length: Math.min(limit, items.length)}, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await work(items[index] as T, index);
      }
    }),
  );
  return results;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** An error with its cause (fetch's "fetch failed" says why only there). */
const describeError = (error: any) => `${String(error)}${error?.cause ? ` (${String(error.cause)})` : ''}`;
const textOf = (result: any) => (result.content ?? []).map((c: any) => c.text).join('\n');

export function describeReplicas(context: Context): void {
  describe('three router replicas, sessionAffinity None', () => {
    const urls = new Map<RouterName, string>();
    const {kc, getJson} = context;

    const pods = async (router: RouterName = 'replicas'): Promise<any[]> =>
      (await getJson(['pods', '-n', context.namespace(), '-l', `app.kubernetes.io/instance=${router}`])).items.filter(
        (pod: any) => !pod.metadata.deletionTimestamp,
      );
    const readyEndpoints = async (router: RouterName): Promise<string[]> =>
      (await getJson(['endpointslices', '-n', context.namespace(), '-l', `kubernetes.io/service-name=${router}`])).items
        .flatMap((slice: any) => slice.endpoints ?? [])
        .filter((endpoint: any) => endpoint.conditions?.ready === true)
        .flatMap((endpoint: any) => endpoint.addresses);
    const threeReady = (router: RouterName = 'replicas') =>
      waitFor(
        `three ${router} replicas ready in their EndpointSlices`,
        async () => {
          const running = await pods(router);
          const ready = await readyEndpoints(router);
          return running.length === 3 && ready.length === 3 ? running : undefined;
        },
        180_000,
      );
    /** The sum of a metric's samples (with `labels` in them) over the router pods' /metrics. */
    const metricSum = async (name: string, labels = '', router: RouterName = 'replicas'): Promise<number> => {
      let sum = 0;
      for (const pod of await pods(router)) {
        const text = await (await fetch(`http://${pod.status.podIP}:9090/metrics`)).text();
        for (const line of text.split('\n'))
          if (line.startsWith(`${name}{`) && line.includes(labels)) sum += Number(line.split(' ').pop());
      }
      return sum;
    };
    /**
     * A session on `router`'s Service that answers `sampling/createMessage` with "sampled for <label>"; with `steer`,
     * its requests after the first go to pods other than its owner. A failed opening throws an error with the owner,
     * when the session got as far as having one (`owner`).
     */
    const open = async (
      path: Path,
      {router = 'replicas', label = path, steer = false}: {router?: RouterName; label?: string; steer?: boolean} = {},
    ): Promise<Session> => {
      const target = new URL(`${urls.get(router)}${path}`);
      const fetchLike = steer
        ? steeredFetch(
            (await pods(router)).map((pod) => pod.status.podIP),
            'elsewhere',
          )
        : fetch;
      const raw =
        path === '/sse'
          ? new SSEClientTransport(target, {fetch: fetchLike, eventSourceInit: {fetch: fetchLike}})
          : new StreamableHTTPClientTransport(target, {fetch: fetchLike});
      const {transport, received} = recording(raw);
      const client = new Client({name: 'replicas-e2e', version: '1.0.0'}, {capabilities: {sampling: {}}});
      client.setRequestHandler(CreateMessageRequestSchema, async () => ({
        model: 'test-model',
        role: 'assistant',
        content: {type: 'text', text: `sampled for ${label}`},
      }));
      try {
        await client.connect(transport);
      } catch (error) {
        const id = sessionIdOf(raw);
        throw Object.assign(error as Error, {owner: id && sessionOwner(id)});
      }
      return {
        client,
        received,
        owner: sessionOwner(sessionIdOf(raw) as string),
        close: async () => {
          if (raw instanceof StreamableHTTPClientTransport) await raw.terminateSession().catch(() => undefined);
          await client.close();
        },
      };
    };

    beforeAll(async () => {
      await kc(['apply', '-n', context.namespace(), '-f', '-'], resources);
      for (const router of ['replicas', 'replicas-own'] as const) {
        await threeReady(router);
        const service = await getJson(['service', router, '-n', context.namespace()]);
        const url = `http://${service.spec.clusterIP}:${service.spec.ports[0].port}`;
        urls.set(router, url);
        await waitFor(
          `the Service ${router} to answer`,
          () =>
            fetch(`${url}/readyz`, {signal: AbortSignal.timeout(2_000)}).then(
              (r) => r.ok,
              () => false,
            ),
          120_000,
        );
      }
    }, 300_000);

    afterAll(async () => {
      await kc([
        'delete',
        'mcprouter/replicas',
        'mcprouter/replicas-own',
        'mcpupstream/replicated',
        'mcpupstream/own',
        '-n',
        context.namespace(),
        '--wait=false',
        '--ignore-not-found',
      ]);
    });

    it('has a Service without affinity, and a Role that lets its pods only list and watch EndpointSlices', async () => {
      const service = await getJson(['service', 'replicas', '-n', context.namespace()]);
      expect(service.spec.sessionAffinity).toBe('None');
      const role = await getJson(['role', 'replicas-peers', '-n', context.namespace()]);
      expect(role.rules).toEqual([
        {apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch']},
      ]);
      const env = (await getJson(['deployment', 'replicas', '-n', context.namespace()])).spec.template.spec
        .containers[0].env;
      expect(env).toContainEqual(
        expect.objectContaining({
          name: 'MCP_ROUTER_SESSION_KEYS',
          valueFrom: {secretKeyRef: expect.objectContaining({key: 'keys'})},
        }),
      );
    });

    it('serves hundreds of Streamable HTTP and SSE sessions, with progress, through any pod: 0 failed calls', async () => {
      const before = await metricSum('mcp_router_forwarded_requests_total');
      const paths: Path[] = [...Array<Path>(200).fill('/mcp'), ...Array<Path>(100).fill('/sse')];
      const failures: string[] = [];
      const owners = new Map<string, number>();
      await pool(paths, 40, async (path, i) => {
        try {
          const session = await open(path);
          owners.set(session.owner, (owners.get(session.owner) ?? 0) + 1);
          try {
            expect((await session.client.listTools()).tools.length).toBeGreaterThan(0);
            for (let call = 0; call < 3; call++) {
              const sum = await session.client.callTool({name: 'replicated__get-sum', arguments: {a: i, b: call}});
              expect(textOf(sum)).toBe(`The sum of ${i} and ${call} is ${i + call}.`);
            }
            if (i % 25 === 0) {
              await session.client.callTool(
                {name: 'replicated__trigger-long-running-operation', arguments: {duration: 1, steps: 3}},
                undefined,
                {onprogress: () => undefined},
              );
              const progress = session.received.filter((m) => 'method' in m && m.method === 'notifications/progress');
              expect(progress).toHaveLength(3);
            }
          } finally {
            await session.close();
          }
        } catch (error) {
          failures.push(`${path} #${i}: ${describeError(error)}`);
        }
      });
      const forwarded = (await metricSum('mcp_router_forwarded_requests_total')) - before;
      console.log(
        `replicas: ${paths.length} sessions, owners ${JSON.stringify([...owners.values()])}, ${forwarded} requests forwarded`,
      );
      const restarts = (await pods()).map(
        (pod) =>
          `${pod.status.containerStatuses[0].restartCount}${pod.status.containerStatuses[0].lastState?.terminated ? ` (${pod.status.containerStatuses[0].lastState.terminated.reason})` : ''}`,
      );
      const reasons = await Promise.all(
        ['invalid_id', 'not_ready_endpoint', 'forwarded_twice', 'unreachable'].map(
          async (reason) => `${reason} ${await metricSum('mcp_router_forward_failures_total', `reason="${reason}"`)}`,
        ),
      );
      console.log(`replicas: restarts ${JSON.stringify(restarts)}, forward failures ${reasons.join(', ')}`);
      expect(failures).toEqual([]);
      expect(owners.size).toBe(3);
      expect(forwarded).toBeGreaterThan(0);
    }, 180_000);

    it('routes sampling from a perSession upstream and resource updates to the right client, from any pod', async () => {
      const before = await metricSum('mcp_router_forwarded_requests_total', '', 'replicas-own');
      const uri = 'own+demo://resource/static/document/features.md';
      const updates = (session: Session) =>
        session.received.filter((m) => 'method' in m && m.method === 'notifications/resources/updated');
      // Per transport, 8 sessions: half steered to other pods than their owner, half through the Service alone; half
      // of each subscribe to a resource of their own perSession upstream, the others only turn its updates on.
      const plan = (['/mcp', '/sse'] as Path[]).flatMap((path) =>
        Array.from({length: 8}, (_, i) => ({path, label: `${path} #${i}`, steer: i % 2 === 0, subscribe: i < 4})),
      );
      const failures: string[] = [];
      const owners = new Map<string, number>();
      const sessions = await pool(plan, 16, async (entry) => {
        try {
          const session = await open(entry.path, {router: 'replicas-own', label: entry.label, steer: entry.steer});
          owners.set(session.owner, (owners.get(session.owner) ?? 0) + 1);
          for (let call = 0; call < 2; call++) {
            const sampled = await session.client.callTool({
              name: 'own__trigger-sampling-request',
              arguments: {prompt: `from ${entry.label}`, maxTokens: 20},
            });
            expect(textOf(sampled)).toContain(`sampled for ${entry.label}`);
          }
          if (entry.subscribe) await session.client.subscribeResource({uri});
          await session.client.callTool({name: 'own__toggle-subscriber-updates', arguments: {}});
          return {...entry, session};
        } catch (error) {
          failures.push(`${entry.label}: ${describeError(error)}`);
          return undefined;
        }
      });
      try {
        const opened = sessions.filter((s) => s !== undefined);
        await waitFor(
          'every subscriber to get a resource update',
          () => opened.every(({subscribe, session}) => !subscribe || updates(session).length > 0),
          20_000,
        ).catch((error) => failures.push(describeError(error)));
        // The upstream sent the first updates as the toggle answered, and every 5 s after: a bystander had time to
        // get one it should not.
        await sleep(6_000);
        for (const {label, subscribe, session} of opened) {
          const got = updates(session);
          if (subscribe) expect(got.length, label).toBeGreaterThan(0);
          if (subscribe) expect(got.every((m) => (m as any).params?.uri === uri)).toBe(true);
          else expect(got, label).toEqual([]);
        }
      } finally {
        await Promise.all(sessions.map((s) => s?.session.close().catch(() => undefined)));
      }
      const forwarded = (await metricSum('mcp_router_forwarded_requests_total', '', 'replicas-own')) - before;
      // The load tests that follow have the machine to themselves.
      await kc(['delete', 'mcprouter/replicas-own', '-n', context.namespace(), '--wait=false']);
      console.log(
        `replicas: sampling and subscriptions on ${plan.length} sessions, owners ${JSON.stringify([...owners.values()])}, ${forwarded} requests forwarded, ${failures.length} failures`,
      );
      expect(failures).toEqual([]);
      // Steered sessions forward every request after initialize: at least the 2 samplings (call and answer each).
      expect(forwarded).toBeGreaterThan(plan.length * 2);
    }, 120_000);

    it('answers a forged or tampered session id with 404 on every pod', async () => {
      const session = await open('/mcp');
      try {
        const id = sessionIdOf(session.client.transport) as string;
        const [owner, nonce, mac] = id.split('.') as [string, string, string];
        const forged = [
          `${owner}.${nonce}.${mac[0] === 'A' ? 'B' : 'A'}${mac.slice(1)}`,
          `${Buffer.from('10.0.0.1:8080').toString('base64url')}.${nonce}.${mac}`,
          '3f1b2c4d-0000-4000-8000-000000000000',
        ];
        const before = await metricSum('mcp_router_forward_failures_total', 'reason="invalid_id"');
        for (const pod of await pods())
          for (const bad of forged) {
            const response = await fetch(`http://${pod.status.podIP}:8080/mcp`, {
              method: 'POST',
              headers: {...MCP_HEADERS, 'mcp-session-id': bad},
              body: JSON.stringify({jsonrpc: '2.0', id: 1, method: 'ping'}),
            });
            expect(response.status, bad).toBe(404);
          }
        expect(await metricSum('mcp_router_forward_failures_total', 'reason="invalid_id"')).toBe(before + 9);
      } finally {
        await session.close();
      }
    });

    it("completes a 2026-07-28 client's input_required rounds whose retries go to pods that do not hold them", async () => {
      const before = await metricSum('mcp_router_forwarded_requests_total');
      const ips = (await pods()).map((pod) => pod.status.podIP as string);
      const steered: {owner: string; to: string}[] = [];
      // The first round goes through the Service; each retry (it carries the round's requestState) to another pod.
      const fetchSteered = async (input: string | URL, init?: RequestInit) => {
        const state = typeof init?.body === 'string' ? JSON.parse(init.body)?.params?.requestState : undefined;
        if (typeof state !== 'string') return fetch(input, init);
        const owner = sessionOwner(state);
        const to = ips.find((ip) => ip !== owner) as string;
        steered.push({owner, to});
        const target = new URL(input);
        target.host = `${to}:${ROUTER_POD_PORT}`;
        return fetch(target, init);
      };
      const client = new ModernClient(
        {name: 'replicas-e2e-modern', version: '2.0.0'},
        {versionNegotiation: {mode: 'auto'}, capabilities: {sampling: {}}},
      );
      client.setRequestHandler('sampling/createMessage', async () => ({
        model: 'test-model',
        role: 'assistant',
        content: {type: 'text', text: 'sampled across pods, statelessly'},
      }));
      await client.connect(new ModernTransport(new URL(`${urls.get('replicas')}/mcp`), {fetch: fetchSteered}));
      try {
        for (let call = 0; call < 6; call++) {
          const sampled = await client.callTool({
            name: 'replicated__trigger-sampling-request',
            arguments: {prompt: `round ${call}`, maxTokens: 20},
          });
          expect(textOf(sampled)).toContain('sampled across pods, statelessly');
        }
      } finally {
        await client.close();
      }
      const forwarded = (await metricSum('mcp_router_forwarded_requests_total')) - before;
      console.log(
        `replicas: 6 input_required retries steered to non-owners (owners ${JSON.stringify([...new Set(steered.map((s) => s.owner))])}), ${forwarded} forwarded`,
      );
      expect(steered).toHaveLength(6);
      for (const {owner, to} of steered) expect(to).not.toBe(owner);
      expect(forwarded).toBeGreaterThanOrEqual(6);
    });

    it('when a pod is deleted under load, only its sessions get 404 and succeed after initializing again', async () => {
      const sessions = await pool([...Array<Path>(60).fill('/mcp'), ...Array<Path>(30).fill('/sse')], 30, (path) =>
        open(path).then((session) => ({path, session})),
      );
      const counts = new Map<string, number>();
      for (const {session} of sessions) counts.set(session.owner, (counts.get(session.owner) ?? 0) + 1);
      const victimIp = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]![0];
      const owned = sessions.filter(({session}) => session.owner === victimIp).length;
      const victim = (await pods()).find((pod) => pod.status.podIP === victimIp);
      let stop = false;
      const failures: string[] = [];
      const affected = new Set<number>();
      let calls = 0;
      const loops = sessions.map(async (entry, i) => {
        let {session} = entry;
        while (!stop) {
          try {
            await session.client.callTool({name: 'replicated__get-sum', arguments: {a: i, b: 1}});
            calls++;
          } catch (error) {
            // A session of the deleted pod (its first, or a new one opened there while it was leaving) initializes
            // again; any other session's error is a failure.
            if (session.owner !== victimIp) {
              failures.push(`${entry.path} #${i} of ${session.owner}: ${describeError(error)}`);
              return;
            }
            if (entry.session.owner === victimIp) affected.add(i);
            await session.close().catch(() => undefined);
            session = await waitFor('a new session', () => open(entry.path).catch(() => undefined), 30_000);
          }
          await sleep(100);
        }
        await session.close().catch(() => undefined);
      });
      await sleep(1_000);
      await kc(['delete', 'pod', '-n', context.namespace(), victim.metadata.name, '--wait=false']);
      await waitFor(
        'the deleted pod to be gone',
        async () =>
          (await getJson(['pods', '-n', context.namespace()])).items.every(
            (pod: any) => pod.metadata.name !== victim.metadata.name,
          ),
        60_000,
      );
      await sleep(2_000);
      stop = true;
      await Promise.all(loops);
      console.log(
        `replicas: deleted a pod that owned ${owned} of ${sessions.length} sessions; ${affected.size} sessions initialized again, ${calls} calls, ${failures.length} failures`,
      );
      expect(failures).toEqual([]);
      expect(affected.size).toBe(owned);
      await threeReady();
    });

    it('rolls every pod under load: only sessions of replaced pods initialize again, and no call fails but a rare cut', async () => {
      const oldIps = new Set((await pods()).map((pod) => pod.status.podIP as string));
      const paths = [...Array<Path>(130).fill('/mcp'), ...Array<Path>(70).fill('/sse')];
      const sessions = await pool(paths, 40, (path) => open(path).then((session) => ({path, session})));
      let stop = false;
      let calls = 0;
      /** Why sessions of replaced pods ended: the answers a client initializes again after (MCP 2025-11-25). */
      const ended = new Map<string, number>();
      /** Requests on a connection that a leaving pod closed as they were sent: counted, not hidden. */
      const cut: string[] = [];
      const failures: string[] = [];
      const reopened = new Set<number>();
      /** Files an error of a session (or of its opening) owned by `owner`: an ending, a cut, or a failure. */
      const file = (what: string, owner: string | undefined, error: unknown) => {
        const message = describeError(error);
        // A session ends when its pod goes: 404 for its requests, or (SSE) its stream closed by the drain.
        const ending = /\b404\b|Session not found|Connection closed|Not connected/.exec(message)?.[0];
        if (owner !== undefined && oldIps.has(owner) && ending !== undefined) {
          ended.set(ending, (ended.get(ending) ?? 0) + 1);
          return true;
        }
        if (/other side closed/.test(message)) cut.push(`${what}: ${message}`);
        else failures.push(`${what} of ${owner && oldIps.has(owner) ? 'a replaced' : 'a new'} pod: ${message}`);
        return false;
      };
      const loops = sessions.map(async (entry, i) => {
        let {session} = entry;
        while (!stop) {
          try {
            const sum = await session.client.callTool({name: 'replicated__get-sum', arguments: {a: i, b: 2}});
            expect(textOf(sum)).toBe(`The sum of ${i} and 2 is ${i + 2}.`);
            calls++;
          } catch (error) {
            if (file(`${entry.path} #${i}`, session.owner, error)) reopened.add(i);
            await session.close().catch(() => undefined);
            session = await waitFor(
              'a new session',
              () =>
                open(entry.path).catch((reason) => {
                  file(`initialize ${entry.path}`, reason?.owner, reason);
                  return undefined;
                }),
              30_000,
            );
          }
          await sleep(200);
        }
        await session.close().catch(() => undefined);
      });
      await sleep(2_000);
      const router = await getJson(['mcprouter', 'replicas', '-n', context.namespace()]);
      const rolled = new Date().toISOString();
      await kc([
        'patch',
        'mcprouter',
        'replicas',
        '-n',
        context.namespace(),
        '--type',
        'merge',
        '-p',
        JSON.stringify({spec: {podAnnotations: {...router.spec.podAnnotations, 'e2e/rolled': rolled}}}),
      ]);
      await waitFor(
        'the Deployment to roll every pod',
        async () => {
          const now = await pods();
          return (
            now.length === 3 &&
            now.every((pod) => pod.metadata.annotations?.['e2e/rolled'] === rolled && !oldIps.has(pod.status.podIP))
          );
        },
        240_000,
      );
      await kc(['rollout', 'status', '-n', context.namespace(), 'deployment/replicas', '--timeout=120s']);
      await sleep(3_000);
      stop = true;
      await Promise.all(loops);
      const reasons = await Promise.all(
        ['invalid_id', 'not_ready_endpoint', 'forwarded_twice', 'unreachable'].map(
          async (reason) => `${reason} ${await metricSum('mcp_router_forward_failures_total', `reason="${reason}"`)}`,
        ),
      );
      console.log(
        `replicas: rolled 3 pods under ${sessions.length} sessions; ${calls} calls, ${reopened.size} sessions initialized again (endings ${JSON.stringify(Object.fromEntries(ended))}), ${cut.length} requests cut with their connection, ${failures.length} failures; new pods' forward failures ${reasons.join(', ')}`,
      );
      expect(failures).toEqual([]);
      // A request cut with its connection (the client cannot know whether it arrived): a draining pod no longer closes
      // a kept-alive connection under the next request (ADR 0034), but the process exit or the node still may; counted,
      // bounded at 1% of the calls, logged.
      expect(cut.length, cut.join('\n')).toBeLessThanOrEqual(calls / 100);
      expect(reopened.size).toBeGreaterThan(0);
      await threeReady();
    }, 400_000);
  });
}
