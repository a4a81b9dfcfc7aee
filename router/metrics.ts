import {getHeapStatistics} from 'node:v8';
import {Counter, Gauge, Histogram, Registry, Summary, collectDefaultMetrics} from 'prom-client';

/** The MCP request methods (MCP 2025-11-25 schema) that may become a `method` label. */
const KNOWN_METHODS = new Set([
  'initialize',
  'ping',
  'tools/list',
  'tools/call',
  'prompts/list',
  'prompts/get',
  'resources/list',
  'resources/templates/list',
  'resources/read',
  'resources/subscribe',
  'resources/unsubscribe',
  'completion/complete',
  'logging/setLevel',
  'tasks/get',
  'tasks/result',
  'tasks/list',
  'tasks/cancel',
]);

/**
 * The `method` label of a request (pure): the method itself when MCP defines it, else `other`. Labels come only from
 * bounded sets, so that clients cannot grow `/metrics` with made-up method names.
 */
export function metricMethod(method: string): string {
  return KNOWN_METHODS.has(method) ? method : 'other';
}

/**
 * The router's Prometheus metrics, in a registry of its own (served on `/metrics`).
 * Names follow the Prometheus conventions: base units (seconds), `_total` for counters.
 */
export class RouterMetrics {
  readonly registry = new Registry();
  readonly sessions = new Gauge({
    name: 'mcp_router_sessions',
    help: 'Open downstream sessions, by transport and endpoint scope.',
    labelNames: ['transport', 'scope'] as const,
    registers: [this.registry],
  });
  readonly calls = new Counter({
    name: 'mcp_router_calls_total',
    help: 'Requests forwarded to upstreams, by upstream, method, tool (tools/call only) and outcome.',
    labelNames: ['upstream', 'method', 'tool', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly callSeconds = new Histogram({
    name: 'mcp_router_call_duration_seconds',
    help: 'Time from receiving a request to answering it, for requests forwarded to upstreams.',
    labelNames: ['upstream', 'method'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
    registers: [this.registry],
  });
  readonly upstreamUp = new Gauge({
    name: 'mcp_router_upstream_up',
    help: '1 when the upstream is connected, else 0.',
    labelNames: ['upstream', 'transport'] as const,
    registers: [this.registry],
  });
  readonly upstreamCircuit = new Gauge({
    name: 'mcp_router_upstream_circuit_state',
    help: "State of the upstream's circuit breaker: 0 closed, 1 open, 2 half-open.",
    labelNames: ['upstream'] as const,
    registers: [this.registry],
  });
  readonly upstreamLatency = new Summary({
    name: 'mcp_router_upstream_latency_seconds',
    help: 'Time of the requests forwarded to each upstream over the last 10 minutes, as quantiles.',
    labelNames: ['upstream'] as const,
    percentiles: [0.5, 0.9, 0.99],
    maxAgeSeconds: 600,
    ageBuckets: 5,
    registers: [this.registry],
  });
  readonly retries = new Counter({
    name: 'mcp_router_upstream_retries_total',
    help: 'Attempts of requests to upstreams that failed and were tried again, by upstream and method.',
    labelNames: ['upstream', 'method'] as const,
    registers: [this.registry],
  });
  readonly resultCaps = new Counter({
    name: 'mcp_router_result_caps_total',
    help:
      'Content items of tools/call results changed by the output caps, by upstream and action: cut (text over ' +
      'maxResultTokens or maxResultBytes), media (image or audio over maxMediaBytes), minified (JSON text).',
    labelNames: ['upstream', 'action'] as const,
    registers: [this.registry],
  });
  readonly resultBytesSaved = new Counter({
    name: 'mcp_router_result_saved_bytes_total',
    help: 'Bytes of text and media that the output caps kept from clients (what upstreams sent less what clients got).',
    labelNames: ['upstream'] as const,
    registers: [this.registry],
  });
  readonly passedResults = new Counter({
    name: 'mcp_router_passed_results_total',
    help:
      'tools/call results of 64 KiB or more sent to the client as the bytes the upstream sent, never parsed (no ' +
      'output caps, not a task, a client on SSE, Streamable HTTP of MCP 2025 or stdio), by upstream.',
    labelNames: ['upstream'] as const,
    registers: [this.registry],
  });
  readonly passedResultBytes = new Counter({
    name: 'mcp_router_passed_result_bytes_total',
    help: 'Bytes of the results counted by mcp_router_passed_results_total, by upstream.',
    labelNames: ['upstream'] as const,
    registers: [this.registry],
  });
  readonly configReloads = new Counter({
    name: 'mcp_router_config_reloads_total',
    help: 'Config file changes seen, by result: applied, or rejected (invalid; the previous config stays).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly forwardedRequests = new Counter({
    name: 'mcp_router_forwarded_requests_total',
    help: "Requests of another pod's session forwarded to that pod and answered by it, by downstream transport.",
    labelNames: ['transport'] as const,
    registers: [this.registry],
  });
  readonly forwardSeconds = new Histogram({
    name: 'mcp_router_forward_duration_seconds',
    help: "Time from receiving a request of another pod's session to that pod's response headers.",
    labelNames: ['transport'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly forwardFailures = new Counter({
    name: 'mcp_router_forward_failures_total',
    help:
      'Requests of a session, or naming what a pod holds for a 2026-07-28 client, not served here and not forwarded ' +
      '(answered 404, or -32602 in-band), by reason: invalid_id (forged, ' +
      'tampered or signed by a retired key), not_ready_endpoint (the owning pod is gone or not ready), ' +
      'forwarded_twice, unreachable (the owning pod did not answer), draining (a session of this pod, which drains).',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  /**
   * With `processMetrics`, also Node's own metrics (`process_*`, `nodejs_*`, prom-client's defaults) and
   * `mcp_router_heap_limit_bytes`, the most heap V8 will hold (`heap_size_limit`, bytes): Node sizes it from the
   * container's memory limit, half of it, or from the machine's memory without one (ADR 0039).
   */
  constructor(options: {processMetrics?: boolean} = {}) {
    if (!options.processMetrics) return;
    collectDefaultMetrics({register: this.registry});
    new Gauge({
      name: 'mcp_router_heap_limit_bytes',
      help: "Most heap V8 will hold (heap_size_limit): half the container's memory limit, or sized from the machine's.",
      registers: [this.registry],
    }).set(getHeapStatistics().heap_size_limit);
  }

  /** The median time, in seconds, of the requests forwarded to each upstream in the last 10 minutes, by upstream. */
  async medianSeconds(): Promise<Map<string, number>> {
    const {values} = await this.upstreamLatency.get();
    return new Map(
      values
        .filter((v) => (v.labels as {quantile?: number}).quantile === 0.5)
        .map((v) => [String(v.labels.upstream), v.value] as const),
    );
  }
}
