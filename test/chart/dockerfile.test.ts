/**
 * The Dockerfile's invariants, checked as text (the image itself runs in the end-to-end suites, built by
 * `npm run image`): what the chart, the operator's rendered router pods, the examples and Pod Security rely on.
 */
import {readFileSync} from 'node:fs';
import {join} from 'node:path';

import {describe, expect, it} from 'vitest';

import {ROOT} from './helm.js';

const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const instructions = dockerfile
  .replace(/\\\n\s*/g, ' ')
  .split('\n')
  .filter((line) => line.trim() !== '' && !line.startsWith('#'));
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {version: string}).version;

describe('Dockerfile', () => {
  it('builds in a build stage and runs on a Node LTS slim image pinned by major', () => {
    const froms = instructions.filter((line) => line.startsWith('FROM '));
    expect(froms).toEqual(['FROM node:24-slim AS build', 'FROM node:24-slim']);
    expect(instructions).toContainEqual(
      expect.stringMatching(
        /^RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force\s+&& rm -rf node_modules\//,
      ),
    );
    expect(instructions).toContain('COPY --from=build /app/dist ./dist');
  });

  it('runs as a numeric non-root user (runAsNonRoot can only verify a number)', () => {
    const users = instructions.filter((line) => line.startsWith('USER '));
    expect(users).toHaveLength(1);
    expect(users[0]).toMatch(/^USER [1-9]\d*(:\d+)?$/);
    const lastRun = instructions.findLastIndex((line) => line.startsWith('RUN '));
    expect(instructions.indexOf(users[0]!)).toBeGreaterThan(lastRun); // the runtime stage ends as that user
  });

  it('puts kube-mcp-router on PATH as the entrypoint, as the operator renders router pods', () => {
    expect(dockerfile).toContain('ln -s /app/dist/cli.js /usr/local/bin/kube-mcp-router');
    expect(instructions).toContain('ENTRYPOINT ["kube-mcp-router"]');
  });

  it('puts the reference MCP servers on PATH, at the versions the router suites test against', () => {
    expect(instructions).toContain('COPY image/mcp-servers/package.json image/mcp-servers/package-lock.json ./');
    for (const server of ['everything', 'memory']) {
      expect(dockerfile).toContain(`/opt/mcp-servers/node_modules/.bin/mcp-server-${server}`);
    }
    const servers = JSON.parse(readFileSync(join(ROOT, 'image', 'mcp-servers', 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const root = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      devDependencies: Record<string, string>;
    };
    for (const [name, version] of Object.entries(servers.dependencies)) {
      expect(root.devDependencies[name]).toBe(`^${version}`);
    }
  });

  it('gives npx a writable HOME and cache under a read-only root filesystem (the pod mounts /tmp)', () => {
    expect(dockerfile).toMatch(/HOME=\/tmp/);
    expect(dockerfile).toMatch(/npm_config_cache=\/tmp\/\.npm/);
  });

  it('carries the OCI labels, with the version of package.json by default', () => {
    for (const label of ['title', 'description', 'source', 'licenses', 'version', 'revision']) {
      expect(dockerfile).toContain(`org.opencontainers.image.${label}=`);
    }
    expect(instructions).toContain(`ARG VERSION=${VERSION}`);
  });

  it("skips onnxruntime-node's CUDA download and keeps only its Linux libraries", () => {
    expect(dockerfile.match(/ONNXRUNTIME_NODE_INSTALL=skip/g)).toHaveLength(2);
    expect(instructions).toContainEqual(
      expect.stringMatching(/&& rm -rf node_modules\/onnxruntime-node\/bin\/napi-v6\/darwin \S+\/win32$/),
    );
  });

  it('sends only the sources to the build context', () => {
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.startsWith('#'));
    expect(ignored[0]).toBe('*');
    expect(ignored).not.toContain('!node_modules');
    expect(ignored).not.toContain('!dist');
  });
});
