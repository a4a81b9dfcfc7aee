/**
 * The chart's CRDs are the repository's: files/crds/ is a copy of crds/ (which `npm run crds` generates from the zod
 * schemas), and the rendered CRDs carry the same spec. After `npm run crds`, run `npm run chart:crds`.
 */
import {readFileSync, readdirSync} from 'node:fs';
import {join} from 'node:path';

import {describe, expect, it} from 'vitest';
import {parse} from 'yaml';

import {CHART, ROOT, parseManifests, templateArgs, useHelm} from './helm.js';

const GENERATED = join(ROOT, 'crds');
const COPY = join(CHART, 'files', 'crds');
const yamlFiles = (dir: string) =>
  readdirSync(dir)
    .filter((file) => file.endsWith('.yaml'))
    .sort();

describe('chart CRDs', () => {
  const helm = useHelm();

  it('are a copy of crds/ (run `npm run chart:crds` after `npm run crds`)', () => {
    expect(yamlFiles(COPY)).toEqual(yamlFiles(GENERATED));
    for (const file of yamlFiles(GENERATED)) {
      expect(readFileSync(join(COPY, file), 'utf8'), `charts/kube-mcp-router/files/crds/${file}`).toBe(
        readFileSync(join(GENERATED, file), 'utf8'),
      );
    }
  });

  it('render with the spec of crds/ unchanged, the labels of crds/ and the chart, and the keep policy', async () => {
    const {code, stdout, stderr} = await helm(templateArgs({}, ['--show-only', 'templates/crds.yaml']));
    expect(code, stderr).toBe(0);
    const rendered = parseManifests(stdout);
    const generated = yamlFiles(GENERATED).map((file) => parse(readFileSync(join(GENERATED, file), 'utf8')));
    expect(rendered.map((crd) => crd.metadata.name).sort()).toEqual(generated.map((crd) => crd.metadata.name).sort());
    for (const crd of generated) {
      const mine = rendered.find((r) => r.metadata.name === crd.metadata.name)!;
      expect(mine.apiVersion).toBe(crd.apiVersion);
      expect(mine.kind).toBe(crd.kind);
      expect(mine.spec, crd.metadata.name).toEqual(crd.spec);
      expect(mine.metadata.labels).toMatchObject({...crd.metadata.labels, 'app.kubernetes.io/managed-by': 'Helm'});
      expect(mine.metadata.annotations).toEqual({'helm.sh/resource-policy': 'keep'});
    }
  });
});
