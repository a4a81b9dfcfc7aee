/**
 * What `npm run demo` does on this machine, decided from what it finds before it starts anything (pure; the script
 * gathers the facts and acts).
 */

/** What the demo finds before it starts anything. */
export interface DemoFacts {
  /** Why no node can run here (`nodeUnavailableReason()`, or `KUBE_MCP_ROUTER_NODE=0`); undefined when one can. */
  noNode: string | undefined;
  /** A healthy one-node cluster of `npm run cluster:up` is running. */
  clusterRunning: boolean;
  /** The project's image is in the image cache (`npm run image` has run). */
  imageBuilt: boolean;
  /** A helm release of the chart already runs the operator (in any namespace); only known with a running cluster. */
  operatorInstalled: boolean;
}

/** What the demo undoes on Ctrl-C, in this order: only what it started. */
export type DemoUndo = 'uninstall the chart' | 'delete the namespace' | 'cluster:down';

export type DemoPlan =
  | {
      on: 'node';
      /** `npm run image` first (which also loads the image into a running node). */
      buildImage: boolean;
      /** `npm run cluster:up`. */
      startCluster: boolean;
      /** `helm install` of the chart with the local image, into the demo's namespace. */
      installChart: boolean;
      undo: DemoUndo[];
    }
  | {
      /** The router as a local process beside the control plane alone (scripts/local-pod.ts). */
      on: 'local';
      reason: string;
    };

/**
 * The demo's plan: on the one-node cluster wherever a node can run, building and starting what is missing; the chart
 * is installed unless an operator of it already runs. Ctrl-C stops a cluster the demo started (which removes all of
 * it), else uninstalls what it installed and deletes its namespace. Where no node can run, the local fallback.
 */
export function planDemo(facts: DemoFacts): DemoPlan {
  if (facts.noNode !== undefined) return {on: 'local', reason: facts.noNode};
  const startCluster = !facts.clusterRunning;
  const installChart = startCluster || !facts.operatorInstalled;
  const undo: DemoUndo[] = startCluster
    ? ['cluster:down']
    : [...(installChart ? (['uninstall the chart'] as const) : []), 'delete the namespace'];
  return {on: 'node', buildImage: !facts.imageBuilt, startCluster, installChart, undo};
}
