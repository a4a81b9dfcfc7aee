import type {TestProject} from 'vitest/node';

import {defaultLog} from './binaries.js';
import {createTestRun, finishTestRun, reapStaleTestRuns} from './test-run.js';

/**
 * vitest globalSetup: gives this run a folder for its control plane and stops that control plane at the end. Starting
 * is left to the first suite that calls useCluster() (test/support/cluster.ts), so a run without such suites costs
 * nothing.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  await reapStaleTestRuns(defaultLog);
  const runDir = createTestRun();
  project.provide('kubeMcpRouterTestRun', runDir);
  return () => finishTestRun(runDir, defaultLog);
}
