/**
 * A reconcile span per reconcile (ADR 0024): `kube-mcp-router operator` as a process against a real API server, with
 * `OTEL_EXPORTER_OTLP_ENDPOINT` pointing at a real OpenTelemetry Collector (test/support/otel-collector.ts).
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {createNamespace, kubectl, useCluster} from '../support/cluster.js';
import {startCollector, type Collector} from '../support/otel-collector.js';
import {applyCrds, applyExamples, spawnOperator, waitFor, type OperatorProcess} from './support.js';

describe('operator traces', () => {
  const cluster = useCluster();
  let namespace: string;
  let collector: Collector;
  let operator: OperatorProcess | undefined;

  beforeAll(async () => {
    collector = await startCollector();
    await applyCrds(cluster());
    namespace = await createNamespace(cluster(), 'operator-tracing');
  }, 20 * 60_000); // the first run builds the Collector (minutes, once)

  afterAll(async () => {
    await operator?.stop('SIGKILL');
    await collector?.stop();
    if (namespace) await kubectl(cluster(), ['delete', 'namespace', namespace, '--wait=false']);
  });

  it('exports a span per reconcile of an McpRouter, named after its controller and object', async () => {
    operator = await spawnOperator(cluster(), ['--namespace', namespace], {
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint,
      OTEL_BSP_SCHEDULE_DELAY: '100',
    });
    await applyExamples(cluster(), namespace);
    const span = await waitFor('a reconcile span of the McpRouter demo', async () =>
      (await collector.spans()).find(
        (s) =>
          s.name === 'reconcile mcprouter' &&
          s.attributes['k8s.namespace.name'] === namespace &&
          s.attributes['kube_mcp_router.object.name'] === 'demo',
      ),
    );
    expect(span.service).toBe('kube-mcp-router-operator');
    expect(span.parentSpanId ?? '').toBe('');
    expect(span.attributes['kube_mcp_router.controller']).toBe('mcprouter');
    expect(['success', 'requeue_after']).toContain(span.attributes['kube_mcp_router.reconcile.result']);
  });
});
