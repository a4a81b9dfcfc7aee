import type {V1ContainerStatus} from '@kubernetes/client-node';
import {describe, expect, it} from 'vitest';
import {
  describeMissingSecret,
  missingSecretOf,
  missingSecretsOf,
  podsOfRouter,
} from '../../../operator/controllers/mcprouter/pods.js';
import {routerPod, waitingRouter} from '../fixtures.js';

describe('missingSecretOf', () => {
  it.each<[string, V1ContainerStatus, ReturnType<typeof missingSecretOf>]>([
    [
      'a missing Secret',
      waitingRouter('CreateContainerConfigError', 'secret "github-token" not found'),
      {reason: 'SecretNotFound', secret: 'github-token'},
    ],
    [
      'a missing key',
      waitingRouter('CreateContainerConfigError', "couldn't find key token in Secret team-a/github-token"),
      {reason: 'SecretKeyNotFound', secret: 'github-token', key: 'token'},
    ],
    ['a missing ConfigMap', waitingRouter('CreateContainerConfigError', 'configmap "settings" not found'), undefined],
    [
      'a missing ConfigMap key',
      waitingRouter('CreateContainerConfigError', "couldn't find key a in ConfigMap team-a/settings"),
      undefined,
    ],
    [
      'another config error',
      waitingRouter(
        'CreateContainerConfigError',
        'container has runAsNonRoot and image will run as root (pod: "tools-1_team-a(uid)", container: router)',
      ),
      undefined,
    ],
    ['an image pull back-off', waitingRouter('ImagePullBackOff', 'Back-off pulling image "x"'), undefined],
    ['a config error without a message', waitingRouter('CreateContainerConfigError'), undefined],
    [
      'a running container',
      {name: 'router', image: 'i', imageID: 'i', ready: true, restartCount: 0, state: {running: {}}},
      undefined,
    ],
  ])('reads %s', (_name, container, expected) => {
    expect(missingSecretOf(container)).toEqual(expected);
  });
});

describe('missingSecretsOf', () => {
  it('lists each Secret and key once, sorted, and leaves out pods being deleted', () => {
    const key = waitingRouter('CreateContainerConfigError', "couldn't find key token in Secret team-a/b");
    const secret = waitingRouter('CreateContainerConfigError', 'secret "a" not found');
    const deleting = routerPod('tools', [waitingRouter('CreateContainerConfigError', 'secret "gone" not found')], 'x');
    deleting.metadata!.deletionTimestamp = new Date();
    expect(
      missingSecretsOf([routerPod('tools', [key], 'p1'), routerPod('tools', [secret, key], 'p2'), deleting]),
    ).toEqual([
      {reason: 'SecretNotFound', secret: 'a'},
      {reason: 'SecretKeyNotFound', secret: 'b', key: 'token'},
    ]);
  });
});

describe('describeMissingSecret', () => {
  it.each([
    [{reason: 'SecretNotFound' as const, secret: 's'}, 'Secret "s" not found'],
    [{reason: 'SecretKeyNotFound' as const, secret: 's', key: 'k'}, 'key "k" not found in Secret "s"'],
  ])('says %j as %s', (missing, text) => {
    expect(describeMissingSecret(missing)).toBe(text);
  });
});

describe('podsOfRouter', () => {
  it("keeps the pods with the router's selector labels only", () => {
    const pods = [routerPod('tools', []), routerPod('tools-b', []), {metadata: {name: 'unlabelled'}}];
    expect(podsOfRouter(pods, 'tools').map((p) => p.metadata?.name)).toEqual(['tools-1']);
  });
});
