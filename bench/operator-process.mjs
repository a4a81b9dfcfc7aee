/**
 * The operator as `npm run bench:operator` runs it: the built operator (`dist/`, as in the image), watching one
 * namespace, with /metrics on a free loopback port, until SIGTERM. Usage:
 *
 *   node bench/operator-process.mjs KUBECONFIG NAMESPACE trimmed|whole
 *
 * `whole` caches whole objects (`cacheWholeObjects`), to compare with the trimmed caches of the shipped operator.
 * Prints one JSON line `{"metrics": "127.0.0.1:PORT"}` once the servers listen; logs warnings and errors on stderr.
 * Run with `--expose-gc`, SIGUSR2 makes it collect garbage (twice, so that what the first frees is gone too) and print
 * `{"gc": true}`, so that the heap in use is then what it retains.
 */
import process from 'node:process';
import {pino} from 'pino';
import {Operator} from '../dist/operator/manager.js';
import {loadKubeConfig} from '../dist/operator/runtime/kube.js';

const [kubeconfig, namespace, cache] = process.argv.slice(2);
if (!kubeconfig || !namespace || (cache !== 'trimmed' && cache !== 'whole')) {
  process.stderr.write('usage: node bench/operator-process.mjs KUBECONFIG NAMESPACE trimmed|whole\n');
  process.exit(2);
}
const operator = new Operator({
  kubeConfig: loadKubeConfig(kubeconfig),
  namespace,
  render: {
    routerImage: 'example.test/kube-mcp-router:bench',
    clusterDomain: 'cluster.local',
    serviceAccountIssuer: 'https://kubernetes.default.svc.cluster.local',
  },
  metricsAddress: '127.0.0.1:0',
  log: pino({level: 'warn'}, pino.destination(2)),
  cacheWholeObjects: cache === 'whole',
});
process.once('SIGTERM', () => void operator.stop().then(() => process.exit(0)));
process.on('SIGUSR2', () => {
  globalThis.gc?.();
  globalThis.gc?.();
  process.stdout.write(`${JSON.stringify({gc: true})}\n`);
});
await operator.start();
process.stdout.write(`${JSON.stringify({metrics: operator.addresses.metrics})}\n`);
