/* eslint-disable @typescript-eslint/no-explicit-any -- rendered objects are read as plain YAML */
/**
 * The chart's Grafana dashboard and PrometheusRule alerts, rendered by the pinned helm: off by default; when on, the
 * dashboard is JSON Grafana loads, and every query of the dashboard and the alerts names only metrics and labels the
 * router exports (read from its registry, `router/metrics.ts`).
 */
import {describe, expect, it} from 'vitest';

import {MANAGED_BY, MANAGED_BY_LABEL} from '../../operator/controllers/mcprouter/render.js';
import {RouterMetrics} from '../../router/metrics.js';
import {CHART, only, parseManifests, templateArgs, useHelm} from './helm.js';

/** The series names the router exports (histograms and summaries with their suffixes) and its label names. */
async function exported(): Promise<{metrics: Set<string>; labels: Set<string>}> {
  const metrics = new Set<string>();
  // Labels a Prometheus scrape adds (namespace, pod), and those of histograms (le) and summaries (quantile).
  const labels = new Set(['namespace', 'pod', 'le', 'quantile']);
  for (const metric of await new RouterMetrics({processMetrics: true}).registry.getMetricsAsJSON()) {
    const suffixes = {histogram: ['_bucket', '_sum', '_count'], summary: ['', '_sum', '_count']}[String(metric.type)];
    for (const suffix of suffixes ?? ['']) metrics.add(`${metric.name}${suffix}`);
    for (const value of metric.values ?? []) for (const label of Object.keys(value.labels)) labels.add(label);
  }
  for (const metric of new RouterMetrics().registry.getMetricsAsArray()) {
    for (const label of (metric as any).labelNames ?? []) labels.add(label);
  }
  return {metrics, labels};
}

/** PromQL's functions and keywords that the queries use. */
const PROMQL = new Set(['sum', 'min', 'max', 'by', 'rate', 'increase', 'histogram_quantile', 'label_values']);

/** The identifiers of a PromQL query that are neither functions nor keywords: metric and label names (pure). */
function identifiers(query: string): string[] {
  const bare = query.replace(/"[^"]*"/g, '""').replace(/\$\w+/g, '');
  return (bare.match(/(?<![\w.])[a-zA-Z_:][\w:]*/g) ?? []).filter((token) => !PROMQL.has(token));
}

describe('chart observability', () => {
  const helm = useHelm();

  const render = async (sets: Record<string, string | number | boolean> = {}, extra: string[] = []) => {
    const {code, stdout, stderr} = await helm(templateArgs(sets, extra));
    expect(code, stderr).toBe(0);
    return parseManifests(stdout);
  };

  /** Fails naming any identifier of `query` that the router does not export; returns the metrics it reads. */
  const checkQuery = (query: string, known: {metrics: Set<string>; labels: Set<string>}): string[] => {
    const unknown = identifiers(query).filter((name) => !known.metrics.has(name) && !known.labels.has(name));
    expect(unknown, `unknown metric or label in ${query}`).toEqual([]);
    return identifiers(query).filter((name) => known.metrics.has(name));
  };

  it('renders neither the dashboard, the alerts nor the PodMonitor by default', async () => {
    const kinds = (await render()).map((m) => m.kind);
    expect(kinds).not.toContain('ConfigMap');
    expect(kinds).not.toContain('PrometheusRule');
    expect(kinds).not.toContain('PodMonitor');
  });

  it('passes helm lint --strict with all three on', async () => {
    const {code, stdout, stderr} = await helm([
      'lint',
      '--strict',
      CHART,
      '--set',
      'dashboards.enabled=true',
      '--set',
      'alerts.enabled=true',
      '--set',
      'metrics.routerPodMonitor.enabled=true',
    ]);
    expect(code, stdout + stderr).toBe(0);
    expect(stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
  });

  it("the dashboard is a ConfigMap for Grafana's sidecar, whose queries read only the router's metrics", async () => {
    const known = await exported();
    const map = only(await render({'dashboards.enabled': true}), 'ConfigMap', 'release-kube-mcp-router-dashboard');
    expect(map.metadata.namespace).toBe('tools');
    expect(map.metadata.labels?.grafana_dashboard).toBe('1');
    const dashboard = JSON.parse(map.data['kube-mcp-router.json']);
    expect(dashboard.uid).toBe('kube-mcp-router');
    const panels: any[] = dashboard.panels;
    expect(new Set(panels.map((panel) => panel.id)).size).toBe(panels.length);
    expect(panels.map((panel) => panel.title)).toEqual(
      expect.arrayContaining([
        'Calls by upstream',
        'Errors by upstream',
        'Latency p95 by upstream',
        'Sessions',
        'Circuit state by upstream',
        'Config reloads',
      ]),
    );
    const read = new Set<string>();
    for (const panel of panels) {
      expect(panel.targets.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets) {
        const metrics = checkQuery(target.expr, known);
        expect(metrics.length, `${panel.title}: ${target.expr}`).toBeGreaterThan(0);
        for (const metric of metrics) read.add(metric);
      }
    }
    for (const variable of dashboard.templating.list.filter((v: any) => v.type === 'query')) {
      checkQuery(variable.query.query, known);
    }
    expect([...read].sort()).toEqual([
      'mcp_router_call_duration_seconds_bucket',
      'mcp_router_calls_total',
      'mcp_router_config_reloads_total',
      'mcp_router_sessions',
      'mcp_router_upstream_circuit_state',
      'mcp_router_upstream_retries_total',
      'mcp_router_upstream_up',
    ]);
  });

  it('the alerts are a PrometheusRule on the router metrics: upstream down, error rate, reload rejected', async () => {
    const known = await exported();
    const rule = only(
      // --set-json: helm's --set passes 0.1 as a string, which the schema refuses.
      await render({'alerts.enabled': true, 'alerts.labels.release': 'prometheus'}, [
        '--set-json',
        'alerts.errorRatio=0.1',
      ]),
      'PrometheusRule',
    );
    expect(rule.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(rule.metadata.labels?.release).toBe('prometheus');
    const rules: any[] = rule.spec.groups.flatMap((group: any) => group.rules);
    expect(rules.map((r) => r.alert)).toEqual([
      'McpRouterUpstreamDown',
      'McpRouterUpstreamCircuitOpen',
      'McpRouterHighErrorRate',
      'McpRouterConfigReloadRejected',
    ]);
    for (const r of rules) {
      expect(checkQuery(r.expr, known).length, r.alert).toBeGreaterThan(0);
      expect(r.labels.severity).toBe('warning');
      expect(r.annotations.summary).toContain('{{ $labels.');
    }
    expect(rules.find((r) => r.alert === 'McpRouterHighErrorRate').expr).toMatch(/> 0\.1$/);
  });

  it("a PodMonitor scrapes the router pods' metrics port, in the watched namespace or all", async () => {
    const monitor = only(await render({'metrics.routerPodMonitor.enabled': true}), 'PodMonitor');
    // The labels the operator puts on every router pod (operator/controllers/mcprouter/render.ts).
    expect(monitor.spec.selector.matchLabels).toEqual({
      'app.kubernetes.io/component': 'router',
      [MANAGED_BY_LABEL]: MANAGED_BY,
    });
    expect(monitor.spec.podMetricsEndpoints).toEqual([{port: 'metrics', path: '/metrics', interval: '30s'}]);
    expect(monitor.spec.namespaceSelector).toEqual({any: true});
    const watching = only(
      await render({'metrics.routerPodMonitor.enabled': true, watchNamespace: 'agents'}),
      'PodMonitor',
    );
    expect(watching.spec.namespaceSelector).toEqual({matchNames: ['agents']});
  });

  it('rejects an error ratio that is not a share', async () => {
    const {code, stderr} = await helm(templateArgs({}, ['--set-json', 'alerts.errorRatio=5']));
    expect(code).not.toBe(0);
    expect(stderr).toContain('/alerts/errorRatio');
    expect(stderr).toMatch(/maximum/);
  });
});
