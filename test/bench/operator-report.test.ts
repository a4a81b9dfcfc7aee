import {describe, expect, it} from 'vitest';
import {benchObjects, GROUP_LABEL, operatorTable, parseSizes, type OperatorRun} from '../../bench/operator-report.js';
import {
  parseMcpRouter,
  parseMcpUpstream,
  type McpRouterResource,
  type McpUpstreamResource,
} from '../../operator/api/types.js';
import {selects} from '../../operator/api/selector.js';
import {LAST_APPLIED_ANNOTATION} from '../../operator/runtime/cache-transforms.js';

describe('parseSizes', () => {
  it('reads UPSTREAMSxROUTERS pairs', () => {
    expect(parseSizes('1000x100, 2000x200')).toEqual([
      {upstreams: 1000, routers: 100},
      {upstreams: 2000, routers: 200},
    ]);
  });

  it.each(['1000', '10x0', '10x20', 'axb'])('refuses "%s", naming it', (text) => {
    expect(() => parseSizes(text)).toThrow(`--sizes: "${text}" is not UPSTREAMSxROUTERS`);
  });
});

describe('benchObjects', () => {
  it('makes valid upstreams and routers, each router selecting upstreams / routers of them, as kubectl apply would', () => {
    const {upstreams, routers} = benchObjects({upstreams: 30, routers: 3}, 'bench');
    expect(upstreams.every((u) => parseMcpUpstream(u as McpUpstreamResource).ok)).toBe(true);
    const parsed = routers.map((r) => parseMcpRouter(r as McpRouterResource));
    for (const router of parsed) {
      if (!router.ok) throw new Error(JSON.stringify(router.issues));
      expect(upstreams.filter((u) => selects(router.value, u as McpUpstreamResource))).toHaveLength(10);
    }
    expect(upstreams[4]?.metadata?.labels).toEqual({[GROUP_LABEL]: 'g-001'});
    const {metadata, ...rest} = upstreams[0]!;
    const {annotations, ...meta} = metadata!;
    expect(JSON.parse(annotations![LAST_APPLIED_ANNOTATION]!)).toEqual({...rest, metadata: meta});
  });
});

describe('operatorTable', () => {
  const run = (mode: OperatorRun['mode'], mib: number): OperatorRun => ({
    size: {upstreams: 1000, routers: 100},
    mode,
    renderedSeconds: 20,
    coldStartSeconds: 25,
    rssBytes: mib * 2 ** 20,
    peakRssBytes: 2 * mib * 2 ** 20,
    heapUsedBytes: mib * 2 ** 20,
    heapRetainedBytes: (mib / 2) * 2 ** 20,
    writesPerMinute: 0,
    getsPerMinute: 0,
    editMsP50: 150,
    editMsMax: 300,
  });

  it('has a row per run and the whole / trimmed ratios per size', () => {
    const table = operatorTable([run('trimmed', 100), run('whole', 150)]);
    expect(table.rows[0]).toEqual([
      '1000 / 100',
      'trimmed',
      '20.0 / 25.0',
      '100',
      '200',
      '100',
      '50',
      '150 / 300',
      '0.0',
      '0.0',
    ]);
    expect(table.rows[2]).toEqual([
      '1000 / 100',
      'whole / trimmed',
      'x1.00 / x1.00',
      'x1.50',
      'x1.50',
      'x1.50',
      'x1.50',
      '',
      '',
      '',
    ]);
  });
});
