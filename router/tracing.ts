/**
 * The router's spans (ADR 0024): one per downstream request (kind server), one per call to an upstream (kind client, a
 * child of it), with W3C trace context taken from the client and passed to the upstream. Names and attributes follow
 * the OpenTelemetry semantic conventions for MCP (semantic-conventions-genai v0.1.0, `docs/gen-ai/mcp.md`,
 * Development status); the router's own are under `kube_mcp_router.*`. Never an argument, a result, a session id or a
 * credential: the session appears as its tag, as in the logs (`sessionTag`).
 *
 * Every function here does nothing beyond calling through when tracing is off (`telemetry.ts`).
 */
import {
  BAGGAGE_META_KEY,
  TRACEPARENT_META_KEY,
  TRACESTATE_META_KEY,
  type FetchLike,
} from '@modelcontextprotocol/client';
import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Span,
} from '@opentelemetry/api';
import type {IncomingMessage} from 'node:http';
import {activeTracer} from '../telemetry.js';
import {JsonRpcFailure, RouterError} from './errors.js';
import type {AuditRecord} from './policy/audit.js';
import type {JsonObject, Message} from './upstream/connection.js';

/** The `_meta` keys of W3C trace context and baggage, unprefixed (MCP 2026-07-28 basic, `_meta`; SEP-414). */
const TRACE_META_KEYS: readonly string[] = [TRACEPARENT_META_KEY, TRACESTATE_META_KEY, BAGGAGE_META_KEY];

/**
 * The semantic-convention attributes of an MCP request (pure): `mcp.method.name`; for `tools/call` `gen_ai.tool.name`
 * and `gen_ai.operation.name` `execute_tool`; for `prompts/get` `gen_ai.prompt.name`; `mcp.resource.uri` when the
 * request names a resource.
 */
export function requestAttributes(method: string, params: JsonObject): Attributes {
  const attributes: Attributes = {'mcp.method.name': method};
  const name = typeof params.name === 'string' ? params.name : undefined;
  if (method === 'tools/call' && name !== undefined) {
    attributes['gen_ai.tool.name'] = name;
    attributes['gen_ai.operation.name'] = 'execute_tool';
  }
  if (method === 'prompts/get' && name !== undefined) attributes['gen_ai.prompt.name'] = name;
  if (typeof params.uri === 'string') attributes['mcp.resource.uri'] = params.uri;
  return attributes;
}

/** The span name of an MCP request (pure): `{mcp.method.name} {tool or prompt name}`, or the method alone. */
export function spanName(method: string, params: JsonObject): string {
  const named = (method === 'tools/call' || method === 'prompts/get') && typeof params.name === 'string';
  return named ? `${method} ${params.name as string}` : method;
}

/**
 * `error.type` of a failure (pure): the router error's code (`UPSTREAM_TIMEOUT`, ...), the JSON-RPC error code of an
 * upstream's or the router's error response, else `_OTHER` (semantic conventions, recording errors).
 */
export function errorType(error: unknown): string {
  if (error instanceof RouterError) return error.code;
  if (error instanceof JsonRpcFailure) return String(error.code);
  return '_OTHER';
}

/** Ends a span with its outcome: `tool_error` for a result with `isError` (semantic conventions for MCP). */
function finish(span: Span, outcome: {result?: JsonObject; error?: unknown}): void {
  if (outcome.error !== undefined) {
    span.setAttribute('error.type', errorType(outcome.error));
    if (outcome.error instanceof JsonRpcFailure)
      span.setAttribute('rpc.response.status_code', String(outcome.error.code));
    span.setStatus({code: SpanStatusCode.ERROR});
  } else if (outcome.result?.isError === true) {
    span.setAttribute('error.type', 'tool_error');
    span.setStatus({code: SpanStatusCode.ERROR});
  }
  span.end();
}

/** Says how a downstream request ended: its audit record, and the error it failed with, if it did. */
export type EndRequest = (record: AuditRecord, error?: unknown) => void;

/**
 * Runs one downstream request in a span of kind server. Its parent is the trace context in the request's
 * `params._meta` (`traceparent`, `tracestate`) when there is one, else the one of the HTTP request that carried it
 * (see {@link httpTraceContext}). `run` calls `end` once, with the request's audit record, which adds the routed
 * upstream (`kube_mcp_router.upstream`), the outcome (`kube_mcp_router.outcome`) and the session tag
 * (`kube_mcp_router.session.tag`).
 */
export function traceRequest<T>(
  request: {method: string; params?: JsonObject},
  run: (end: EndRequest) => Promise<T>,
): Promise<T> {
  const tracer = activeTracer();
  if (!tracer) return run(() => undefined);
  const params = request.params ?? {};
  const meta = params._meta as JsonObject | undefined;
  const parent =
    typeof meta?.[TRACEPARENT_META_KEY] === 'string' ? propagation.extract(ROOT_CONTEXT, meta) : context.active();
  const span = tracer.startSpan(
    spanName(request.method, params),
    {kind: SpanKind.SERVER, attributes: requestAttributes(request.method, params)},
    parent,
  );
  const end: EndRequest = (record, error) => {
    span.setAttributes({
      'kube_mcp_router.outcome': record.outcome,
      'kube_mcp_router.session.tag': record.session,
      ...(record.upstream !== undefined && {'kube_mcp_router.upstream': record.upstream}),
    });
    finish(span, error === undefined ? {} : {error});
  };
  return context.with(trace.setSpan(parent, span), () => run(end));
}

/**
 * Sends one request to an upstream in a span of kind client, a child of the downstream request's span, with that
 * span's trace context in `params._meta` (replacing any the client sent) and, over HTTP, in the `traceparent` header
 * (see {@link tracingFetch}). Attributes: those of {@link requestAttributes} for the upstream's own names, and
 * `kube_mcp_router.upstream`.
 */
export async function traceUpstreamCall<T extends JsonObject>(
  upstream: string,
  message: Message,
  send: (message: Message) => Promise<T>,
): Promise<T> {
  const tracer = activeTracer();
  if (!tracer) return send(message);
  const params = message.params ?? {};
  const span = tracer.startSpan(spanName(message.method, params), {
    kind: SpanKind.CLIENT,
    attributes: {...requestAttributes(message.method, params), 'kube_mcp_router.upstream': upstream},
  });
  const spanContext = trace.setSpan(context.active(), span);
  const meta: JsonObject = Object.fromEntries(
    Object.entries((params._meta as JsonObject | undefined) ?? {}).filter(([key]) => !TRACE_META_KEYS.includes(key)),
  );
  propagation.inject(spanContext, meta);
  try {
    const result = await context.with(spanContext, () =>
      send({method: message.method, params: {...params, _meta: meta}}),
    );
    finish(span, {result});
    return result;
  } catch (error) {
    finish(span, {error});
    throw error;
  }
}

/**
 * A `fetch` for the HTTP transports of upstreams that adds the current trace context as headers (`traceparent`,
 * `tracestate`; W3C Trace Context), or undefined when tracing is off (the transports then use the global `fetch`).
 */
export function tracingFetch(): FetchLike | undefined {
  if (!activeTracer()) return undefined;
  return (url, init) => {
    const headers = new Headers(init?.headers);
    for (const [name, value] of Object.entries(traceHeaders())) headers.set(name, value);
    return fetch(url, {...init, headers});
  };
}

/**
 * The W3C trace context of the active span as HTTP headers (`traceparent`, `tracestate`), for the router's own HTTP
 * upstream client; empty when tracing is off.
 */
export function traceHeaders(): Record<string, string> {
  const headers: Record<string, string> = {};
  if (activeTracer()) propagation.inject(context.active(), headers);
  return headers;
}

/**
 * Connect-style middleware: handles the rest of an HTTP request in the trace context its headers carry
 * (`traceparent`), so that the spans of the MCP requests in it are its children. Calls through when tracing is off.
 */
export const httpTraceContext = (req: Pick<IncomingMessage, 'headers'>, _res: unknown, next: () => void): void => {
  if (!activeTracer()) return next();
  context.with(propagation.extract(ROOT_CONTEXT, req.headers), next);
};
