import {Counter, Gauge, Histogram, Registry, collectDefaultMetrics} from 'prom-client';

/**
 * Prometheus metrics of the operator, named as controller-runtime names them so existing dashboards and alerts apply:
 * controller_runtime_reconcile_total{controller,result}, controller_runtime_reconcile_errors_total{controller},
 * controller_runtime_reconcile_time_seconds{controller}, workqueue_depth{name}, workqueue_adds_total{name},
 * workqueue_retries_total{name}, leader_election_master_status{name}, and client-go's rest_client_requests_total{method,code}
 * (requests of the REST client; watches are not counted); plus informer errors and process metrics.
 */
export interface OperatorMetrics {
  registry: Registry;
  reconcileTotal: Counter<'controller' | 'result'>;
  reconcileErrors: Counter<'controller'>;
  reconcileTime: Histogram<'controller'>;
  queueDepth: Gauge<'name'>;
  queueAdds: Counter<'name'>;
  queueRetries: Counter<'name'>;
  leader: Gauge<'name'>;
  informerErrors: Counter<'kind'>;
  applies: Counter<'kind'>;
  requests: Counter<'method' | 'code'>;
}

/** Creates the metrics in a registry of their own (so several operators can run in one process, as tests do). */
export function createMetrics(): OperatorMetrics {
  const registry = new Registry();
  collectDefaultMetrics({register: registry});
  return {
    registry,
    reconcileTotal: new Counter({
      name: 'controller_runtime_reconcile_total',
      help: 'Total number of reconciliations per controller, by result (success, error, requeue_after, terminal).',
      labelNames: ['controller', 'result'],
      registers: [registry],
    }),
    reconcileErrors: new Counter({
      name: 'controller_runtime_reconcile_errors_total',
      help: 'Total number of reconciliation errors per controller.',
      labelNames: ['controller'],
      registers: [registry],
    }),
    reconcileTime: new Histogram({
      name: 'controller_runtime_reconcile_time_seconds',
      help: 'Length of time per reconciliation per controller, in seconds.',
      labelNames: ['controller'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'workqueue_depth',
      help: 'Current depth of the work queue.',
      labelNames: ['name'],
      registers: [registry],
    }),
    queueAdds: new Counter({
      name: 'workqueue_adds_total',
      help: 'Total number of adds handled by the work queue.',
      labelNames: ['name'],
      registers: [registry],
    }),
    queueRetries: new Counter({
      name: 'workqueue_retries_total',
      help: 'Total number of retries (rate-limited adds) handled by the work queue.',
      labelNames: ['name'],
      registers: [registry],
    }),
    leader: new Gauge({
      name: 'leader_election_master_status',
      help: '1 while this process holds the leader Lease, else 0.',
      labelNames: ['name'],
      registers: [registry],
    }),
    informerErrors: new Counter({
      name: 'kube_mcp_router_operator_informer_errors_total',
      help: 'List or watch failures of the informers, by kind; each is followed by a backoff and a relist.',
      labelNames: ['kind'],
      registers: [registry],
    }),
    requests: new Counter({
      name: 'rest_client_requests_total',
      help: 'Requests to the API server by method and HTTP status code (0: no response), watches excluded.',
      labelNames: ['method', 'code'],
      registers: [registry],
    }),
    applies: new Counter({
      name: 'kube_mcp_router_operator_applies_total',
      help: 'Server-side applies sent (objects that differed from the desired state), by kind.',
      labelNames: ['kind'],
      registers: [registry],
    }),
  };
}
