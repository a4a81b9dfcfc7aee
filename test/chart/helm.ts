/**
 * helm for the chart's tests that need no cluster (lint, template): the pinned helm from the binary cache, built
 * first when Go is available (as test/support/cluster.ts's ensureHelm does), else helm from PATH. Rendered manifests
 * are parsed into objects, so tests assert what `kubectl apply` would receive.
 */
import {spawn} from 'node:child_process';
import {join} from 'node:path';
import {fileURLToPath} from 'node:url';

import {beforeAll, beforeEach} from 'vitest';
import {parseAllDocuments} from 'yaml';

import {builtComponent, defaultLog, ensureComponent, goVersion, howToGetBinaries} from '../cluster/binaries.js';
import {projectImage} from '../cluster/images.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CHART = join(ROOT, 'charts', 'kube-mcp-router');

/** A Kubernetes object as rendered. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: {name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>};
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- rendered objects are read as plain YAML
  [field: string]: any;
}

export interface HelmResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Call at the top of a describe block: a beforeAll finds (or builds, minutes, once) the pinned helm. Returns a function
 * that runs it. When there is no helm and no Go, the block's tests are skipped with the reason (failed under CI=true).
 */
export function useHelm(): (args: string[]) => Promise<HelmResult> {
  let program: string | undefined;
  let skipReason: string | undefined;
  beforeAll(async () => {
    try {
      program = await locateHelm();
    } catch (error) {
      if (process.env.CI === 'true') throw error;
      skipReason = error instanceof Error ? error.message : String(error);
      console.warn(`SKIPPED: no helm for the chart's tests.\n${skipReason}`);
    }
  }, 60 * 60_000);
  beforeEach((context) => {
    if (skipReason !== undefined) context.skip(`no helm: ${skipReason.split('\n')[0]}`);
  });
  return (args) => {
    if (!program) throw new Error('useHelm(): helm is only available inside tests, after the beforeAll');
    return run(program, args);
  };
}

async function locateHelm(): Promise<string> {
  let dir = builtComponent('helm');
  if (!dir && goVersion()) dir = await ensureComponent('helm', {log: defaultLog});
  if (dir) return join(dir, 'helm');
  if ((await run('helm', ['version', '--short'])).code === 0) return 'helm';
  throw new Error(`helm is not built and not on PATH. ${howToGetBinaries}`);
}

function run(program: string, args: string[]): Promise<HelmResult> {
  return new Promise((done) => {
    // No kubeconfig: rendering must not depend on a cluster.
    const env = {...process.env, KUBECONFIG: join(ROOT, '.cache', 'no-such-kubeconfig')};
    const child = spawn(program, args, {env, stdio: ['ignore', 'pipe', 'pipe']});
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', (error) => done({code: 127, stdout, stderr: `${stderr}${program}: ${error.message}`}));
    child.on('close', (code) => done({code: code ?? 1, stdout, stderr}));
  });
}

/** Parses a multi-document YAML stream into its objects (empty documents left out). */
export function parseManifests(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((document) => {
      if (document.errors.length > 0) throw new Error(`invalid YAML: ${document.errors[0]!.message}`);
      return document.toJS() as Manifest | null;
    })
    .filter((object): object is Manifest => object !== null);
}

/** `helm template` arguments for the chart with `--set` values, as release `release` in namespace `tools`. */
export function templateArgs(sets: Record<string, string | number | boolean> = {}, extra: string[] = []): string[] {
  const setArgs = Object.entries(sets).flatMap(([key, value]) => ['--set', `${key}=${String(value)}`]);
  return ['template', 'release', CHART, '--namespace', 'tools', ...setArgs, ...extra];
}

/**
 * `helm install` arguments for the chart as `release` in `namespace`, run from the project's image that the local node
 * has imported (never pulled), waiting up to 3 minutes for it to be ready.
 */
export function installArgs(release: string, namespace: string): string[] {
  const [repository, tag] = projectImage.split(':') as [string, string];
  const sets = {'image.repository': repository, 'image.tag': tag, 'image.pullPolicy': 'Never'};
  const image = Object.entries(sets).flatMap(([key, value]) => ['--set', `${key}=${value}`]);
  return ['install', release, CHART, '-n', namespace, ...image, '--wait', '--timeout', '180s'];
}

/** The one object of `kind` (and `name`, when given); throws naming what was there otherwise. */
export function only(manifests: Manifest[], kind: string, name?: string): Manifest {
  const matches = manifests.filter((m) => m.kind === kind && (name === undefined || m.metadata.name === name));
  if (matches.length !== 1) {
    const present = manifests.map((m) => `${m.kind}/${m.metadata.name}`).join(', ');
    throw new Error(`expected one ${kind}${name ? `/${name}` : ''}, found ${matches.length} among: ${present}`);
  }
  return matches[0]!;
}
