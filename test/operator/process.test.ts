/**
 * `kube-mcp-router operator` as a process against a real API server: probes and metrics, a restart that changes
 * nothing, and leader election between processes (only the leader writes; another takes over when it stops).
 */
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest';
import {createNamespace, kubectl, useCluster} from '../support/cluster.js';
import {
  applyCrds,
  applyExamples,
  getJson,
  kc,
  metricValue,
  operatorState,
  stableOperatorState,
  spawnOperator,
  waitFor,
  type OperatorProcess,
} from './support.js';

const RECONCILES = 'controller_runtime_reconcile_total{controller="mcprouter",result=';

/** Reconciles of the router controller so far, whatever the result. */
async function reconciles(operator: OperatorProcess): Promise<number> {
  const {body} = await operator.get('metrics', '/metrics');
  return ['success', 'requeue_after', 'error', 'terminal']
    .map((result) => metricValue(body, `${RECONCILES}"${result}"}`))
    .reduce((a, b) => a + b, 0);
}

/** Waits until the process has reconciled at least `count` times and its queue is empty. */
async function settled(operator: OperatorProcess, count: number): Promise<void> {
  await waitFor(`the operator to reconcile ${count} times and settle`, async () => {
    const {body} = await operator.get('metrics', '/metrics');
    const depth =
      metricValue(body, 'workqueue_depth{name="mcprouter"}') + metricValue(body, 'workqueue_depth{name="mcpupstream"}');
    return (await reconciles(operator)) >= count && depth === 0;
  });
  // Let a reconcile that was running when the queue emptied finish.
  await new Promise((resolve) => setTimeout(resolve, 1000));
}

describe('operator process', () => {
  const cluster = useCluster();
  let namespace: string;
  const running: OperatorProcess[] = [];

  const start = async (args: string[]) => {
    const operator = await spawnOperator(cluster(), ['--namespace', namespace, ...args]);
    running.push(operator);
    return operator;
  };

  beforeAll(async () => {
    await applyCrds(cluster());
    namespace = await createNamespace(cluster(), 'operator-process');
  }, 180_000);

  afterEach(async () => {
    await Promise.all(running.splice(0).map((operator) => operator.stop('SIGKILL')));
  });

  afterAll(async () => {
    if (namespace) await kubectl(cluster(), ['delete', 'namespace', namespace, '--wait=false']);
  });

  it('serves probes and metrics, and a restart changes nothing', async () => {
    const first = await start([]);
    expect((await first.get('healthProbe', '/healthz')).status).toBe(200);
    await waitFor('/readyz', async () => (await first.get('healthProbe', '/readyz')).status === 200);
    await applyExamples(cluster(), namespace);
    await waitFor(
      'the router to be rendered',
      async () => (await getJson(cluster(), namespace, 'mcprouter', 'demo'))?.status?.configHash,
    );
    // Steady: the Deployment controller has reported on the Deployment and the operator has caught up.
    await waitFor(
      'the router status to report replicas',
      async () => (await getJson(cluster(), namespace, 'mcprouter', 'demo'))?.status?.replicas >= 1,
    );
    await settled(first, 1);
    const before = await stableOperatorState(cluster(), namespace);
    expect(await first.stop('SIGTERM')).toBe(0);
    expect(first.logs.some((line) => line.msg === 'Stopped operator')).toBe(true);

    const second = await start([]);
    await settled(second, 1);
    expect(await operatorState(cluster(), namespace)).toEqual(before);
    // Not even a no-op request: the restarted operator sent no write at all.
    const metrics = (await second.get('metrics', '/metrics')).body;
    const writes = metrics
      .split('\n')
      .filter((line) => line.startsWith('rest_client_requests_total{') && !line.includes('method="GET"'));
    expect(writes).toEqual([]);
    expect(metrics).toMatch(/rest_client_requests_total\{method="GET",code="200"\} [1-9]/);
  });

  it('lets only the leader write, and another process takes over when the leader stops', async () => {
    const lease = 'operator-test-lease';
    const leaderArgs = [
      '--leader-elect',
      '--leader-election-namespace',
      namespace,
      '--leader-election-id',
      lease,
      '--leader-election-lease-duration',
      '4',
      '--leader-election-renew-deadline',
      '3',
      '--leader-election-retry-period',
      '0.5',
    ];
    // Someone else holds the Lease, renewed just now, for an hour.
    const now = new Date().toISOString().replace('Z', '000Z');
    await kc(
      cluster(),
      ['apply', '-n', namespace, '-f', '-'],
      JSON.stringify({
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: {name: lease},
        spec: {holderIdentity: 'someone-else', leaseDurationSeconds: 3600, acquireTime: now, renewTime: now},
      }),
    );
    const a = await start(leaderArgs);
    await waitFor('/readyz of a', async () => (await a.get('healthProbe', '/readyz')).status === 200);
    await kc(
      cluster(),
      ['apply', '-n', namespace, '-f', '-'],
      JSON.stringify({apiVersion: 'mcprouter.dev/v1alpha1', kind: 'McpRouter', metadata: {name: 'led'}, spec: {}}),
    );
    // a has the router in its cache (ready) but does not lead: after several retry periods, still nothing written.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(await getJson(cluster(), namespace, 'configmap', 'led-config')).toBeUndefined();
    expect((await getJson(cluster(), namespace, 'mcprouter', 'led')).status).toBeUndefined();
    expect(
      metricValue((await a.get('metrics', '/metrics')).body, `leader_election_master_status{name="${lease}"}`),
    ).toBe(0);
    expect(await reconciles(a)).toBe(0);

    // The holder releases the Lease: a takes it and reconciles.
    await kc(cluster(), [
      'patch',
      'lease',
      lease,
      '-n',
      namespace,
      '--type=merge',
      '-p',
      '{"spec":{"holderIdentity":""}}',
    ]);
    await waitFor('a to write the ConfigMap', () => getJson(cluster(), namespace, 'configmap', 'led-config'));
    const identityA = (await getJson(cluster(), namespace, 'lease', lease)).spec.holderIdentity;
    expect(identityA).not.toBe('someone-else');
    expect(
      metricValue((await a.get('metrics', '/metrics')).body, `leader_election_master_status{name="${lease}"}`),
    ).toBe(1);

    // b starts while a leads: b does not lead.
    const b = await start(leaderArgs);
    await waitFor('/readyz of b', async () => (await b.get('healthProbe', '/readyz')).status === 200);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(await reconciles(b)).toBe(0);

    // a stops (releasing the Lease); b takes over and reconciles what changes next.
    expect(await a.stop('SIGTERM')).toBe(0);
    await waitFor('b to hold the Lease', async () => {
      const holder = (await getJson(cluster(), namespace, 'lease', lease)).spec.holderIdentity;
      return holder !== '' && holder !== identityA;
    });
    await kc(
      cluster(),
      ['apply', '-n', namespace, '-f', '-'],
      JSON.stringify({apiVersion: 'mcprouter.dev/v1alpha1', kind: 'McpRouter', metadata: {name: 'after'}, spec: {}}),
    );
    await waitFor('b to write the new router ConfigMap', () =>
      getJson(cluster(), namespace, 'configmap', 'after-config'),
    );
    expect(await reconciles(b)).toBeGreaterThan(0);

    // Someone takes the Lease from b: b cannot renew it within its deadline, stops leading and exits with 1.
    const stolen = new Date().toISOString().replace('Z', '000Z');
    await kc(cluster(), [
      'patch',
      'lease',
      lease,
      '-n',
      namespace,
      '--type=merge',
      '-p',
      JSON.stringify({spec: {holderIdentity: 'thief', leaseDurationSeconds: 3600, renewTime: stolen}}),
    ]);
    expect(await b.exited).toBe(1);
    expect(b.logs.some((line) => line.msg === 'Lost leadership; exiting')).toBe(true);
  });
});
