/**
 * A real OpenTelemetry Collector for the trace tests: the OTLP/HTTP receiver on a loopback port and the file exporter
 * writing each batch it gets as a line of OTLP JSON. Built once from its Go module (`test/cluster/go/otelcol`, by the
 * Collector's own builder) into the binary cache, like the control plane's programs.
 */
import {spawn} from 'node:child_process';
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {ensureComponent} from '../cluster/binaries.js';
import {freePort} from './mcp-servers.js';

/** One span as the file exporter writes it (OTLP JSON: ids in hex, attributes as `{key, value: {stringValue}}`). */
export interface ExportedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  /** OTLP span kind: 1 internal, 2 server, 3 client. */
  kind: number;
  attributes: Record<string, string | number | boolean>;
  status: {code?: number};
  /** `service.name` of the resource that sent it. */
  service: string;
}

export interface Collector {
  /** `http://127.0.0.1:PORT`: the value of `OTEL_EXPORTER_OTLP_ENDPOINT`. */
  endpoint: string;
  /** Every span exported so far. */
  spans(): Promise<ExportedSpan[]>;
  stop(): Promise<void>;
}

interface OtlpValue {
  stringValue?: string;
  intValue?: string;
  boolValue?: boolean;
  doubleValue?: number;
}

interface OtlpAttribute {
  key: string;
  value: OtlpValue;
}

const valueOf = (value: OtlpValue) =>
  value.stringValue ?? value.boolValue ?? value.doubleValue ?? Number(value.intValue);

const attributesOf = (list: OtlpAttribute[] = []) =>
  Object.fromEntries(list.map(({key, value}) => [key, valueOf(value)]));

/** The spans of the file exporter's output: one OTLP JSON `TracesData` per line. */
function parseExport(text: string): ExportedSpan[] {
  return text
    .split('\n')
    .filter(Boolean)
    .flatMap((line) => {
      const data = JSON.parse(line) as {
        resourceSpans?: {
          resource?: {attributes?: OtlpAttribute[]};
          scopeSpans?: {spans?: (Omit<ExportedSpan, 'attributes' | 'service'> & {attributes?: OtlpAttribute[]})[]}[];
        }[];
      };
      return (data.resourceSpans ?? []).flatMap((resource) => {
        const service = String(attributesOf(resource.resource?.attributes)['service.name']);
        return (resource.scopeSpans ?? []).flatMap((scope) =>
          (scope.spans ?? []).map((span) => ({...span, attributes: attributesOf(span.attributes), service})),
        );
      });
    });
}

/** Starts the Collector (building it first when it is not in the cache) and waits until it accepts OTLP. */
export async function startCollector(): Promise<Collector> {
  const binary = join(await ensureComponent('otelcol'), 'otelcol');
  const dir = await mkdtemp(join(tmpdir(), 'otelcol-'));
  const port = await freePort();
  const output = join(dir, 'traces.jsonl');
  const config = join(dir, 'config.yaml');
  await writeFile(
    config,
    JSON.stringify({
      receivers: {otlp: {protocols: {http: {endpoint: `127.0.0.1:${port}`}}}},
      exporters: {file: {path: output, flush_interval: '100ms'}},
      service: {
        telemetry: {metrics: {level: 'none'}},
        pipelines: {traces: {receivers: ['otlp'], exporters: ['file']}},
      },
    }),
  );
  const child = spawn(binary, ['--config', `file:${config}`], {stdio: ['ignore', 'ignore', 'pipe']});
  let log = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the Collector did not start in 30 s:\n${log}`)), 30_000);
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      log += chunk;
      if (log.includes('Everything is ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the Collector exited with ${code}:\n${log}`));
    });
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans: async () => parseExport(await readFile(output, 'utf8').catch(() => '')),
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, {recursive: true, force: true});
    },
  };
}
