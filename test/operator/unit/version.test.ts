import {readFileSync} from 'node:fs';
import {expect, it} from 'vitest';
import {DEFAULT_ROUTER_IMAGE, VERSION} from '../../../operator/version.js';

it('keeps VERSION equal to the version in package.json', () => {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {version: string};
  expect(VERSION).toBe(pkg.version);
  expect(DEFAULT_ROUTER_IMAGE).toBe(`ghcr.io/kube-mcp-router/kube-mcp-router:${pkg.version}`);
});
