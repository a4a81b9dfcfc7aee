/**
 * OpenTelemetry tracing of both commands, off unless configured: the SDK (`@opentelemetry/sdk-node`) is loaded and
 * started only when an OTLP endpoint is set, so that a router or operator without one pays nothing for it (ADR 0024).
 * The spans themselves are made in `router/tracing.ts` and `operator/runtime/tracing.ts`.
 */
import {trace, type Tracer} from '@opentelemetry/api';

/** A started SDK: the tracer of the command, and how to flush and stop. */
interface Started {
  tracer: Tracer;
  shutdown(): Promise<void>;
}

let started: Started | undefined;

/**
 * Whether the environment asks for traces (pure): `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or
 * `OTEL_EXPORTER_OTLP_ENDPOINT` set and not empty, unless `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none`
 * (the OpenTelemetry SDK environment variables).
 */
export function tracingRequested(env: NodeJS.ProcessEnv): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  if (env.OTEL_TRACES_EXPORTER?.split(',').some((exporter) => exporter.trim() === 'none')) return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim());
}

/**
 * Starts the SDK for `serviceName` when {@link tracingRequested}: traces only (no metrics or logs: those are
 * Prometheus and pino), exported over OTLP/HTTP (protobuf by default, JSON with `OTEL_EXPORTER_OTLP_PROTOCOL=http/json`)
 * through a batch processor; W3C trace context and baggage propagators; the sampler, resource attributes and headers
 * the standard `OTEL_*` variables set; `OTEL_SERVICE_NAME` overrides `serviceName`. Does nothing otherwise, or when
 * already started.
 */
export async function startTracing(serviceName: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  if (started || !tracingRequested(env)) return;
  const {NodeSDK} = await import('@opentelemetry/sdk-node');
  const sdk = new NodeSDK({
    serviceName: env.OTEL_SERVICE_NAME?.trim() || serviceName,
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [],
  });
  sdk.start();
  started = {tracer: trace.getTracer('kube-mcp-router'), shutdown: () => sdk.shutdown()};
}

/** The tracer when tracing is on, else undefined: callers skip all span work then. */
export function activeTracer(): Tracer | undefined {
  return started?.tracer;
}

/** Exports the spans still buffered and stops the SDK; resolves at once when tracing is off. Export errors are ignored. */
export async function stopTracing(): Promise<void> {
  const stopping = started;
  started = undefined;
  await stopping?.shutdown().catch(() => undefined);
}
