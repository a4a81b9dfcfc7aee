import {readFileSync} from 'node:fs';
import {expect, it} from 'vitest';
import {parseAllDocuments} from 'yaml';
import {DEFAULT_ROUTER_IMAGE, VERSION} from '../../../operator/version.js';

it('keeps VERSION equal to the version in package.json', () => {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {version: string};
  expect(VERSION).toBe(pkg.version);
  expect(DEFAULT_ROUTER_IMAGE).toBe(`ghcr.io/kube-mcp-router/kube-mcp-router:${pkg.version}`);
});

it('points the examples at the image of this version (a release bumps it with the rest)', () => {
  const [deployment] = parseAllDocuments(
    readFileSync(new URL('../../../examples/k8s/upstream-everything-http.yaml', import.meta.url), 'utf8'),
  ).map((document) => document.toJS()) as {spec: {template: {spec: {containers: {image: string}[]}}}}[];
  expect(deployment?.spec.template.spec.containers[0]?.image).toBe(DEFAULT_ROUTER_IMAGE);
});
