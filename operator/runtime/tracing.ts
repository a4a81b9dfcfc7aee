/**
 * The operator's spans (ADR 0024): one per reconcile, a root span of kind internal named `reconcile {controller}`, with
 * `k8s.namespace.name`, `kube_mcp_router.controller`, `kube_mcp_router.object.name` and the result
 * (`kube_mcp_router.reconcile.result`, as the `result` label of `controller_runtime_reconcile_total`: `success`,
 * `requeue_after`, `error` or `terminal`). Calls through when tracing is off (`telemetry.ts`).
 */
import {ROOT_CONTEXT, SpanKind, SpanStatusCode, context, trace} from '@opentelemetry/api';
import {activeTracer} from '../../telemetry.js';
import type {ReconcileRequest, ReconcileResult} from './controller.js';
import {TerminalError} from './errors.js';

/** Runs one reconcile in a span, and returns or throws what it did; a failure sets `error.type` and an error status. */
export async function traceReconcile(
  controller: string,
  request: ReconcileRequest,
  reconcile: () => Promise<ReconcileResult | undefined>,
): Promise<ReconcileResult | undefined> {
  const tracer = activeTracer();
  if (!tracer) return reconcile();
  const span = tracer.startSpan(
    `reconcile ${controller}`,
    {
      kind: SpanKind.INTERNAL,
      attributes: {
        'kube_mcp_router.controller': controller,
        'k8s.namespace.name': request.namespace,
        'kube_mcp_router.object.name': request.name,
      },
    },
    ROOT_CONTEXT,
  );
  try {
    const result = await context.with(trace.setSpan(ROOT_CONTEXT, span), reconcile);
    const requeue = result?.requeueAfterMs !== undefined;
    span.setAttribute('kube_mcp_router.reconcile.result', requeue ? 'requeue_after' : 'success');
    return result;
  } catch (error) {
    const terminal = error instanceof TerminalError;
    span.setAttributes({
      'kube_mcp_router.reconcile.result': terminal ? 'terminal' : 'error',
      'error.type': error instanceof Error ? error.name : '_OTHER',
    });
    span.setStatus({code: SpanStatusCode.ERROR});
    throw error;
  } finally {
    span.end();
  }
}
