/**
 * The informer against a real API server, made to fail for real: it watches a custom resource whose CRD does not
 * exist yet (list fails with 404), appears, is deleted while being watched and comes back with other objects. The
 * informer must keep retrying, sync, and end with a cache equal to what is in the cluster.
 */
import {randomBytes} from 'node:crypto';
import {pino} from 'pino';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {LAST_APPLIED_ANNOTATION, withoutBookkeeping} from '../../operator/runtime/cache-transforms.js';
import {Informer} from '../../operator/runtime/informer.js';
import {
  CONFIG_MAPS,
  KubeClient,
  loadKubeConfig,
  type KubeObject,
  type ResourceType,
} from '../../operator/runtime/kube.js';
import {createMetrics} from '../../operator/runtime/metrics.js';
import {createNamespace, kubectl, useCluster} from '../support/cluster.js';
import {kc, waitFor} from './support.js';

describe('informer on a real API server', () => {
  const cluster = useCluster();
  const group = `t${randomBytes(4).toString('hex')}.informer.test`;
  const type: ResourceType = {group, version: 'v1', kind: 'Widget', plural: 'widgets'};
  const crd = JSON.stringify({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {name: `widgets.${group}`},
    spec: {
      group,
      names: {kind: 'Widget', listKind: 'WidgetList', plural: 'widgets', singular: 'widget'},
      scope: 'Namespaced',
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: {openAPIV3Schema: {type: 'object', 'x-kubernetes-preserve-unknown-fields': true}},
        },
      ],
    },
  });
  let namespace: string;

  beforeAll(async () => {
    namespace = await createNamespace(cluster(), 'informer');
  }, 180_000);

  afterAll(async () => {
    await kubectl(cluster(), ['delete', 'crd', `widgets.${group}`, '--ignore-not-found', '--wait=false']);
    if (namespace) await kubectl(cluster(), ['delete', 'namespace', namespace, '--wait=false']);
  });

  const createCrd = async () => {
    await kc(cluster(), ['apply', '-f', '-'], crd);
    await kc(cluster(), ['wait', '--for', 'condition=Established', '--timeout=60s', `crd/widgets.${group}`]);
  };
  const createWidget = (name: string) =>
    kc(
      cluster(),
      ['apply', '-n', namespace, '-f', '-'],
      JSON.stringify({apiVersion: `${group}/v1`, kind: 'Widget', metadata: {name}}),
    );
  const cached = (informer: Informer<KubeObject>) =>
    informer
      .list(namespace)
      .map((w) => w.metadata?.name)
      .sort();

  it('retries while the resource does not exist, syncs when it appears, and relists after it was deleted', async () => {
    const metrics = createMetrics();
    const informer = new Informer<KubeObject>({
      client: new KubeClient(loadKubeConfig(cluster().kubeconfig)),
      type,
      namespace,
      log: pino({level: 'silent'}),
      metrics,
    });
    const seen: string[] = [];
    informer.on({
      add: (w) => seen.push(`add ${w.metadata?.name}`),
      delete: (w) => seen.push(`delete ${w.metadata?.name}`),
    });
    informer.start();
    try {
      const errors = async () => (await metrics.informerErrors.get()).values.reduce((sum, v) => sum + v.value, 0);
      await waitFor('a failed list (404: no such resource)', async () => (await errors()) >= 1);
      expect(informer.hasSynced()).toBe(false);

      await createCrd();
      await createWidget('a');
      await waitFor(
        'the informer to sync and see "a"',
        () => informer.hasSynced() && cached(informer).join() === 'a',
        90_000,
      );

      // Deleting the CRD deletes its objects and ends the watch; the informer fails to watch and keeps retrying.
      const before = await errors();
      await kc(cluster(), ['delete', 'crd', `widgets.${group}`]);
      await waitFor('another failure while the resource is gone', async () => (await errors()) > before, 90_000);

      await createCrd();
      await createWidget('b');
      await waitFor('the informer to relist: "b" only', () => cached(informer).join() === 'b', 90_000);
      expect(seen).toContain('add a');
      expect(seen).toContain('delete a');
      expect(seen).toContain('add b');
      expect(seen.indexOf('delete a')).toBeLessThan(seen.indexOf('add b'));
    } finally {
      await informer.stop();
    }
  }, 300_000);
});

describe('informer transform and paged lists, on a real API server', () => {
  const cluster = useCluster();
  let namespace: string;

  beforeAll(async () => {
    namespace = await createNamespace(cluster(), 'informer-transform');
  }, 180_000);

  afterAll(async () => {
    if (namespace) await kubectl(cluster(), ['delete', 'namespace', namespace, '--wait=false']);
  });

  /** ConfigMaps as `kubectl apply` makes them: with managedFields and the last-applied annotation. */
  const apply = (name: string, value: string) =>
    kc(
      cluster(),
      ['apply', '-n', namespace, '-f', '-'],
      JSON.stringify({apiVersion: 'v1', kind: 'ConfigMap', metadata: {name, annotations: {keep: 'me'}}, data: {value}}),
    );

  it('lists in pages and caches only what the transform keeps, from the list and from the watch', async () => {
    for (const name of ['a', 'b', 'c']) await apply(name, 'one');
    let gets = 0;
    const informer = new Informer<KubeObject>({
      client: new KubeClient(loadKubeConfig(cluster().kubeconfig), (method) => (gets += method === 'GET' ? 1 : 0)),
      type: CONFIG_MAPS,
      namespace,
      log: pino({level: 'silent'}),
      transform: withoutBookkeeping,
      pageSize: 2,
    });
    const handed: KubeObject[] = [];
    informer.on({add: (o) => handed.push(o), update: (_, o) => handed.push(o)});
    informer.start();
    try {
      await informer.waitForSync();
      // kube-root-ca.crt is in every namespace: 4 ConfigMaps in pages of 2.
      expect(gets).toBe(2);
      expect(
        informer
          .list(namespace)
          .map((o) => o.metadata?.name)
          .sort(),
      ).toEqual(['a', 'b', 'c', 'kube-root-ca.crt']);

      await apply('b', 'two');
      await waitFor('the edit of "b"', () => (informer.get(namespace, 'b')?.data as {value?: string})?.value === 'two');
      const live = JSON.parse(
        await kc(cluster(), ['get', 'configmap', 'b', '-n', namespace, '-o', 'json', '--show-managed-fields']),
      );
      expect(live.metadata.managedFields).toBeDefined();
      expect(live.metadata.annotations[LAST_APPLIED_ANNOTATION]).toBeDefined();
      for (const object of handed) {
        expect(object.metadata?.managedFields).toBeUndefined();
        expect(object.metadata?.annotations?.[LAST_APPLIED_ANNOTATION]).toBeUndefined();
      }
      expect(informer.get(namespace, 'b')?.metadata?.annotations).toEqual({keep: 'me'});
    } finally {
      await informer.stop();
    }
  }, 120_000);
});
